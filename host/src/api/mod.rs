//! REST + WebSocket API (axum). `router(state)` is a plain function that tests can
//! drive without a socket. Mutating endpoints require the API key when one is set.
//!
//! | file | owns |
//! | --- | --- |
//! | `routes.rs` | the seed's monitoring endpoints and `/plugins` |
//! | `ws.rs` | the WebSocket push stream |
//! | `exchanges_v1.rs` | `/api/v1/exchanges/...` (connectors) and `/api/v1/risk` (kill switch) |
//! | `error.rs` | `ApiError`, the one error response |

pub mod error;
pub mod exchange;
pub mod exchanges_v1;
pub mod rate_limit;
pub mod routes;
pub mod ws;

pub use error::ApiError;

use crate::core::{Core, Input};
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use tokio::sync::broadcast;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Sends requests to the core loop.
    pub core: SyncSender<Input>,
    /// Host events for WebSocket clients.
    pub bus: broadcast::Sender<Arc<str>>,
    /// Required on mutating endpoints when set.
    pub api_key: Option<Arc<str>>,
    /// Exchange events for `/ws/{client_id}`.
    pub exchange_bus: broadcast::Sender<Arc<str>>,
    /// Requests per minute per API key on the trading API (`RATE_LIMIT_PER_MINUTE`).
    pub rate_limit: Arc<rate_limit::RateLimiter>,
    /// Exchange connections of `/api/v1/exchanges`.
    pub connections: Option<Arc<crate::connectors::manager::Connections>>,
}

impl AppState {
    /// Run `f` on the core thread between two events and return its answer.
    pub async fn ask<R: Send + 'static>(&self, f: impl FnOnce(&mut Core) -> R + Send + 'static) -> Result<R, ApiError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let core = self.core.clone();
        let query: crate::core::Query = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        // The channel is bounded (back-pressure for replays): send off the async runtime.
        tokio::task::spawn_blocking(move || core.send(Input::Query(query)))
            .await
            .map_err(|_| ApiError::Internal)?
            .map_err(|_| ApiError::Unavailable)?;
        rx.await.map_err(|_| ApiError::Unavailable)
    }

    /// Key check plus the per-key rate limit, for the trading API's mutating endpoints.
    pub fn guard(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        self.authorize(headers)?;
        let key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or("anonymous");
        self.rate_limit
            .check(key, std::time::Instant::now())
            .map_err(|wait| ApiError::RateLimited(format!("rate limit exceeded: retry in {} s", wait.as_secs().max(1))))
    }

    /// Check the API key on a mutating request.
    pub fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(expected) = &self.api_key else { return Ok(()) };
        let sent = headers.get("x-api-key").and_then(|v| v.to_str().ok()).or_else(|| {
            headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
        });
        match sent {
            None => Err(ApiError::Unauthorized("missing API key: send it in the X-API-Key header".into())),
            Some(k) if constant_time_eq(k.as_bytes(), expected.as_bytes()) => Ok(()),
            Some(_) => Err(ApiError::Forbidden("wrong API key".into())),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The OpenAPI description of this API.
#[derive(OpenApi)]
#[openapi(
    info(title = "tradehost", description = "Monitoring and control API of the tradehost strategy host"),
    paths(
        routes::health,
        routes::symbols,
        routes::add_symbol,
        routes::remove_symbol,
        routes::candles,
        routes::candles_for,
        routes::positions,
        routes::positions_for,
        routes::trades,
        routes::trades_export,
        routes::ticks,
        routes::strategy,
        routes::signals,
        routes::orders,
        routes::plugins,
        routes::plugin_action,
        routes::metrics,
        routes::compare,
        exchange::cryptocurrencies,
        exchange::cryptocurrency,
        exchange::trading_pairs,
        exchange::orderbook,
        exchange::create_order,
        exchange::orders,
        exchange::order,
        exchange::cancel_order,
        exchange::trades,
        exchange::wallets,
        exchange::wallet,
        exchange::portfolio,
        exchange::create_alert,
        exchange::alerts,
        exchange::stats,
        exchange::create_bot,
        exchange::bots,
        exchange::ws,
        exchanges_v1::list_connections,
        exchanges_v1::create_connection,
        exchanges_v1::update_connection,
        exchanges_v1::delete_connection,
        exchanges_v1::test_connection,
        exchanges_v1::ticker,
        exchanges_v1::orderbook,
        exchanges_v1::balance,
        exchanges_v1::create_order,
        exchanges_v1::get_order,
        exchanges_v1::cancel_order,
        exchanges_v1::open_orders,
        exchanges_v1::trades,
        exchanges_v1::positions,
        exchanges_v1::symbols,
        exchanges_v1::info,
        exchanges_v1::risk,
        exchanges_v1::kill,
        exchanges_v1::resume,
        ws::ws
    ),
    components(schemas(
        crate::core::views::HealthView,
        crate::core::views::PositionView,
        crate::core::views::PluginView,
        crate::core::views::TickView,
        crate::store::CandleRow,
        crate::store::TradeRow,
        crate::store::SignalRow,
        crate::store::OrderRow,
        crate::core::VariantMetrics,
        crate::core::exchange_api::ApiOrderRequest,
        crate::alerts::NewAlert,
        crate::core::bots::NewBot,
        crate::alerts::Alert,
        crate::alerts::AlertType,
        crate::backtest::Metrics,
        routes::PluginAction,
        crate::connectors::manager::ConnectionInfo,
        crate::connectors::manager::NewConnection,
        exchanges_v1::NewExchangeOrder,
        exchanges_v1::KillSwitch
    ))
)]
pub struct ApiDoc;

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(routes::health))
        .route("/symbols", get(routes::symbols))
        .route("/symbols/{symbol}", post(routes::add_symbol).delete(routes::remove_symbol))
        .route("/candles", get(routes::candles))
        .route("/candles/{symbol}", get(routes::candles_for))
        .route("/positions", get(routes::positions))
        .route("/positions/{symbol}", get(routes::positions_for))
        .route("/trades", get(routes::trades))
        .route("/trades/export", get(routes::trades_export))
        .route("/ticks", get(routes::ticks))
        .route("/strategy", get(routes::strategy))
        .route("/signals", get(routes::signals))
        .route("/orders", get(routes::orders))
        .route("/plugins", get(routes::plugins))
        .route("/plugins/{id}", post(routes::plugin_action))
        .route("/metrics", get(routes::metrics))
        .route("/api/strategies/compare", get(routes::compare))
        .route("/ws", get(ws::ws))
        .route("/ws/{client_id}", get(exchange::ws))
        .route("/api/cryptocurrencies", get(exchange::cryptocurrencies))
        .route("/api/cryptocurrencies/{id}", get(exchange::cryptocurrency))
        .route("/api/trading-pairs", get(exchange::trading_pairs))
        .route("/api/trading-pairs/{*rest}", get(exchange::orderbook))
        .route("/api/orders", post(exchange::create_order).get(exchange::orders))
        .route("/api/orders/{id}", get(exchange::order).delete(exchange::cancel_order))
        .route("/api/trades", get(exchange::trades))
        .route("/api/wallets", get(exchange::wallets))
        .route("/api/wallets/{wallet_id}", get(exchange::wallet))
        .route("/api/portfolio", get(exchange::portfolio))
        .route("/api/price-alerts", post(exchange::create_alert).get(exchange::alerts))
        .route("/api/stats", get(exchange::stats))
        .route("/api/trading-bots", post(exchange::create_bot).get(exchange::bots))
        .route(
            "/api/v1/exchanges/connections",
            get(exchanges_v1::list_connections).post(exchanges_v1::create_connection),
        )
        .route(
            "/api/v1/exchanges/connections/{id}",
            axum::routing::put(exchanges_v1::update_connection).delete(exchanges_v1::delete_connection),
        )
        .route("/api/v1/exchanges/connections/{id}/test", get(exchanges_v1::test_connection))
        .route("/api/v1/exchanges/ticker/{symbol}", get(exchanges_v1::ticker))
        .route("/api/v1/exchanges/orderbook/{symbol}", get(exchanges_v1::orderbook))
        .route("/api/v1/exchanges/balance/{exchange_name}", get(exchanges_v1::balance))
        .route("/api/v1/exchanges/orders", post(exchanges_v1::create_order))
        .route("/api/v1/exchanges/orders/{connection_id}", get(exchanges_v1::open_orders))
        .route(
            "/api/v1/exchanges/orders/{connection_id}/{order_id}",
            get(exchanges_v1::get_order).delete(exchanges_v1::cancel_order),
        )
        .route("/api/v1/exchanges/trades/{connection_id}/{symbol}", get(exchanges_v1::trades))
        .route("/api/v1/exchanges/positions/{connection_id}", get(exchanges_v1::positions))
        .route("/api/v1/exchanges/symbols/{exchange_name}", get(exchanges_v1::symbols))
        .route("/api/v1/exchanges/info/{exchange_name}", get(exchanges_v1::info))
        .route("/api/v1/risk", get(exchanges_v1::risk))
        .route("/api/v1/risk/kill-switch", post(exchanges_v1::kill).delete(exchanges_v1::resume))
        .fallback(routes::not_found)
        .with_state(state)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}

/// The WebSocket-only server for the seed's separate port (`ws://host:8001/`).
pub fn ws_router(state: AppState) -> Router {
    Router::new().route("/", get(ws::ws)).route("/ws", get(ws::ws)).with_state(state)
}
