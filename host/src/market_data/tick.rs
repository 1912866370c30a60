//! Normalised market events and the symbol table.

use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;

/// A symbol interned to a small integer; the per-event path carries no strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SymbolId(pub u32);

/// One trade, normalised from any venue or feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Trade time (event time), ms since the Unix epoch.
    pub time_ms: i64,
    /// Trade price.
    pub price: Decimal,
    /// Trade quantity in base units.
    pub qty: Decimal,
    /// Venue trade id (monotonic per symbol on Binance).
    pub trade_id: u64,
    /// True when the buyer was the resting order, i.e. the aggressor sold.
    pub buyer_maker: bool,
}

/// Best bid and ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookTicker {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Best bid price.
    pub bid: Decimal,
    /// Quantity at the best bid.
    pub bid_qty: Decimal,
    /// Best ask price.
    pub ask: Decimal,
    /// Quantity at the best ask.
    pub ask_qty: Decimal,
}

/// Quote assets recognised when splitting a symbol like `BTCUSDT` into base and quote.
const QUOTES: &[&str] = &["USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB"];

/// Name, base and quote of one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SymbolInfo {
    /// Exchange name, upper case, e.g. `BTCUSDT`.
    pub name: String,
    /// Base asset, e.g. `BTC`.
    pub base: String,
    /// Quote asset, e.g. `USDT`.
    pub quote: String,
}

impl SymbolInfo {
    /// Split a symbol name into base and quote by its quote-asset suffix.
    /// Accepts `BTCUSDT`, `btcusdt`, `BTC/USDT` and `BTC-USDT`, each optionally qualified
    /// by the venue whose market it names: `bybit:BTCUSDT` is BTCUSDT as Bybit trades it,
    /// a market of its own (own candles, own paper book) beside `binance:BTCUSDT`.
    pub fn parse(raw: &str) -> Option<SymbolInfo> {
        let raw = raw.trim();
        if let Some((venue, pair)) = raw.split_once(':') {
            let venue = venue.trim().to_ascii_lowercase();
            if venue.is_empty() || !venue.chars().all(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            let pair = SymbolInfo::parse(pair).filter(|p| p.venue().is_none())?;
            return Some(SymbolInfo { name: format!("{venue}:{}", pair.name), ..pair });
        }
        let upper = raw.to_ascii_uppercase();
        if let Some((base, quote)) = upper.split_once(['/', '-', '_']) {
            let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
            return (ok(base) && ok(quote)).then(|| SymbolInfo {
                name: format!("{base}{quote}"),
                base: base.into(),
                quote: quote.into(),
            });
        }
        if upper.is_empty() || !upper.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let quote = QUOTES.iter().find(|q| upper.len() > q.len() && upper.ends_with(*q))?;
        Some(SymbolInfo { base: upper[..upper.len() - quote.len()].into(), quote: (*quote).into(), name: upper })
    }

    /// The venue of a qualified market (`bybit` in `bybit:BTCUSDT`), `None` for a bare pair.
    pub fn venue(&self) -> Option<&str> {
        self.name.split_once(':').map(|(v, _)| v)
    }

    /// The pair as the venue names it (`BTCUSDT` in `bybit:BTCUSDT`).
    pub fn pair(&self) -> &str {
        self.name.split_once(':').map_or(&self.name, |(_, p)| p)
    }
}

/// Interns symbol names; ids are dense and stable for the life of the process.
#[derive(Debug, Clone, Default)]
pub struct Symbols {
    infos: Vec<SymbolInfo>,
    by_name: HashMap<String, SymbolId>,
}

impl Symbols {
    /// The id of a symbol, interning it on first sight. `None` for a name that does
    /// not parse as a symbol.
    pub fn intern(&mut self, raw: &str) -> Option<SymbolId> {
        if let Some(id) = self.by_name.get(raw) {
            return Some(*id);
        }
        let info = SymbolInfo::parse(raw)?;
        if let Some(id) = self.by_name.get(&info.name) {
            return Some(*id);
        }
        let id = SymbolId(self.infos.len() as u32);
        self.by_name.insert(info.name.clone(), id);
        self.infos.push(info);
        Some(id)
    }

    /// The id of an already interned symbol (any accepted spelling).
    pub fn get(&self, raw: &str) -> Option<SymbolId> {
        self.by_name.get(raw).copied().or_else(|| self.by_name.get(&SymbolInfo::parse(raw)?.name).copied())
    }

    /// Name, base and quote of an id.
    pub fn info(&self, id: SymbolId) -> Option<&SymbolInfo> {
        self.infos.get(id.0 as usize)
    }

    /// The name of an id (empty for an unknown id).
    pub fn name(&self, id: SymbolId) -> &str {
        self.info(id).map(|i| i.name.as_str()).unwrap_or("")
    }

    /// Every interned symbol with its id.
    pub fn iter(&self) -> impl Iterator<Item = (SymbolId, &SymbolInfo)> {
        self.infos.iter().enumerate().map(|(i, s)| (SymbolId(i as u32), s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_symbol_spellings() {
        let cases = [
            ("BTCUSDT", Some(("BTCUSDT", "BTC", "USDT"))),
            ("ethusdt", Some(("ETHUSDT", "ETH", "USDT"))),
            ("BTC/USD", Some(("BTCUSD", "BTC", "USD"))),
            ("ADABTC", Some(("ADABTC", "ADA", "BTC"))),
            ("SOL-USDC", Some(("SOLUSDC", "SOL", "USDC"))),
            ("USDT", None),
            ("BTC USDT", None),
            ("", None),
            ("XYZ", None),
            ("bybit:BTCUSDT", Some(("bybit:BTCUSDT", "BTC", "USDT"))),
            (" Binance:eth/usdt", Some(("binance:ETHUSDT", "ETH", "USDT"))),
            ("bybit:", None),
            (":BTCUSDT", None),
            ("by bit:BTCUSDT", None),
            ("a:b:BTCUSDT", None),
        ];
        for (raw, want) in cases {
            let got = SymbolInfo::parse(raw);
            let got = got.as_ref().map(|s| (s.name.as_str(), s.base.as_str(), s.quote.as_str()));
            assert_eq!(got, want, "{raw}");
        }
    }

    #[test]
    fn interning_is_stable_across_spellings() {
        let mut s = Symbols::default();
        let a = s.intern("BTCUSDT").unwrap();
        assert_eq!(s.intern("btcusdt"), Some(a));
        assert_eq!(s.intern("BTC/USDT"), Some(a));
        let b = s.intern("ETHUSDT").unwrap();
        assert_ne!(a, b);
        assert_eq!(s.name(b), "ETHUSDT");
        assert_eq!(s.get("eth/usdt"), Some(b));
        let on_bybit = s.intern("BYBIT:btcusdt").unwrap();
        assert!(on_bybit != a && on_bybit != b, "a venue's market is a market of its own");
        assert_eq!(s.get("bybit:BTC/USDT"), Some(on_bybit));
        let info = s.info(on_bybit).unwrap();
        assert_eq!((info.venue(), info.pair(), info.base.as_str()), (Some("bybit"), "BTCUSDT", "BTC"));
        assert_eq!((s.info(a).unwrap().venue(), s.info(a).unwrap().pair()), (None, "BTCUSDT"));
    }
}
