//! A fake Gate.io APIv4 spot exchange: REST under `/api/v4/...` and the spot WebSocket
//! at `/ws/v4/`, in Gate's JSON shapes. Signed REST requests are verified as Gate
//! documents it (`SIGN` = hex HMAC-SHA512 of
//! `METHOD\n/api/v4/path\nquery\nhex(SHA512(body))\nTimestamp`, `Timestamp` in seconds
//! within 60 s of the server clock), private channel subscriptions by their
//! `auth.SIGN` = hex HMAC-SHA512 of `channel=..&event=subscribe&time=..`.
//!
//! Errors are Gate's `{"label", "message"}`: `INVALID_KEY`, `INVALID_SIGNATURE` (401),
//! `REQUEST_EXPIRED` (401), `ORDER_NOT_FOUND` (404; `CLIENT_ID_NOT_FOUND` by `text`), `ORDER_EXISTS` for a reused `text`,
//! `BALANCE_NOT_ENOUGH`, `INVALID_PARAM_VALUE`. Spot market buys take their `amount` in
//! the quote currency, as on Gate.

use super::{FakeEvent, FakeExchange, FakeFill, FakeKeys, FakeOrder, FakeReject, FakeState, FakeTrade, serve};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Start the fake on 127.0.0.1 (random port).
pub async fn start(keys: FakeKeys) -> FakeExchange {
    let state = FakeState::new(keys);
    let app = Router::new()
        .route("/ws/v4/", get(ws_upgrade))
        .route("/v4/ws/usdt", get(ws_upgrade_futures))
        .fallback(rest)
        .with_state(state.clone());
    let addr = serve(app).await;
    FakeExchange::new(state, addr)
}

/// Percent-decode a query component (`+` is a space).
pub fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=x%20y` as a map.
pub fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn hmac_sha512_hex(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn pair(symbol: &str) -> String {
    let (b, q) = super::split_symbol(symbol);
    format!("{b}_{q}")
}

fn host(pair: &str) -> String {
    pair.replace('_', "")
}

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

fn err(status: StatusCode, label: &str, message: &str) -> Response {
    (status, [("content-type", "application/json")], json!({"label": label, "message": message}).to_string())
        .into_response()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], v.to_string()).into_response()
}

fn is_private(path: &str) -> bool {
    [
        "/spot/accounts",
        "/spot/orders",
        "/spot/open_orders",
        "/spot/my_trades",
        "/futures/usdt/orders",
        "/futures/usdt/accounts",
        "/futures/usdt/positions",
        "/futures/usdt/my_trades",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Check Gate's REST signature; `Err` is the answer to send.
/// The refusal to send, if the request is not properly signed.
fn verify(state: &FakeState, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if h("KEY") != state.keys.api_key {
        state.signature_failed();
        return Some(err(StatusCode::UNAUTHORIZED, "INVALID_KEY", "Invalid key provided"));
    }
    let ts = h("Timestamp");
    let body_hash = hex::encode(Sha512::digest(body));
    let payload = format!("{}\n{}\n{}\n{body_hash}\n{ts}", method.as_str(), uri.path(), uri.query().unwrap_or(""));
    let expected = hmac_sha512_hex(&state.keys.secret, &payload);
    if h("SIGN") != expected {
        state.signature_failed();
        return Some(err(StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE", "Signature mismatch"));
    }
    let Ok(ts) = ts.parse::<i64>() else {
        return Some(err(StatusCode::BAD_REQUEST, "INVALID_PARAM_VALUE", "bad Timestamp"));
    };
    if !state.check_timestamp(ts * 1000, 60_000) {
        return Some(err(
            StatusCode::UNAUTHORIZED,
            "REQUEST_EXPIRED",
            "gap between request Timestamp and server time exceeds 60",
        ));
    }
    None
}

async fn rest(State(state): State<FakeState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    state.log_request(format!("{method} {}", uri.path()));
    if let Some((status, retry_after)) = state.take_fault() {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let mut resp = err(code, "TOO_MANY_REQUESTS", "Request Rate limit Exceeded");
        if let Some(ra) = retry_after
            && let Ok(v) = ra.to_string().parse()
        {
            resp.headers_mut().insert("Retry-After", v);
        }
        return resp;
    }
    let Some(path) = uri.path().strip_prefix("/api/v4") else {
        return err(StatusCode::NOT_FOUND, "NOT_FOUND", "unknown path");
    };
    if is_private(path)
        && let Some(resp) = verify(&state, &method, &uri, &headers, &body)
    {
        return resp;
    }
    let q = parse_query(uri.query().unwrap_or(""));
    let sym = q.get("currency_pair").map(|p| host(p)).unwrap_or_default();
    match (method.as_str(), path) {
        ("GET", "/spot/time") => ok(json!({"server_time": state.now_ms()})),
        ("GET", "/spot/currency_pairs") => ok(json!(
            ["BTC_USDT", "ETH_USDT"]
                .iter()
                .map(|p| {
                    let (base, quote) = p.split_once('_').unwrap_or_default();
                    json!({"id": p, "base": base, "quote": quote, "fee": "0.1", "min_base_amount": "0.00001",
                    "min_quote_amount": "3", "amount_precision": 5, "precision": 2, "trade_status": "tradable",
                    "sell_start": 0, "buy_start": 0})
                })
                .collect::<Vec<_>>()
        )),
        ("GET", "/spot/tickers") => {
            let last = state.last_price(&sym).unwrap_or_default();
            let vol: Decimal = state.trades(&sym, None, usize::MAX).iter().map(|t| t.qty).sum();
            ok(json!([{"currency_pair": pair(&sym), "last": s(last), "lowest_ask": s(last), "highest_bid": s(last),
                "change_percentage": "0", "base_volume": s(vol), "quote_volume": "0", "high_24h": s(last), "low_24h": s(last)}]))
        }
        ("GET", "/spot/order_book") => {
            let (mut bids, mut asks) = (BTreeMap::<Decimal, Decimal>::new(), BTreeMap::<Decimal, Decimal>::new());
            for o in state.open_orders(Some(&sym)) {
                let side = if o.side == "BUY" { &mut bids } else { &mut asks };
                *side.entry(o.price.unwrap_or_default()).or_default() += o.qty - o.filled;
            }
            let now = state.now_ms();
            ok(json!({"id": now, "current": now, "update": now,
                "bids": bids.iter().rev().map(|(p, q)| json!([s(*p), s(*q)])).collect::<Vec<_>>(),
                "asks": asks.iter().map(|(p, q)| json!([s(*p), s(*q)])).collect::<Vec<_>>()}))
        }
        ("GET", "/spot/trades") => {
            let limit = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100usize);
            let reverse = q.get("reverse").is_some_and(|r| r == "true");
            let trades = match q.get("last_id").and_then(|l| l.parse::<u64>().ok()) {
                Some(last) if !reverse => state.trades(&sym, Some(last + 1), limit),
                Some(last) => {
                    let older: Vec<FakeTrade> =
                        state.trades(&sym, None, usize::MAX).into_iter().filter(|t| t.id < last).collect();
                    older[older.len().saturating_sub(limit)..].iter().rev().cloned().collect()
                }
                None => state.trades(&sym, None, limit).into_iter().rev().collect(),
            };
            ok(json!(trades.iter().map(trade_json).collect::<Vec<_>>()))
        }
        ("GET", "/spot/candlesticks") => {
            let from = q.get("from").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            let to = q.get("to").and_then(|v| v.parse::<i64>().ok()).unwrap_or(i64::MAX / 2000);
            let now_min = state.now_ms().div_euclid(60_000);
            let bars = state.minute_bars(&sym).into_iter().filter(|b| {
                let start_s = b.open_ms / 1000;
                start_s >= from - from.rem_euclid(60) && start_s <= to
            });
            ok(json!(
                bars.map(|b| json!([
                    (b.open_ms / 1000).to_string(),
                    s(b.quote_volume),
                    s(b.close),
                    s(b.high),
                    s(b.low),
                    s(b.open),
                    s(b.volume),
                    (b.open_ms.div_euclid(60_000) < now_min).to_string()
                ]))
                .collect::<Vec<_>>()
            ))
        }
        ("GET", "/spot/accounts") => ok(json!(
            state
                .balances()
                .iter()
                .map(|(a, (free, locked))| json!({"currency": a, "available": s(*free), "locked": s(*locked)}))
                .collect::<Vec<_>>()
        )),
        ("POST", "/spot/orders") => place(&state, &body),
        ("GET", "/spot/orders") => {
            let status = q.get("status").cloned().unwrap_or_else(|| "open".into());
            let orders: Vec<Value> = state
                .orders()
                .iter()
                .filter(|o| o.symbol == sym && (status == "open") == is_open(o))
                .map(|o| order_json(&state, o, None))
                .collect();
            ok(json!(orders))
        }
        ("GET", "/spot/open_orders") => {
            let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for o in state.open_orders(None) {
                groups.entry(pair(&o.symbol)).or_default().push(order_json(&state, &o, None));
            }
            ok(json!(
                groups
                    .into_iter()
                    .map(|(p, orders)| json!({"currency_pair": p, "total": orders.len(), "orders": orders}))
                    .collect::<Vec<_>>()
            ))
        }
        ("GET", "/spot/my_trades") => {
            let limit = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100usize);
            let order: Option<u64> = q.get("order_id").and_then(|o| o.parse().ok());
            let fills = state.fills(Some(&sym));
            let newest: Vec<Value> = fills
                .iter()
                .rev()
                .filter(|f| order.is_none_or(|o| f.order_id == o))
                .take(limit)
                .map(fill_json)
                .collect();
            ok(json!(newest))
        }
        ("GET", "/futures/usdt/contracts") => ok(json!(
            ["BTC_USDT", "ETH_USDT"]
                .iter()
                .map(|c| json!({"name": c, "type": "direct", "quanto_multiplier": s(contract_size(&host(c))),
                "order_price_round": "0.1",
                "mark_price_round": "0.01", "order_size_min": 1, "order_size_max": 1000000, "in_delisting": false,
                "leverage_min": "1", "leverage_max": "100"}))
                .collect::<Vec<_>>()
        )),
        ("GET", "/futures/usdt/tickers") => {
            let c = host(q.get("contract").map(String::as_str).unwrap_or(""));
            let last = state.last_price(&c).unwrap_or_default();
            ok(json!([{"contract": pair(&c), "last": s(last), "lowest_ask": s(last), "highest_bid": s(last),
                "volume_24h_base": "0", "mark_price": s(last), "index_price": s(last)}]))
        }
        ("GET", "/futures/usdt/trades") => {
            let c = host(q.get("contract").map(String::as_str).unwrap_or(""));
            let limit = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100usize);
            ok(json!(state.trades(&c, None, limit).iter().rev().map(futures_trade_json).collect::<Vec<_>>()))
        }
        ("GET", "/futures/usdt/accounts") => {
            let (free, locked) = state.balances().get("USDT").copied().unwrap_or_default();
            ok(json!({"user": 110, "currency": "USDT", "total": s(free + locked), "available": s(free),
                "order_margin": s(locked), "position_margin": "0", "unrealised_pnl": "0", "point": "0"}))
        }
        ("GET", "/futures/usdt/positions") => {
            let mut sizes: BTreeMap<String, (Decimal, Decimal, Decimal)> = BTreeMap::new();
            for f in state.fills(None) {
                let e = sizes.entry(f.symbol.clone()).or_default();
                let signed = if f.side == "BUY" { f.qty } else { -f.qty };
                e.0 += signed;
                e.1 += f.price * f.qty;
                e.2 += f.qty;
            }
            ok(json!(
                sizes
                    .iter()
                    .map(|(sym, (size, quote, qty))| json!({"contract": pair(sym), "size": contracts(sym, *size),
                    "leverage": "10", "entry_price": s((*quote / *qty).round_dp(8)), "unrealised_pnl": "0",
                    "mark_price": s(state.last_price(sym).unwrap_or_default()), "mode": "single"}))
                    .collect::<Vec<_>>()
            ))
        }
        ("POST", p) if p.starts_with("/futures/usdt/positions/") && p.ends_with("/leverage") => {
            let c = p.trim_start_matches("/futures/usdt/positions/").trim_end_matches("/leverage");
            ok(json!({"contract": c, "size": 0, "leverage": q.get("leverage").cloned().unwrap_or_default(),
                "entry_price": "0", "unrealised_pnl": "0"}))
        }
        ("POST", "/futures/usdt/orders") => place_futures(&state, &body),
        ("GET", "/futures/usdt/orders") => {
            let c = q.get("contract").map(|c| host(c));
            let orders: Vec<Value> = state.open_orders(c.as_deref()).iter().map(futures_order_json).collect();
            ok(json!(orders))
        }
        ("GET", "/futures/usdt/my_trades") => {
            let c = host(q.get("contract").map(String::as_str).unwrap_or(""));
            let limit = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100usize);
            let order: Option<u64> = q.get("order").and_then(|o| o.parse().ok());
            ok(json!(
                state
                    .fills(Some(&c))
                    .iter()
                    .rev()
                    .filter(|f| order.is_none_or(|o| f.order_id == o))
                    .take(limit)
                    .map(|f| futures_fill_json(f, false))
                    .collect::<Vec<_>>()
            ))
        }
        (m, p) if p.starts_with("/futures/usdt/orders/") => {
            let id = decode_component(&p["/futures/usdt/orders/".len()..]);
            let (num, client) = match id.strip_prefix("t-") {
                Some(c) => (None, Some(c.to_string())),
                None => (id.parse::<u64>().ok(), None),
            };
            let found = match m {
                "GET" => state.find(num, client.as_deref()).ok_or(FakeReject::UnknownOrder),
                "DELETE" => state.cancel(num, client.as_deref()),
                _ => Err(FakeReject::BadRequest("method".into())),
            };
            match found {
                Ok(o) => ok(futures_order_json(&o)),
                Err(_) => err(StatusCode::NOT_FOUND, "ORDER_NOT_FOUND", "Order not found"),
            }
        }
        (m, p) if p.starts_with("/spot/orders/") => {
            let id = decode_component(&p["/spot/orders/".len()..]);
            let (num, client) = match id.strip_prefix("t-") {
                Some(c) => (None, Some(c.to_string())),
                None => (id.parse::<u64>().ok(), None),
            };
            match m {
                // By `text`, like Gate: only while open and for an hour after it ended.
                "GET" => match state
                    .find(num, client.as_deref())
                    .filter(|o| client.is_none() || is_open(o) || state.now_ms() - o.updated_ms <= TEXT_LOOKUP_MS)
                {
                    Some(o) => ok(order_json(&state, &o, None)),
                    None if client.is_some() => err(StatusCode::NOT_FOUND, "CLIENT_ID_NOT_FOUND", "Order not found"),
                    None => err(StatusCode::NOT_FOUND, "ORDER_NOT_FOUND", "Order not found"),
                },
                "DELETE" => match state.cancel(num, client.as_deref()) {
                    Ok(o) => ok(order_json(&state, &o, None)),
                    Err(_) => err(StatusCode::NOT_FOUND, "ORDER_NOT_FOUND", "Order not found"),
                },
                _ => err(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "method not allowed"),
            }
        }
        _ => err(StatusCode::NOT_FOUND, "NOT_FOUND", "unknown path"),
    }
}

fn place(state: &FakeState, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return err(StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY", "body is not JSON");
    };
    let f = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let d = |k: &str| f(k).parse::<Decimal>().ok();
    let Some(client) = f("text").strip_prefix("t-").map(str::to_string) else {
        return err(StatusCode::BAD_REQUEST, "INVALID_PARAM_VALUE", "text must start with t-");
    };
    let symbol = host(&f("currency_pair"));
    let side = f("side").to_ascii_uppercase();
    let kind = f("type").to_ascii_uppercase();
    let Some(mut amount) = d("amount") else {
        return err(StatusCode::BAD_REQUEST, "INVALID_PARAM_VALUE", "amount");
    };
    if kind == "MARKET" && side == "BUY" {
        let Some(last) = state.last_price(&symbol).filter(|p| !p.is_zero()) else {
            return err(StatusCode::BAD_REQUEST, "INVALID_PARAM_VALUE", "no market price");
        };
        amount = (amount / last).round_dp(8);
    }
    match state.place(&client, &symbol, &side, &kind, d("price"), amount) {
        Ok(o) => (StatusCode::CREATED, [("content-type", "application/json")], order_json(state, &o, None).to_string())
            .into_response(),
        Err(FakeReject::DuplicateClientId) => err(StatusCode::BAD_REQUEST, "ORDER_EXISTS", "Order text already used"),
        Err(FakeReject::InsufficientBalance) => {
            err(StatusCode::BAD_REQUEST, "BALANCE_NOT_ENOUGH", "Not enough balance")
        }
        Err(FakeReject::UnknownOrder) => err(StatusCode::NOT_FOUND, "ORDER_NOT_FOUND", "Order not found"),
        Err(FakeReject::BadRequest(m)) => err(StatusCode::BAD_REQUEST, "INVALID_PARAM_VALUE", &m),
    }
}

fn place_futures(state: &FakeState, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return err(StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY", "body is not JSON");
    };
    let Some(client) = v["text"].as_str().and_then(|t| t.strip_prefix("t-")).map(str::to_string) else {
        return err(StatusCode::BAD_REQUEST, "INVALID_PARAM_VALUE", "text must start with t-");
    };
    let Some(size) = v["size"].as_i64().filter(|s| *s != 0) else {
        return err(StatusCode::BAD_REQUEST, "INVALID_PARAM_VALUE", "size must be a non-zero integer");
    };
    let price = v["price"].as_str().and_then(|p| p.parse::<Decimal>().ok()).filter(|p| !p.is_zero());
    let kind = if price.is_some() { "LIMIT" } else { "MARKET" };
    let side = if size > 0 { "BUY" } else { "SELL" };
    let symbol = host(v["contract"].as_str().unwrap_or(""));
    let qty = Decimal::from(size.abs()) * contract_size(&symbol);
    match state.place(&client, &symbol, side, kind, price, qty) {
        Ok(o) => (StatusCode::CREATED, [("content-type", "application/json")], futures_order_json(&o).to_string())
            .into_response(),
        Err(FakeReject::DuplicateClientId) => err(StatusCode::BAD_REQUEST, "ORDER_EXISTS", "Order text already used"),
        Err(FakeReject::InsufficientBalance) => err(StatusCode::BAD_REQUEST, "INSUFFICIENT_AVAILABLE", "margin"),
        Err(FakeReject::UnknownOrder) => err(StatusCode::NOT_FOUND, "ORDER_NOT_FOUND", "Order not found"),
        Err(FakeReject::BadRequest(m)) => err(StatusCode::BAD_REQUEST, "INVALID_PARAM_VALUE", &m),
    }
}

/// Base units per contract, as on Gate: 0.0001 BTC, 0.01 ETH. The fake keeps base units
/// inside (fees, balances) and speaks contracts on the futures wire, as Gate does.
fn contract_size(symbol: &str) -> Decimal {
    if symbol.starts_with("ETH") { Decimal::new(1, 2) } else { Decimal::new(1, 4) }
}

/// A base quantity of `symbol` as a JSON number of contracts (whole, as Gate only trades).
fn contracts(symbol: &str, qty: Decimal) -> i64 {
    let n = qty / contract_size(symbol);
    assert!(n.fract().is_zero(), "{qty} {symbol} is not a whole number of contracts");
    n.trunc().to_string().parse().unwrap_or(0)
}

/// A futures trade: `size` in contracts signed by the taker's side, a JSON number.
fn futures_trade_json(t: &FakeTrade) -> Value {
    let qty = contracts(&t.symbol, t.qty);
    json!({"id": t.id, "create_time": t.time_ms / 1000, "create_time_ms": t.time_ms, "contract": pair(&t.symbol),
        "size": if t.buyer_maker { -qty } else { qty }, "price": s(t.price)})
}

/// A futures order (REST and `futures.orders`): signed `size` and `left` in contracts.
fn futures_order_json(o: &FakeOrder) -> Value {
    let sign = if o.side == "BUY" { 1 } else { -1 };
    let int = |d: Decimal| contracts(&o.symbol, d) * sign;
    let (status, finish_as) = match o.status.as_str() {
        "FILLED" => ("finished", "filled"),
        "CANCELED" => ("finished", "cancelled"),
        _ => ("open", "_new"),
    };
    let fill_price = if o.filled.is_zero() { Decimal::ZERO } else { (o.filled_quote / o.filled).round_dp(8) };
    json!({"id": o.id, "user": 110, "contract": pair(&o.symbol), "create_time": o.created_ms as f64 / 1000.0,
        "create_time_ms": o.created_ms, "finish_time_ms": o.updated_ms, "size": int(o.qty), "iceberg": 0,
        "price": o.price.map(s).unwrap_or_else(|| "0".into()), "is_reduce_only": false, "is_close": false,
        "tif": if o.kind == "MARKET" { "ioc" } else { "gtc" }, "left": int(o.qty - o.filled),
        "fill_price": s(fill_price), "text": format!("t-{}", o.client_id), "status": status, "finish_as": finish_as,
        "tkfr": "0.0005", "mkfr": "-0.00025"})
}

/// A futures fill: `size` in contracts, the fee in USDT (the settle currency) on the
/// fill's value; the WebSocket sends the fee as a JSON number, REST as a string.
fn futures_fill_json(f: &FakeFill, ws: bool) -> Value {
    let qty = contracts(&f.symbol, f.qty);
    let fee = (f.price * f.qty * super::FEE_RATE).round_dp(8);
    let fee: Value = if ws { serde_json::from_str(&s(fee)).unwrap_or(json!(0)) } else { json!(s(fee)) };
    json!({"id": f.trade_id.to_string(), "create_time": f.time_ms / 1000, "create_time_ms": f.time_ms,
        "contract": pair(&f.symbol), "order_id": f.order_id.to_string(),
        "size": if f.side == "BUY" { qty } else { -qty }, "price": s(f.price),
        "role": if f.maker { "maker" } else { "taker" }, "text": format!("t-{}", f.client_id), "fee": fee,
        "point_fee": 0})
}

fn trade_json(t: &FakeTrade) -> Value {
    json!({"id": t.id.to_string(), "create_time": (t.time_ms / 1000).to_string(),
        "create_time_ms": format!("{}.000", t.time_ms), "currency_pair": pair(&t.symbol),
        "side": if t.buyer_maker { "sell" } else { "buy" }, "amount": s(t.qty), "price": s(t.price)})
}

fn fill_json(f: &FakeFill) -> Value {
    json!({"id": f.trade_id.to_string(), "create_time": (f.time_ms / 1000).to_string(),
        "create_time_ms": format!("{}.000", f.time_ms), "currency_pair": pair(&f.symbol),
        "side": f.side.to_ascii_lowercase(), "role": if f.maker { "maker" } else { "taker" },
        "amount": s(f.qty), "price": s(f.price), "order_id": f.order_id.to_string(), "fee": s(f.fee),
        "fee_currency": f.fee_asset, "point_fee": "0", "gt_fee": "0", "text": format!("t-{}", f.client_id)})
}

/// A spot order as Gate renders it (REST and `spot.orders`; `event` only on the latter).
fn order_json(state: &FakeState, o: &FakeOrder, event: Option<&str>) -> Value {
    let (status, finish_as) = match o.status.as_str() {
        "FILLED" => ("closed", "filled"),
        "CANCELED" => ("cancelled", "cancelled"),
        _ => ("open", "open"),
    };
    let fills: Vec<FakeFill> = state.fills(Some(&o.symbol)).into_iter().filter(|f| f.order_id == o.id).collect();
    let fee: Decimal = fills.iter().map(|f| f.fee).sum();
    let fee_currency = fills.first().map(|f| f.fee_asset.clone()).unwrap_or_default();
    let avg = if o.filled.is_zero() { Decimal::ZERO } else { (o.filled_quote / o.filled).round_dp(8) };
    let mut v = json!({
        "id": o.id.to_string(), "text": format!("t-{}", o.client_id),
        "create_time": (o.created_ms / 1000).to_string(), "update_time": (o.updated_ms / 1000).to_string(),
        "create_time_ms": o.created_ms, "update_time_ms": o.updated_ms, "currency_pair": pair(&o.symbol),
        "status": status, "type": o.kind.to_ascii_lowercase(), "account": "spot", "side": o.side.to_ascii_lowercase(),
        "amount": s(o.qty), "price": o.price.map(s).unwrap_or_else(|| "0".into()), "time_in_force": "gtc",
        "iceberg": "0", "left": s(o.qty - o.filled), "filled_amount": s(o.filled), "filled_total": s(o.filled_quote),
        "avg_deal_price": s(avg), "fee": s(fee), "fee_currency": fee_currency, "point_fee": "0", "gt_fee": "0",
        "finish_as": finish_as,
    });
    if let Some(e) = event {
        v["event"] = json!(e);
    }
    v
}

async fn ws_upgrade(State(state): State<FakeState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(state, socket, false))
}

async fn ws_upgrade_futures(State(state): State<FakeState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(state, socket, true))
}

fn push(channel: &str, result: Value, now_ms: i64) -> Message {
    Message::Text(
        json!({"time": now_ms / 1000, "time_ms": now_ms, "channel": channel, "event": "update", "result": result})
            .to_string()
            .into(),
    )
}

async fn session(state: FakeState, mut socket: WebSocket, futures: bool) {
    let p = if futures { "futures" } else { "spot" };
    let mut rx = state.subscribe();
    let mut pairs: HashSet<String> = HashSet::new();
    let (mut orders, mut usertrades) = (false, false);
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                let channel = v.get("channel").and_then(Value::as_str).unwrap_or("").to_string();
                let event = v.get("event").and_then(Value::as_str).unwrap_or("").to_string();
                let time = v.get("time").and_then(Value::as_i64).unwrap_or(0);
                let now = state.now_ms();
                let reply = if channel == format!("{p}.ping") {
                    json!({"time": now / 1000, "time_ms": now, "channel": format!("{p}.pong"), "event": "", "result": null})
                } else if event == "subscribe" {
                    let private = channel == format!("{p}.orders") || channel == format!("{p}.usertrades");
                    let authed = !private || {
                        let key = v["auth"]["KEY"].as_str().unwrap_or("");
                        let sign = v["auth"]["SIGN"].as_str().unwrap_or("");
                        let expected = hmac_sha512_hex(&state.keys.secret, &format!("channel={channel}&event=subscribe&time={time}"));
                        key == state.keys.api_key && sign == expected
                    };
                    if !authed {
                        state.signature_failed();
                        json!({"time": now / 1000, "time_ms": now, "channel": channel, "event": "subscribe",
                            "error": {"code": 2, "message": "Signature mismatch"}, "result": {"status": "fail"}})
                    } else {
                        match channel.strip_prefix(p).unwrap_or("") {
                            ".trades" => {
                                for p in v["payload"].as_array().cloned().unwrap_or_default() {
                                    pairs.insert(p.as_str().unwrap_or("").to_string());
                                }
                            }
                            ".orders" => orders = true,
                            ".usertrades" => usertrades = true,
                            _ => {}
                        }
                        json!({"time": now / 1000, "time_ms": now, "channel": channel, "event": "subscribe",
                            "error": null, "result": {"status": "success"}})
                    }
                } else {
                    continue;
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                    return;
                }
            }
            ev = rx.recv() => {
                let now = state.now_ms();
                let frames: Vec<Message> = match ev {
                    Ok(FakeEvent::Trade(t)) if futures && pairs.contains(&pair(&t.symbol)) => {
                        vec![push("futures.trades", json!([futures_trade_json(&t)]), now)]
                    }
                    Ok(FakeEvent::Order(o, fill)) if futures => {
                        let mut out = Vec::new();
                        if orders {
                            out.push(push("futures.orders", json!([futures_order_json(&o)]), now));
                        }
                        if let (true, Some(f)) = (usertrades, fill) {
                            out.push(push("futures.usertrades", json!([futures_fill_json(&f, true)]), now));
                        }
                        out
                    }
                    Ok(FakeEvent::Trade(t)) if pairs.contains(&pair(&t.symbol)) => {
                        let mut r = trade_json(&t);
                        r["id"] = json!(t.id);
                        r["create_time"] = json!(t.time_ms / 1000);
                        vec![push("spot.trades", r, now)]
                    }
                    Ok(FakeEvent::Order(o, fill)) => {
                        let mut out = Vec::new();
                        if orders {
                            let event = match (o.status.as_str(), fill.is_some()) {
                                ("FILLED" | "CANCELED", _) => "finish",
                                (_, true) => "update",
                                _ => "put",
                            };
                            out.push(push("spot.orders", json!([order_json(&state, &o, Some(event))]), now));
                        }
                        if let (true, Some(f)) = (usertrades, fill) {
                            let mut r = fill_json(&f);
                            r["id"] = json!(f.trade_id);
                            out.push(push("spot.usertrades", json!([r]), now));
                        }
                        out
                    }
                    Ok(FakeEvent::Drop) => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    Ok(_) => Vec::new(),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Vec::new(),
                    Err(_) => return,
                };
                for f in frames {
                    if socket.send(f).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// How long after it ended Gate still finds an order by its `text`.
const TEXT_LOOKUP_MS: i64 = 3_600_000;

/// Still working.
fn is_open(o: &FakeOrder) -> bool {
    o.status == "NEW" || o.status == "PARTIALLY_FILLED"
}
