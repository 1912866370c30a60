//! The unified exchange API of seed 004 (`/api/v1/exchanges/...`): connections, market
//! data, balances, orders, trades and positions on any connected exchange, plus the
//! host-level risk controls (`/api/v1/risk`: the kill switch).
//!
//! Orders sent here pass the same checks as a strategy's: the kill switch, then the
//! exchange's filters (tick, lot, min notional) before anything is sent. Keys never
//! appear in a response.

use super::{ApiError, AppState};
use crate::connectors::manager::{ConnectionError, ConnectionInfo, NewConnection, api_status};
use crate::connectors::{ConnectorError, OrderRef, OrderRequest, OrderType, TimeInForce, filters};
use crate::execution::Side;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

fn conn_err(e: ConnectionError) -> ApiError {
    match e {
        ConnectionError::NotFound(_) => ApiError::NotFound(e.to_string()),
        ConnectionError::Exists(_) => ApiError::Exchange(409, e.to_string()),
        ConnectionError::Invalid(m) => ApiError::BadRequest(m),
        ConnectionError::Storage(m) => {
            tracing::error!(error = %m, "exchange connection storage failed");
            ApiError::Internal
        }
    }
}

fn ex_err(e: ConnectorError) -> ApiError {
    let (status, message) = api_status(&e);
    ApiError::Exchange(status, message)
}

fn connections(state: &AppState) -> Result<&crate::connectors::manager::Connections, ApiError> {
    state.connections.as_deref().ok_or_else(|| ApiError::NotFound("exchange connections are not enabled".into()))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Which connection to use (`?connection=` or `?exchange=`; default: the first with keys, else binance).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Pick {
    /// Connection id or exchange name.
    #[serde(alias = "exchange", alias = "connection_id")]
    pub connection: Option<String>,
    /// Depth or number of items.
    pub limit: Option<usize>,
    /// Symbol filter.
    pub symbol: Option<String>,
}

fn pick(
    state: &AppState,
    which: Option<&str>,
) -> Result<std::sync::Arc<crate::connectors::manager::Connection>, ApiError> {
    let c = connections(state)?;
    match which {
        Some(id) => c.get(id).map_err(conn_err),
        None => {
            let list = c.list();
            let id = list.iter().find(|i| i.has_keys).or(list.first()).map(|i| i.id.clone()).unwrap_or_default();
            c.get(&id).map_err(conn_err)
        }
    }
}

/// List exchange connections.
#[utoipa::path(get, path = "/api/v1/exchanges/connections", tag = "exchanges",
    responses((status = 200, body = [ConnectionInfo])))]
pub async fn list_connections(State(state): State<AppState>) -> Result<Json<Vec<ConnectionInfo>>, ApiError> {
    Ok(Json(connections(&state)?.list()))
}

/// Create an exchange connection (keys are stored AES-256-GCM encrypted).
#[utoipa::path(post, path = "/api/v1/exchanges/connections", tag = "exchanges", request_body = NewConnection,
    responses((status = 201, body = ConnectionInfo), (status = 400), (status = 409)))]
pub async fn create_connection(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<NewConnection>,
) -> Result<(StatusCode, Json<ConnectionInfo>), ApiError> {
    state.authorize(&headers)?;
    let info = connections(&state)?.create(req, now_ms()).map_err(conn_err)?;
    tracing::info!(connection = %info.id, exchange = %info.exchange, testnet = info.testnet, "exchange connection created");
    Ok((StatusCode::CREATED, Json(info)))
}

/// Replace an exchange connection created through the API.
#[utoipa::path(put, path = "/api/v1/exchanges/connections/{id}", tag = "exchanges", request_body = NewConnection,
    params(("id" = String, Path)), responses((status = 200, body = ConnectionInfo), (status = 404)))]
pub async fn update_connection(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(req): Json<NewConnection>,
) -> Result<Json<ConnectionInfo>, ApiError> {
    state.authorize(&headers)?;
    Ok(Json(connections(&state)?.update(&id, req, now_ms()).map_err(conn_err)?))
}

/// Delete an exchange connection created through the API.
#[utoipa::path(delete, path = "/api/v1/exchanges/connections/{id}", tag = "exchanges",
    params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_connection(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.authorize(&headers)?;
    connections(&state)?.delete(&id).map_err(conn_err)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Test a connection: reachability, clock offset, whether the keys work.
#[utoipa::path(get, path = "/api/v1/exchanges/connections/{id}/test", tag = "exchanges",
    params(("id" = String, Path)), responses((status = 200), (status = 502)))]
pub async fn test_connection(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, Some(&id))?;
    let report = c.connector.test_connection().await.map_err(ex_err)?;
    Ok(Json(json!({ "connection": c.info.id, "connected": report.reachable, "report": report })))
}

/// 24h ticker of a symbol.
#[utoipa::path(get, path = "/api/v1/exchanges/ticker/{symbol}", tag = "exchanges",
    params(("symbol" = String, Path), Pick), responses((status = 200), (status = 502)))]
pub async fn ticker(
    State(state): State<AppState>,
    Path(symbol): Path<String>,
    Query(q): Query<Pick>,
) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, q.connection.as_deref())?;
    let t = c.connector.ticker(&host_symbol(&symbol)?).await.map_err(ex_err)?;
    Ok(Json(json!({ "exchange": c.info.exchange, "connection": c.info.id, "last_price": t.last, "ticker": t })))
}

/// Order book of a symbol.
#[utoipa::path(get, path = "/api/v1/exchanges/orderbook/{symbol}", tag = "exchanges",
    params(("symbol" = String, Path), Pick), responses((status = 200), (status = 502)))]
pub async fn orderbook(
    State(state): State<AppState>,
    Path(symbol): Path<String>,
    Query(q): Query<Pick>,
) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, q.connection.as_deref())?;
    let depth = q.limit.unwrap_or(20).clamp(1, 500);
    let b = c.connector.order_book(&host_symbol(&symbol)?, depth).await.map_err(ex_err)?;
    let side =
        |v: &Vec<(Decimal, Decimal)>| v.iter().map(|(p, q)| json!({ "price": p, "amount": q })).collect::<Vec<_>>();
    Ok(Json(json!({
        "exchange": c.info.exchange, "symbol": b.symbol, "bids": side(&b.bids), "asks": side(&b.asks), "sequence": b.sequence,
    })))
}

/// Balances of an exchange account (connection id or exchange name).
#[utoipa::path(get, path = "/api/v1/exchanges/balance/{exchange_name}", tag = "exchanges",
    params(("exchange_name" = String, Path)), responses((status = 200), (status = 502)))]
pub async fn balance(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, Some(&name))?;
    let balances = c.connector.balances().await.map_err(ex_err)?;
    Ok(Json(json!({ "exchange": c.info.exchange, "connection": c.info.id, "balances": balances })))
}

/// A manual order (`POST /api/v1/exchanges/orders`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewExchangeOrder {
    /// Connection id or exchange name.
    #[serde(alias = "exchange")]
    pub connection_id: String,
    /// `BTCUSDT` or `BTC/USDT`.
    pub symbol: String,
    /// `buy` or `sell`.
    pub side: String,
    /// `market`, `limit` or `limit_maker`.
    #[serde(alias = "type")]
    pub order_type: String,
    /// Base quantity.
    #[serde(alias = "quantity")]
    #[schema(value_type = String)]
    pub amount: Decimal,
    /// Limit price.
    #[schema(value_type = Option<String>)]
    pub price: Option<Decimal>,
    /// `GTC` (default), `IOC` or `FOK`.
    pub time_in_force: Option<String>,
    /// Client order id; a retry with the same id never places a second order.
    pub client_order_id: Option<String>,
}

/// Place an order on an exchange (filters applied first; refused while the kill switch is on).
#[utoipa::path(post, path = "/api/v1/exchanges/orders", tag = "exchanges", request_body = NewExchangeOrder,
    responses((status = 201), (status = 400), (status = 409), (status = 502)))]
pub async fn create_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<NewExchangeOrder>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.guard(&headers)?;
    if let Some(why) = state.ask(|c| c.halted().map(str::to_string)).await? {
        return Err(ApiError::Exchange(409, format!("trading halted by the kill switch: {why}")));
    }
    let c = pick(&state, Some(&req.connection_id))?;
    let side = match req.side.to_ascii_lowercase().as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => return Err(ApiError::BadRequest(format!("side `{other}`: use buy or sell"))),
    };
    let order_type = match req.order_type.to_ascii_lowercase().as_str() {
        "market" => OrderType::Market,
        "limit" => OrderType::Limit,
        "limit_maker" | "post_only" => OrderType::LimitMaker,
        other => return Err(ApiError::BadRequest(format!("order_type `{other}`: use market, limit or limit_maker"))),
    };
    let time_in_force = match req.time_in_force.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("GTC") => TimeInForce::Gtc,
        Some("IOC") => TimeInForce::Ioc,
        Some("FOK") => TimeInForce::Fok,
        Some(other) => return Err(ApiError::BadRequest(format!("time_in_force `{other}`: use GTC, IOC or FOK"))),
    };
    if req.amount <= Decimal::ZERO {
        return Err(ApiError::BadRequest(format!("amount must be positive, got {}", req.amount)));
    }
    let client_order_id = match req.client_order_id {
        Some(id)
            if !id.is_empty()
                && id.len() <= 32
                && id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') =>
        {
            id
        }
        Some(_) => return Err(ApiError::BadRequest("client_order_id: 1-32 letters, digits, `-` or `_`".into())),
        None => {
            let mut b = [0u8; 6];
            getrandom::fill(&mut b).map_err(|_| ApiError::Internal)?;
            format!("thapi{}", hex::encode(b))
        }
    };
    let symbol = host_symbol(&req.symbol)?;
    let mut order = OrderRequest {
        symbol: symbol.clone(),
        side,
        order_type,
        quantity: req.amount,
        price: req.price,
        time_in_force,
        client_order_id,
        reduce_only: false,
    };
    let rules = c.rules().await.map_err(ex_err)?;
    let rule = rules
        .iter()
        .find(|r| r.symbol == symbol)
        .ok_or_else(|| ApiError::BadRequest(format!("{} does not list {symbol}", c.info.exchange)))?;
    let reference = match order.price {
        Some(_) => None,
        None => c.connector.ticker(&symbol).await.ok().map(|t| t.last),
    };
    filters::apply(rule, &mut order, reference).map_err(ex_err)?;
    let placed = c.connector.create_order(&order).await.map_err(ex_err)?;
    tracing::info!(connection = %c.info.id, symbol = %placed.symbol, side = placed.side.as_str(), order_id = %placed.order_id, "manual exchange order placed");
    Ok((StatusCode::CREATED, Json(json!(placed))))
}

/// `?symbol=` for order lookups.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SymbolQuery {
    /// The order's symbol (most exchanges need it).
    pub symbol: Option<String>,
    /// Treat `order_id` as the client order id.
    #[serde(default)]
    pub client: bool,
}

fn order_ref(order_id: String, client: bool) -> OrderRef {
    if client { OrderRef::Client(order_id) } else { OrderRef::Exchange(order_id) }
}

/// Look an order up.
#[utoipa::path(get, path = "/api/v1/exchanges/orders/{connection_id}/{order_id}", tag = "exchanges",
    params(("connection_id" = String, Path), ("order_id" = String, Path), SymbolQuery),
    responses((status = 200), (status = 404)))]
pub async fn get_order(
    State(state): State<AppState>,
    Path((conn, order_id)): Path<(String, String)>,
    Query(q): Query<SymbolQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, Some(&conn))?;
    let symbol = host_symbol(q.symbol.as_deref().unwrap_or_default())?;
    let o = c.connector.get_order(&symbol, &order_ref(order_id, q.client)).await.map_err(ex_err)?;
    Ok(Json(json!(o)))
}

/// Cancel an order.
#[utoipa::path(delete, path = "/api/v1/exchanges/orders/{connection_id}/{order_id}", tag = "exchanges",
    params(("connection_id" = String, Path), ("order_id" = String, Path), SymbolQuery),
    responses((status = 200), (status = 404)))]
pub async fn cancel_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((conn, order_id)): Path<(String, String)>,
    Query(q): Query<SymbolQuery>,
) -> Result<Json<Value>, ApiError> {
    state.guard(&headers)?;
    let c = pick(&state, Some(&conn))?;
    let symbol = host_symbol(q.symbol.as_deref().unwrap_or_default())?;
    let o = c.connector.cancel_order(&symbol, &order_ref(order_id, q.client)).await.map_err(ex_err)?;
    Ok(Json(json!(o)))
}

/// Open orders of a connection.
#[utoipa::path(get, path = "/api/v1/exchanges/orders/{connection_id}", tag = "exchanges",
    params(("connection_id" = String, Path), Pick), responses((status = 200)))]
pub async fn open_orders(
    State(state): State<AppState>,
    Path(conn): Path<String>,
    Query(q): Query<Pick>,
) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, Some(&conn))?;
    let symbol = q.symbol.as_deref().map(host_symbol).transpose()?;
    let orders = c.connector.open_orders(symbol.as_deref()).await.map_err(ex_err)?;
    Ok(Json(json!(orders)))
}

/// The account's trades in a symbol.
#[utoipa::path(get, path = "/api/v1/exchanges/trades/{connection_id}/{symbol}", tag = "exchanges",
    params(("connection_id" = String, Path), ("symbol" = String, Path), Pick), responses((status = 200)))]
pub async fn trades(
    State(state): State<AppState>,
    Path((conn, symbol)): Path<(String, String)>,
    Query(q): Query<Pick>,
) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, Some(&conn))?;
    let t =
        c.connector.my_trades(&host_symbol(&symbol)?, q.limit.unwrap_or(100).clamp(1, 1000)).await.map_err(ex_err)?;
    Ok(Json(json!(t)))
}

/// Futures positions.
#[utoipa::path(get, path = "/api/v1/exchanges/positions/{connection_id}", tag = "exchanges",
    params(("connection_id" = String, Path)), responses((status = 200), (status = 400)))]
pub async fn positions(State(state): State<AppState>, Path(conn): Path<String>) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, Some(&conn))?;
    Ok(Json(json!(c.connector.positions().await.map_err(ex_err)?)))
}

/// Symbols that can be traded.
#[utoipa::path(get, path = "/api/v1/exchanges/symbols/{exchange_name}", tag = "exchanges",
    params(("exchange_name" = String, Path)), responses((status = 200)))]
pub async fn symbols(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, Some(&name))?;
    let rules = c.rules().await.map_err(ex_err)?;
    let list: Vec<&str> = rules.iter().filter(|r| r.trading).map(|r| r.symbol.as_str()).collect();
    Ok(Json(json!({ "exchange": c.info.exchange, "symbols": list })))
}

/// Exchange info: tick size, lot size and min notional per symbol.
#[utoipa::path(get, path = "/api/v1/exchanges/info/{exchange_name}", tag = "exchanges",
    params(("exchange_name" = String, Path)), responses((status = 200)))]
pub async fn info(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let c = pick(&state, Some(&name))?;
    let rules = c.rules().await.map_err(ex_err)?;
    Ok(Json(json!({
        "exchange": c.info.exchange,
        "testnet": c.info.testnet,
        "market": c.info.market,
        "symbols": &*rules,
    })))
}

fn host_symbol(raw: &str) -> Result<String, ApiError> {
    crate::market_data::SymbolInfo::parse(raw)
        .map(|i| i.name)
        .ok_or_else(|| ApiError::BadRequest(format!("`{raw}` is not a symbol like BTCUSDT or BTC/USDT")))
}

/// Kill-switch request body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct KillSwitch {
    /// Why (shown in /api/v1/risk and every refused order).
    pub reason: Option<String>,
}

/// Risk state: the kill switch and each venue's connection.
#[utoipa::path(get, path = "/api/v1/risk", tag = "risk", responses((status = 200)))]
pub async fn risk(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let v = state.ask(|c| c.risk_view()).await?;
    Ok(Json(v))
}

/// Kill switch: cancel every open order (paper and exchanges) and refuse new ones until lifted.
#[utoipa::path(post, path = "/api/v1/risk/kill-switch", tag = "risk", request_body = KillSwitch,
    responses((status = 200), (status = 401)))]
pub async fn kill(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Option<Json<KillSwitch>>,
) -> Result<Json<Value>, ApiError> {
    state.authorize(&headers)?;
    let reason = body.and_then(|b| b.0.reason).unwrap_or_else(|| "kill switch via the API".into());
    let r = reason.clone();
    let tracked = state.ask(move |c| c.kill_switch(&r)).await?;
    // Every connection with keys too: orders placed through this API or elsewhere.
    let mut on_exchanges = 0usize;
    let mut failures = Vec::new();
    if let Some(conns) = state.connections.as_deref() {
        for info in conns.list().into_iter().filter(|i| i.has_keys) {
            let Ok(c) = conns.get(&info.id) else { continue };
            match c.connector.open_orders(None).await {
                Ok(open) => {
                    for o in open {
                        match c.connector.cancel_order(&o.symbol, &OrderRef::Exchange(o.order_id.clone())).await {
                            Ok(_) => on_exchanges += 1,
                            Err(ConnectorError::OrderNotFound { .. }) => {}
                            Err(e) => failures.push(format!("{}: {}: {e}", info.id, o.order_id)),
                        }
                    }
                }
                Err(e) => failures.push(format!("{}: {e}", info.id)),
            }
        }
    }
    for f in &failures {
        tracing::error!(failure = %f, "kill switch: an exchange order may still be open");
    }
    Ok(Json(json!({
        "halted": true,
        "reason": reason,
        "orders_canceled": tracked + on_exchanges,
        "failures": failures,
    })))
}

/// Lift the kill switch.
#[utoipa::path(delete, path = "/api/v1/risk/kill-switch", tag = "risk", responses((status = 200), (status = 401)))]
pub async fn resume(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    state.authorize(&headers)?;
    state.ask(|c| c.resume_trading()).await?;
    Ok(Json(json!({ "halted": false })))
}
