//! Binance spot WebSocket frames: combined-stream envelopes
//! (`{"stream":"btcusdt@trade","data":{...}}`) and raw single-stream frames, parsed into
//! [`FeedEvent`]s. Shared by the recorded-session replay and the live connector.
//!
//! The common shapes take a fast path: the stream name or event type is read from the
//! frame's prefix without serde, and only the payloads we keep are deserialised, into
//! structs that borrow their strings from the frame. Depth frames are never parsed; their
//! event time `E` is lifted from the first bytes and emitted as a [`FeedEvent::Clock`].

use super::{FeedError, FeedEvent, SymbolCache};
use crate::market_data::tick::{BookTicker, Tick};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

/// A trade (`<symbol>@trade`).
///
/// ```json
/// {"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000",
///  "q":"0.02000000","T":1723161255342,"m":true,"M":true}
/// ```
#[derive(Debug, Deserialize)]
pub struct BinanceTrade<'a> {
    /// Symbol, upper case.
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// Trade id.
    #[serde(rename = "t")]
    pub id: u64,
    /// Price as sent.
    #[serde(rename = "p")]
    pub price: &'a str,
    /// Quantity as sent.
    #[serde(rename = "q")]
    pub qty: &'a str,
    /// Trade time, ms.
    #[serde(rename = "T")]
    pub trade_time: i64,
    /// Buyer is the maker.
    #[serde(rename = "m")]
    pub buyer_maker: bool,
}

/// An aggregate trade (`<symbol>@aggTrade`).
///
/// ```json
/// {"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100",
///  "f":100,"l":105,"T":1672515782136,"m":true,"M":true}
/// ```
#[derive(Debug, Deserialize)]
pub struct BinanceAggTrade<'a> {
    /// Symbol, upper case.
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// Aggregate trade id.
    #[serde(rename = "a")]
    pub agg_id: u64,
    /// Price as sent.
    #[serde(rename = "p")]
    pub price: &'a str,
    /// Quantity as sent.
    #[serde(rename = "q")]
    pub qty: &'a str,
    /// Trade time, ms.
    #[serde(rename = "T")]
    pub trade_time: i64,
    /// Buyer is the maker.
    #[serde(rename = "m")]
    pub buyer_maker: bool,
}

/// Best bid and ask (`<symbol>@bookTicker`).
///
/// ```json
/// {"u":35346513501,"s":"ETHUSDT","b":"2683.80000000","B":"3.02920000",
///  "a":"2683.81000000","A":"31.43950000"}
/// ```
#[derive(Debug, Deserialize)]
pub struct BinanceBookTicker<'a> {
    /// Symbol, upper case.
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// Best bid price.
    #[serde(rename = "b")]
    pub bid: &'a str,
    /// Best bid quantity.
    #[serde(rename = "B")]
    pub bid_qty: &'a str,
    /// Best ask price.
    #[serde(rename = "a")]
    pub ask: &'a str,
    /// Best ask quantity.
    #[serde(rename = "A")]
    pub ask_qty: &'a str,
}

/// Parse one Binance frame, combined (`{"stream":..,"data":..}`) or raw.
///
/// `Ok(None)` for frames that carry nothing we keep (klines, depth frames without an
/// event time, REST snapshots, subscription acks, unknown streams).
pub fn parse_frame(json: &str, symbols: &mut SymbolCache) -> Result<Option<FeedEvent>, FeedError> {
    if let Some((stream, data)) = split_combined(json) {
        return parse_stream(stream, Payload::Text(data), symbols);
    }
    if let Some(event_type) = raw_event_type(json) {
        return parse_event(event_type, Payload::Text(json), symbols);
    }
    parse_slow(json, symbols)
}

/// Fast split of `{"stream":"<name>","data":<data>}` as Binance writes it; `None` for any
/// other layout (which then takes the slow path).
fn split_combined(json: &str) -> Option<(&str, &str)> {
    let rest = json.trim().strip_prefix(r#"{"stream":""#)?;
    let (stream, rest) = rest.split_once('"')?;
    let data = rest.strip_prefix(r#","data":"#)?.strip_suffix('}')?;
    Some((stream, data))
}

/// The `e` of a raw frame that starts with it, e.g. `{"e":"trade",...}`.
fn raw_event_type(json: &str) -> Option<&str> {
    let rest = json.trim_start().strip_prefix(r#"{"e":""#)?;
    Some(rest.split_once('"')?.0)
}

/// Dispatch on the stream name's kind (`btcusdt@trade` -> `trade`).
fn parse_stream(stream: &str, data: Payload<'_>, symbols: &mut SymbolCache) -> Result<Option<FeedEvent>, FeedError> {
    let kind = stream.split_once('@').map_or(stream, |(_, kind)| kind);
    match kind {
        "trade" => data.trade(symbols).map(Some),
        "aggTrade" => data.agg_trade(symbols).map(Some),
        "bookTicker" => data.book_ticker(symbols).map(Some),
        k if k.starts_with("depth") => Ok(data.event_time().map(FeedEvent::Clock)),
        _ => Ok(None),
    }
}

/// Dispatch on a raw frame's event type `e`.
fn parse_event(
    event_type: &str,
    frame: Payload<'_>,
    symbols: &mut SymbolCache,
) -> Result<Option<FeedEvent>, FeedError> {
    match event_type {
        "trade" => frame.trade(symbols).map(Some),
        "aggTrade" => frame.agg_trade(symbols).map(Some),
        "depthUpdate" => Ok(frame.event_time().map(FeedEvent::Clock)),
        _ => Ok(None),
    }
}

/// Any other layout: build a `Value` once, then dispatch as above.
fn parse_slow(json: &str, symbols: &mut SymbolCache) -> Result<Option<FeedEvent>, FeedError> {
    let value: Value = serde_json::from_str(json).map_err(|e| FeedError::frame(format!("invalid JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(FeedError::frame("frame is not a JSON object"));
    };
    if let (Some(stream), Some(data)) = (object.get("stream").and_then(Value::as_str), object.get("data")) {
        return parse_stream(stream, Payload::Value(data), symbols);
    }
    if let Some(event_type) = object.get("e").and_then(Value::as_str) {
        return parse_event(event_type, Payload::Value(&value), symbols);
    }
    // A raw bookTicker frame is the one payload without an event type.
    if ["u", "s", "b", "B", "a", "A"].iter().all(|k| object.contains_key(*k)) {
        return Payload::Value(&value).book_ticker(symbols).map(Some);
    }
    Ok(None)
}

/// A frame's payload, still text on the fast path or already a `Value` on the slow one.
#[derive(Clone, Copy)]
enum Payload<'a> {
    Text(&'a str),
    Value(&'a Value),
}

impl<'a> Payload<'a> {
    fn decode<T: Deserialize<'a>>(self) -> Result<T, FeedError> {
        let decoded = match self {
            Payload::Text(text) => serde_json::from_str(text),
            Payload::Value(value) => T::deserialize(value),
        };
        decoded.map_err(|e| FeedError::frame(e.to_string()))
    }

    /// The event time `E`, read from the first bytes of text without parsing the rest.
    fn event_time(self) -> Option<i64> {
        match self {
            Payload::Text(text) => cheap_event_time(text),
            Payload::Value(value) => value.get("E")?.as_i64(),
        }
    }

    fn trade(self, symbols: &mut SymbolCache) -> Result<FeedEvent, FeedError> {
        let raw: BinanceTrade<'_> = self.decode()?;
        Ok(FeedEvent::Trade(Tick {
            symbol: symbols.resolve(raw.symbol)?,
            time_ms: raw.trade_time,
            price: decimal("price", raw.price)?,
            qty: decimal("qty", raw.qty)?,
            trade_id: raw.id,
            buyer_maker: raw.buyer_maker,
        }))
    }

    fn agg_trade(self, symbols: &mut SymbolCache) -> Result<FeedEvent, FeedError> {
        let raw: BinanceAggTrade<'_> = self.decode()?;
        Ok(FeedEvent::Trade(Tick {
            symbol: symbols.resolve(raw.symbol)?,
            time_ms: raw.trade_time,
            price: decimal("price", raw.price)?,
            qty: decimal("qty", raw.qty)?,
            trade_id: raw.agg_id,
            buyer_maker: raw.buyer_maker,
        }))
    }

    fn book_ticker(self, symbols: &mut SymbolCache) -> Result<FeedEvent, FeedError> {
        let raw: BinanceBookTicker<'_> = self.decode()?;
        Ok(FeedEvent::Book(BookTicker {
            symbol: symbols.resolve(raw.symbol)?,
            bid: decimal("bid", raw.bid)?,
            bid_qty: decimal("bid qty", raw.bid_qty)?,
            ask: decimal("ask", raw.ask)?,
            ask_qty: decimal("ask qty", raw.ask_qty)?,
        }))
    }
}

/// How far into a payload `"E":` may start; Binance puts it second, after `"e"`.
const EVENT_TIME_WINDOW: usize = 64;

fn cheap_event_time(data: &str) -> Option<i64> {
    let bytes = data.as_bytes();
    let head = &bytes[..bytes.len().min(EVENT_TIME_WINDOW)];
    let start = head.windows(4).position(|w| w == br#""E":"#)? + 4;
    let digits = bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
    data.get(start..start + digits)?.parse().ok()
}

/// An exact decimal from the exchange's string; never rounds. Scientific notation
/// (`9e-05`, as pandas writes small volumes into CSVs) is accepted too.
pub(crate) fn decimal(field: &str, text: &str) -> Result<Decimal, FeedError> {
    if let Some(d) = plain_decimal(text.as_bytes()) {
        return Ok(d);
    }
    Decimal::from_str_exact(text)
        .or_else(|e| if text.contains(['e', 'E']) { Decimal::from_scientific(text) } else { Err(e) })
        .map_err(|e| FeedError::frame(format!("bad {field} {text:?}: {e}")))
}

/// The common case on one pass: `[-]digits[.digits]` with at most 18 digits, exactly as
/// `Decimal::from_str_exact` reads it (scale = the digits after the point, trailing zeros
/// kept); anything else (`None`) takes the general parser.
#[inline]
pub(crate) fn plain_decimal(text: &[u8]) -> Option<Decimal> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let (mut mantissa, mut scale, mut point, mut count) = (0i64, 0u32, false, 0u32);
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' if count < 18 => {
                mantissa = mantissa * 10 + i64::from(b - b'0');
                count += 1;
                scale += u32::from(point);
            }
            b'.' if !point && i > 0 && i + 1 < digits.len() => point = true,
            _ => return None,
        }
    }
    Some(Decimal::new(if negative { -mantissa } else { mantissa }, scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::SymbolId;
    use crate::market_data::feeds::shared_symbols;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn the_fast_decimal_path_reads_exactly_what_the_general_parser_reads() {
        let cases = [
            "0",
            "7",
            "-7",
            "61837.63000000",
            "0.00001000",
            "-0.5",
            "123456789012345678",
            "1234567890.12345678",
            "00012.50",
            "-0.000",
            "1",
            "99999999999999999.9",
        ];
        for text in cases {
            let fast = plain_decimal(text.as_bytes()).unwrap_or_else(|| panic!("{text} takes the fast path"));
            let exact = Decimal::from_str_exact(text).unwrap();
            assert_eq!((fast, fast.scale()), (exact, exact.scale()), "{text}");
            assert_eq!(fast.to_string(), exact.to_string(), "{text}");
        }
        // Not plain: the general parser decides (and keeps its errors and exponents).
        for text in [
            "",
            "-",
            ".5",
            "5.",
            "1.2.3",
            "1e5",
            "+1",
            "1,5",
            " 1",
            "1234567890123456789",
            "99999999999999999999",
            "12345678901234567.89",
        ] {
            assert_eq!(plain_decimal(text.as_bytes()), None, "{text}");
        }
        assert_eq!(decimal("p", "1e5").unwrap(), Decimal::from(100_000));
        assert!(decimal("p", "5.").is_ok() == Decimal::from_str_exact("5.").is_ok());
        assert!(decimal("p", "abc").is_err());
    }

    fn tick(time_ms: i64, price: &str, qty: &str, trade_id: u64, buyer_maker: bool) -> Option<FeedEvent> {
        let (price, qty, symbol) = (dec(price), dec(qty), SymbolId(0));
        Some(FeedEvent::Trade(Tick { symbol, time_ms, price, qty, trade_id, buyer_maker }))
    }

    #[test]
    fn parses_frames_from_the_recordings_and_the_docs() {
        let book = BookTicker {
            symbol: SymbolId(0),
            bid: dec("2683.8"),
            bid_qty: dec("3.0292"),
            ask: dec("2683.81"),
            ask_qty: dec("31.4395"),
        };
        let book_json = r#"{"u":35346513501,"s":"ETHUSDT","b":"2683.80000000","B":"3.02920000","a":"2683.81000000","A":"31.43950000"}"#;
        let cases: Vec<(String, Option<FeedEvent>)> = vec![
            (
                r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#.into(),
                tick(1723161255342, "61837.63", "0.02", 3735683259, true),
            ),
            (format!(r#"{{"stream":"ethusdt@bookTicker","data":{book_json}}}"#), Some(FeedEvent::Book(book))),
            (book_json.into(), Some(FeedEvent::Book(book))),
            (
                r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":1,"u":2,"b":[["61737.63000000","0.00000000"]],"a":[]}}"#.into(),
                Some(FeedEvent::Clock(1723161255208)),
            ),
            (r#"{"stream":"btcusdt@depth20@100ms","data":{"lastUpdateId":1,"bids":[],"asks":[]}}"#.into(), None),
            (r#"{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"]],"asks":[]}"#.into(), None),
            (r#"{"result":null,"id":1}"#.into(), None),
            // The same trade with fields and envelope in another order takes the slow path.
            (
                r#" { "data": {"m":false,"T":5,"q":"1","p":"2.5","t":9,"s":"btcusdt","e":"trade"}, "stream": "btcusdt@trade" }"#.into(),
                tick(5, "2.5", "1", 9, false),
            ),
            (
                r#"{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#.into(),
                tick(1672515782136, "0.001", "100", 12345, true),
            ),
            (
                r#"{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{"x":true}}}"#.into(),
                None,
            ),
        ];
        let mut symbols = SymbolCache::new(shared_symbols());
        for (json, want) in cases {
            let got = parse_frame(&json, &mut symbols);
            let got = got.unwrap_or_else(|e| panic!("{json}: {e}"));
            // Symbol ids are covered by the cache's own tests; compare everything else.
            let got = got.map(|ev| match ev {
                FeedEvent::Trade(t) => FeedEvent::Trade(Tick { symbol: SymbolId(0), ..t }),
                FeedEvent::Book(b) => FeedEvent::Book(BookTicker { symbol: SymbolId(0), ..b }),
                other => other,
            });
            assert_eq!(got, want, "{json}");
        }
    }

    #[test]
    fn keeps_the_exchange_decimals_exactly() {
        let json =
            r#"{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"61837.63000000","q":"0.00001000","T":1,"m":false,"M":true}"#;
        let Some(FeedEvent::Trade(t)) = parse_frame(json, &mut SymbolCache::new(shared_symbols())).unwrap() else {
            panic!("not a trade");
        };
        assert_eq!(t.price.to_string(), "61837.63000000");
        assert_eq!(t.qty * t.price, dec("0.6183763"));
    }

    #[test]
    fn rejects_bad_frames() {
        let cases = [
            "",
            "not json",
            "[1,2]",
            r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"abc","q":"1","T":1,"m":true}}"#,
            r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1}}"#,
            r#"{"e":"trade","s":"no such symbol","t":1,"p":"1","q":"1","T":1,"m":true}"#,
            r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"1e400","q":"1","T":1,"m":true}}"#,
        ];
        let mut symbols = SymbolCache::new(shared_symbols());
        for json in cases {
            let err = parse_frame(json, &mut symbols).expect_err(json);
            assert!(err.is_bad_input(), "{json}: {err}");
        }
    }

    #[test]
    fn parses_the_documented_trade_payload() {
        let path = crate::market_data::feeds::tests_real_data::data_dir().join("exchange-docs/binance_ws_trade.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let payload = doc["payload"].to_string();
        let got = parse_frame(&payload, &mut SymbolCache::new(shared_symbols())).unwrap();
        assert_eq!(got, tick(1672515782136, "0.001", "100", 12345, true));
    }
}
