//! Trading bots (`/api/trading-bots`): a bot is a strategy instance of the plugin host,
//! created at run time with its parameters, so creating one starts a WASM strategy.

use super::Core;
use super::exchange_api::ExchangeError;
use crate::config::PluginsConfig;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Body of `POST /api/trading-bots` (the seed's fields).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBot {
    /// Owner.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Strategy module: `scalping`, `grid`, `mean-reversion`, ... (a `.wasm` in the plugin directory).
    pub strategy: String,
    /// `BTC/USDT` or `BTCUSDT`.
    pub pair_symbol: String,
    /// The strategy's parameters.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Map<String, Value>,
}

/// A bot as listed.
#[derive(Debug, Clone)]
pub struct Bot {
    id: String,
    request: NewBot,
    created_ms: i64,
    /// Its instance's configuration (kept across edits of plugins.toml).
    pub(super) config: crate::config::StrategyConfig,
}

fn toml_value(v: &Value) -> Result<String, ExchangeError> {
    match v {
        Value::String(s) => Ok(format!("{s:?}")),
        Value::Number(n) => Ok(format!("{:?}", n.to_string())),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ExchangeError::Bad(format!("parameter value {other} must be a number, string or boolean"))),
    }
}

impl Core {
    /// `POST /api/trading-bots`: validate, load the module, start the instance, and
    /// record the bot so a restart starts it again.
    pub fn api_create_bot(&mut self, req: NewBot) -> Result<Value, ExchangeError> {
        let n = self.bots.iter().filter_map(|b| b.id.strip_prefix("bot_")?.parse::<u64>().ok()).max().unwrap_or(0);
        let id = format!("bot_{}", n + 1);
        let created_ms = self.now_ms;
        let v = self.start_bot(id.clone(), req.clone(), created_ms)?;
        let json = serde_json::to_string(&req).map_err(|e| ExchangeError::Bad(e.to_string()))?;
        if let Err(e) = self.store.save_bot(&id, &json, created_ms) {
            tracing::error!(bot = %id, error = %e, "the bot runs but could not be saved: it will not restart");
        }
        Ok(v)
    }

    /// Start the bots saved by a previous run (their snapshots and accounts are restored).
    pub(super) fn restore_bots(&mut self) {
        let rows = match self.store.bots() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "saved trading bots cannot be read");
                return;
            }
        };
        for (id, json, created_ms) in rows {
            let req: NewBot = match serde_json::from_str(&json) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(bot = %id, error = %e, "saved trading bot is unreadable; not started");
                    continue;
                }
            };
            match self.start_bot(id.clone(), req, created_ms) {
                Ok(_) => tracing::info!(bot = %id, "trading bot restarted"),
                Err(e) => tracing::error!(bot = %id, error = ?e, "saved trading bot did not start"),
            }
        }
    }

    fn start_bot(&mut self, id: String, req: NewBot, created_ms: i64) -> Result<Value, ExchangeError> {
        let bad = |m: String| ExchangeError::Bad(m);
        if req.user_id.trim().is_empty() || req.name.trim().is_empty() {
            return Err(bad("user_id and name must not be empty".into()));
        }
        let file = format!("{}.wasm", req.strategy.trim().replace('-', "_"));
        let dir = self.config.plugin_dir.clone();
        if req.strategy.contains(['/', '\\', '.']) || !dir.join(&file).is_file() {
            let mut available: Vec<String> = std::fs::read_dir(&dir)
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".wasm")).collect()
                })
                .unwrap_or_default();
            available.sort();
            let names: Vec<String> = available.iter().map(|n| n.trim_end_matches(".wasm").replace('_', "-")).collect();
            return Err(bad(format!("unknown strategy `{}`; available: {}", req.strategy, names.join(", "))));
        }
        let info = self.add_symbol(&req.pair_symbol).map_err(bad)?;
        let mut text = format!(
            "version = 1\n[host]\nplugin_dir = {:?}\n[[strategy]]\nid = {id:?}\nmodule = {file:?}\nsymbols = [{:?}]\n[strategy.params]\n",
            dir.display().to_string(),
            info.name
        );
        for (k, v) in &req.parameters {
            if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                return Err(bad(format!("parameter name `{k}` may use letters, digits, `_` and `.` only")));
            }
            text.push_str(&format!("{k:?} = {}\n", toml_value(v)?));
        }
        let parsed =
            PluginsConfig::parse(&text, &dir.join("trading-bots.toml"), &|_| None).map_err(|e| bad(e.to_string()))?;
        let bot_config = parsed.strategies.first().cloned().ok_or_else(|| bad("no strategy in the bot".into()))?;
        let mut config = self.config.clone();
        config.strategies.extend(parsed.strategies);
        let modules = crate::plugins::PluginHost::load_modules(
            self.plugins.loader(),
            &PluginsConfig {
                plugin_dir: dir.clone(),
                strategies: config.strategies.iter().filter(|s| s.id == id).cloned().collect(),
            },
        );
        let snapshots = self.store.snapshots().unwrap_or_default();
        let mut table = self.symbols.read().map(|s| s.clone()).unwrap_or_default();
        self.plugins.apply_config(&config, &modules, &mut table, &snapshots);
        let started = self
            .plugins
            .instances()
            .iter()
            .find(|i| i.id() == id)
            .map(|i| (i.is_running(), i.stats.last_error.clone()));
        match started {
            Some((true, _)) => {
                self.config = config;
                let saved = std::mem::take(&mut self.saved_accounts);
                self.open_accounts(saved);
                self.bots.push(Bot { id: id.clone(), request: req, created_ms, config: bot_config });
                tracing::info!(bot = %id, "trading bot started");
                Ok(self.bot_json(self.bots.len() - 1))
            }
            other => {
                // Roll back to the previous set of instances.
                let previous = self.config.clone();
                self.plugins.apply_config(&previous, &Default::default(), &mut table, &snapshots);
                let reason = other.and_then(|(_, e)| e).unwrap_or_else(|| "the strategy did not start".into());
                Err(bad(format!("bot not started: {reason}")))
            }
        }
    }

    fn bot_json(&self, i: usize) -> Value {
        let b = &self.bots[i];
        let inst = self.plugins.instances().iter().find(|x| x.id() == b.id);
        let metrics = self.compare().into_iter().find(|m| m.strategy == b.id);
        json!({
            "id": b.id, "user_id": b.request.user_id, "name": b.request.name, "strategy": b.request.strategy,
            "pair_symbol": b.request.pair_symbol, "parameters": b.request.parameters,
            "status": inst.map(|x| x.state.name()).unwrap_or("removed"),
            "last_error": inst.and_then(|x| x.stats.last_error.clone()),
            "performance": metrics.map(|m| m.metrics),
            "created_at": chrono::DateTime::from_timestamp_millis(b.created_ms).map(|t| t.to_rfc3339()),
        })
    }

    /// `GET /api/trading-bots?user_id=`.
    pub fn api_bots(&self, user: Option<&str>) -> Vec<Value> {
        (0..self.bots.len())
            .filter(|i| user.is_none_or(|u| self.bots[*i].request.user_id == u))
            .map(|i| self.bot_json(i))
            .collect()
    }
}
