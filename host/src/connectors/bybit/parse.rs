//! Bybit v5 wire format to the normalised [`types`](crate::connectors::types): the
//! `{"retCode","retMsg","result"}` envelope, market data, orders, executions, wallet,
//! positions, instruments, and the public/private WebSocket topics.
//!
//! Bybit writes every number as a string (empty for "none"); each is parsed exactly.

use crate::connectors::{
    Balance, ExchangeId, ExchangeOrder, ExchangeOrderStatus, Kline, OrderBook, OrderType, OrderUpdate, OwnTrade,
    Position, PublicTrade, Quote, StreamEvent, SymbolRules, Ticker,
};
use crate::execution::Side;
use rust_decimal::Decimal;
use serde_json::Value;

const EX: ExchangeId = ExchangeId::Bybit;

/// An exact decimal.
pub fn dec(text: &str) -> Result<Decimal, String> {
    Decimal::from_str_exact(text).map_err(|e| format!("bad decimal {text:?}: {e}"))
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name).ok_or_else(|| format!("missing field {name:?}"))
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    field(v, name)?.as_str().ok_or_else(|| format!("field {name:?} is not a string"))
}

/// A decimal field; an empty string counts as zero (Bybit's "nothing yet").
fn dec_field(v: &Value, name: &str) -> Result<Decimal, String> {
    match field(v, name)? {
        Value::String(s) if s.is_empty() => Ok(Decimal::ZERO),
        Value::String(s) => dec(s),
        Value::Number(n) => dec(&n.to_string()),
        other => Err(format!("field {name:?} is not a decimal: {other}")),
    }
}

fn opt_dec(v: &Value, name: &str) -> Result<Option<Decimal>, String> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(_) => dec_field(v, name).map(Some),
    }
}

fn i64_field(v: &Value, name: &str) -> Result<i64, String> {
    match field(v, name)? {
        Value::Number(n) => n.as_i64().ok_or_else(|| format!("field {name:?} is not an integer")),
        Value::String(s) => s.parse().map_err(|_| format!("field {name:?} is not an integer: {s:?}")),
        other => Err(format!("field {name:?} is not an integer: {other}")),
    }
}

fn bool_field(v: &Value, name: &str) -> Result<bool, String> {
    field(v, name)?.as_bool().ok_or_else(|| format!("field {name:?} is not a boolean"))
}

fn list(result: &Value) -> Result<&Vec<Value>, String> {
    field(result, "list")?.as_array().ok_or_else(|| "list: expected an array".to_string())
}

/// A parsed answer: `retCode`, `retMsg`, `result`, and the server `time` if present.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// 0 on success.
    pub code: i64,
    /// The venue's message.
    pub message: String,
    /// The `result` object.
    pub result: Value,
    /// Server time of the answer, ms.
    pub time: Option<i64>,
}

/// Parse the `{"retCode":0,"retMsg":"OK","result":{...},"time":...}` envelope.
pub fn envelope(body: &str) -> Result<Envelope, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(Envelope {
        code: v.get("retCode").and_then(Value::as_i64).ok_or("missing retCode")?,
        message: v.get("retMsg").and_then(Value::as_str).unwrap_or_default().to_string(),
        time: v.get("time").and_then(Value::as_i64),
        result: v.get("result").cloned().unwrap_or(Value::Null),
    })
}

/// `Buy` / `Sell`.
pub fn side(raw: &str) -> Result<Side, String> {
    match raw {
        "Buy" | "BUY" => Ok(Side::Buy),
        "Sell" | "SELL" => Ok(Side::Sell),
        other => Err(format!("unknown side {other:?}")),
    }
}

/// The wire name of a side.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

/// Order status.
pub fn status(raw: &str) -> Result<ExchangeOrderStatus, String> {
    Ok(match raw {
        "New" | "Created" | "Untriggered" | "Active" => ExchangeOrderStatus::New,
        "PartiallyFilled" => ExchangeOrderStatus::PartiallyFilled,
        "Filled" => ExchangeOrderStatus::Filled,
        "Cancelled" | "PartiallyFilledCanceled" | "Deactivated" | "Triggered" => ExchangeOrderStatus::Canceled,
        "Rejected" => ExchangeOrderStatus::Rejected,
        other => return Err(format!("unknown order status {other:?}")),
    })
}

fn order_type(kind: &str, tif: Option<&str>) -> OrderType {
    match (kind, tif) {
        ("Market", _) => OrderType::Market,
        (_, Some("PostOnly")) => OrderType::LimitMaker,
        _ => OrderType::Limit,
    }
}

/// An order from `/v5/order/realtime`, `/v5/order/history` or the `order` topic.
pub fn order(v: &Value) -> Result<ExchangeOrder, String> {
    let price = dec_field(v, "price")?;
    let updated = i64_field(v, "updatedTime").or_else(|_| i64_field(v, "createdTime"))?;
    Ok(ExchangeOrder {
        exchange: EX,
        order_id: str_field(v, "orderId")?.to_string(),
        client_order_id: str_field(v, "orderLinkId")?.to_string(),
        symbol: str_field(v, "symbol")?.to_string(),
        side: side(str_field(v, "side")?)?,
        order_type: order_type(str_field(v, "orderType")?, v.get("timeInForce").and_then(Value::as_str)),
        status: status(str_field(v, "orderStatus")?)?,
        price: (!price.is_zero()).then_some(price),
        quantity: dec_field(v, "qty")?,
        filled_quantity: dec_field(v, "cumExecQty")?,
        filled_quote: opt_dec(v, "cumExecValue")?,
        updated_ms: updated,
    })
}

/// An execution (`/v5/execution/list` row or `execution` topic item) as an own trade.
pub fn execution(v: &Value) -> Result<OwnTrade, String> {
    Ok(OwnTrade {
        exchange: EX,
        trade_id: str_field(v, "execId")?.to_string(),
        order_id: str_field(v, "orderId")?.to_string(),
        client_order_id: v.get("orderLinkId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string),
        symbol: str_field(v, "symbol")?.to_string(),
        side: side(str_field(v, "side")?)?,
        price: dec_field(v, "execPrice")?,
        quantity: dec_field(v, "execQty")?,
        fee: dec_field(v, "execFee")?,
        // Spot names the fee's coin; derivatives leave it out: their fees are in the
        // settle coin (USDT for USDT contracts, USDC for USDC ones). Unknown otherwise
        // (the host then lists the trade); `my_trades` of a linear connector fills it in.
        fee_asset: match v.get("feeCurrency").and_then(Value::as_str).filter(|c| !c.is_empty()) {
            Some(coin) => coin.to_string(),
            None if v.get("category").and_then(Value::as_str) == Some("linear") => {
                settle_coin(str_field(v, "symbol")?).to_string()
            }
            None => String::new(),
        },
        is_maker: bool_field(v, "isMaker")?,
        time_ms: i64_field(v, "execTime")?,
    })
}

/// The settle coin of a linear contract, from its name (`BTCUSDT`, `BTCUSDT-26DEC25`;
/// `BTCPERP`, `BTC-26DEC25` and `BTCUSDC` settle in USDC).
pub fn settle_coin(symbol: &str) -> &'static str {
    if symbol.contains("USDT") { "USDT" } else { "USDC" }
}

/// The order as an `execution` topic item describes it (`orderQty`, `leavesQty`,
/// `orderPrice`), with the fill.
pub fn execution_update(v: &Value) -> Result<OrderUpdate, String> {
    let fill = execution(v)?;
    let qty = dec_field(v, "orderQty")?;
    let leaves = dec_field(v, "leavesQty")?;
    let price = dec_field(v, "orderPrice")?;
    let status = if leaves.is_zero() { ExchangeOrderStatus::Filled } else { ExchangeOrderStatus::PartiallyFilled };
    let order = ExchangeOrder {
        exchange: EX,
        order_id: fill.order_id.clone(),
        client_order_id: fill.client_order_id.clone().unwrap_or_default(),
        symbol: fill.symbol.clone(),
        side: fill.side,
        order_type: order_type(v.get("orderType").and_then(Value::as_str).unwrap_or("Limit"), None),
        status,
        price: (!price.is_zero()).then_some(price),
        quantity: qty,
        filled_quantity: qty - leaves,
        filled_quote: None,
        updated_ms: fill.time_ms,
    };
    Ok(OrderUpdate { order, fill: Some(fill) })
}

/// `/v5/market/recent-trade` (newest first on the wire; returned oldest first). `seq`
/// is Bybit's cross sequence where given.
pub fn public_trades(result: &Value) -> Result<Vec<PublicTrade>, String> {
    let mut out: Vec<PublicTrade> = list(result)?
        .iter()
        .map(|t| {
            Ok(PublicTrade {
                symbol: str_field(t, "symbol")?.to_string(),
                trade_id: str_field(t, "execId")?.to_string(),
                seq: t.get("seq").map(|_| i64_field(t, "seq")).transpose()?.unwrap_or_default() as u64,
                price: dec_field(t, "price")?,
                quantity: dec_field(t, "size")?,
                buyer_maker: side(str_field(t, "side")?)? == Side::Sell,
                time_ms: i64_field(t, "time")?,
            })
        })
        .collect::<Result<_, String>>()?;
    out.sort_by_key(|t| (t.seq, t.time_ms));
    Ok(out)
}

/// One `publicTrade` topic item (`S` is the taker's side).
pub fn ws_trade(t: &Value) -> Result<PublicTrade, String> {
    Ok(PublicTrade {
        symbol: str_field(t, "s")?.to_string(),
        trade_id: str_field(t, "i")?.to_string(),
        seq: i64_field(t, "seq")? as u64,
        price: dec_field(t, "p")?,
        quantity: dec_field(t, "v")?,
        buyer_maker: side(str_field(t, "S")?)? == Side::Sell,
        time_ms: i64_field(t, "T")?,
    })
}

/// `/v5/market/kline` rows `[start, open, high, low, close, volume, turnover]`, newest
/// first on the wire; returned oldest first. Final once a minute past `start`.
pub fn klines(symbol: &str, result: &Value, now_ms: i64) -> Result<Vec<Kline>, String> {
    let mut out: Vec<Kline> = list(result)?
        .iter()
        .map(|row| {
            let r = row.as_array().filter(|r| r.len() >= 6).ok_or("kline row: expected 6+ columns")?;
            let s = |i: usize| r[i].as_str().ok_or_else(|| format!("kline column {i} is not a string"));
            let start: i64 = s(0)?.parse().map_err(|_| "kline start is not an integer")?;
            Ok(Kline {
                symbol: symbol.to_string(),
                open_time_ms: start,
                open: dec(s(1)?)?,
                high: dec(s(2)?)?,
                low: dec(s(3)?)?,
                close: dec(s(4)?)?,
                volume: dec(s(5)?)?,
                closed: start + 60_000 <= now_ms,
            })
        })
        .collect::<Result<_, String>>()?;
    out.sort_by_key(|k| k.open_time_ms);
    Ok(out)
}

/// One `kline.<interval>.<symbol>` topic item.
pub fn ws_kline(symbol: &str, k: &Value) -> Result<Kline, String> {
    Ok(Kline {
        symbol: symbol.to_string(),
        open_time_ms: i64_field(k, "start")?,
        open: dec_field(k, "open")?,
        high: dec_field(k, "high")?,
        low: dec_field(k, "low")?,
        close: dec_field(k, "close")?,
        volume: dec_field(k, "volume")?,
        closed: bool_field(k, "confirm")?,
    })
}

fn levels(v: &Value, name: &str) -> Result<Vec<(Decimal, Decimal)>, String> {
    let rows = field(v, name)?.as_array().ok_or_else(|| format!("{name}: expected an array"))?;
    rows.iter()
        .map(|l| {
            let p = l.get(0).and_then(Value::as_str).ok_or("book level: bad price")?;
            let q = l.get(1).and_then(Value::as_str).ok_or("book level: bad quantity")?;
            Ok((dec(p)?, dec(q)?))
        })
        .collect()
}

/// `/v5/market/orderbook` result.
pub fn order_book(symbol: &str, result: &Value) -> Result<OrderBook, String> {
    Ok(OrderBook {
        symbol: symbol.to_string(),
        bids: levels(result, "b")?,
        asks: levels(result, "a")?,
        sequence: result.get("u").and_then(Value::as_u64),
    })
}

/// `/v5/market/tickers` result.
pub fn ticker(result: &Value) -> Result<Ticker, String> {
    let t = list(result)?.first().ok_or("tickers: empty list")?;
    Ok(Ticker {
        symbol: str_field(t, "symbol")?.to_string(),
        last: dec_field(t, "lastPrice")?,
        bid: opt_dec(t, "bid1Price")?,
        ask: opt_dec(t, "ask1Price")?,
        volume_24h: opt_dec(t, "volume24h")?,
    })
}

/// `/v5/market/instruments-info` result (spot: `basePrecision`, `minOrderAmt`;
/// linear: `qtyStep`, `minNotionalValue`).
pub fn instruments(result: &Value) -> Result<Vec<SymbolRules>, String> {
    list(result)?
        .iter()
        .map(|s| {
            let lot = field(s, "lotSizeFilter")?;
            let price = field(s, "priceFilter")?;
            let step = opt_dec(lot, "qtyStep")?.or(opt_dec(lot, "basePrecision")?).unwrap_or_default();
            let min_notional = opt_dec(lot, "minNotionalValue")?.or(opt_dec(lot, "minOrderAmt")?).unwrap_or_default();
            let name = str_field(s, "symbol")?;
            Ok(SymbolRules {
                symbol: name.to_string(),
                venue_symbol: name.to_string(),
                base: str_field(s, "baseCoin")?.to_string(),
                quote: str_field(s, "quoteCoin")?.to_string(),
                tick_size: dec_field(price, "tickSize")?.normalize(),
                lot_size: step.normalize(),
                min_qty: dec_field(lot, "minOrderQty")?.normalize(),
                max_qty: opt_dec(lot, "maxOrderQty")?.filter(|m| !m.is_zero()).map(|m| m.normalize()),
                min_notional: min_notional.normalize(),
                trading: s.get("status").and_then(Value::as_str) == Some("Trading"),
            })
        })
        .collect()
}

/// `/v5/account/wallet-balance` result: every coin of every account, non-zero ones.
pub fn balances(result: &Value) -> Result<Vec<Balance>, String> {
    let mut out = Vec::new();
    for account in list(result)? {
        for c in field(account, "coin")?.as_array().ok_or("coin: expected an array")? {
            let total = dec_field(c, "walletBalance")?;
            let locked = opt_dec(c, "locked")?.unwrap_or_default();
            if !total.is_zero() || !locked.is_zero() {
                out.push(Balance { asset: str_field(c, "coin")?.to_string(), free: total - locked, locked });
            }
        }
    }
    Ok(out)
}

/// `/v5/position/list` result, open positions only.
pub fn positions(result: &Value) -> Result<Vec<Position>, String> {
    let mut out = Vec::new();
    for p in list(result)? {
        let size = dec_field(p, "size")?;
        if size.is_zero() {
            continue;
        }
        let signed = if str_field(p, "side")? == "Sell" { -size } else { size };
        out.push(Position {
            symbol: str_field(p, "symbol")?.to_string(),
            size: signed,
            entry_price: dec_field(p, "avgPrice")?,
            unrealized_pnl: dec_field(p, "unrealisedPnl")?,
            leverage: dec_field(p, "leverage")?,
        });
    }
    Ok(out)
}

/// One WebSocket frame of either session: topic data into `out`; op answers
/// (`subscribe`, `auth`, `pong`) produce nothing unless they report a failure (`Err`).
pub fn ws_frame(text: &str, out: &mut Vec<StreamEvent>) -> Result<(), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if let Some(topic) = v.get("topic").and_then(Value::as_str) {
        let data = field(&v, "data")?;
        let items: Vec<&Value> = match data {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let (kind, rest) = topic.split_once('.').unwrap_or((topic, ""));
        match kind {
            "publicTrade" => {
                for t in items {
                    out.push(StreamEvent::Trade(ws_trade(t)?));
                }
            }
            "kline" => {
                let symbol = rest.rsplit('.').next().unwrap_or_default();
                for k in items {
                    out.push(StreamEvent::Kline(ws_kline(symbol, k)?));
                }
            }
            "orderbook" => {
                for b in items {
                    let (bids, asks) = (levels(b, "b")?, levels(b, "a")?);
                    if let (Some(bid), Some(ask)) = (bids.first(), asks.first()) {
                        out.push(StreamEvent::Quote(Quote {
                            symbol: str_field(b, "s")?.to_string(),
                            bid: bid.0,
                            bid_qty: bid.1,
                            ask: ask.0,
                            ask_qty: ask.1,
                            time_ms: v.get("ts").and_then(Value::as_i64),
                        }));
                    }
                }
            }
            "order" => {
                for o in items {
                    out.push(StreamEvent::Order(OrderUpdate { order: order(o)?, fill: None }));
                }
            }
            "execution" => {
                for e in items {
                    out.push(StreamEvent::Order(execution_update(e)?));
                }
            }
            _ => {}
        }
        return Ok(());
    }
    if v.get("success").and_then(Value::as_bool) == Some(false) {
        let op = v.get("op").and_then(Value::as_str).unwrap_or_default();
        let msg = v.get("ret_msg").and_then(Value::as_str).unwrap_or_default();
        return Err(format!("{op} failed: {msg}"));
    }
    Ok(())
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
    fn ws_public_trade_doc() {
        let mut out = Vec::new();
        ws_frame(&doc("bybit_v5_ws_publicTrade.json").to_string(), &mut out).unwrap();
        assert_eq!(
            out,
            vec![StreamEvent::Trade(PublicTrade {
                symbol: "BTCUSDT".into(),
                trade_id: "20f43950-d8dd-5b31-9112-a178eb6023af".into(),
                seq: 1783284617,
                price: d("16578.50"),
                quantity: d("0.001"),
                buyer_maker: false,
                time_ms: 1672304486865,
            })]
        );
    }

    #[test]
    fn ws_kline_doc() {
        let mut out = Vec::new();
        ws_frame(&doc("bybit_v5_ws_kline.json").to_string(), &mut out).unwrap();
        assert_eq!(
            out,
            vec![StreamEvent::Kline(Kline {
                symbol: "BTCUSDT".into(),
                open_time_ms: 1672324800000,
                open: d("16649.5"),
                high: d("16677"),
                low: d("16608"),
                close: d("16677"),
                volume: d("2.081"),
                closed: false,
            })]
        );
    }

    #[test]
    fn rest_kline_doc_oldest_first() {
        let env = envelope(&doc("bybit_v5_rest_kline.json").to_string()).unwrap();
        assert_eq!((env.code, env.message.as_str(), env.time), (0, "OK", Some(1672025956592)));
        let k = klines("BTCUSD", &env.result, 1670608800000 + 30_000).unwrap();
        assert_eq!(k.iter().map(|k| k.open_time_ms).collect::<Vec<_>>(), [1670601600000, 1670605200000, 1670608800000]);
        assert_eq!(
            k[2],
            Kline {
                symbol: "BTCUSD".into(),
                open_time_ms: 1670608800000,
                open: d("17071"),
                high: d("17073"),
                low: d("17027"),
                close: d("17055.5"),
                volume: d("268611"),
                closed: false,
            }
        );
        assert!(k[0].closed && k[1].closed);
        assert_eq!((k[0].open, k[0].close, k[0].volume), (d("17086.5"), d("17071.5"), d("6356")));
    }

    #[test]
    fn rest_create_order_doc() {
        let env = envelope(&doc("bybit_v5_rest_create_order.json").to_string()).unwrap();
        assert_eq!((env.code, env.time), (0, Some(1672211918471)));
        assert_eq!(env.result["orderId"], "1321003749386327552");
        assert_eq!(env.result["orderLinkId"], "spot-test-postonly");
    }

    #[test]
    fn orders_executions_and_account_shapes() {
        let o = serde_json::json!({"orderId": "1", "orderLinkId": "c-1", "symbol": "BTCUSDT", "price": "65000",
            "qty": "0.2", "side": "Sell", "orderStatus": "PartiallyFilled", "orderType": "Limit", "timeInForce": "PostOnly",
            "cumExecQty": "0.05", "cumExecValue": "3250", "avgPrice": "65000", "createdTime": "1", "updatedTime": "2"});
        let o = order(&o).unwrap();
        assert_eq!(
            (o.order_type, o.status, o.price, o.filled_quantity),
            (OrderType::LimitMaker, ExchangeOrderStatus::PartiallyFilled, Some(d("65000")), d("0.05"))
        );
        assert_eq!((o.average_price(), o.updated_ms), (Some(d("65000")), 2));
        let e = serde_json::json!({"category": "spot", "symbol": "BTCUSDT", "execFee": "0.00001", "execId": "e-9",
            "execPrice": "60000", "execQty": "0.01", "execType": "Trade", "isMaker": false, "orderId": "7",
            "orderLinkId": "c-7", "side": "Buy", "execTime": "1700000000000", "orderPrice": "0", "orderQty": "0.01",
            "leavesQty": "0", "orderType": "Market", "feeCurrency": "BTC"});
        let u = execution_update(&e).unwrap();
        assert_eq!(
            (u.order.status, u.order.order_type, u.order.filled_quantity, u.order.price),
            (ExchangeOrderStatus::Filled, OrderType::Market, d("0.01"), None)
        );
        let f = u.fill.unwrap();
        assert_eq!(
            (f.trade_id.as_str(), f.price, f.fee, f.fee_asset.as_str(), f.time_ms),
            ("e-9", d("60000"), d("0.00001"), "BTC", 1700000000000)
        );
        // A linear contract's execution names no fee coin: it is the settle coin.
        let mut linear = e.clone();
        linear["category"] = "linear".into();
        linear.as_object_mut().unwrap().remove("feeCurrency");
        assert_eq!(execution(&linear).unwrap().fee_asset, "USDT");
        linear["symbol"] = "BTCPERP".into();
        assert_eq!(execution(&linear).unwrap().fee_asset, "USDC");
        linear["symbol"] = "BTCUSDT-26DEC25".into();
        assert_eq!(execution(&linear).unwrap().fee_asset, "USDT");
        // A spot execution without it: unknown (the host lists the trade for its fee).
        let mut spot = e.clone();
        spot.as_object_mut().unwrap().remove("feeCurrency");
        assert_eq!(execution(&spot).unwrap().fee_asset, "");
        let w = serde_json::json!({"list": [{"accountType": "UNIFIED", "coin": [
            {"coin": "USDT", "walletBalance": "1000.5", "locked": "100"}, {"coin": "ETH", "walletBalance": "0", "locked": ""}]}]});
        assert_eq!(balances(&w).unwrap(), vec![Balance { asset: "USDT".into(), free: d("900.5"), locked: d("100") }]);
        let p = serde_json::json!({"list": [{"symbol": "BTCUSDT", "side": "Sell", "size": "0.3", "avgPrice": "60000",
            "unrealisedPnl": "-12.5", "leverage": "5"}, {"symbol": "ETHUSDT", "side": "", "size": "0", "avgPrice": "0",
            "unrealisedPnl": "", "leverage": "10"}]});
        assert_eq!(
            positions(&p).unwrap(),
            vec![Position {
                symbol: "BTCUSDT".into(),
                size: d("-0.3"),
                entry_price: d("60000"),
                unrealized_pnl: d("-12.5"),
                leverage: d("5")
            }]
        );
        let spot = serde_json::json!({"list": [{"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "status": "Trading",
            "lotSizeFilter": {"basePrecision": "0.000001", "quotePrecision": "0.00000001", "minOrderQty": "0.000048",
            "maxOrderQty": "71.73956243", "minOrderAmt": "1", "maxOrderAmt": "2000000"}, "priceFilter": {"tickSize": "0.01"}}]});
        let r = &instruments(&spot).unwrap()[0];
        assert_eq!(
            (r.tick_size, r.lot_size, r.min_qty, r.max_qty, r.min_notional),
            (d("0.01"), d("0.000001"), d("0.000048"), Some(d("71.73956243")), d("1"))
        );
        let linear = serde_json::json!({"list": [{"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "status": "Trading",
            "lotSizeFilter": {"maxOrderQty": "100.000", "minOrderQty": "0.001", "qtyStep": "0.001", "minNotionalValue": "5"},
            "priceFilter": {"minPrice": "0.10", "maxPrice": "199999.80", "tickSize": "0.10"}}]});
        let r = &instruments(&linear).unwrap()[0];
        assert_eq!((r.tick_size, r.lot_size, r.min_qty, r.min_notional), (d("0.1"), d("0.001"), d("0.001"), d("5")));
    }

    #[test]
    fn op_answers_and_orderbook() {
        let mut out = Vec::new();
        ws_frame(r#"{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}"#, &mut out).unwrap();
        ws_frame(r#"{"success":true,"ret_msg":"","op":"auth","conn_id":"x"}"#, &mut out).unwrap();
        assert!(out.is_empty());
        assert!(ws_frame(r#"{"success":false,"ret_msg":"Params Error","op":"auth","conn_id":"x"}"#, &mut out).is_err());
        ws_frame(r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#, &mut out).unwrap();
        assert_eq!(
            out,
            vec![StreamEvent::Quote(Quote {
                symbol: "BTCUSDT".into(),
                bid: d("16493.5"),
                bid_qty: d("0.006"),
                ask: d("16611"),
                ask_qty: d("0.029"),
                time_ms: Some(1672304484978)
            })]
        );
    }
}
