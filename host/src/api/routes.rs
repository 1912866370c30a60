//! Handlers of the seed's monitoring endpoints, plus `/plugins`, `/signals`, `/orders`.

use super::{ApiError, AppState};
use crate::core::views::{HealthView, PluginView, PositionView, TickView};
use crate::market_data::SymbolInfo;
use crate::store::{CandleRow, OrderRow, SignalRow, TradeRow};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;

type Params = Query<HashMap<String, String>>;

/// Read `limit` from the query string: a positive integer up to `max`.
fn limit(q: &HashMap<String, String>, default: usize, max: usize) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!("limit must be an integer from 1 to {max}, got `{v}`"))),
        },
    }
}

/// Resolve a symbol the host knows, or a 404 naming it.
async fn known_symbol(state: &AppState, raw: String) -> Result<SymbolInfo, ApiError> {
    let active = state.ask(|c| c.active_symbols()).await?;
    let parsed =
        SymbolInfo::parse(&raw).ok_or_else(|| ApiError::BadRequest(format!("`{raw}` is not a symbol like BTCUSDT")))?;
    active.into_iter().find(|s| s.name == parsed.name).ok_or_else(|| {
        ApiError::NotFound(format!("unknown symbol `{}`; GET /symbols lists the active ones", parsed.name))
    })
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "request failed");
    ApiError::Internal
}

/// Liveness and progress.
#[utoipa::path(get, path = "/health", responses((status = 200, body = HealthView)))]
pub async fn health(State(s): State<AppState>) -> Result<Json<HealthView>, ApiError> {
    Ok(Json(s.ask(|c| c.health()).await?))
}

/// Active symbols.
#[utoipa::path(get, path = "/symbols", responses((status = 200, description = "`{\"symbols\": [...]}`")))]
pub async fn symbols(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let list = s.ask(|c| c.active_symbols()).await?;
    Ok(Json(json!({ "symbols": list.iter().map(|i| &i.name).collect::<Vec<_>>(), "details": list })))
}

/// Start processing a symbol (requires the API key when one is set).
#[utoipa::path(post, path = "/symbols/{symbol}", params(("symbol" = String, Path, description = "e.g. BTCUSDT or BTC/USDT")),
    responses((status = 201, description = "added"), (status = 400, description = "not a symbol"), (status = 401, description = "missing API key")))]
pub async fn add_symbol(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(symbol): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    s.authorize(&headers)?;
    let info = s.ask(move |c| c.add_symbol(&symbol)).await?.map_err(ApiError::BadRequest)?;
    Ok((StatusCode::CREATED, Json(json!({ "added": info.name, "base": info.base, "quote": info.quote }))))
}

/// Stop processing a symbol (requires the API key when one is set).
#[utoipa::path(delete, path = "/symbols/{symbol}", params(("symbol" = String, Path)),
    responses((status = 200, description = "removed"), (status = 404, description = "not active"), (status = 401, description = "missing API key")))]
pub async fn remove_symbol(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(symbol): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.authorize(&headers)?;
    let name = symbol.clone();
    match s.ask(move |c| c.remove_symbol(&symbol)).await? {
        Some(info) => Ok(Json(json!({ "removed": info.name }))),
        None => Err(ApiError::NotFound(format!("unknown symbol `{name}`; GET /symbols lists the active ones"))),
    }
}

/// Latest closed candles of every symbol (or of `symbol`), oldest first.
#[utoipa::path(get, path = "/candles", params(("limit" = Option<usize>, Query, description = "1..=10000, default 500"),
    ("symbol" = Option<String>, Query, description = "only this symbol, e.g. BTCUSDT or bybit:BTCUSDT")),
    responses((status = 200, body = [CandleRow]), (status = 400, description = "bad limit"),
        (status = 404, description = "unknown symbol")))]
pub async fn candles(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<CandleRow>>, ApiError> {
    let n = limit(&q, 500, 10_000)?;
    let symbol = match q.get("symbol") {
        Some(raw) => Some(known_symbol(&s, raw.clone()).await?.name),
        None => None,
    };
    Ok(Json(s.ask(move |c| c.store().candles(symbol.as_deref(), n)).await?.map_err(internal)?))
}

/// Latest closed candles of one symbol, oldest first.
#[utoipa::path(get, path = "/candles/{symbol}", params(("symbol" = String, Path), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = [CandleRow]), (status = 404, description = "unknown symbol")))]
pub async fn candles_for(
    State(s): State<AppState>,
    Path(symbol): Path<String>,
    Query(q): Params,
) -> Result<Json<Vec<CandleRow>>, ApiError> {
    let n = limit(&q, 500, 10_000)?;
    let info = known_symbol(&s, symbol).await?;
    Ok(Json(s.ask(move |c| c.store().candles(Some(&info.name), n)).await?.map_err(internal)?))
}

/// Positions of every strategy instance with realised and unrealised PnL.
#[utoipa::path(get, path = "/positions", responses((status = 200, body = [PositionView])))]
pub async fn positions(State(s): State<AppState>) -> Result<Json<Vec<PositionView>>, ApiError> {
    Ok(Json(s.ask(|c| c.positions(None)).await?))
}

/// Positions in one symbol.
#[utoipa::path(get, path = "/positions/{symbol}", params(("symbol" = String, Path)),
    responses((status = 200, body = [PositionView]), (status = 404, description = "unknown symbol")))]
pub async fn positions_for(
    State(s): State<AppState>,
    Path(symbol): Path<String>,
) -> Result<Json<Vec<PositionView>>, ApiError> {
    let info = known_symbol(&s, symbol).await?;
    Ok(Json(s.ask(move |c| c.positions(Some(&info.name))).await?))
}

/// The trade log (fills), oldest first; filter by `strategy` and `symbol`.
#[utoipa::path(get, path = "/trades", params(("strategy" = Option<String>, Query), ("symbol" = Option<String>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = [TradeRow])))]
pub async fn trades(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<TradeRow>>, ApiError> {
    let n = limit(&q, 500, 100_000)?;
    let strategy = q.get("strategy").cloned();
    let symbol = q.get("symbol").map(|v| SymbolInfo::parse(v).map(|i| i.name).unwrap_or_else(|| v.clone()));
    Ok(Json(s.ask(move |c| c.store().trades(strategy.as_deref(), symbol.as_deref(), n)).await?.map_err(internal)?))
}

/// The whole trade log as a `trades.json` download.
#[utoipa::path(get, path = "/trades/export", responses((status = 200, body = [TradeRow])))]
pub async fn trades_export(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let all = s.ask(|c| c.store().trades(None, None, usize::MAX >> 1)).await?.map_err(internal)?;
    let body = serde_json::to_vec_pretty(&all).map_err(internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"trades.json\""),
        ],
        body,
    ))
}

/// Latest trades per active symbol from the tick store.
#[utoipa::path(get, path = "/ticks", params(("limit" = Option<usize>, Query, description = "per symbol, default 1")),
    responses((status = 200, body = [TickView])))]
pub async fn ticks(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<TickView>>, ApiError> {
    let n = limit(&q, 1, 10_000)?;
    Ok(Json(s.ask(move |c| c.latest_ticks(n)).await?))
}

/// Strategy configuration: every instance with its module, symbols and parameters.
#[utoipa::path(get, path = "/strategy", responses((status = 200, description = "instances from plugins.toml")))]
pub async fn strategy(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let list = s
        .ask(|c| {
            c.config()
                .strategies
                .iter()
                .map(|st| {
                    json!({
                        "id": st.id, "module": st.module.display().to_string(), "venue": st.venue, "enabled": st.enabled,
                        "symbols": st.symbols.iter().map(|x| x.name.clone()).collect::<Vec<_>>(),
                        "params": st.params.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                        "limits": { "fuel": st.limits.fuel, "deadline_ms": st.limits.deadline_ms, "memory_bytes": st.limits.memory_bytes },
                    })
                })
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(Json(json!({ "strategies": list })))
}

/// Latest signals, oldest first.
#[utoipa::path(get, path = "/signals", params(("limit" = Option<usize>, Query)), responses((status = 200, body = [SignalRow])))]
pub async fn signals(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<SignalRow>>, ApiError> {
    let n = limit(&q, 500, 100_000)?;
    Ok(Json(s.ask(move |c| c.store().signals(n)).await?.map_err(internal)?))
}

/// Latest orders (including rejected ones with their reason), oldest first.
#[utoipa::path(get, path = "/orders", params(("limit" = Option<usize>, Query)), responses((status = 200, body = [OrderRow])))]
pub async fn orders(State(s): State<AppState>, Query(q): Params) -> Result<Json<Vec<OrderRow>>, ApiError> {
    let n = limit(&q, 500, 100_000)?;
    Ok(Json(s.ask(move |c| c.store().orders(n)).await?.map_err(internal)?))
}

/// Every strategy instance: module, hash, contract version, state, last error, calls.
#[utoipa::path(get, path = "/plugins", responses((status = 200, body = [PluginView])))]
pub async fn plugins(State(s): State<AppState>) -> Result<Json<Vec<PluginView>>, ApiError> {
    Ok(Json(s.ask(|c| c.plugin_views()).await?))
}

/// Body of `POST /plugins/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginAction {
    /// `enable`, `disable` or `reload`.
    pub action: String,
}

/// Enable, disable or reload a strategy instance (requires the API key when set).
#[utoipa::path(post, path = "/plugins/{id}", params(("id" = String, Path)), request_body = PluginAction,
    responses((status = 200, description = "done"), (status = 400, description = "bad body"), (status = 404, description = "unknown id"), (status = 401, description = "missing API key")))]
pub async fn plugin_action(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    s.authorize(&headers)?;
    let action: PluginAction = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "invalid JSON body: {e}; expected {{\"action\": \"enable\" | \"disable\" | \"reload\"}}"
        ))
    })?;
    let who = id.clone();
    let messages = match action.action.as_str() {
        "enable" | "disable" => {
            let on = action.action == "enable";
            s.ask(move |c| c.set_plugin_enabled(&id, on).map(|m| vec![m])).await?
        }
        "reload" => s.ask(move |c| c.reload_plugin(&id)).await?,
        other => return Err(ApiError::BadRequest(format!("action must be enable, disable or reload, got `{other}`"))),
    };
    let messages =
        messages.ok_or_else(|| ApiError::NotFound(format!("unknown strategy `{who}`; GET /plugins lists them")))?;
    Ok(Json(json!({ "strategy": who, "messages": messages })))
}

/// Live side-by-side metrics of the running variants (the same numbers a backtest
/// reports): trades, net PnL, return, max drawdown, Sharpe, Sortino, win rate, profit
/// factor, exposure, fees.
#[utoipa::path(get, path = "/api/strategies/compare", responses((status = 200, body = [crate::core::VariantMetrics])))]
pub async fn compare(State(s): State<AppState>) -> Result<Json<Vec<crate::core::VariantMetrics>>, ApiError> {
    Ok(Json(s.ask(|c| c.compare()).await?))
}

/// Prometheus text exposition of the host's counters and per-strategy call statistics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let (health, plugins) = s.ask(|c| (c.health(), c.plugin_views())).await?;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: String| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"));
    };
    gauge("tradehost_events_total", "Market events handled.", health.events.to_string());
    gauge("tradehost_candles_total", "Candles closed.", health.candles.to_string());
    gauge("tradehost_orders_total", "Orders placed by strategies.", health.orders.to_string());
    gauge("tradehost_fills_total", "Fills.", health.fills.to_string());
    gauge("tradehost_event_time_ms", "Event time of the last event.", health.event_time_ms.to_string());
    for (name, help) in [
        ("tradehost_strategy_calls_total", "Calls into a strategy."),
        ("tradehost_strategy_traps_total", "Calls that trapped."),
        ("tradehost_strategy_restarts_total", "Restarts after failures."),
        ("tradehost_strategy_running", "1 while the strategy receives events."),
        ("tradehost_strategy_mean_call_seconds", "Mean time per call."),
    ] {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for p in &plugins {
            let v = match name {
                "tradehost_strategy_calls_total" => p.calls.to_string(),
                "tradehost_strategy_traps_total" => p.traps.to_string(),
                "tradehost_strategy_restarts_total" => p.restarts.to_string(),
                "tradehost_strategy_running" => u8::from(p.state == "running").to_string(),
                _ => format!("{:.9}", p.mean_call_us / 1e6),
            };
            out.push_str(&format!("{name}{{strategy=\"{}\"}} {v}\n", p.id));
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

/// Unknown paths get a JSON 404 too.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no endpoint at {}; see /docs", uri.path()))
}
