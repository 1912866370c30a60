//! Helpers for unit-testing strategies natively, without wasm: an in-memory [`Host`],
//! and the contexts, candles and decimals every strategy's tests need.

use crate::{
    Candle, Decimal, Host, InitContext, Intent, Level, OpenOrder, OrderKind, Params, Side, SymbolId, SymbolInfo,
};
use std::cell::RefCell;
use std::collections::HashMap;

/// A host whose answers a test sets; it records every log line.
#[derive(Debug, Default)]
pub struct MockHost {
    /// Position per symbol.
    pub positions: HashMap<SymbolId, Decimal>,
    /// Entry price per symbol.
    pub entry_prices: HashMap<SymbolId, Decimal>,
    /// Balance per asset.
    pub balances: HashMap<String, Decimal>,
    /// Last price per symbol.
    pub last_prices: HashMap<SymbolId, Decimal>,
    /// Working orders.
    pub open_orders: Vec<OpenOrder>,
    /// Every line logged, in order.
    pub logs: RefCell<Vec<(Level, String)>>,
}

impl Host for MockHost {
    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }
    fn position(&self, symbol: SymbolId) -> Decimal {
        self.positions.get(&symbol).copied().unwrap_or_default()
    }
    fn entry_price(&self, symbol: SymbolId) -> Option<Decimal> {
        self.entry_prices.get(&symbol).copied()
    }
    fn balance(&self, asset: &str) -> Decimal {
        self.balances.get(asset).copied().unwrap_or_default()
    }
    fn last_price(&self, symbol: SymbolId) -> Option<Decimal> {
        self.last_prices.get(&symbol).copied()
    }
    fn open_orders(&self, symbol: SymbolId) -> Vec<OpenOrder> {
        self.open_orders.iter().filter(|o| o.symbol == symbol).cloned().collect()
    }
}

impl MockHost {
    /// A host holding `qty` of `symbol`, entered at `entry`.
    pub fn holding(symbol: SymbolId, qty: Decimal, entry: Option<Decimal>) -> MockHost {
        let mut h = MockHost::default();
        h.positions.insert(symbol, qty);
        if let Some(e) = entry {
            h.entry_prices.insert(symbol, e);
        }
        h
    }
}

/// A decimal literal (panics on a typo: tests only).
pub fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

/// A symbol of the instance: `BTCUSDT` with base `BTC` and quote `USDT` (quote assets
/// USDT, USDC, USD, BTC, ETH are recognised as suffixes).
pub fn symbol(id: SymbolId, name: &str) -> SymbolInfo {
    let pair = name.split_once(':').map_or(name, |(_, p)| p);
    let quote = ["USDT", "USDC", "USD", "BTC", "ETH"]
        .into_iter()
        .find(|q| pair.len() > q.len() && pair.ends_with(q))
        .unwrap_or_else(|| panic!("no known quote asset in {name:?}"));
    SymbolInfo { id, name: name.into(), base: pair[..pair.len() - quote.len()].into(), quote: quote.into() }
}

/// The `init` context of instance `t` trading `symbols` (`(id, name)`) with `params`.
pub fn init_context(symbols: &[(SymbolId, &str)], params: &[(&str, &str)]) -> InitContext {
    InitContext {
        instance: "t".into(),
        symbols: symbols.iter().map(|(id, name)| symbol(*id, name)).collect(),
        params: Params::new(params.iter().copied()),
    }
}

/// A one-minute candle of `symbol` that opened at `open_time_ms` and traded only at `close`.
pub fn flat_candle(symbol: SymbolId, close: Decimal, open_time_ms: i64) -> Candle {
    Candle {
        symbol,
        open_time_ms,
        close_time_ms: open_time_ms + 59_999,
        open: close,
        high: close,
        low: close,
        close,
        volume: Decimal::ONE,
        quote_volume: close,
        trades: 1,
        taker_buy_base: Decimal::ZERO,
        taker_buy_quote: Decimal::ZERO,
    }
}

/// The market orders among `intents`, as (side, quantity, tag).
pub fn market_orders(intents: &[Intent]) -> Vec<(Side, Decimal, String)> {
    intents
        .iter()
        .filter_map(|i| match i {
            Intent::Place(o) if o.kind == OrderKind::Market => Some((o.side, o.qty, o.tag.clone())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_build_what_they_say() {
        let s = symbol(3, "ETHBTC");
        assert_eq!((s.base.as_str(), s.quote.as_str()), ("ETH", "BTC"));
        let ctx = init_context(&[(0, "BTCUSDT")], &[("qty", "0.1")]);
        assert_eq!(ctx.symbols[0].quote, "USDT");
        let c = flat_candle(0, d("10.5"), 60_000);
        assert_eq!((c.close_time_ms, c.high, c.low), (119_999, d("10.5"), d("10.5")));
        let h = MockHost::holding(0, d("2"), Some(d("9")));
        assert_eq!((h.position(0), h.entry_price(0)), (d("2"), Some(d("9"))));
    }
}
