//! KuCoin spot wire format (REST `{"code":"200000","data":...}` and WebSocket
//! `{"type":"message","topic":...,"data":...}`) to the normalised
//! [`types`](crate::connectors::types). Decimals are strings on KuCoin and parsed from
//! their text; WebSocket times are ns and become ms.

use crate::connectors::types::*;
use crate::execution::Side;
use rust_decimal::Decimal;
use serde_json::Value;

/// Result of a parse step; the error says which field was wrong.
pub type ParseResult<T> = Result<T, String>;

const QUOTES: &[&str] = &["USDT", "USDC", "USD", "BTC", "ETH", "KCS", "TUSD", "EUR", "TRX", "DAI"];

/// `BTCUSDT` -> `BTC-USDT` (already-split symbols pass through).
pub fn venue_symbol(host: &str) -> String {
    crate::connectors::json::venue_symbol(host, '-', QUOTES)
}

/// `BTC-USDT` -> `BTCUSDT`.
pub fn host_symbol(venue: &str) -> String {
    venue.replace('-', "")
}

pub use crate::connectors::json::{dec, dec_field, int_field, opt_dec, str_field};

/// A ns timestamp field as ms.
fn ns_to_ms(obj: &Value, key: &str) -> ParseResult<i64> {
    Ok(int_field(obj, key)?.div_euclid(1_000_000))
}

fn side(raw: &str) -> ParseResult<Side> {
    match raw {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        other => Err(format!("unknown side {other:?}")),
    }
}

/// The envelope: `Ok(data)` for code `200000`, else `Err((code, msg))`.
pub fn envelope(body: &str) -> Result<Value, (String, String)> {
    let v: Value = serde_json::from_str(body).map_err(|_| (String::new(), body.chars().take(200).collect()))?;
    let code = str_field(&v, "code").unwrap_or_default();
    if code == "200000" {
        return Ok(v.get("data").cloned().unwrap_or(Value::Null));
    }
    Err((code, v.get("msg").and_then(Value::as_str).unwrap_or("").to_string()))
}

/// One entry of `GET /api/v2/symbols`.
pub fn symbol_rules(v: &Value) -> ParseResult<SymbolRules> {
    let sym = str_field(v, "symbol")?;
    Ok(SymbolRules {
        symbol: host_symbol(&sym),
        venue_symbol: sym.clone(),
        base: str_field(v, "baseCurrency")?,
        quote: str_field(v, "quoteCurrency")?,
        tick_size: dec_field(v, "priceIncrement")?,
        lot_size: dec_field(v, "baseIncrement")?,
        min_qty: dec_field(v, "baseMinSize")?,
        max_qty: opt_dec(v, "baseMaxSize"),
        min_notional: opt_dec(v, "minFunds").or_else(|| opt_dec(v, "quoteMinSize")).unwrap_or_default(),
        trading: v.get("enableTrading").and_then(Value::as_bool).unwrap_or(true),
    })
}

/// `level1` (last price, best bid/ask) plus `stats` (24h volume).
pub fn ticker(symbol: &str, level1: &Value, stats: &Value) -> ParseResult<Ticker> {
    Ok(Ticker {
        symbol: symbol.to_string(),
        last: opt_dec(level1, "price").map_or_else(|| dec_field(stats, "last"), Ok)?,
        bid: opt_dec(level1, "bestBid"),
        ask: opt_dec(level1, "bestAsk"),
        volume_24h: opt_dec(stats, "vol"),
    })
}

fn levels(v: Option<&Value>, depth: usize) -> ParseResult<Vec<(Decimal, Decimal)>> {
    let Some(Value::Array(rows)) = v else { return Ok(Vec::new()) };
    rows.iter()
        .take(depth)
        .map(|row| match row.as_array() {
            Some(pq) if pq.len() >= 2 => Ok((dec(&pq[0])?, dec(&pq[1])?)),
            _ => Err(format!("bad book level {row}")),
        })
        .collect()
}

/// `GET /api/v1/market/orderbook/level2_20` (or `_100`).
pub fn order_book(v: &Value, symbol: &str, depth: usize) -> ParseResult<OrderBook> {
    Ok(OrderBook {
        symbol: symbol.to_string(),
        bids: levels(v.get("bids"), depth)?,
        asks: levels(v.get("asks"), depth)?,
        sequence: str_field(v, "sequence").ok().and_then(|s| s.parse().ok()),
    })
}

/// A public trade: `GET /api/v1/market/histories` entry or `/market/match` data (`side`
/// is the taker's, so a sell means the buyer was the maker; `time` in ns).
pub fn trade(v: &Value, symbol: &str) -> ParseResult<PublicTrade> {
    let seq_text = str_field(v, "sequence")?;
    let seq = seq_text.parse().map_err(|_| format!("sequence {seq_text:?} is not numeric"))?;
    Ok(PublicTrade {
        symbol: symbol.to_string(),
        trade_id: str_field(v, "tradeId").unwrap_or_else(|_| seq_text.clone()),
        seq,
        price: dec_field(v, "price")?,
        quantity: dec_field(v, "size")?,
        buyer_maker: side(&str_field(v, "side")?)? == Side::Sell,
        time_ms: ns_to_ms(v, "time")?,
    })
}

/// A candle row `[start s, open, close, high, low, volume, turnover]` (REST and the
/// `/market/candles` data's `candles`).
pub fn candle_row(row: &Value, symbol: &str, closed: bool) -> ParseResult<Kline> {
    let cols = row.as_array().ok_or("candle is not an array")?;
    if cols.len() < 6 {
        return Err(format!("candle has {} columns", cols.len()));
    }
    let t = i64::try_from(dec(&cols[0])?.trunc()).map_err(|_| "candle time out of range")?;
    Ok(Kline {
        symbol: symbol.to_string(),
        open_time_ms: t * 1000,
        open: dec(&cols[1])?,
        close: dec(&cols[2])?,
        high: dec(&cols[3])?,
        low: dec(&cols[4])?,
        volume: dec(&cols[5])?,
        closed,
    })
}

/// `/market/ticker` data.
pub fn ws_quote(v: &Value, symbol: &str) -> ParseResult<Quote> {
    Ok(Quote {
        symbol: symbol.to_string(),
        bid: dec_field(v, "bestBid")?,
        bid_qty: dec_field(v, "bestBidSize")?,
        ask: dec_field(v, "bestAsk")?,
        ask_qty: dec_field(v, "bestAskSize")?,
        time_ms: v.get("Time").or_else(|| v.get("time")).and_then(Value::as_i64),
    })
}

/// `GET /api/v1/accounts` entries, summed per currency.
pub fn balances(accounts: &[Value]) -> ParseResult<Vec<Balance>> {
    let mut out: Vec<Balance> = Vec::new();
    for a in accounts {
        let asset = str_field(a, "currency")?;
        let free = dec_field(a, "available")?;
        let locked = dec_field(a, "holds")?;
        match out.iter_mut().find(|b| b.asset == asset) {
            Some(b) => {
                b.free += free;
                b.locked += locked;
            }
            None => out.push(Balance { asset, free, locked }),
        }
    }
    Ok(out)
}

fn order_type(kind: &str, post_only: bool) -> OrderType {
    match (kind, post_only) {
        ("market", _) => OrderType::Market,
        (_, true) => OrderType::LimitMaker,
        _ => OrderType::Limit,
    }
}

/// An order from `GET /api/v1/orders/{id}`, `/order/client-order/{clientOid}` or the
/// active list: `isActive`, `cancelExist`, `dealSize`, `dealFunds`.
pub fn order(v: &Value) -> ParseResult<ExchangeOrder> {
    let size = opt_dec(v, "size").unwrap_or_default();
    let filled = opt_dec(v, "dealSize").unwrap_or_default();
    let active = v.get("isActive").and_then(Value::as_bool).unwrap_or(false);
    let canceled = v.get("cancelExist").and_then(Value::as_bool).unwrap_or(false);
    let status = match (active, canceled) {
        (true, _) if filled.is_zero() => ExchangeOrderStatus::New,
        (true, _) => ExchangeOrderStatus::PartiallyFilled,
        (false, true) => ExchangeOrderStatus::Canceled,
        (false, false) if filled >= size => ExchangeOrderStatus::Filled,
        (false, false) => ExchangeOrderStatus::Expired,
    };
    let kind = str_field(v, "type").unwrap_or_else(|_| "limit".into());
    let post_only = v.get("postOnly").and_then(Value::as_bool).unwrap_or(false);
    Ok(ExchangeOrder {
        exchange: ExchangeId::Kucoin,
        order_id: str_field(v, "id")?,
        client_order_id: str_field(v, "clientOid").unwrap_or_default(),
        symbol: host_symbol(&str_field(v, "symbol")?),
        side: side(&str_field(v, "side")?)?,
        order_type: order_type(&kind, post_only),
        status,
        price: opt_dec(v, "price").filter(|p| !p.is_zero()),
        quantity: size,
        filled_quantity: filled,
        filled_quote: opt_dec(v, "dealFunds"),
        updated_ms: v
            .get("lastUpdatedAt")
            .and_then(Value::as_i64)
            .or_else(|| v.get("createdAt").and_then(Value::as_i64))
            .unwrap_or_default(),
    })
}

/// One entry of `GET /api/v1/fills`.
pub fn fill(v: &Value) -> ParseResult<OwnTrade> {
    Ok(OwnTrade {
        exchange: ExchangeId::Kucoin,
        trade_id: str_field(v, "tradeId")?,
        order_id: str_field(v, "orderId")?,
        client_order_id: None,
        symbol: host_symbol(&str_field(v, "symbol")?),
        side: side(&str_field(v, "side")?)?,
        price: dec_field(v, "price")?,
        quantity: dec_field(v, "size")?,
        fee: opt_dec(v, "fee").unwrap_or_default(),
        fee_asset: str_field(v, "feeCurrency").unwrap_or_default(),
        is_maker: str_field(v, "liquidity").is_ok_and(|l| l == "maker"),
        time_ms: v.get("createdAt").and_then(Value::as_i64).unwrap_or_default(),
    })
}

/// `/spotMarket/tradeOrdersV2` data (`type` open / match / filled / canceled / update,
/// times in ns). A `match` carries the fill (`tradeId`, `matchPrice`, `matchSize`,
/// `liquidity`); the channel reports no fee, so the fill's fee is zero with no asset
/// (`my_trades` has the fees).
pub fn order_change(v: &Value) -> ParseResult<OrderUpdate> {
    let kind = str_field(v, "type")?;
    let filled = opt_dec(v, "filledSize").unwrap_or_default();
    let size = opt_dec(v, "size").unwrap_or(filled);
    let status = match kind.as_str() {
        "filled" => ExchangeOrderStatus::Filled,
        "canceled" => ExchangeOrderStatus::Canceled,
        "match" if filled >= size && !size.is_zero() => ExchangeOrderStatus::Filled,
        _ if filled.is_zero() => ExchangeOrderStatus::New,
        _ => ExchangeOrderStatus::PartiallyFilled,
    };
    let symbol = host_symbol(&str_field(v, "symbol")?);
    let side = side(&str_field(v, "side")?)?;
    // `ts` is in nanoseconds, `orderTime` in milliseconds.
    let time_ms = ns_to_ms(v, "ts").or_else(|_| int_field(v, "orderTime"))?;
    let client = str_field(v, "clientOid").unwrap_or_default();
    let order = ExchangeOrder {
        exchange: ExchangeId::Kucoin,
        order_id: str_field(v, "orderId")?,
        client_order_id: client.clone(),
        symbol: symbol.clone(),
        side,
        order_type: order_type(&str_field(v, "orderType").unwrap_or_default(), false),
        status,
        price: opt_dec(v, "price").filter(|p| !p.is_zero()),
        quantity: size,
        filled_quantity: filled,
        filled_quote: None,
        updated_ms: time_ms,
    };
    let fill = if kind == "match" {
        Some(OwnTrade {
            exchange: ExchangeId::Kucoin,
            trade_id: str_field(v, "tradeId")?,
            order_id: order.order_id.clone(),
            client_order_id: (!client.is_empty()).then_some(client),
            symbol,
            side,
            price: dec_field(v, "matchPrice")?,
            quantity: dec_field(v, "matchSize")?,
            fee: Decimal::ZERO,
            fee_asset: String::new(),
            is_maker: str_field(v, "liquidity").is_ok_and(|l| l == "maker"),
            time_ms,
        })
    } else {
        None
    };
    Ok(OrderUpdate { order, fill })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn doc(name: &str) -> Value {
        let path = format!("{}/../../shared/data/exchange-docs/{name}", env!("CARGO_MANIFEST_DIR"));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v["payload"].clone()
    }

    #[test]
    fn symbols_map_both_ways() {
        assert_eq!(venue_symbol("BTCUSDT"), "BTC-USDT");
        assert_eq!(venue_symbol("KCSBTC"), "KCS-BTC");
        assert_eq!(host_symbol("BTC-USDT"), "BTCUSDT");
    }

    #[test]
    fn match_doc_sample() {
        let p = doc("kucoin_ws_match.json");
        assert_eq!(p["subject"], "trade.l3match");
        let t = trade(&p["data"], "BTCUSDT").unwrap();
        assert_eq!(t.seq, 1_545_896_669_145);
        assert_eq!(t.trade_id, "5c24c5da03aa673885cd67aa");
        assert_eq!(t.price, d("0.082"));
        assert_eq!(t.quantity, d("0.01022222"));
        assert!(!t.buyer_maker, "the taker bought");
        assert_eq!(t.time_ms, 1_545_913_818_099, "ns -> ms");
    }

    #[test]
    fn candles_doc_file_is_a_subscribe_message() {
        let p = doc("kucoin_ws_candles.json");
        assert_eq!((p["type"].as_str(), p["topic"].as_str()), (Some("subscribe"), Some("/market/match:BTC-USDT")));
        assert_eq!(p["privateChannel"], false);
    }

    #[test]
    fn rest_and_ws_payloads_from_the_docs() {
        let rows: Value = serde_json::from_str(
            r#"[["1545904980","0.058","0.049","0.058","0.049","0.018","0.000945"],["1545904920","0.058","0.072","0.072","0.058","0.103","0.006986"]]"#,
        )
        .unwrap();
        let k = candle_row(&rows[0], "BTCUSDT", true).unwrap();
        assert_eq!(k.open_time_ms, 1_545_904_980_000);
        assert_eq!(
            (k.open, k.close, k.high, k.low, k.volume),
            (d("0.058"), d("0.049"), d("0.058"), d("0.049"), d("0.018"))
        );

        let o: Value = serde_json::from_str(
            r#"{"id":"5c35c02703aa673ceec2a168","symbol":"BTC-USDT","opType":"DEAL","type":"limit","side":"buy",
                "price":"10","size":"2","funds":"0","dealFunds":"0.166","dealSize":"2","fee":"0","feeCurrency":"USDT",
                "stp":"","stop":"","stopTriggered":false,"stopPrice":"0","timeInForce":"GTC","postOnly":false,
                "hidden":false,"iceberg":false,"visibleSize":"0","cancelAfter":0,"channel":"IOS","clientOid":"abc",
                "remark":"","tags":"","isActive":false,"cancelExist":false,"createdAt":1547026471000,"tradeType":"TRADE"}"#,
        )
        .unwrap();
        let o = order(&o).unwrap();
        assert_eq!(
            (o.status, o.client_order_id.as_str(), o.symbol.as_str()),
            (ExchangeOrderStatus::Filled, "abc", "BTCUSDT")
        );
        assert_eq!((o.quantity, o.filled_quantity, o.filled_quote), (d("2"), d("2"), Some(d("0.166"))));

        let f: Value = serde_json::from_str(
            r#"{"symbol":"BTC-USDT","tradeId":"5c35c02709e4f67d5266954e","orderId":"5c35c02703aa673ceec2a168",
                "counterOrderId":"5c1ab46003aa676e487fa8e3","side":"buy","liquidity":"taker","forceTaker":true,
                "price":"0.083","size":"0.8424304","funds":"0.0699217232","fee":"0","feeRate":"0","feeCurrency":"USDT",
                "stop":"","type":"limit","createdAt":1547026472000,"tradeType":"TRADE"}"#,
        )
        .unwrap();
        let f = fill(&f).unwrap();
        assert_eq!(
            (f.price, f.quantity, f.is_maker, f.time_ms),
            (d("0.083"), d("0.8424304"), false, 1_547_026_472_000)
        );

        let change: Value = serde_json::from_str(
            r#"{"symbol":"KCS-USDT","orderType":"limit","side":"buy","orderId":"5efab07953bdea00089965d2",
                "type":"match","orderTime":1593487481683297666,"size":"0.1","filledSize":"0.1","price":"0.938",
                "matchPrice":"0.96738","matchSize":"0.1","tradeId":"5efab07a4ee4c7000a82d6d9","clientOid":"1593487481000313",
                "remainSize":"0","status":"match","liquidity":"taker","ts":1593487482038606180}"#,
        )
        .unwrap();
        let u = order_change(&change).unwrap();
        assert_eq!(u.order.status, ExchangeOrderStatus::Filled);
        assert_eq!(u.order.updated_ms, 1_593_487_482_038);
        let fill = u.fill.unwrap();
        assert_eq!((fill.price, fill.quantity), (d("0.96738"), d("0.1")));
        assert_eq!(fill.client_order_id.as_deref(), Some("1593487481000313"));

        let q: Value = serde_json::from_str(
            r#"{"sequence":"1545896668986","price":"0.08","size":"0.011","bestAsk":"0.08","bestAskSize":"0.18","bestBid":"0.049","bestBidSize":"0.036","Time":1704873323416}"#,
        )
        .unwrap();
        let q = ws_quote(&q, "BTCUSDT").unwrap();
        assert_eq!((q.bid, q.ask, q.time_ms), (d("0.049"), d("0.08"), Some(1_704_873_323_416)));
    }

    #[test]
    fn envelope_codes() {
        assert_eq!(envelope(r#"{"code":"200000","data":1546837113087}"#), Ok(Value::from(1_546_837_113_087i64)));
        assert_eq!(
            envelope(r#"{"code":"400005","msg":"Invalid KC-API-SIGN"}"#),
            Err(("400005".into(), "Invalid KC-API-SIGN".into()))
        );
    }
}
