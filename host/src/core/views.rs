//! Read models the API asks the core for, and the JSON of broadcast messages.

use super::Core;
use crate::execution::{Fill, Order, Venue};
use crate::market_data::{Candle, SymbolInfo};
use crate::store::SignalRecord;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// Always `ok` while the core answers.
    pub status: String,
    /// The feed in use.
    pub feed: String,
    /// Whether a finite feed (replay) has ended.
    pub feed_ended: bool,
    /// Event time of the last event, ms.
    pub event_time_ms: i64,
    /// Market events handled.
    pub events: u64,
    /// Events skipped because a previous run had handled them.
    pub resumed_skipped: u64,
    /// Candles closed.
    pub candles: u64,
    /// Orders placed.
    pub orders: u64,
    /// Fills.
    pub fills: u64,
    /// Strategy instances running.
    pub strategies_running: usize,
}

/// One position of one strategy instance.
#[derive(Debug, Serialize, ToSchema)]
pub struct PositionView {
    /// Strategy instance (variant).
    pub strategy: String,
    /// Symbol.
    pub symbol: String,
    #[schema(value_type = String)]
    /// Quantity held.
    pub qty: Decimal,
    #[schema(value_type = String)]
    /// Average entry price.
    pub avg_price: Decimal,
    #[schema(value_type = Option<String>)]
    /// Last trade price.
    pub last_price: Option<Decimal>,
    #[schema(value_type = String)]
    /// PnL realised so far, before fees.
    pub realized_pnl: Decimal,
    #[schema(value_type = String)]
    /// PnL of what is held at the last price.
    pub unrealized_pnl: Decimal,
    #[schema(value_type = String)]
    /// Fees paid.
    pub fees: Decimal,
}

/// One strategy instance as `/plugins` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginView {
    /// Instance id.
    pub id: String,
    /// The module file.
    pub module: String,
    /// SHA-256 of the running module.
    pub hash: Option<String>,
    /// Contract version the module was built for.
    pub contract_version: Option<String>,
    /// running, backoff, stopped or disabled.
    pub state: String,
    /// The last error with its cause.
    pub last_error: Option<String>,
    /// Event calls made.
    pub calls: u64,
    /// Calls that trapped.
    pub traps: u64,
    /// Restarts after failures.
    pub restarts: u32,
    /// Hot reloads.
    pub reloads: u32,
    /// Mean time per call, µs.
    pub mean_call_us: f64,
    /// Symbols traded.
    pub symbols: Vec<String>,
    /// Parameters.
    pub params: std::collections::BTreeMap<String, String>,
    /// Venue.
    pub venue: String,
    /// Paper account balances.
    #[schema(value_type = Object)]
    pub balances: std::collections::BTreeMap<String, Decimal>,
}

/// A latest trade per symbol for `/ticks`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TickView {
    /// Symbol.
    pub symbol: String,
    /// Trade time, ms.
    pub time: i64,
    #[schema(value_type = String)]
    /// Price.
    pub price: Decimal,
    #[schema(value_type = String)]
    /// Quantity.
    pub qty: Decimal,
    /// Trade id.
    pub trade_id: u64,
    /// Whether the buyer was the maker.
    pub buyer_maker: bool,
}

/// JSON of a candle (WebSocket and API).
pub fn candle_json(symbol: &str, c: &Candle) -> Value {
    json!({
        "symbol": symbol, "open_time": c.open_time_ms, "close_time": c.close_time_ms,
        "open": c.open, "high": c.high, "low": c.low, "close": c.close,
        "volume": c.volume, "quote_volume": c.quote_volume, "trades": c.trades,
        "taker_buy_base": c.taker_buy_base, "taker_buy_quote": c.taker_buy_quote,
    })
}

/// JSON of a signal.
pub fn signal_json(symbol: &str, s: &SignalRecord) -> Value {
    json!({ "strategy": s.instance, "symbol": symbol, "side": s.side, "price": s.price, "reason": s.reason, "time": s.time_ms })
}

/// JSON of an order.
pub fn order_json(symbol: &str, o: &Order) -> Value {
    json!({
        "id": o.id, "strategy": o.instance, "symbol": symbol, "side": o.side, "kind": o.kind.as_str(),
        "price": o.kind.price(), "qty": o.qty, "filled": o.filled, "status": o.status, "reason": o.reason,
        "tag": o.tag, "time": o.time_ms,
    })
}

/// JSON of a fill.
pub fn fill_json(symbol: &str, f: &Fill) -> Value {
    json!({
        "order_id": f.order_id, "strategy": f.instance, "symbol": symbol, "side": f.side, "price": f.price,
        "qty": f.qty, "fee": f.fee, "realized_pnl": f.realized_pnl, "time": f.time_ms,
    })
}

impl Core {
    /// `/health`.
    pub fn health(&self) -> HealthView {
        HealthView {
            status: "ok".into(),
            feed: self.settings.feed.clone(),
            feed_ended: self.stats.feed_ended,
            event_time_ms: self.now_ms,
            events: self.stats.events,
            resumed_skipped: self.stats.resumed_skipped,
            candles: self.stats.candles,
            orders: self.stats.orders,
            fills: self.stats.fills,
            strategies_running: self.plugins.instances().iter().filter(|i| i.is_running()).count(),
        }
    }

    /// Symbols being processed.
    pub fn active_symbols(&self) -> Vec<SymbolInfo> {
        let table = self.symbols.read().map(|s| s.clone()).unwrap_or_default();
        self.active.iter().filter_map(|id| table.info(*id).cloned()).collect()
    }

    /// Start processing a symbol; the error says why not.
    pub fn add_symbol(&mut self, raw: &str) -> Result<SymbolInfo, String> {
        let info = SymbolInfo::parse(raw).ok_or_else(|| format!("`{raw}` is not a symbol like BTCUSDT"))?;
        let id = self.symbols.write().ok().and_then(|mut s| s.intern(&info.name)).ok_or("symbol table unavailable")?;
        self.refresh_infos();
        self.active.insert(id);
        self.list_pair(&info.name, &info.base, &info.quote);
        Ok(info)
    }

    /// Stop processing a symbol; `None` if it was not active.
    pub fn remove_symbol(&mut self, raw: &str) -> Option<SymbolInfo> {
        let id = self.symbols.read().ok()?.get(raw)?;
        self.active.remove(&id).then(|| self.infos.get(id.0 as usize).cloned()).flatten()
    }

    /// Positions of every instance, optionally for one symbol.
    pub fn positions(&self, symbol: Option<&str>) -> Vec<PositionView> {
        let table = self.symbols.read().map(|s| s.clone()).unwrap_or_default();
        let mut out = Vec::new();
        let mut ids: Vec<&String> = self.venue.accounts().keys().collect();
        ids.sort();
        for id in ids {
            let Some(acc) = self.venue.account(id) else { continue };
            for (sym, p) in &acc.positions {
                let name = table.name(*sym).to_string();
                if symbol.is_some_and(|s| table.get(s) != Some(*sym)) {
                    continue;
                }
                let last = self.last_prices.get(sym.0 as usize).copied().flatten();
                out.push(PositionView {
                    strategy: id.clone(),
                    symbol: name,
                    qty: p.qty,
                    avg_price: p.avg_price,
                    last_price: last,
                    realized_pnl: p.realized_pnl,
                    unrealized_pnl: last.map(|l| p.unrealized(l)).unwrap_or_default(),
                    fees: p.fees,
                });
            }
        }
        out
    }

    /// Latest ticks per active symbol.
    pub fn latest_ticks(&self, n: usize) -> Vec<TickView> {
        let table = self.symbols.read().map(|s| s.clone()).unwrap_or_default();
        self.active
            .iter()
            .flat_map(|id| self.ticks.latest(*id, n))
            .map(|t| TickView {
                symbol: table.name(t.symbol).to_string(),
                time: t.time_ms,
                price: t.price,
                qty: t.qty,
                trade_id: t.trade_id,
                buyer_maker: t.buyer_maker,
            })
            .collect()
    }

    /// Every instance for `/plugins`.
    pub fn plugin_views(&self) -> Vec<PluginView> {
        self.plugins
            .instances()
            .iter()
            .map(|i| PluginView {
                id: i.id().to_string(),
                module: i.config.module.display().to_string(),
                hash: i.module.as_ref().map(|m| m.hash.clone()),
                contract_version: i.module.as_ref().map(|m| m.contract_version.clone()),
                state: i.state.name().to_string(),
                last_error: match &i.state {
                    crate::plugins::InstanceState::Disabled { reason } => Some(reason.clone()),
                    _ => i.stats.last_error.clone(),
                },
                calls: i.stats.calls,
                traps: i.stats.traps,
                restarts: i.stats.restarts,
                reloads: i.stats.reloads,
                mean_call_us: i.stats.mean_call_us(),
                symbols: i.symbols.iter().map(|(_, s)| s.name.clone()).collect(),
                params: i.config.params.iter().cloned().collect(),
                venue: i.config.venue.clone(),
                balances: self.venue.account(i.id()).map(|a| a.balances.clone()).unwrap_or_default(),
            })
            .collect()
    }

    /// Enable or disable an instance; `None` for an unknown id.
    pub fn set_plugin_enabled(&mut self, id: &str, enabled: bool) -> Option<String> {
        self.plugins.set_enabled(id, enabled)
    }

    /// Reload an instance's module from disk now; `None` for an unknown id.
    pub fn reload_plugin(&mut self, id: &str) -> Option<Vec<String>> {
        let path = self.plugins.instances().iter().find(|i| i.id() == id)?.config.module.clone();
        let result = self.plugins.loader().load_file(&path).map_err(|e| e.to_string());
        Some(self.plugins.apply_module(&path, result))
    }

    /// The store, for read queries (candles, trades, signals).
    pub fn store(&self) -> &crate::store::Store {
        &self.store
    }

    /// The running configuration.
    pub fn config(&self) -> &crate::config::PluginsConfig {
        &self.config
    }
}
