//! A fake Bybit v5 exchange: the REST paths the host uses in the `retCode` envelope,
//! signed requests verified as the docs describe (HMAC-SHA256 hex of `timestamp + key +
//! recv_window + query string (GET) or raw body (POST)` in `X-BAPI-SIGN`; 10003 wrong
//! key, 10004 wrong signature, 10002 timestamp outside the window), public topics on
//! `/v5/public/{spot,linear}` and the account's `order` / `execution` topics on
//! `/v5/private` after an `auth` op signed over `GET/realtime{expires}`. `{"op":"ping"}`
//! is answered with a pong.

use super::binance::{hmac_sha256_hex, parse_params};
use super::{FakeEvent, FakeExchange, FakeFill, FakeKeys, FakeOrder, FakeReject, FakeState, FakeTrade, serve};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Start the fake on 127.0.0.1 with a fresh market and account.
pub async fn start(keys: FakeKeys) -> FakeExchange {
    let state = FakeState::new(keys);
    let app = Router::new()
        .route("/v5/public/spot", get(public_ws))
        .route("/v5/public/linear", get(public_ws))
        .route("/v5/private", get(private_ws))
        .fallback(rest)
        .with_state(state.clone());
    let addr = serve(app).await;
    FakeExchange::new(state, addr)
}

fn envelope(s: &FakeState, code: i64, msg: &str, result: Value) -> Response {
    let body = json!({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": s.now_ms()});
    (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
}

fn ok(s: &FakeState, result: Value) -> Response {
    envelope(s, 0, "OK", result)
}

fn fail(s: &FakeState, code: i64, msg: &str) -> Response {
    envelope(s, code, msg, json!({}))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Verify a signed request; `Some` is the answer to send instead.
fn verify(s: &FakeState, headers: &HeaderMap, payload: &str) -> Option<Response> {
    let key = header(headers, "X-BAPI-API-KEY");
    if key != s.keys.api_key {
        s.signature_failed();
        return Some(fail(s, 10003, "API key is invalid."));
    }
    let ts = header(headers, "X-BAPI-TIMESTAMP");
    let window = header(headers, "X-BAPI-RECV-WINDOW");
    let expected = hmac_sha256_hex(&s.keys.secret, &format!("{ts}{key}{window}{payload}"));
    if header(headers, "X-BAPI-SIGN") != expected {
        s.signature_failed();
        return Some(fail(s, 10004, "error sign! please check your signature generation algorithm."));
    }
    let ts: i64 = ts.parse().unwrap_or_default();
    let window: i64 = window.parse().unwrap_or(5000);
    if !s.check_timestamp(ts, window) {
        let msg = format!(
            "invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts}],server_timestamp[{}],recv_window[{window}]",
            s.now_ms()
        );
        return Some(fail(s, 10002, &msg));
    }
    None
}

fn status_name(status: &str) -> &'static str {
    match status {
        "PARTIALLY_FILLED" => "PartiallyFilled",
        "FILLED" => "Filled",
        "CANCELED" => "Cancelled",
        _ => "New",
    }
}

fn side_name(side: &str) -> &'static str {
    if side == "BUY" { "Buy" } else { "Sell" }
}

fn kind_name(kind: &str) -> &'static str {
    if kind == "MARKET" { "Market" } else { "Limit" }
}

/// An order as `/v5/order/realtime` and the `order` topic show it.
pub fn order_json(o: &FakeOrder, category: &str) -> Value {
    let avg = if o.filled.is_zero() { String::new() } else { (o.filled_quote / o.filled).normalize().to_string() };
    json!({"category": category, "orderId": o.id.to_string(), "orderLinkId": o.client_id, "symbol": o.symbol,
        "price": o.price.unwrap_or_default().to_string(), "qty": o.qty.to_string(), "side": side_name(&o.side),
        "orderStatus": status_name(&o.status), "orderType": kind_name(&o.kind), "timeInForce": "GTC",
        "cumExecQty": o.filled.to_string(), "cumExecValue": o.filled_quote.to_string(), "cumExecFee": "0",
        "avgPrice": avg, "leavesQty": (o.qty - o.filled).to_string(), "isLeverage": "", "positionIdx": 0,
        "createdTime": o.created_ms.to_string(), "updatedTime": o.updated_ms.to_string()})
}

/// An execution as `/v5/execution/list` and the `execution` topic show it.
pub fn execution_json(f: &FakeFill, o: &FakeOrder, category: &str) -> Value {
    json!({"category": category, "symbol": f.symbol, "orderId": f.order_id.to_string(), "orderLinkId": f.client_id,
        "side": side_name(&f.side), "orderPrice": o.price.unwrap_or_default().to_string(), "orderQty": o.qty.to_string(),
        "leavesQty": (o.qty - o.filled).to_string(), "orderType": kind_name(&o.kind), "execFee": f.fee.to_string(),
        "feeCurrency": f.fee_asset, "execId": f.trade_id.to_string(), "execPrice": f.price.to_string(),
        "execQty": f.qty.to_string(), "execType": "Trade", "execValue": (f.price * f.qty).to_string(),
        "execTime": f.time_ms.to_string(), "isMaker": f.maker, "feeRate": "0.001"})
}

fn trade_json(t: &FakeTrade) -> Value {
    json!({"execId": t.id.to_string(), "symbol": t.symbol, "price": t.price.to_string(), "size": t.qty.to_string(),
        "side": if t.buyer_maker { "Sell" } else { "Buy" }, "time": t.time_ms.to_string(), "isBlockTrade": false,
        "seq": t.id})
}

fn reject(s: &FakeState, r: FakeReject) -> Response {
    match r {
        FakeReject::DuplicateClientId => fail(s, 110072, "OrderLinkedID is duplicate"),
        FakeReject::InsufficientBalance => fail(s, 170131, "Insufficient balance."),
        FakeReject::UnknownOrder => fail(s, 110001, "Order does not exist."),
        FakeReject::BadRequest(m) => fail(s, 10001, &m),
    }
}

async fn rest(State(s): State<FakeState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    s.log_request(format!("{method} {path}"));
    if let Some((status, retry_after)) = s.take_fault() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let mut resp = (status, "Too many visits!").into_response();
        if let Some(secs) = retry_after {
            resp.headers_mut().insert("Retry-After", secs.to_string().parse().expect("digits"));
        }
        return resp;
    }
    let query = uri.query().unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&body).into_owned();
    let signed = ["/v5/account/", "/v5/order/", "/v5/execution/", "/v5/position/"].iter().any(|p| path.starts_with(p));
    if signed && let Some(resp) = verify(&s, &headers, if method == Method::GET { &query } else { &body }) {
        return resp;
    }
    let mut params: BTreeMap<String, String> = parse_params(&query).into_iter().collect();
    if method == Method::POST {
        let Ok(Value::Object(b)) = serde_json::from_str::<Value>(&body) else {
            return fail(&s, 10001, "request body is not a JSON object");
        };
        for (k, v) in b {
            params.insert(
                k,
                match v {
                    Value::String(t) => t,
                    other => other.to_string(),
                },
            );
        }
    }
    let get = |k: &str| params.get(k).map(String::as_str);
    let symbol = get("symbol").unwrap_or_default().to_string();
    let category = get("category").unwrap_or("spot").to_string();
    let limit: usize = get("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
    match (method.as_str(), path.as_str()) {
        ("GET", "/v5/market/time") => {
            let now = s.now_ms();
            ok(&s, json!({"timeSecond": (now / 1000).to_string(), "timeNano": (now as i128 * 1_000_000).to_string()}))
        }
        ("GET", "/v5/market/instruments-info") => ok(&s, instruments(&category)),
        ("GET", "/v5/market/tickers") => {
            let last = s.last_price(&symbol).unwrap_or_default().to_string();
            let vol: Decimal = s.trades(&symbol, None, usize::MAX).iter().map(|t| t.qty).sum();
            ok(
                &s,
                json!({"category": category, "list": [{"symbol": symbol, "lastPrice": last, "bid1Price": last,
                "ask1Price": last, "volume24h": vol.to_string()}]}),
            )
        }
        ("GET", "/v5/market/orderbook") => {
            ok(&s, json!({"s": symbol, "b": [], "a": [], "ts": s.now_ms(), "u": 1, "seq": 1}))
        }
        ("GET", "/v5/market/recent-trade") => {
            let mut list: Vec<Value> = s.trades(&symbol, None, limit).iter().map(trade_json).collect();
            list.reverse();
            ok(&s, json!({"category": category, "list": list}))
        }
        ("GET", "/v5/market/kline") => {
            let bound = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
            let list = klines(&s, &symbol, bound("start"), bound("end"), get("limit").and_then(|l| l.parse().ok()));
            ok(&s, json!({"category": category, "symbol": symbol, "list": list}))
        }
        ("GET", "/v5/account/wallet-balance") => {
            let coins: Vec<Value> = s
                .balances()
                .into_iter()
                .map(|(c, (f, l))| {
                    json!({"coin": c, "walletBalance": (f + l).to_string(), "locked": l.to_string(),
                    "equity": (f + l).to_string(), "usdValue": ""})
                })
                .collect();
            ok(&s, json!({"list": [{"accountType": "UNIFIED", "coin": coins}]}))
        }
        ("POST", "/v5/order/create") => {
            let side = if get("side") == Some("Buy") { "BUY" } else { "SELL" };
            let kind = if get("orderType") == Some("Market") { "MARKET" } else { "LIMIT" };
            let Some(qty) = get("qty").and_then(|q| q.parse::<Decimal>().ok()) else {
                return fail(&s, 10001, "params error: qty");
            };
            let price = get("price").and_then(|p| p.parse().ok());
            match s.place(get("orderLinkId").unwrap_or_default(), &symbol, side, kind, price, qty) {
                Ok(o) => ok(&s, json!({"orderId": o.id.to_string(), "orderLinkId": o.client_id})),
                Err(r) => reject(&s, r),
            }
        }
        ("POST", "/v5/order/cancel") => {
            let id = get("orderId").and_then(|i| i.parse().ok());
            match s.cancel(id, get("orderLinkId")) {
                Ok(o) => ok(&s, json!({"orderId": o.id.to_string(), "orderLinkId": o.client_id})),
                Err(r) => reject(&s, r),
            }
        }
        ("GET", "/v5/order/realtime" | "/v5/order/history") => {
            let id = get("orderId").and_then(|i| i.parse().ok());
            let link = get("orderLinkId");
            let orders: Vec<FakeOrder> = if id.is_some() || link.is_some() {
                s.find(id, link).into_iter().collect()
            } else if path.ends_with("realtime") {
                s.open_orders(get("symbol"))
            } else {
                s.orders()
            };
            ok(
                &s,
                json!({"category": category, "list": orders.iter().map(|o| order_json(o, &category)).collect::<Vec<_>>(),
                "nextPageCursor": ""}),
            )
        }
        ("GET", "/v5/execution/list") => {
            let order: Option<u64> = params.get("orderId").and_then(|o| o.parse().ok());
            let fills = s.fills(Some(&symbol));
            let orders = s.orders();
            let mut list: Vec<Value> = fills
                .iter()
                .rev()
                .filter(|f| order.is_none_or(|o| f.order_id == o))
                .take(limit)
                .filter_map(|f| orders.iter().find(|o| o.id == f.order_id).map(|o| execution_json(f, o, &category)))
                .collect();
            list.truncate(limit);
            ok(&s, json!({"category": category, "list": list, "nextPageCursor": ""}))
        }
        ("GET", "/v5/position/list") => ok(&s, json!({"category": category, "list": [], "nextPageCursor": ""})),
        ("POST", "/v5/position/set-leverage") => ok(&s, json!({})),
        _ => (StatusCode::NOT_FOUND, format!("no such endpoint: {method} {path}")).into_response(),
    }
}

fn instruments(category: &str) -> Value {
    let sym = |name: &str, base: &str| {
        if category == "linear" {
            json!({"symbol": name, "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": base,
                "quoteCoin": "USDT", "settleCoin": "USDT",
                "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"},
                "lotSizeFilter": {"maxOrderQty": "100.000", "minOrderQty": "0.001", "qtyStep": "0.001",
                    "minNotionalValue": "5"}})
        } else {
            json!({"symbol": name, "status": "Trading", "baseCoin": base, "quoteCoin": "USDT",
                "priceFilter": {"tickSize": "0.01"},
                "lotSizeFilter": {"basePrecision": "0.000001", "quotePrecision": "0.00000001",
                    "minOrderQty": "0.000048", "maxOrderQty": "71.73956243", "minOrderAmt": "1", "maxOrderAmt": "2000000"}})
        }
    };
    json!({"category": category, "list": [sym("BTCUSDT", "BTC"), sym("ETHUSDT", "ETH")], "nextPageCursor": ""})
}

/// Bybit's answer: the candles between `start` and `end` (now by default), newest first,
/// at most `limit` (default 200): when more fall in the range, the newest.
fn klines(s: &FakeState, symbol: &str, start: Option<i64>, end: Option<i64>, limit: Option<usize>) -> Vec<Value> {
    s.minute_bars(symbol)
        .into_iter()
        .rev()
        .filter(|b| start.is_none_or(|st| b.open_ms >= st - st.rem_euclid(60_000)))
        .filter(|b| end.is_none_or(|e| b.open_ms <= e))
        .take(limit.unwrap_or(200).clamp(1, 1000))
        .map(|b| {
            json!([
                b.open_ms.to_string(),
                b.open.to_string(),
                b.high.to_string(),
                b.low.to_string(),
                b.close.to_string(),
                b.volume.to_string(),
                b.quote_volume.to_string()
            ])
        })
        .collect()
}

/// The `publicTrade` topic message of a trade.
pub fn trade_frame(t: &FakeTrade) -> String {
    json!({"topic": format!("publicTrade.{}", t.symbol), "type": "snapshot", "ts": t.time_ms, "data": [{
        "T": t.time_ms, "s": t.symbol, "S": if t.buyer_maker { "Sell" } else { "Buy" }, "v": t.qty.to_string(),
        "p": t.price.to_string(), "L": "PlusTick", "i": t.id.to_string(), "BT": false, "seq": t.id}]})
    .to_string()
}

fn op_answer(op: &str, success: bool, msg: &str) -> String {
    json!({"success": success, "ret_msg": msg, "conn_id": "fake-conn", "req_id": "", "op": op}).to_string()
}

async fn public_ws(State(s): State<FakeState>, ws: WebSocketUpgrade) -> Response {
    // Subscribe before the handshake completes; events wait in the receiver until the
    // client's subscribe op arrives.
    let events = s.subscribe();
    ws.on_upgrade(move |socket| public_session(socket, events))
}

async fn public_session(socket: WebSocket, mut events: tokio::sync::broadcast::Receiver<FakeEvent>) {
    let (mut tx, mut rx) = socket.split();
    let mut topics: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            ev = events.recv(), if !topics.is_empty() => match ev {
                Ok(FakeEvent::Trade(t)) => {
                    if topics.contains(&format!("publicTrade.{}", t.symbol))
                        && tx.send(Message::Text(trade_frame(&t).into())).await.is_err()
                    {
                        return;
                    }
                }
                Ok(FakeEvent::Drop) => {
                    let _ = tx.send(Message::Close(None)).await;
                    return;
                }
                Ok(FakeEvent::Order(..)) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
            msg = rx.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(t))) => {
                    let req: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    let answer = match req.get("op").and_then(Value::as_str) {
                        Some("ping") => op_answer("ping", true, "pong"),
                        Some("subscribe") => {
                            let args = req.get("args").and_then(Value::as_array).cloned().unwrap_or_default();
                            topics.extend(args.iter().filter_map(Value::as_str).map(str::to_string));
                            op_answer("subscribe", true, "subscribe")
                        }
                        _ => op_answer("unknown", false, "unsupported op"),
                    };
                    if tx.send(Message::Text(answer.into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn private_ws(State(s): State<FakeState>, ws: WebSocketUpgrade) -> Response {
    let events = s.subscribe();
    ws.on_upgrade(move |socket| private_session(socket, s, events))
}

/// Check an `auth` op: `[api_key, expires, hex(HMAC(secret, "GET/realtime" + expires))]`,
/// `expires` in the future.
fn auth(s: &FakeState, req: &Value) -> bool {
    let args = req.get("args").and_then(Value::as_array).cloned().unwrap_or_default();
    let key = args.first().and_then(Value::as_str).unwrap_or_default();
    let expires = args.get(1).and_then(|e| e.as_i64().or_else(|| e.as_str().and_then(|t| t.parse().ok())));
    let sig = args.get(2).and_then(Value::as_str).unwrap_or_default();
    let Some(expires) = expires else { return false };
    if key != s.keys.api_key || hmac_sha256_hex(&s.keys.secret, &format!("GET/realtime{expires}")) != sig {
        s.signature_failed();
        return false;
    }
    if expires <= s.now_ms() {
        s.check_timestamp(i64::MIN / 2, 0);
        return false;
    }
    true
}

async fn private_session(socket: WebSocket, s: FakeState, mut events: tokio::sync::broadcast::Receiver<FakeEvent>) {
    let (mut tx, mut rx) = socket.split();
    let mut authed = false;
    let mut topics: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            ev = events.recv(), if authed && !topics.is_empty() => match ev {
                Ok(FakeEvent::Order(o, f)) => {
                    let category = "spot";
                    let mut frames = Vec::new();
                    if let Some(f) = &f && topics.iter().any(|t| t == "execution") {
                        frames.push(json!({"id": format!("exec-{}", f.trade_id), "topic": "execution",
                            "creationTime": s.now_ms(), "data": [execution_json(f, &o, category)]}));
                    }
                    if topics.iter().any(|t| t == "order") {
                        frames.push(json!({"id": format!("order-{}-{}", o.id, o.updated_ms), "topic": "order",
                            "creationTime": s.now_ms(), "data": [order_json(&o, category)]}));
                    }
                    for frame in frames {
                        if tx.send(Message::Text(frame.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(FakeEvent::Drop) => {
                    let _ = tx.send(Message::Close(None)).await;
                    return;
                }
                Ok(FakeEvent::Trade(_)) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
            msg = rx.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(t))) => {
                    let req: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    let answer = match req.get("op").and_then(Value::as_str) {
                        Some("ping") => json!({"req_id": "", "op": "pong", "args": [s.now_ms().to_string()],
                            "conn_id": "fake-conn"}).to_string(),
                        Some("auth") => {
                            authed = auth(&s, &req);
                            op_answer("auth", authed, if authed { "" } else { "Request not authorized" })
                        }
                        Some("subscribe") if authed => {
                            let args = req.get("args").and_then(Value::as_array).cloned().unwrap_or_default();
                            topics.extend(args.iter().filter_map(Value::as_str).map(str::to_string));
                            op_answer("subscribe", true, "")
                        }
                        Some("subscribe") => op_answer("subscribe", false, "Request not authorized"),
                        _ => op_answer("unknown", false, "unsupported op"),
                    };
                    if tx.send(Message::Text(answer.into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
}
