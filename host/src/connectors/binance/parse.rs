//! Binance spot wire format to the normalised [`types`](crate::connectors::types): REST
//! answers (orders, trades, klines, exchange info, account, depth, tickers, errors) and
//! WebSocket frames (combined market streams and WebSocket-API user-data events).
//!
//! Every price and quantity is parsed from the exchange's decimal string exactly.

use crate::connectors::{
    Balance, ExchangeId, ExchangeOrder, ExchangeOrderStatus, Kline, OrderBook, OrderType, OrderUpdate, OwnTrade,
    PublicTrade, Quote, StreamEvent, SymbolRules, Ticker,
};
use crate::execution::Side;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

const EX: ExchangeId = ExchangeId::Binance;

/// An exact decimal from a string (or a JSON number written as text).
pub fn dec(text: &str) -> Result<Decimal, String> {
    Decimal::from_str_exact(text).map_err(|e| format!("bad decimal {text:?}: {e}"))
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name).ok_or_else(|| format!("missing field {name:?}"))
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    field(v, name)?.as_str().ok_or_else(|| format!("field {name:?} is not a string"))
}

fn dec_field(v: &Value, name: &str) -> Result<Decimal, String> {
    match field(v, name)? {
        Value::String(s) => dec(s),
        Value::Number(n) => dec(&n.to_string()),
        other => Err(format!("field {name:?} is not a decimal: {other}")),
    }
}

fn i64_field(v: &Value, name: &str) -> Result<i64, String> {
    match field(v, name)? {
        Value::Number(n) => n.as_i64().ok_or_else(|| format!("field {name:?} is not an integer")),
        Value::String(s) => s.parse().map_err(|_| format!("field {name:?} is not an integer: {s:?}")),
        other => Err(format!("field {name:?} is not an integer: {other}")),
    }
}

fn u64_field(v: &Value, name: &str) -> Result<u64, String> {
    let n = i64_field(v, name)?;
    u64::try_from(n).map_err(|_| format!("field {name:?} is negative: {n}"))
}

fn bool_field(v: &Value, name: &str) -> Result<bool, String> {
    field(v, name)?.as_bool().ok_or_else(|| format!("field {name:?} is not a boolean"))
}

/// Parse a JSON text.
pub fn json(body: &str) -> Result<Value, String> {
    serde_json::from_str(body).map_err(|e| format!("invalid JSON: {e}"))
}

/// `{"code":-2010,"msg":"..."}` -> (code, msg).
pub fn error(body: &str) -> Option<(i64, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let code = v.get("code")?.as_i64()?;
    let msg = v.get("msg").and_then(Value::as_str).unwrap_or_default().to_string();
    Some((code, msg))
}

/// `BUY` / `SELL`.
pub fn side(raw: &str) -> Result<Side, String> {
    match raw {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        other => Err(format!("unknown side {other:?}")),
    }
}

/// The wire name of a side.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// Order type; the stop/take-profit kinds the host never sends count as limits.
pub fn order_type(raw: &str) -> OrderType {
    match raw {
        "MARKET" => OrderType::Market,
        "LIMIT_MAKER" => OrderType::LimitMaker,
        _ => OrderType::Limit,
    }
}

/// The wire name of an order type.
pub fn order_type_name(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "MARKET",
        OrderType::Limit => "LIMIT",
        OrderType::LimitMaker => "LIMIT_MAKER",
    }
}

/// Order status.
pub fn status(raw: &str) -> Result<ExchangeOrderStatus, String> {
    Ok(match raw {
        "NEW" | "PENDING_NEW" => ExchangeOrderStatus::New,
        "PARTIALLY_FILLED" => ExchangeOrderStatus::PartiallyFilled,
        "FILLED" => ExchangeOrderStatus::Filled,
        "CANCELED" | "PENDING_CANCEL" => ExchangeOrderStatus::Canceled,
        "EXPIRED" | "EXPIRED_IN_MATCH" => ExchangeOrderStatus::Expired,
        "REJECTED" => ExchangeOrderStatus::Rejected,
        other => return Err(format!("unknown order status {other:?}")),
    })
}

fn nonzero(d: Decimal) -> Option<Decimal> {
    (!d.is_zero()).then_some(d)
}

/// An order from `POST/GET/DELETE /api/v3/order` or `/api/v3/openOrders` (RESULT/FULL
/// shapes; cancel answers carry the order's own id in `origClientOrderId`).
pub fn order(v: &Value) -> Result<ExchangeOrder, String> {
    let client = v
        .get("origClientOrderId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| str_field(v, "clientOrderId"), Ok)?;
    let updated_ms = ["updateTime", "transactTime", "workingTime", "time"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_i64))
        .unwrap_or_default();
    let filled_quote = dec_field(v, "cummulativeQuoteQty")?;
    Ok(ExchangeOrder {
        exchange: EX,
        order_id: u64_field(v, "orderId")?.to_string(),
        client_order_id: client.to_string(),
        symbol: str_field(v, "symbol")?.to_string(),
        side: side(str_field(v, "side")?)?,
        order_type: order_type(str_field(v, "type")?),
        status: status(str_field(v, "status")?)?,
        price: nonzero(dec_field(v, "price")?),
        quantity: dec_field(v, "origQty")?,
        filled_quantity: dec_field(v, "executedQty")?,
        filled_quote: (!filled_quote.is_sign_negative()).then_some(filled_quote),
        updated_ms,
    })
}

/// The `fills` of a FULL new-order answer, as own trades of `order`.
pub fn order_fills(v: &Value, order: &ExchangeOrder) -> Result<Vec<OwnTrade>, String> {
    let Some(fills) = v.get("fills").and_then(Value::as_array) else { return Ok(Vec::new()) };
    fills
        .iter()
        .map(|f| {
            Ok(OwnTrade {
                exchange: EX,
                trade_id: u64_field(f, "tradeId")?.to_string(),
                order_id: order.order_id.clone(),
                client_order_id: Some(order.client_order_id.clone()),
                symbol: order.symbol.clone(),
                side: order.side,
                price: dec_field(f, "price")?,
                quantity: dec_field(f, "qty")?,
                fee: dec_field(f, "commission")?,
                fee_asset: str_field(f, "commissionAsset")?.to_string(),
                is_maker: false,
                time_ms: order.updated_ms,
            })
        })
        .collect()
}

/// `/api/v3/trades` or `/api/v3/historicalTrades`, oldest first.
pub fn public_trades(symbol: &str, v: &Value) -> Result<Vec<PublicTrade>, String> {
    let list = v.as_array().ok_or("trades: expected an array")?;
    list.iter()
        .map(|t| {
            let id = u64_field(t, "id")?;
            Ok(PublicTrade {
                symbol: symbol.to_string(),
                trade_id: id.to_string(),
                seq: id,
                price: dec_field(t, "price")?,
                quantity: dec_field(t, "qty")?,
                buyer_maker: bool_field(t, "isBuyerMaker")?,
                time_ms: i64_field(t, "time")?,
            })
        })
        .collect()
}

/// `/api/v3/klines` rows `[openTime, o, h, l, c, v, closeTime, ...]`. A row is final
/// once its close time has passed `now_ms`.
pub fn klines(symbol: &str, v: &Value, now_ms: i64) -> Result<Vec<Kline>, String> {
    let rows = v.as_array().ok_or("klines: expected an array")?;
    rows.iter()
        .map(|row| {
            let r = row.as_array().filter(|r| r.len() >= 7).ok_or("kline row: expected 7+ columns")?;
            let s = |i: usize| r[i].as_str().ok_or_else(|| format!("kline column {i} is not a string")).and_then(dec);
            let close_time = r[6].as_i64().ok_or("kline close time is not an integer")?;
            Ok(Kline {
                symbol: symbol.to_string(),
                open_time_ms: r[0].as_i64().ok_or("kline open time is not an integer")?,
                open: s(1)?,
                high: s(2)?,
                low: s(3)?,
                close: s(4)?,
                volume: s(5)?,
                closed: close_time < now_ms,
            })
        })
        .collect()
}

/// `/api/v3/exchangeInfo`: every symbol's filters.
pub fn exchange_info(v: &Value) -> Result<Vec<SymbolRules>, String> {
    let symbols = field(v, "symbols")?.as_array().ok_or("symbols: expected an array")?;
    symbols
        .iter()
        .map(|s| {
            let filters = s.get("filters").and_then(Value::as_array).cloned().unwrap_or_default();
            let find = |kind: &str| filters.iter().find(|f| f.get("filterType").and_then(Value::as_str) == Some(kind));
            let price = find("PRICE_FILTER");
            let lot = find("LOT_SIZE");
            let notional = find("NOTIONAL").or_else(|| find("MIN_NOTIONAL"));
            let name = str_field(s, "symbol")?;
            Ok(SymbolRules {
                symbol: name.to_string(),
                venue_symbol: name.to_string(),
                base: str_field(s, "baseAsset")?.to_string(),
                quote: str_field(s, "quoteAsset")?.to_string(),
                tick_size: price.map(|f| dec_field(f, "tickSize")).transpose()?.unwrap_or_default().normalize(),
                lot_size: lot.map(|f| dec_field(f, "stepSize")).transpose()?.unwrap_or_default().normalize(),
                min_qty: lot.map(|f| dec_field(f, "minQty")).transpose()?.unwrap_or_default().normalize(),
                max_qty: lot
                    .map(|f| dec_field(f, "maxQty"))
                    .transpose()?
                    .filter(|m| !m.is_zero())
                    .map(|m| m.normalize()),
                min_notional: notional
                    .map(|f| dec_field(f, "minNotional"))
                    .transpose()?
                    .unwrap_or_default()
                    .normalize(),
                trading: s.get("status").and_then(Value::as_str) == Some("TRADING"),
            })
        })
        .collect()
}

/// `/api/v3/account` balances, the non-zero ones.
pub fn balances(v: &Value) -> Result<Vec<Balance>, String> {
    let list = field(v, "balances")?.as_array().ok_or("balances: expected an array")?;
    let mut out = Vec::new();
    for b in list {
        let free = dec_field(b, "free")?;
        let locked = dec_field(b, "locked")?;
        if !free.is_zero() || !locked.is_zero() {
            out.push(Balance { asset: str_field(b, "asset")?.to_string(), free, locked });
        }
    }
    Ok(out)
}

/// `/api/v3/myTrades`.
pub fn my_trades(v: &Value) -> Result<Vec<OwnTrade>, String> {
    let list = v.as_array().ok_or("myTrades: expected an array")?;
    list.iter()
        .map(|t| {
            Ok(OwnTrade {
                exchange: EX,
                trade_id: u64_field(t, "id")?.to_string(),
                order_id: u64_field(t, "orderId")?.to_string(),
                client_order_id: None,
                symbol: str_field(t, "symbol")?.to_string(),
                side: if bool_field(t, "isBuyer")? { Side::Buy } else { Side::Sell },
                price: dec_field(t, "price")?,
                quantity: dec_field(t, "qty")?,
                fee: dec_field(t, "commission")?,
                fee_asset: str_field(t, "commissionAsset")?.to_string(),
                is_maker: bool_field(t, "isMaker")?,
                time_ms: i64_field(t, "time")?,
            })
        })
        .collect()
}

/// `/api/v3/depth`.
pub fn order_book(symbol: &str, v: &Value) -> Result<OrderBook, String> {
    let side = |name: &str| -> Result<Vec<(Decimal, Decimal)>, String> {
        let levels = field(v, name)?.as_array().ok_or_else(|| format!("{name}: expected an array"))?;
        levels
            .iter()
            .map(|l| {
                let p = l.get(0).and_then(Value::as_str).ok_or("depth level: bad price")?;
                let q = l.get(1).and_then(Value::as_str).ok_or("depth level: bad quantity")?;
                Ok((dec(p)?, dec(q)?))
            })
            .collect()
    };
    Ok(OrderBook {
        symbol: symbol.to_string(),
        bids: side("bids")?,
        asks: side("asks")?,
        sequence: v.get("lastUpdateId").and_then(Value::as_u64),
    })
}

/// `/api/v3/ticker/24hr?symbol=` (it carries the best bid and ask too).
pub fn ticker(v: &Value) -> Result<Ticker, String> {
    let opt = |name: &str| v.get(name).and_then(Value::as_str).map(dec).transpose();
    Ok(Ticker {
        symbol: str_field(v, "symbol")?.to_string(),
        last: dec_field(v, "lastPrice")?,
        bid: opt("bidPrice")?,
        ask: opt("askPrice")?,
        volume_24h: opt("volume")?,
    })
}

// ---------------------------------------------------------------- WebSocket market data

/// `<symbol>@trade` payload, borrowed from the frame.
#[derive(Debug, Deserialize)]
struct WsTrade<'a> {
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "t")]
    id: u64,
    #[serde(rename = "p")]
    price: &'a str,
    #[serde(rename = "q")]
    qty: &'a str,
    #[serde(rename = "T")]
    time: i64,
    #[serde(rename = "m")]
    buyer_maker: bool,
}

#[derive(Debug, Deserialize)]
struct WsBookTicker<'a> {
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "b")]
    bid: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    #[serde(rename = "a")]
    ask: &'a str,
    #[serde(rename = "A")]
    ask_qty: &'a str,
}

#[derive(Debug, Deserialize)]
struct WsKlineEvent<'a> {
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(borrow, rename = "k")]
    k: WsKline<'a>,
}

#[derive(Debug, Deserialize)]
struct WsKline<'a> {
    #[serde(rename = "t")]
    open_time: i64,
    #[serde(rename = "o")]
    open: &'a str,
    #[serde(rename = "h")]
    high: &'a str,
    #[serde(rename = "l")]
    low: &'a str,
    #[serde(rename = "c")]
    close: &'a str,
    #[serde(rename = "v")]
    volume: &'a str,
    #[serde(rename = "x")]
    closed: bool,
}

/// The `data` of a combined-stream frame `{"stream":"<name>","data":{...}}` and the
/// stream name, split without parsing (Binance always writes this layout); falls back to
/// serde for anything else.
fn split_combined(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim().strip_prefix(r#"{"stream":""#)?;
    let (stream, rest) = rest.split_once('"')?;
    let data = rest.strip_prefix(r#","data":"#)?.strip_suffix('}')?;
    Some((stream, data))
}

/// A trade payload (`{"e":"trade",...}`).
pub fn ws_trade(data: &str) -> Result<PublicTrade, String> {
    let t: WsTrade<'_> = serde_json::from_str(data).map_err(|e| format!("trade: {e}"))?;
    Ok(PublicTrade {
        symbol: t.symbol.to_string(),
        trade_id: t.id.to_string(),
        seq: t.id,
        price: dec(t.price)?,
        quantity: dec(t.qty)?,
        buyer_maker: t.buyer_maker,
        time_ms: t.time,
    })
}

fn ws_book_ticker(data: &str) -> Result<Quote, String> {
    let b: WsBookTicker<'_> = serde_json::from_str(data).map_err(|e| format!("bookTicker: {e}"))?;
    Ok(Quote {
        symbol: b.symbol.to_string(),
        bid: dec(b.bid)?,
        bid_qty: dec(b.bid_qty)?,
        ask: dec(b.ask)?,
        ask_qty: dec(b.ask_qty)?,
        time_ms: None,
    })
}

/// A kline payload (`{"e":"kline",...,"k":{...}}`).
pub fn ws_kline(data: &str) -> Result<Kline, String> {
    let e: WsKlineEvent<'_> = serde_json::from_str(data).map_err(|e| format!("kline: {e}"))?;
    Ok(Kline {
        symbol: e.symbol.to_string(),
        open_time_ms: e.k.open_time,
        open: dec(e.k.open)?,
        high: dec(e.k.high)?,
        low: dec(e.k.low)?,
        close: dec(e.k.close)?,
        volume: dec(e.k.volume)?,
        closed: e.k.closed,
    })
}

fn by_kind(kind: &str, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), String> {
    match kind {
        "trade" => out.push(StreamEvent::Trade(ws_trade(data)?)),
        "bookTicker" => out.push(StreamEvent::Quote(ws_book_ticker(data)?)),
        k if k.starts_with("kline") => out.push(StreamEvent::Kline(ws_kline(data)?)),
        _ => {}
    }
    Ok(())
}

/// One market-data frame (combined stream, or a raw event, or a subscription answer).
/// Frames we do not use (depth, acks) produce nothing.
pub fn market_frame(text: &str, out: &mut Vec<StreamEvent>) -> Result<(), String> {
    if let Some((stream, data)) = split_combined(text) {
        let kind = stream.split_once('@').map_or(stream, |(_, k)| k);
        return by_kind(kind, data, out);
    }
    let v = json(text)?;
    if let (Some(stream), Some(data)) = (v.get("stream").and_then(Value::as_str), v.get("data")) {
        let kind = stream.split_once('@').map_or(stream, |(_, k)| k);
        return by_kind(kind, &data.to_string(), out);
    }
    if let Some(e) = v.get("e").and_then(Value::as_str) {
        return by_kind(e, text, out);
    }
    if ["u", "s", "b", "B", "a", "A"].iter().all(|k| v.get(*k).is_some()) {
        return by_kind("bookTicker", text, out);
    }
    if let Some(err) = v.get("error") {
        return Err(format!("stream error: {err}"));
    }
    Ok(())
}

// ---------------------------------------------------------------- user data (WS API)

/// An `executionReport` event: the order after the update, and the fill when `x == TRADE`.
pub fn execution_report(e: &Value) -> Result<OrderUpdate, String> {
    let exec_type = str_field(e, "x")?;
    let status = status(str_field(e, "X")?)?;
    // On cancels `c` is the cancel request's id and `C` the order's own.
    let client = match e.get("C").and_then(Value::as_str).filter(|c| !c.is_empty()) {
        Some(orig) if exec_type == "CANCELED" => orig,
        _ => str_field(e, "c")?,
    };
    let order_id = u64_field(e, "i")?.to_string();
    let symbol = str_field(e, "s")?.to_string();
    let side = side(str_field(e, "S")?)?;
    let time = i64_field(e, "T").or_else(|_| i64_field(e, "E"))?;
    let order = ExchangeOrder {
        exchange: EX,
        order_id: order_id.clone(),
        client_order_id: client.to_string(),
        symbol: symbol.clone(),
        side,
        order_type: order_type(str_field(e, "o")?),
        status,
        price: nonzero(dec_field(e, "p")?),
        quantity: dec_field(e, "q")?,
        filled_quantity: dec_field(e, "z")?,
        filled_quote: Some(dec_field(e, "Z")?),
        updated_ms: time,
    };
    let fill = if exec_type == "TRADE" {
        Some(OwnTrade {
            exchange: EX,
            trade_id: i64_field(e, "t")?.to_string(),
            order_id,
            client_order_id: Some(client.to_string()),
            symbol,
            side,
            price: dec_field(e, "L")?,
            quantity: dec_field(e, "l")?,
            fee: dec_field(e, "n")?,
            fee_asset: e.get("N").and_then(Value::as_str).unwrap_or_default().to_string(),
            is_maker: bool_field(e, "m")?,
            time_ms: time,
        })
    } else {
        None
    };
    Ok(OrderUpdate { order, fill })
}

/// One WebSocket-API frame: `{"subscriptionId":..,"event":{...}}` events (order
/// updates; balance and other events produce nothing), or a request answer
/// `{"id":..,"status":200,...}` (an error answer is an `Err`).
pub fn user_frame(text: &str, out: &mut Vec<StreamEvent>) -> Result<(), String> {
    let v = json(text)?;
    if let Some(event) = v.get("event") {
        if event.get("e").and_then(Value::as_str) == Some("executionReport") {
            out.push(StreamEvent::Order(execution_report(event)?));
        }
        return Ok(());
    }
    match v.get("status").and_then(Value::as_i64) {
        Some(200) | None => Ok(()),
        Some(status) => {
            let err = v.get("error").map(Value::to_string).unwrap_or_default();
            Err(format!("WebSocket API request {} failed with status {status}: {err}", v["id"]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str) -> Value {
        let path = crate::connectors::binance::data_dir().join("exchange-docs").join(name);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v["payload"].clone()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn ws_trade_doc() {
        let mut out = Vec::new();
        market_frame(&doc("binance_ws_trade.json").to_string(), &mut out).unwrap();
        let combined = format!(r#"{{"stream":"bnbbtc@trade","data":{}}}"#, doc("binance_ws_trade.json"));
        market_frame(&combined, &mut out).unwrap();
        let want = PublicTrade {
            symbol: "BNBBTC".into(),
            trade_id: "12345".into(),
            seq: 12345,
            price: d("0.001"),
            quantity: d("100"),
            buyer_maker: true,
            time_ms: 1672515782136,
        };
        assert_eq!(out, vec![StreamEvent::Trade(want.clone()), StreamEvent::Trade(want)]);
    }

    #[test]
    fn ws_kline_doc() {
        let mut out = Vec::new();
        let combined = format!(r#"{{"stream":"bnbbtc@kline_1m","data":{}}}"#, doc("binance_ws_kline_1m.json"));
        market_frame(&combined, &mut out).unwrap();
        assert_eq!(
            out,
            vec![StreamEvent::Kline(Kline {
                symbol: "BNBBTC".into(),
                open_time_ms: 1672515780000,
                open: d("0.0010"),
                high: d("0.0025"),
                low: d("0.0015"),
                close: d("0.0020"),
                volume: d("1000"),
                closed: false,
            })]
        );
    }

    #[test]
    fn ws_agg_trade_doc_is_not_a_trade_stream() {
        // The connector subscribes to `@trade` (contiguous ids); an aggTrade frame is
        // valid but not delivered as a trade.
        let mut out = Vec::new();
        market_frame(&doc("binance_ws_aggTrade.json").to_string(), &mut out).unwrap();
        assert!(out.is_empty());
        let v = doc("binance_ws_aggTrade.json");
        assert_eq!((v["a"].as_u64(), v["p"].as_str()), (Some(12345), Some("0.001")));
    }

    #[test]
    fn book_ticker_frame() {
        let mut out = Vec::new();
        let text = r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#;
        market_frame(text, &mut out).unwrap();
        assert_eq!(
            out,
            vec![StreamEvent::Quote(Quote {
                symbol: "BTCUSDT".into(),
                bid: d("61837.63"),
                bid_qty: d("3.78826"),
                ask: d("61837.64"),
                ask_qty: d("1.54698"),
                time_ms: None,
            })]
        );
        out.clear();
        market_frame(r#"{"result":null,"id":1}"#, &mut out).unwrap();
        market_frame(r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1}}"#, &mut out).unwrap();
        assert!(out.is_empty());
        assert!(market_frame("not json", &mut out).is_err());
        assert!(
            market_frame(
                r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":1,"p":"x","q":"1","T":1,"m":true}}"#,
                &mut out
            )
            .is_err()
        );
    }

    #[test]
    fn rest_trades_doc() {
        let trades = public_trades("BTCUSDT", &doc("binance_rest_trades.json")).unwrap();
        assert_eq!(
            trades,
            vec![PublicTrade {
                symbol: "BTCUSDT".into(),
                trade_id: "28457".into(),
                seq: 28457,
                price: d("4.00000100"),
                quantity: d("12"),
                buyer_maker: true,
                time_ms: 1499865549590,
            }]
        );
    }

    #[test]
    fn rest_agg_trades_doc_fields() {
        // Not used by the connector (it reads `/api/v3/trades`), but the shape is the
        // documented one: check it decodes with the same helpers.
        let v = doc("binance_rest_aggTrades.json");
        let t = &v[0];
        assert_eq!((u64_field(t, "a").unwrap(), dec_field(t, "p").unwrap()), (26129, d("0.01633102")));
        assert_eq!((dec_field(t, "q").unwrap(), i64_field(t, "T").unwrap()), (d("4.70443515"), 1498793709153));
    }

    #[test]
    fn rest_klines_doc() {
        let k = klines("LTCBTC", &doc("binance_rest_klines.json"), 1_600_000_000_000).unwrap();
        assert_eq!(
            k,
            vec![Kline {
                symbol: "LTCBTC".into(),
                open_time_ms: 1499040000000,
                open: d("0.01634790"),
                high: d("0.8"),
                low: d("0.015758"),
                close: d("0.015771"),
                volume: d("148976.11427815"),
                closed: true,
            }]
        );
        assert!(!klines("LTCBTC", &doc("binance_rest_klines.json"), 1499644799000).unwrap()[0].closed);
    }

    #[test]
    fn order_response_docs() {
        let result = order(&doc("binance_rest_order_response_result.json")).unwrap();
        let want = ExchangeOrder {
            exchange: EX,
            order_id: "28".into(),
            client_order_id: "6gCrw2kRUAF9CvJDGP16IP".into(),
            symbol: "BTCUSDT".into(),
            side: Side::Sell,
            order_type: OrderType::Market,
            status: ExchangeOrderStatus::Filled,
            price: None,
            quantity: d("10"),
            filled_quantity: d("10"),
            filled_quote: Some(d("10")),
            updated_ms: 1507725176595,
        };
        assert_eq!(result, want);
        let full_json = doc("binance_rest_order_response_full.json");
        let full = order(&full_json).unwrap();
        assert_eq!(full, want);
        let fills = order_fills(&full_json, &full).unwrap();
        assert_eq!(fills.len(), 5);
        assert_eq!(fills.iter().map(|f| f.quantity).sum::<Decimal>(), d("10"));
        assert_eq!(
            (fills[1].trade_id.as_str(), fills[1].price, fills[1].fee, fills[1].fee_asset.as_str()),
            ("57", d("3999"), d("19.995"), "USDT")
        );
        // ACK has no status: it is not an order we can report.
        let ack = doc("binance_rest_order_response_ack.json");
        assert!(order(&ack).is_err());
        assert_eq!(
            (ack["orderId"].as_u64(), ack["clientOrderId"].as_str()),
            (Some(28), Some("6gCrw2kRUAF9CvJDGP16IP"))
        );
    }

    #[test]
    fn execution_report_doc() {
        let mut out = Vec::new();
        user_frame(&doc("binance_user_executionReport.json").to_string(), &mut out).unwrap();
        let want = OrderUpdate {
            order: ExchangeOrder {
                exchange: EX,
                order_id: "4293153".into(),
                client_order_id: "mUvoqJxFIILMdfAW5iGSOW".into(),
                symbol: "ETHBTC".into(),
                side: Side::Buy,
                order_type: OrderType::Limit,
                status: ExchangeOrderStatus::New,
                price: Some(d("0.1026441")),
                quantity: d("1"),
                filled_quantity: d("0"),
                filled_quote: Some(d("0")),
                updated_ms: 1499405658657,
            },
            fill: None,
        };
        assert_eq!(out, vec![StreamEvent::Order(want)]);
    }

    #[test]
    fn execution_report_trade_has_a_fill() {
        let mut e = doc("binance_user_executionReport.json")["event"].clone();
        e["x"] = "TRADE".into();
        e["X"] = "PARTIALLY_FILLED".into();
        e["l"] = "0.4".into();
        e["z"] = "0.4".into();
        e["L"] = "0.1".into();
        e["Z"] = "0.04".into();
        e["n"] = "0.0004".into();
        e["N"] = "ETH".into();
        e["t"] = 77.into();
        e["m"] = true.into();
        let u = execution_report(&e).unwrap();
        assert_eq!(u.order.status, ExchangeOrderStatus::PartiallyFilled);
        assert_eq!(u.order.average_price(), Some(d("0.1")));
        let f = u.fill.unwrap();
        assert_eq!(
            (f.trade_id.as_str(), f.quantity, f.price, f.fee, f.is_maker),
            ("77", d("0.4"), d("0.1"), d("0.0004"), true)
        );
        let mut out = Vec::new();
        assert!(user_frame(r#"{"id":"x","status":401,"error":{"code":-1022,"msg":"Signature"}}"#, &mut out).is_err());
        user_frame(r#"{"id":"x","status":200,"result":{"subscriptionId":0}}"#, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn rest_shapes() {
        let info = json(
            r#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[
            {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
            {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
            {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000"}]}]}"#,
        )
        .unwrap();
        let r = &exchange_info(&info).unwrap()[0];
        assert_eq!(
            (r.tick_size, r.lot_size, r.min_qty, r.max_qty, r.min_notional),
            (d("0.01"), d("0.00001"), d("0.00001"), Some(d("9000")), d("5"))
        );
        assert!(r.trading);
        let acct = json(
            r#"{"balances":[{"asset":"BTC","free":"1.5","locked":"0.1"},{"asset":"LTC","free":"0.0","locked":"0.0"}]}"#,
        )
        .unwrap();
        assert_eq!(balances(&acct).unwrap(), vec![Balance { asset: "BTC".into(), free: d("1.5"), locked: d("0.1") }]);
        let book = json(r#"{"lastUpdateId":7,"bids":[["4.0","431.0"]],"asks":[["4.1","12"]]}"#).unwrap();
        let b = order_book("BTCUSDT", &book).unwrap();
        assert_eq!((b.bids, b.asks, b.sequence), (vec![(d("4"), d("431"))], vec![(d("4.1"), d("12"))], Some(7)));
        assert_eq!(
            error(r#"{"code":-2013,"msg":"Order does not exist."}"#),
            Some((-2013, "Order does not exist.".into()))
        );
    }
}
