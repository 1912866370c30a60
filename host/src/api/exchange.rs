//! The paper exchange's API (the seed's `/api/...` endpoints and field names), and the
//! `/ws/{client_id}` WebSocket with `subscribe` messages.

use super::{ApiError, AppState};
use crate::alerts::NewAlert;
use crate::core::exchange_api::{ApiOrderRequest, ExchangeError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

type Params = Query<HashMap<String, String>>;

impl From<ExchangeError> for ApiError {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::Bad(m) => ApiError::BadRequest(m),
            ExchangeError::NotFound(m) => ApiError::NotFound(m),
        }
    }
}

fn limit(q: &HashMap<String, String>, default: usize) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| ApiError::BadRequest(format!("limit must be an integer from 1 to 10000, got `{v}`"))),
    }
}

fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// `GET /api/cryptocurrencies?limit=`.
#[utoipa::path(get, path = "/api/cryptocurrencies", responses((status = 200, description = "assets with their USD price")))]
pub async fn cryptocurrencies(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<Value>>, ApiError> {
    let n = limit(&q, 50)?;
    let mut list = s.ask(|c| c.api_cryptos()).await?;
    list.truncate(n);
    Ok(Json(list))
}

/// `GET /api/cryptocurrencies/{id}` (`crypto_btc` or `BTC`).
#[utoipa::path(get, path = "/api/cryptocurrencies/{id}", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn cryptocurrency(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let want = format!("crypto_{}", id.strip_prefix("crypto_").unwrap_or(&id).to_ascii_lowercase());
    s.ask(|c| c.api_cryptos()).await?.into_iter().find(|c| c["id"] == want).map(Json).ok_or_else(|| {
        ApiError::NotFound(format!("unknown cryptocurrency `{id}`; GET /api/cryptocurrencies lists them"))
    })
}

/// `GET /api/trading-pairs?limit=`.
#[utoipa::path(get, path = "/api/trading-pairs", responses((status = 200, description = "pairs with last price, best bid/ask and filters")))]
pub async fn trading_pairs(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<Value>>, ApiError> {
    let n = limit(&q, 50)?;
    Ok(Json(s.ask(move |c| c.api_pairs(n)).await?))
}

/// `GET /api/trading-pairs/{pair}/orderbook?limit=`: the pair may be `BTCUSDT` or
/// `BTC/USDT` (the slash form spans two path segments, as in the seed).
#[utoipa::path(get, path = "/api/trading-pairs/{pair}/orderbook", params(("pair" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn orderbook(
    State(s): State<AppState>,
    Path(rest): Path<String>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    let pair = rest
        .strip_suffix("/orderbook")
        .ok_or_else(|| ApiError::NotFound(format!("no endpoint at /api/trading-pairs/{rest}; see /docs")))?
        .to_string();
    let n = limit(&q, 20)?;
    Ok(Json(s.ask(move |c| c.api_orderbook(&pair, n)).await??))
}

/// `POST /api/orders` (key).
#[utoipa::path(post, path = "/api/orders", request_body = ApiOrderRequest,
    responses((status = 201, description = "the order and its immediate trades"), (status = 400, description = "rejected with the reason"), (status = 401), (status = 404), (status = 429)))]
pub async fn create_order(State(s): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Result<Response, ApiError> {
    s.guard(&headers)?;
    let req: ApiOrderRequest = body(&bytes)?;
    let (order, trades) = s.ask(move |c| c.api_place_order(req)).await??;
    let mut out = order;
    out["trades"] = json!(trades);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `GET /api/orders?user_id&pair_symbol&status&limit`: open orders, or with
/// `status=all|closed|filled|canceled|expired|rejected` the closed ones too.
#[utoipa::path(get, path = "/api/orders", responses((status = 200)))]
pub async fn orders(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<Value>>, ApiError> {
    let n = limit(&q, 50)?;
    Ok(Json(
        s.ask(move |c| {
            c.api_orders(
                q.get("user_id").map(String::as_str),
                q.get("pair_symbol").map(String::as_str),
                q.get("status").map(String::as_str),
                n,
            )
        })
        .await??,
    ))
}

/// `GET /api/orders/{id}`.
#[utoipa::path(get, path = "/api/orders/{id}", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn order(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.ask(move |c| c.api_order(&id)).await??))
}

/// `DELETE /api/orders/{id}?user_id=` (key).
#[utoipa::path(delete, path = "/api/orders/{id}", params(("id" = String, Path)), responses((status = 200), (status = 400), (status = 404)))]
pub async fn cancel_order(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    s.guard(&headers)?;
    Ok(Json(s.ask(move |c| c.api_cancel_order(&id, q.get("user_id").map(String::as_str))).await??))
}

/// `GET /api/trades?user_id&pair_symbol&limit&hours`.
#[utoipa::path(get, path = "/api/trades", responses((status = 200)))]
pub async fn trades(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<Value>>, ApiError> {
    let n = limit(&q, 50)?;
    let hours = match q.get("hours") {
        None => None,
        Some(h) => Some(
            h.parse::<u32>().map_err(|_| ApiError::BadRequest(format!("hours must be a whole number, got `{h}`")))?,
        ),
    };
    Ok(Json(
        s.ask(move |c| {
            c.api_trades(q.get("user_id").map(String::as_str), q.get("pair_symbol").map(String::as_str), n, hours)
        })
        .await??,
    ))
}

fn user(q: &HashMap<String, String>) -> Result<String, ApiError> {
    q.get("user_id").cloned().ok_or_else(|| ApiError::BadRequest("user_id is required".into()))
}

/// `GET /api/wallets?user_id=`.
#[utoipa::path(get, path = "/api/wallets", responses((status = 200), (status = 404)))]
pub async fn wallets(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<Value>>, ApiError> {
    let u = user(&q)?;
    Ok(Json(s.ask(move |c| c.api_wallets(&u)).await??))
}

/// `GET /api/wallets/{wallet_id}` (`user_123_BTC`).
#[utoipa::path(get, path = "/api/wallets/{wallet_id}", params(("wallet_id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn wallet(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.ask(move |c| c.api_wallet(&id)).await??))
}

/// `GET /api/portfolio?user_id=`: total value and allocations.
#[utoipa::path(get, path = "/api/portfolio", responses((status = 200), (status = 404)))]
pub async fn portfolio(State(s): State<AppState>, Query(q): Params) -> Result<Json<Value>, ApiError> {
    let u = user(&q)?;
    Ok(Json(s.ask(move |c| c.api_portfolio(&u)).await??))
}

/// `POST /api/price-alerts` (key).
#[utoipa::path(post, path = "/api/price-alerts", request_body = NewAlert, responses((status = 201, body = crate::alerts::Alert), (status = 400)))]
pub async fn create_alert(State(s): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Result<Response, ApiError> {
    s.guard(&headers)?;
    let req: NewAlert = body(&bytes)?;
    let alert = s.ask(move |c| c.api_add_alert(req)).await??;
    Ok((StatusCode::CREATED, Json(alert)).into_response())
}

/// `GET /api/price-alerts?user_id&active_only`.
#[utoipa::path(get, path = "/api/price-alerts", responses((status = 200, body = [crate::alerts::Alert])))]
pub async fn alerts(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<crate::alerts::Alert>>, ApiError> {
    let active = q.get("active_only").is_some_and(|v| v == "true" || v == "1");
    Ok(Json(s.ask(move |c| c.api_alerts(q.get("user_id").map(String::as_str), active)).await?))
}

/// `POST /api/trading-bots` (key): starts the strategy as a WASM instance.
#[utoipa::path(post, path = "/api/trading-bots", request_body = crate::core::bots::NewBot,
    responses((status = 201, description = "the bot, running"), (status = 400, description = "unknown strategy, bad parameters, or init failed")))]
pub async fn create_bot(State(s): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Result<Response, ApiError> {
    s.guard(&headers)?;
    let req: crate::core::bots::NewBot = body(&bytes)?;
    let bot = s.ask(move |c| c.api_create_bot(req)).await??;
    Ok((StatusCode::CREATED, Json(bot)).into_response())
}

/// `GET /api/trading-bots?user_id=`: bots with their state and performance.
#[utoipa::path(get, path = "/api/trading-bots", responses((status = 200)))]
pub async fn bots(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(s.ask(move |c| c.api_bots(q.get("user_id").map(String::as_str))).await?))
}

/// `GET /api/stats`.
#[utoipa::path(get, path = "/api/stats", responses((status = 200)))]
pub async fn stats(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.ask(|c| c.api_stats()).await?))
}

/// `/ws/{client_id}`: send `{"type":"subscribe","subscription_type":"orderbook"|"trades"|
/// "orders"|"alerts","pair_symbol":"BTC/USDT"}` to receive those events.
#[utoipa::path(get, path = "/ws/{client_id}", params(("client_id" = String, Path)), responses((status = 101)))]
pub async fn ws(State(s): State<AppState>, Path(client): Path<String>, upgrade: WebSocketUpgrade) -> Response {
    let rx = s.exchange_bus.subscribe();
    upgrade.on_upgrade(move |socket| stream(socket, client, rx))
}

/// What one client asked for: (event type, pair or `None` for every pair).
type Subscriptions = Vec<(String, Option<String>)>;

fn wanted(subs: &Subscriptions, msg: &Value) -> bool {
    let kind = msg["type"].as_str().unwrap_or_default();
    let pair = msg["pair_symbol"].as_str().or_else(|| msg["order"]["pair_symbol"].as_str());
    subs.iter().any(|(k, p)| {
        let k_ok = match k.as_str() {
            "orderbook" => kind == "orderbook_update",
            "trades" | "trade" => kind == "trade",
            "orders" => kind == "order_update",
            "alerts" | "price_alerts" => kind == "price_alert_triggered",
            _ => false,
        };
        k_ok && (p.is_none()
            || pair.is_none()
            || pair.map(normalise).as_deref() == p.as_deref().map(normalise).as_deref())
    })
}

fn normalise(p: &str) -> String {
    crate::market_data::SymbolInfo::parse(p).map(|i| i.name).unwrap_or_else(|| p.to_string())
}

async fn stream(mut socket: WebSocket, client: String, mut rx: tokio::sync::broadcast::Receiver<std::sync::Arc<str>>) {
    let mut subs: Subscriptions = Vec::new();
    let hello = json!({ "type": "connected", "client_id": client });
    if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(text) => {
                    let v: Value = serde_json::from_str(&text).unwrap_or_default();
                    if wanted(&subs, &v) && socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    let reply = match serde_json::from_str::<Value>(&t) {
                        Ok(v) if v["type"] == "subscribe" || v["type"] == "unsubscribe" => {
                            let kind = v["subscription_type"].as_str().unwrap_or_default().to_string();
                            let pair = v["pair_symbol"].as_str().map(str::to_string);
                            if v["type"] == "subscribe" { subs.push((kind.clone(), pair.clone())); } else { subs.retain(|s| *s != (kind.clone(), pair.clone())); }
                            json!({ "type": format!("{}d", v["type"].as_str().unwrap_or_default()), "subscription_type": kind, "pair_symbol": pair })
                        }
                        Ok(_) => json!({ "type": "error", "error": "expected {\"type\":\"subscribe\",\"subscription_type\":\"orderbook|trades|orders|alerts\",\"pair_symbol\":\"BTC/USDT\"}" }),
                        Err(e) => json!({ "type": "error", "error": format!("invalid JSON: {e}") }),
                    };
                    if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
