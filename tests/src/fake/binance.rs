//! A fake Binance spot exchange: the REST v3 paths the host uses, with Binance's JSON
//! shapes and error codes, SIGNED requests verified as the docs describe (HMAC-SHA256 hex
//! of the total parameters — query string then body — without the trailing `signature`;
//! key in `X-MBX-APIKEY`), combined market streams on `/stream?streams=...`, and the
//! WebSocket API on `/ws-api/v3` with `userDataStream.subscribe.signature` (parameters
//! sorted, raw values, `apiKey` included).

use super::{FakeEvent, FakeExchange, FakeFill, FakeKeys, FakeOrder, FakeReject, FakeState, FakeTrade, serve};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Sha256;

/// HMAC-SHA256 of `payload`, lower-case hex.
pub fn hmac_sha256_hex(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Decode `%XX` escapes (and `+` as a space) of a query component.
pub fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=2` into decoded pairs, in order.
pub fn parse_params(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Start the fake on 127.0.0.1 with a fresh market and account.
pub async fn start(keys: FakeKeys) -> FakeExchange {
    let state = FakeState::new(keys);
    let app = Router::new()
        .route("/stream", get(market_ws))
        .route("/ws-api/v3", get(ws_api))
        .fallback(rest)
        .with_state(state.clone());
    let addr = serve(app).await;
    FakeExchange::new(state, addr)
}

fn d8(d: Decimal) -> String {
    format!("{:.8}", d)
}

fn err(status: StatusCode, code: i64, msg: &str) -> Response {
    (status, [("content-type", "application/json")], json!({"code": code, "msg": msg}).to_string()).into_response()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], v.to_string()).into_response()
}

struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn dec(&self, k: &str) -> Option<Decimal> {
        self.get(k).and_then(|v| v.parse().ok())
    }
}

/// Verify a SIGNED request; `Err` is the answer to send.
#[allow(clippy::result_large_err)]
fn verify(s: &FakeState, headers: &HeaderMap, query: &str, body: &str) -> Result<(), Response> {
    let key = headers.get("X-MBX-APIKEY").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if key != s.keys.api_key {
        s.signature_failed();
        return Err(err(StatusCode::UNAUTHORIZED, -2015, "Invalid API-key, IP, or permissions for action."));
    }
    let total = format!("{query}{body}");
    let Some((payload, sig)) = total.rsplit_once("&signature=") else {
        s.signature_failed();
        return Err(err(StatusCode::BAD_REQUEST, -1102, "Mandatory parameter 'signature' was not sent."));
    };
    if hmac_sha256_hex(&s.keys.secret, payload) != sig {
        s.signature_failed();
        return Err(err(StatusCode::BAD_REQUEST, -1022, "Signature for this request is not valid."));
    }
    let params = Params(parse_params(payload));
    let ts: i64 = params.get("timestamp").and_then(|t| t.parse().ok()).unwrap_or_default();
    let window: i64 = params.get("recvWindow").and_then(|t| t.parse().ok()).unwrap_or(5000);
    if !s.check_timestamp(ts, window) {
        return Err(err(StatusCode::BAD_REQUEST, -1021, "Timestamp for this request is outside of the recvWindow."));
    }
    Ok(())
}

fn reject(r: FakeReject, cancel: bool) -> Response {
    match r {
        FakeReject::DuplicateClientId => err(StatusCode::BAD_REQUEST, -2010, "Duplicate order sent."),
        FakeReject::InsufficientBalance => {
            err(StatusCode::BAD_REQUEST, -2010, "Account has insufficient balance for requested action.")
        }
        FakeReject::UnknownOrder if cancel => err(StatusCode::BAD_REQUEST, -2011, "Unknown order sent."),
        FakeReject::UnknownOrder => err(StatusCode::BAD_REQUEST, -2013, "Order does not exist."),
        FakeReject::BadRequest(m) => err(StatusCode::BAD_REQUEST, -1013, &m),
    }
}

/// An order as `GET /api/v3/order` shows it.
pub fn order_json(o: &FakeOrder) -> Value {
    json!({
        "symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.client_id,
        "price": d8(o.price.unwrap_or_default()), "origQty": d8(o.qty), "executedQty": d8(o.filled),
        "cummulativeQuoteQty": d8(o.filled_quote), "status": o.status, "timeInForce": "GTC",
        "type": o.kind, "side": o.side, "stopPrice": "0.00000000", "icebergQty": "0.00000000",
        "time": o.created_ms, "updateTime": o.updated_ms, "isWorking": true, "workingTime": o.created_ms,
        "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "NONE",
    })
}

fn trade_json(t: &FakeTrade) -> Value {
    json!({"id": t.id, "price": d8(t.price), "qty": d8(t.qty), "quoteQty": d8(t.price * t.qty),
        "time": t.time_ms, "isBuyerMaker": t.buyer_maker, "isBestMatch": true})
}

async fn rest(State(s): State<FakeState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    s.log_request(format!("{method} {path}"));
    if let Some((status, retry_after)) = s.take_fault() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let mut resp =
            err(status, -1003, "Too much request weight used; current limit is 6000 request weight per 1 MINUTE.");
        if let Some(secs) = retry_after {
            resp.headers_mut().insert("Retry-After", secs.to_string().parse().expect("digits"));
        }
        return resp;
    }
    let query = uri.query().unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&body).into_owned();
    let params = Params(parse_params(&format!("{query}&{body}")));
    let symbol = params.get("symbol").unwrap_or_default().to_string();
    let signed =
        matches!(path.as_str(), "/api/v3/account" | "/api/v3/order" | "/api/v3/openOrders" | "/api/v3/myTrades");
    if signed && let Err(resp) = verify(&s, &headers, &query, &body) {
        return resp;
    }
    let limit: usize = params.get("limit").and_then(|l| l.parse().ok()).unwrap_or(500);
    if path == "/api/v3/order" && method != Method::GET {
        s.pass_gate().await;
    }
    match (method.as_str(), path.as_str()) {
        ("GET", "/api/v3/ping") => ok(json!({})),
        ("GET", "/api/v3/time") => ok(json!({"serverTime": s.now_ms()})),
        ("GET", "/api/v3/exchangeInfo") => ok(exchange_info()),
        ("GET", "/api/v3/ticker/24hr") => {
            let last = s.last_price(&symbol).unwrap_or_default();
            let volume: Decimal = s.trades(&symbol, None, usize::MAX).iter().map(|t| t.qty).sum();
            ok(json!({"symbol": symbol, "lastPrice": d8(last), "bidPrice": d8(last), "askPrice": d8(last),
                "volume": d8(volume), "count": 0}))
        }
        ("GET", "/api/v3/depth") => {
            let open = s.open_orders(Some(&symbol));
            let level = |side: &str| -> Vec<Value> {
                let mut v: Vec<(Decimal, Decimal)> = open
                    .iter()
                    .filter(|o| o.side == side)
                    .map(|o| (o.price.unwrap_or_default(), o.qty - o.filled))
                    .collect();
                v.sort_by(|a, b| if side == "BUY" { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
                v.into_iter().take(limit).map(|(p, q)| json!([d8(p), d8(q)])).collect()
            };
            ok(json!({"lastUpdateId": 1, "bids": level("BUY"), "asks": level("SELL")}))
        }
        ("GET", "/api/v3/trades") => {
            ok(Value::Array(s.trades(&symbol, None, limit.min(1000)).iter().map(trade_json).collect()))
        }
        ("GET", "/api/v3/historicalTrades") => {
            let key = headers.get("X-MBX-APIKEY").and_then(|v| v.to_str().ok()).unwrap_or_default();
            if key != s.keys.api_key {
                return err(StatusCode::UNAUTHORIZED, -2014, "API-key format invalid.");
            }
            let from = params.get("fromId").and_then(|f| f.parse().ok());
            ok(Value::Array(s.trades(&symbol, from, limit.min(1000)).iter().map(trade_json).collect()))
        }
        ("GET", "/api/v3/klines") => ok(klines(
            &s,
            &symbol,
            params.get("startTime").and_then(|t| t.parse().ok()),
            params.get("limit").and_then(|t| t.parse().ok()),
        )),
        ("GET", "/api/v3/account") => {
            let balances: Vec<Value> = s
                .balances()
                .into_iter()
                .map(|(a, (f, l))| json!({"asset": a, "free": d8(f), "locked": d8(l)}))
                .collect();
            ok(json!({"makerCommission": 10, "takerCommission": 10, "canTrade": true, "canWithdraw": true,
                "canDeposit": true, "updateTime": s.now_ms(), "accountType": "SPOT", "balances": balances,
                "permissions": ["SPOT"]}))
        }
        ("POST", "/api/v3/order") => {
            let kind = match params.get("type").unwrap_or_default() {
                "LIMIT_MAKER" => "LIMIT",
                k => k,
            };
            let Some(qty) = params.dec("quantity") else {
                return err(StatusCode::BAD_REQUEST, -1102, "Mandatory parameter 'quantity' was not sent.");
            };
            let client = params.get("newClientOrderId").unwrap_or_default();
            let side = params.get("side").unwrap_or_default();
            match s.place(client, &symbol, side, kind, params.dec("price"), qty) {
                Ok(o) => {
                    let mut v = order_json(&o);
                    v["transactTime"] = json!(o.created_ms);
                    ok(v)
                }
                Err(r) => reject(r, false),
            }
        }
        ("GET" | "DELETE", "/api/v3/order") => {
            let id = params.get("orderId").and_then(|i| i.parse().ok());
            let client = params.get("origClientOrderId");
            if method == Method::GET {
                match s.find(id, client) {
                    Some(o) => ok(order_json(&o)),
                    None => reject(FakeReject::UnknownOrder, false),
                }
            } else {
                match s.cancel(id, client) {
                    Ok(o) => {
                        let mut v = order_json(&o);
                        v["origClientOrderId"] = json!(o.client_id);
                        v["clientOrderId"] = json!(format!("cancel-{}", o.id));
                        v["transactTime"] = json!(o.updated_ms);
                        ok(v)
                    }
                    Err(r) => reject(r, true),
                }
            }
        }
        ("GET", "/api/v3/openOrders") => {
            let sym = params.get("symbol");
            ok(Value::Array(s.open_orders(sym).iter().map(order_json).collect()))
        }
        ("GET", "/api/v3/myTrades") => {
            let order: Option<u64> = params.get("orderId").and_then(|o| o.parse().ok());
            let fills: Vec<_> =
                s.fills(Some(&symbol)).into_iter().filter(|f| order.is_none_or(|o| f.order_id == o)).collect();
            let start = fills.len().saturating_sub(limit);
            ok(Value::Array(
                fills[start..]
                    .iter()
                    .map(|f| {
                        json!({"symbol": f.symbol, "id": f.trade_id, "orderId": f.order_id, "orderListId": -1,
                            "price": d8(f.price), "qty": d8(f.qty), "quoteQty": d8(f.price * f.qty),
                            "commission": d8(f.fee), "commissionAsset": f.fee_asset, "time": f.time_ms,
                            "isBuyer": f.side == "BUY", "isMaker": f.maker, "isBestMatch": true})
                    })
                    .collect(),
            ))
        }
        _ => err(StatusCode::NOT_FOUND, -1100, &format!("no such endpoint: {method} {path}")),
    }
}

fn exchange_info() -> Value {
    let sym = |name: &str, base: &str| {
        json!({"symbol": name, "status": "TRADING", "baseAsset": base, "quoteAsset": "USDT",
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5}]})
    };
    json!({"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": [sym("BTCUSDT", "BTC"), sym("ETHUSDT", "ETH")]})
}

/// Binance's answer: from `start` on, oldest first, at most `limit` (default 500).
fn klines(s: &FakeState, symbol: &str, start: Option<i64>, limit: Option<usize>) -> Value {
    let rows: Vec<Value> = s
        .minute_bars(symbol)
        .into_iter()
        .filter(|b| start.is_none_or(|st| b.open_ms >= st - st.rem_euclid(60_000)))
        .take(limit.unwrap_or(500).clamp(1, 1000))
        .map(|b| {
            json!([
                b.open_ms,
                d8(b.open),
                d8(b.high),
                d8(b.low),
                d8(b.close),
                d8(b.volume),
                b.open_ms + 59_999,
                d8(b.quote_volume),
                b.trades,
                "0",
                "0",
                "0"
            ])
        })
        .collect();
    Value::Array(rows)
}

/// The combined-stream frame of a trade.
pub fn trade_frame(t: &FakeTrade) -> String {
    json!({"stream": format!("{}@trade", t.symbol.to_ascii_lowercase()), "data": {
        "e": "trade", "E": t.time_ms, "s": t.symbol, "t": t.id, "p": d8(t.price), "q": d8(t.qty),
        "T": t.time_ms, "m": t.buyer_maker, "M": true}})
    .to_string()
}

async fn market_ws(State(s): State<FakeState>, uri: Uri, ws: WebSocketUpgrade) -> Response {
    let params = Params(parse_params(uri.query().unwrap_or_default()));
    let streams: Vec<String> = params.get("streams").unwrap_or_default().split('/').map(str::to_string).collect();
    // Subscribe before the handshake completes, so nothing pushed after the client sees
    // the connection is missed.
    let events = s.subscribe();
    ws.on_upgrade(move |socket| market_session(socket, events, streams))
}

async fn market_session(
    socket: WebSocket,
    mut events: tokio::sync::broadcast::Receiver<FakeEvent>,
    streams: Vec<String>,
) {
    let (mut tx, mut rx) = socket.split();
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(FakeEvent::Trade(t)) => {
                    if streams.contains(&format!("{}@trade", t.symbol.to_ascii_lowercase()))
                        && tx.send(Message::Text(trade_frame(&t).into())).await.is_err()
                    {
                        return;
                    }
                }
                Ok(FakeEvent::Drop) => {
                    let _ = tx.send(Message::Close(None)).await;
                    return;
                }
                Ok(FakeEvent::Order(..)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
            msg = rx.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// The `executionReport` user-data event of an order update.
pub fn execution_report(o: &FakeOrder, f: Option<&FakeFill>, now_ms: i64) -> Value {
    let exec = match (f, o.status.as_str()) {
        (Some(_), _) => "TRADE",
        (None, "CANCELED") => "CANCELED",
        _ => "NEW",
    };
    json!({"e": "executionReport", "E": now_ms, "s": o.symbol, "c": o.client_id, "S": o.side, "o": o.kind,
        "f": "GTC", "q": d8(o.qty), "p": d8(o.price.unwrap_or_default()), "P": "0.00000000", "F": "0.00000000",
        "g": -1, "C": if exec == "CANCELED" { o.client_id.clone() } else { String::new() },
        "x": exec, "X": o.status, "r": "NONE", "i": o.id,
        "l": d8(f.map(|f| f.qty).unwrap_or_default()), "z": d8(o.filled),
        "L": d8(f.map(|f| f.price).unwrap_or_default()), "n": d8(f.map(|f| f.fee).unwrap_or_default()),
        "N": f.map(|f| f.fee_asset.clone()), "T": o.updated_ms, "t": f.map_or(-1, |f| f.trade_id as i64),
        "v": 3, "I": 8641984, "w": o.status == "NEW", "m": f.is_some_and(|f| f.maker), "M": false,
        "O": o.created_ms, "Z": d8(o.filled_quote), "Y": d8(f.map(|f| f.price * f.qty).unwrap_or_default()),
        "Q": "0.00000000", "W": o.created_ms, "V": "NONE"})
}

async fn ws_api(State(s): State<FakeState>, ws: WebSocketUpgrade) -> Response {
    let events = s.subscribe();
    ws.on_upgrade(move |socket| ws_api_session(socket, s, events))
}

/// Check a `userDataStream.subscribe.signature` request; the answer to send and whether
/// the subscription is on.
fn subscribe(s: &FakeState, req: &Value) -> (Value, bool) {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let error =
        |status: u16, code: i64, msg: &str| json!({"id": id, "status": status, "error": {"code": code, "msg": msg}});
    if req.get("method").and_then(Value::as_str) != Some("userDataStream.subscribe.signature") {
        return (error(400, -1100, "unsupported method"), false);
    }
    let Some(params) = req.get("params").and_then(Value::as_object) else {
        return (error(400, -1102, "Mandatory parameter 'params' was not sent."), false);
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if params.get("apiKey").map(text).as_deref() != Some(s.keys.api_key.as_str()) {
        s.signature_failed();
        return (error(401, -2015, "Invalid API-key, IP, or permissions for action."), false);
    }
    let mut sorted: Vec<(&String, String)> =
        params.iter().filter(|(k, _)| k.as_str() != "signature").map(|(k, v)| (k, text(v))).collect();
    sorted.sort();
    let payload = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let sig = params.get("signature").map(text).unwrap_or_default();
    if hmac_sha256_hex(&s.keys.secret, &payload) != sig {
        s.signature_failed();
        return (error(400, -1022, "Signature for this request is not valid."), false);
    }
    let ts = params.get("timestamp").and_then(Value::as_i64).unwrap_or_default();
    let window = params.get("recvWindow").and_then(Value::as_i64).unwrap_or(5000);
    if !s.check_timestamp(ts, window) {
        return (error(400, -1021, "Timestamp for this request is outside of the recvWindow."), false);
    }
    (json!({"id": id, "status": 200, "result": {"subscriptionId": 0}}), true)
}

async fn ws_api_session(socket: WebSocket, s: FakeState, mut events: tokio::sync::broadcast::Receiver<FakeEvent>) {
    let (mut tx, mut rx) = socket.split();
    let mut subscribed = false;
    loop {
        tokio::select! {
            // Events wait in the receiver until the subscription is on.
            ev = events.recv(), if subscribed => match ev {
                Ok(FakeEvent::Order(o, f)) => {
                    let frame = json!({"subscriptionId": 0, "event": execution_report(&o, f.as_ref(), s.now_ms())});
                    if tx.send(Message::Text(frame.to_string().into())).await.is_err() {
                        return;
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
                    let (answer, on) = subscribe(&s, &req);
                    subscribed |= on;
                    if tx.send(Message::Text(answer.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
}
