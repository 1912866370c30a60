//! Market-data frames of any venue, without a session: which exchange a recorded frame
//! comes from, and its trades, klines and best bid/ask. `tradehost replay` reads
//! `tradehost record` files of every exchange through this.
//!
//! Gate.io futures frames count contracts; a recording of them starts each connection with
//! a `futures.contracts` frame the host writes itself (`{"channel": "futures.contracts",
//! "event": "all", "result": [{"name": "BTC_USDT", "quanto_multiplier": "0.0001"}]}`), and
//! [`MarketFrames`] reads the sizes from it. A futures frame of a contract with no known
//! size is an error, never a guess.

use super::gateio::parse::{ContractSizes, futures_multiplier, str_field};
use super::{ExchangeId, StreamEvent};
use serde_json::{Value, json};

/// The value of a top-level string field as written (`"topic":"..."` or `"topic": "..."`).
fn field_prefix<'a>(frame: &'a str, name: &str) -> Option<&'a str> {
    let at = frame.find(&format!("\"{name}\""))? + name.len() + 2;
    let rest = frame[at..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(rest)
}

/// The exchange a market-data frame comes from, by its shape: KuCoin topics start with
/// `/`, Gate.io frames carry `channel: spot.* | futures.*`, Bybit topics are
/// `publicTrade.*`, `kline.*`, `orderbook.*`, `tickers.*`; anything else is Binance.
pub fn sniff(frame: &str) -> ExchangeId {
    if let Some(topic) = field_prefix(frame, "topic") {
        if topic.starts_with('/') {
            return ExchangeId::Kucoin;
        }
        if ["publicTrade.", "kline.", "orderbook.", "tickers.", "order", "execution"]
            .iter()
            .any(|p| topic.starts_with(p))
        {
            return ExchangeId::Bybit;
        }
    }
    if field_prefix(frame, "channel").is_some_and(|c| c.starts_with("spot.") || c.starts_with("futures.")) {
        return ExchangeId::Gateio;
    }
    ExchangeId::Binance
}

/// Decodes the market-data frames of a recording, keeping what later frames need from
/// earlier ones (Gate.io futures' contract sizes).
#[derive(Debug, Default)]
pub struct MarketFrames {
    gate_sizes: ContractSizes,
}

impl MarketFrames {
    /// Trades, klines and best bid/ask of one market-data frame of `exchange`. Frames that
    /// carry none (acks, pongs, depth) add nothing.
    pub fn decode(&mut self, exchange: ExchangeId, text: &str, out: &mut Vec<StreamEvent>) -> Result<(), String> {
        match exchange {
            ExchangeId::Binance => super::binance::parse::market_frame(text, out),
            ExchangeId::Bybit => super::bybit::parse::ws_frame(text, out),
            ExchangeId::Gateio => self.gate(text, out),
            ExchangeId::Kucoin => kucoin(text, out),
        }
    }

    fn gate(&mut self, text: &str, out: &mut Vec<StreamEvent>) -> Result<(), String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let channel = v.get("channel").and_then(Value::as_str).unwrap_or("");
        let results: Vec<&Value> = match v.get("result") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(other) => vec![other],
            None => Vec::new(),
        };
        if channel == GATE_CONTRACTS {
            for c in results {
                self.gate_sizes.insert(str_field(c, "name")?, futures_multiplier(c)?);
            }
            return Ok(());
        }
        if v.get("event").and_then(Value::as_str) != Some("update") {
            return Ok(());
        }
        for r in results {
            gate_market(channel, r, &self.gate_sizes, out)?;
        }
        Ok(())
    }
}

/// The channel of the contract-size frames a recording of Gate.io futures carries.
const GATE_CONTRACTS: &str = "futures.contracts";

/// A `futures.contracts` frame: `contracts` are `{"name", "quanto_multiplier"}` objects.
pub(crate) fn gate_contracts_frame(time_s: i64, contracts: Vec<Value>) -> String {
    json!({"time": time_s, "channel": GATE_CONTRACTS, "event": "all", "result": contracts}).to_string()
}

/// One result of a Gate.io market-data channel (futures sizes converted with `sizes`);
/// false when the channel is not one.
pub(crate) fn gate_market(
    channel: &str,
    r: &Value,
    sizes: &ContractSizes,
    out: &mut Vec<StreamEvent>,
) -> Result<bool, String> {
    use super::gateio::parse;
    out.push(match channel {
        "spot.trades" => StreamEvent::Trade(parse::spot_trade(r)?),
        "futures.trades" => StreamEvent::Trade(parse::futures_trade(r, sizes)?),
        "spot.candlesticks" => StreamEvent::Kline(parse::ws_candle(r)?),
        "futures.candlesticks" => StreamEvent::Kline(parse::futures_ws_candle(r, sizes)?),
        "spot.book_ticker" => StreamEvent::Quote(parse::book_ticker(r)?),
        "futures.book_ticker" => StreamEvent::Quote(parse::futures_book_ticker(r, sizes)?),
        _ => return Ok(false),
    });
    Ok(true)
}

fn kucoin(text: &str, out: &mut Vec<StreamEvent>) -> Result<(), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if v.get("type").and_then(Value::as_str) != Some("message") {
        return Ok(());
    }
    let topic = v.get("topic").and_then(Value::as_str).unwrap_or("");
    let data = v.get("data").cloned().unwrap_or_default();
    kucoin_market(topic, &data, out)?;
    Ok(())
}

/// The data of a KuCoin market-data topic; false when the topic is not one.
pub(crate) fn kucoin_market(topic: &str, data: &Value, out: &mut Vec<StreamEvent>) -> Result<bool, String> {
    use super::kucoin::parse;
    let (kind, arg) = topic.split_once(':').unwrap_or((topic, ""));
    match kind {
        "/market/match" => out.push(StreamEvent::Trade(parse::trade(data, &parse::host_symbol(arg))?)),
        "/market/candles" => {
            let pair = arg.split_once('_').map(|(p, _)| p).unwrap_or(arg);
            let row = data.get("candles").ok_or("candles missing")?;
            out.push(StreamEvent::Kline(parse::candle_row(row, &parse::host_symbol(pair), false)?));
        }
        "/market/ticker" => out.push(StreamEvent::Quote(parse::ws_quote(data, &parse::host_symbol(arg))?)),
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/exchange-docs").join(name);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        match v.get("payload") {
            Some(p) => p.to_string(),
            None => v["messages"][0].to_string(),
        }
    }

    #[test]
    fn sniffs_and_parses_each_venue_from_its_docs() {
        let cases = [
            ("binance_ws_trade.json", ExchangeId::Binance, "BNBBTC"),
            ("bybit_v5_ws_publicTrade.json", ExchangeId::Bybit, "BTCUSDT"),
            ("kucoin_ws_match.json", ExchangeId::Kucoin, "BTCUSDT"),
            ("gate_futures_ws_trades_doc.json", ExchangeId::Gateio, "BTCUSD"),
        ];
        let mut frames = MarketFrames::default();
        for (file, venue, symbol) in cases {
            let frame = doc(file);
            assert_eq!(sniff(&frame), venue, "{file}");
            let mut out = Vec::new();
            if file.starts_with("gate_futures") {
                let err = frames.decode(venue, &frame, &mut out).unwrap_err();
                assert!(err.contains("BTC_USD"), "no size known for the contract yet: {err}");
                let sizes = gate_contracts_frame(1, vec![json!({"name": "BTC_USD", "quanto_multiplier": "0.001"})]);
                assert_eq!(sniff(&sizes), ExchangeId::Gateio);
                frames.decode(venue, &sizes, &mut out).unwrap();
            }
            frames.decode(venue, &frame, &mut out).unwrap();
            match out.as_slice() {
                [StreamEvent::Trade(t)] => assert_eq!(t.symbol, symbol, "{file}"),
                other => panic!("{file}: {other:?}"),
            }
            if file.starts_with("gate_futures") {
                let [StreamEvent::Trade(t)] = out.as_slice() else { unreachable!() };
                assert_eq!(t.quantity, "0.108".parse().unwrap(), "108 contracts of 0.001 BTC");
            }
        }
        let spaced = r#"{"time": 1, "channel": "spot.pong", "event": ""}"#;
        assert_eq!(sniff(spaced), ExchangeId::Gateio);
        let mut out = Vec::new();
        frames.decode(ExchangeId::Gateio, spaced, &mut out).unwrap();
        assert!(out.is_empty());
    }
}
