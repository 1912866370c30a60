//! A fake KuCoin spot exchange: REST in KuCoin's `{"code": "200000", "data": ...}`
//! envelope and the token-based WebSocket. `POST /api/v1/bullet-public` (and the signed
//! `bullet-private`) hand out a token and an instance server whose endpoint is this
//! fake's own `ws://HOST/kucoin-ws`.
//!
//! Signed requests are verified as KuCoin documents for key version 2:
//! `KC-API-SIGN` = base64(HMAC-SHA256(secret, timestamp + METHOD + path?query + body)),
//! `KC-API-PASSPHRASE` = base64(HMAC-SHA256(secret, passphrase)), `KC-API-TIMESTAMP`
//! within 5 s of the server clock. Failures answer KuCoin's codes: `400003` (unknown
//! key), `400004` (passphrase), `400005` (signature), `400002` (timestamp); orders
//! `400100` ("clientOid duplicated", "order not exist."), `200004` (balance).

use super::gateio::{decode_component, parse_query};
use super::{FakeEvent, FakeExchange, FakeFill, FakeKeys, FakeOrder, FakeReject, FakeState, FakeTrade, serve};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Fake {
    state: FakeState,
    /// Issued WebSocket tokens: true for private ones.
    tokens: Arc<Mutex<HashMap<String, bool>>>,
}

/// Start the fake on 127.0.0.1 (random port).
pub async fn start(keys: FakeKeys) -> FakeExchange {
    let state = FakeState::new(keys);
    let fake = Fake { state: state.clone(), tokens: Arc::new(Mutex::new(HashMap::new())) };
    let app = Router::new().route("/kucoin-ws", get(ws_upgrade)).fallback(rest).with_state(fake);
    let addr = serve(app).await;
    FakeExchange::new(state, addr)
}

fn hmac_b64(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn venue(symbol: &str) -> String {
    let (b, q) = super::split_symbol(symbol);
    format!("{b}-{q}")
}

fn host(venue: &str) -> String {
    venue.replace('-', "")
}

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

fn ok(data: Value) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], json!({"code": "200000", "data": data}).to_string())
        .into_response()
}

fn err(status: StatusCode, code: &str, msg: &str) -> Response {
    (status, [("content-type", "application/json")], json!({"code": code, "msg": msg}).to_string()).into_response()
}

fn is_private(path: &str) -> bool {
    ["/api/v1/accounts", "/api/v1/orders", "/api/v1/order/", "/api/v1/fills", "/api/v1/bullet-private"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The refusal to send, if the request is not properly signed.
fn verify(state: &FakeState, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (key, sign, ts, pass) = (h("KC-API-KEY"), h("KC-API-SIGN"), h("KC-API-TIMESTAMP"), h("KC-API-PASSPHRASE"));
    if key.is_empty() || sign.is_empty() || ts.is_empty() || pass.is_empty() {
        state.signature_failed();
        return Some(err(StatusCode::UNAUTHORIZED, "400001", "Please check the header of your request for KC-API-KEY"));
    }
    if key != state.keys.api_key {
        state.signature_failed();
        return Some(err(StatusCode::UNAUTHORIZED, "400003", "KC-API-KEY not exists"));
    }
    if h("KC-API-KEY-VERSION") != "2" || pass != hmac_b64(&state.keys.secret, &state.keys.passphrase) {
        state.signature_failed();
        return Some(err(StatusCode::UNAUTHORIZED, "400004", "Invalid KC-API-PASSPHRASE"));
    }
    let endpoint = match uri.query() {
        Some(q) if !q.is_empty() => format!("{}?{q}", uri.path()),
        _ => uri.path().to_string(),
    };
    let payload = format!("{ts}{}{endpoint}{}", method.as_str(), String::from_utf8_lossy(body));
    if sign != hmac_b64(&state.keys.secret, &payload) {
        state.signature_failed();
        return Some(err(StatusCode::UNAUTHORIZED, "400005", "Invalid KC-API-SIGN"));
    }
    let Ok(ts) = ts.parse::<i64>() else {
        return Some(err(StatusCode::UNAUTHORIZED, "400002", "KC-API-TIMESTAMP Invalid"));
    };
    if !state.check_timestamp(ts, 5_000) {
        return Some(err(StatusCode::UNAUTHORIZED, "400002", "KC-API-TIMESTAMP Invalid"));
    }
    None
}

async fn rest(State(fake): State<Fake>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let state = &fake.state;
    state.log_request(format!("{method} {}", uri.path()));
    if let Some((status, retry_after)) = state.take_fault() {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let mut resp = err(code, "429000", "Too Many Requests");
        if let Some(ra) = retry_after
            && let Ok(v) = ra.to_string().parse()
        {
            resp.headers_mut().insert("Retry-After", v);
        }
        return resp;
    }
    let path = uri.path().to_string();
    if is_private(&path)
        && let Some(resp) = verify(state, &method, &uri, &headers, &body)
    {
        return resp;
    }
    let q = parse_query(uri.query().unwrap_or(""));
    let sym = q.get("symbol").map(|v| host(v)).unwrap_or_default();
    match (method.as_str(), path.as_str()) {
        ("GET", "/api/v1/timestamp") => ok(json!(state.now_ms())),
        ("GET", "/api/v2/symbols") => {
            ok(json!(["BTC-USDT", "ETH-USDT"]
            .iter()
            .map(|p| {
                let (base, quote) = p.split_once('-').unwrap_or_default();
                json!({"symbol": p, "name": p, "baseCurrency": base, "quoteCurrency": quote, "feeCurrency": quote,
                    "market": "USDS", "baseMinSize": "0.00001", "quoteMinSize": "0.1", "baseMaxSize": "10000000000",
                    "quoteMaxSize": "99999999", "baseIncrement": "0.00000001", "quoteIncrement": "0.000001",
                    "priceIncrement": "0.1", "priceLimitRate": "0.1", "minFunds": "0.1", "isMarginEnabled": true,
                    "enableTrading": true})
            })
            .collect::<Vec<_>>()))
        }
        ("GET", "/api/v1/market/orderbook/level1") => {
            let last = state.last_price(&sym).unwrap_or_default();
            let t = state.trades(&sym, None, 1);
            ok(json!({"time": state.now_ms(), "sequence": t.first().map(|t| t.id.to_string()).unwrap_or_default(),
                "price": s(last), "size": t.first().map(|t| s(t.qty)).unwrap_or_default(),
                "bestBid": s(last), "bestBidSize": "1", "bestAsk": s(last), "bestAskSize": "1"}))
        }
        ("GET", "/api/v1/market/stats") => {
            let last = state.last_price(&sym).unwrap_or_default();
            let vol: Decimal = state.trades(&sym, None, usize::MAX).iter().map(|t| t.qty).sum();
            ok(
                json!({"time": state.now_ms(), "symbol": venue(&sym), "buy": s(last), "sell": s(last), "changeRate": "0",
                "changePrice": "0", "high": s(last), "low": s(last), "vol": s(vol), "volValue": "0", "last": s(last),
                "averagePrice": s(last), "takerFeeRate": "0.001", "makerFeeRate": "0.001"}),
            )
        }
        ("GET", "/api/v1/market/orderbook/level2_20" | "/api/v1/market/orderbook/level2_100") => {
            let (mut bids, mut asks) = (BTreeMap::<Decimal, Decimal>::new(), BTreeMap::<Decimal, Decimal>::new());
            for o in state.open_orders(Some(&sym)) {
                let side = if o.side == "BUY" { &mut bids } else { &mut asks };
                *side.entry(o.price.unwrap_or_default()).or_default() += o.qty - o.filled;
            }
            ok(json!({"time": state.now_ms(), "sequence": state.now_ms().to_string(),
                "bids": bids.iter().rev().map(|(p, q)| json!([s(*p), s(*q)])).collect::<Vec<_>>(),
                "asks": asks.iter().map(|(p, q)| json!([s(*p), s(*q)])).collect::<Vec<_>>()}))
        }
        ("GET", "/api/v1/market/histories") => {
            ok(json!(state.trades(&sym, None, 100).iter().map(history_json).collect::<Vec<_>>()))
        }
        ("GET", "/api/v1/market/candles") => {
            let from = q.get("startAt").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            let to = q.get("endAt").and_then(|v| v.parse::<i64>().ok()).unwrap_or(i64::MAX / 2000);
            let bars = state.minute_bars(&sym).into_iter().rev().filter(|b| {
                let start_s = b.open_ms / 1000;
                start_s >= from - from.rem_euclid(60) && start_s <= to
            });
            ok(json!(
                bars.map(|b| json!([
                    (b.open_ms / 1000).to_string(),
                    s(b.open),
                    s(b.close),
                    s(b.high),
                    s(b.low),
                    s(b.volume),
                    s(b.quote_volume)
                ]))
                .collect::<Vec<_>>()
            ))
        }
        ("POST", "/api/v1/bullet-public" | "/api/v1/bullet-private") => {
            let private = path.ends_with("private");
            let token = {
                let mut tokens = fake.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let token = format!("{}-{}", if private { "priv" } else { "pub" }, tokens.len() + 1);
                tokens.insert(token.clone(), private);
                token
            };
            let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string();
            ok(json!({"token": token, "instanceServers": [{"endpoint": format!("ws://{host}/kucoin-ws"),
                "encrypt": false, "protocol": "websocket", "pingInterval": 18000, "pingTimeout": 10000}]}))
        }
        ("GET", "/api/v1/accounts") => ok(json!(
            state
                .balances()
                .iter()
                .enumerate()
                .map(|(i, (a, (free, locked)))| json!({"id": format!("acc{i}"), "currency": a, "type": "trade",
                "balance": s(*free + *locked), "available": s(*free), "holds": s(*locked)}))
                .collect::<Vec<_>>()
        )),
        ("POST", "/api/v1/orders") => place(state, &body),
        ("GET", "/api/v1/orders") => {
            let status = q.get("status").map(String::as_str);
            let items: Vec<Value> = state
                .orders()
                .iter()
                .filter(|o| {
                    (sym.is_empty() || o.symbol == sym)
                        && match status {
                            Some("active") => is_active(o),
                            Some("done") => !is_active(o),
                            _ => true,
                        }
                })
                .map(|o| order_json(state, o))
                .collect();
            ok(json!({"currentPage": 1, "pageSize": 500, "totalNum": items.len(), "totalPage": 1, "items": items}))
        }
        ("GET", "/api/v1/fills") => {
            let size = q.get("pageSize").and_then(|v| v.parse().ok()).unwrap_or(50usize);
            let order: Option<u64> = q.get("orderId").and_then(|o| o.parse().ok());
            let items: Vec<Value> = state
                .fills(Some(&sym))
                .iter()
                .rev()
                .filter(|f| order.is_none_or(|o| f.order_id == o))
                .take(size)
                .map(fill_json)
                .collect();
            ok(json!({"currentPage": 1, "pageSize": size, "totalNum": items.len(), "totalPage": 1, "items": items}))
        }
        (m, p) if p.starts_with("/api/v1/orders/") || p.starts_with("/api/v1/order/client-order/") => {
            let by_client = p.starts_with("/api/v1/order/client-order/");
            let raw = decode_component(p.rsplit('/').next().unwrap_or(""));
            let (id, client) = if by_client { (None, Some(raw.as_str())) } else { (raw.parse::<u64>().ok(), None) };
            match m {
                // Like KuCoin's: by client id, only an active order is found.
                "GET" => match state.find(id, client).filter(|o| !by_client || is_active(o)) {
                    Some(o) => ok(order_json(state, &o)),
                    None => err(StatusCode::NOT_FOUND, "400100", "order not exist."),
                },
                "DELETE" => match state.cancel(id, client) {
                    Ok(o) if by_client => ok(json!({"cancelledOrderId": o.id.to_string(), "clientOid": o.client_id})),
                    Ok(o) => ok(json!({"cancelledOrderIds": [o.id.to_string()]})),
                    Err(_) => err(StatusCode::BAD_REQUEST, "400100", "order_not_exist_or_not_allow_to_cancel"),
                },
                _ => err(StatusCode::METHOD_NOT_ALLOWED, "405000", "method not allowed"),
            }
        }
        _ => err(StatusCode::NOT_FOUND, "404000", "Url Not Found"),
    }
}

/// Still working (KuCoin's `isActive`).
fn is_active(o: &FakeOrder) -> bool {
    o.status == "NEW" || o.status == "PARTIALLY_FILLED"
}

fn place(state: &FakeState, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return err(StatusCode::BAD_REQUEST, "400100", "Parameter Error");
    };
    let f = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let d = |k: &str| f(k).parse::<Decimal>().ok();
    let client = f("clientOid");
    if client.is_empty() {
        return err(StatusCode::BAD_REQUEST, "400100", "clientOid is required");
    }
    let Some(size) = d("size") else {
        return err(StatusCode::BAD_REQUEST, "400100", "size is required");
    };
    let kind = f("type").to_ascii_uppercase();
    match state.place(&client, &host(&f("symbol")), &f("side").to_ascii_uppercase(), &kind, d("price"), size) {
        Ok(o) => ok(json!({"orderId": o.id.to_string()})),
        Err(FakeReject::DuplicateClientId) => err(StatusCode::BAD_REQUEST, "400100", "clientOid duplicated"),
        Err(FakeReject::InsufficientBalance) => err(StatusCode::BAD_REQUEST, "200004", "Balance insufficient!"),
        Err(FakeReject::UnknownOrder) => err(StatusCode::BAD_REQUEST, "400100", "order not exist."),
        Err(FakeReject::BadRequest(m)) => err(StatusCode::BAD_REQUEST, "400100", &m),
    }
}

fn history_json(t: &FakeTrade) -> Value {
    json!({"sequence": t.id.to_string(), "price": s(t.price), "size": s(t.qty),
        "side": if t.buyer_maker { "sell" } else { "buy" }, "time": t.time_ms * 1_000_000})
}

fn order_json(state: &FakeState, o: &FakeOrder) -> Value {
    let fills: Vec<FakeFill> = state.fills(Some(&o.symbol)).into_iter().filter(|f| f.order_id == o.id).collect();
    let fee: Decimal = fills.iter().map(|f| f.fee).sum();
    json!({"id": o.id.to_string(), "symbol": venue(&o.symbol), "opType": "DEAL", "type": o.kind.to_ascii_lowercase(),
        "side": o.side.to_ascii_lowercase(), "price": o.price.map(s).unwrap_or_else(|| "0".into()), "size": s(o.qty),
        "funds": "0", "dealFunds": s(o.filled_quote), "dealSize": s(o.filled), "fee": s(fee),
        "feeCurrency": fills.first().map(|f| f.fee_asset.clone()).unwrap_or_else(|| "USDT".into()), "stp": "",
        "stop": "", "stopTriggered": false, "stopPrice": "0", "timeInForce": "GTC", "postOnly": false, "hidden": false,
        "iceberg": false, "visibleSize": "0", "cancelAfter": 0, "channel": "API", "clientOid": o.client_id,
        "remark": null, "tags": null, "isActive": is_active(o),
        "cancelExist": o.status == "CANCELED", "createdAt": o.created_ms, "lastUpdatedAt": o.updated_ms,
        "tradeType": "TRADE"})
}

fn fill_json(f: &FakeFill) -> Value {
    json!({"symbol": venue(&f.symbol), "tradeId": f.trade_id.to_string(), "orderId": f.order_id.to_string(),
        "counterOrderId": "", "side": f.side.to_ascii_lowercase(), "liquidity": if f.maker { "maker" } else { "taker" },
        "forceTaker": false, "price": s(f.price), "size": s(f.qty), "funds": s(f.price * f.qty), "fee": s(f.fee),
        "feeRate": "0.001", "feeCurrency": f.fee_asset, "stop": "", "type": "limit", "createdAt": f.time_ms,
        "tradeType": "TRADE"})
}

/// `/spotMarket/tradeOrdersV2` messages for an order event.
fn order_messages(o: &FakeOrder, fill: Option<&FakeFill>) -> Vec<Value> {
    let base = json!({"symbol": venue(&o.symbol), "orderType": o.kind.to_ascii_lowercase(),
        "side": o.side.to_ascii_lowercase(), "orderId": o.id.to_string(), "orderTime": o.created_ms * 1_000_000,
        "size": s(o.qty), "filledSize": s(o.filled), "price": o.price.map(s).unwrap_or_default(),
        "clientOid": o.client_id, "remainSize": s(o.qty - o.filled), "ts": o.updated_ms * 1_000_000});
    let with = |kind: &str, status: &str, extra: Value| {
        let mut d = base.clone();
        d["type"] = json!(kind);
        d["status"] = json!(status);
        if let (Some(obj), Value::Object(more)) = (d.as_object_mut(), extra) {
            obj.extend(more);
        }
        json!({"type": "message", "topic": "/spotMarket/tradeOrdersV2", "subject": "orderChange",
            "channelType": "private", "data": d})
    };
    let mut out = Vec::new();
    if let Some(f) = fill {
        out.push(with(
            "match",
            "match",
            json!({"matchPrice": s(f.price), "matchSize": s(f.qty), "tradeId": f.trade_id.to_string(),
                "liquidity": if f.maker { "maker" } else { "taker" }}),
        ));
        if o.status == "FILLED" {
            out.push(with("filled", "done", json!({})));
        }
    } else {
        out.push(match o.status.as_str() {
            "NEW" => with("open", "open", json!({})),
            "CANCELED" => with("canceled", "done", json!({"canceledSize": s(o.qty - o.filled)})),
            "FILLED" => with("filled", "done", json!({})),
            _ => with("update", "open", json!({})),
        });
    }
    out
}

async fn ws_upgrade(State(fake): State<Fake>, uri: Uri, ws: WebSocketUpgrade) -> Response {
    let q = parse_query(uri.query().unwrap_or(""));
    let token = q.get("token").cloned().unwrap_or_default();
    let private = fake.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&token).copied();
    let Some(private) = private else {
        return err(StatusCode::UNAUTHORIZED, "401", "token is invalid");
    };
    let connect_id = q.get("connectId").cloned().unwrap_or_default();
    ws.on_upgrade(move |socket| session(fake.state, socket, private, connect_id))
}

async fn session(state: FakeState, mut socket: WebSocket, private: bool, connect_id: String) {
    let mut rx = state.subscribe();
    let welcome = json!({"id": connect_id, "type": "welcome"}).to_string();
    if socket.send(Message::Text(welcome.into())).await.is_err() {
        return;
    }
    let mut symbols: HashSet<String> = HashSet::new();
    let mut orders = false;
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                let id = v.get("id").cloned().unwrap_or(Value::Null);
                let reply = match v.get("type").and_then(Value::as_str).unwrap_or("") {
                    "ping" => Some(json!({"id": id, "type": "pong"})),
                    "subscribe" => {
                        let topic = v.get("topic").and_then(Value::as_str).unwrap_or("");
                        let (kind, args) = topic.split_once(':').unwrap_or((topic, ""));
                        let mut error = None;
                        match kind {
                            "/spotMarket/tradeOrdersV2" if private => orders = true,
                            "/spotMarket/tradeOrdersV2" => {
                                state.signature_failed();
                                error = Some("private channel needs a private token");
                            }
                            "/market/match" => symbols.extend(args.split(',').map(host)),
                            _ => {}
                        }
                        match error {
                            Some(e) => Some(json!({"id": id, "type": "error", "code": 401, "data": e})),
                            None if v.get("response").and_then(Value::as_bool).unwrap_or(false) => {
                                Some(json!({"id": id, "type": "ack"}))
                            }
                            None => None,
                        }
                    }
                    _ => None,
                };
                if let Some(r) = reply
                    && socket.send(Message::Text(r.to_string().into())).await.is_err()
                {
                    return;
                }
            }
            ev = rx.recv() => {
                let frames: Vec<Value> = match ev {
                    Ok(FakeEvent::Trade(t)) if symbols.contains(&t.symbol) => {
                        let mut data = history_json(&t);
                        data["time"] = json!((t.time_ms * 1_000_000).to_string());
                        data["type"] = json!("match");
                        data["symbol"] = json!(venue(&t.symbol));
                        data["tradeId"] = json!(t.id.to_string());
                        data["takerOrderId"] = json!("");
                        data["makerOrderId"] = json!("");
                        vec![json!({"type": "message", "topic": format!("/market/match:{}", venue(&t.symbol)),
                            "subject": "trade.l3match", "data": data})]
                    }
                    Ok(FakeEvent::Order(o, fill)) if orders => order_messages(&o, fill.as_ref()),
                    Ok(FakeEvent::Drop) => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    Ok(_) => Vec::new(),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Vec::new(),
                    Err(_) => return,
                };
                for f in frames {
                    if socket.send(Message::Text(f.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
