//! `plugins.toml`: which strategies run, on which symbols and venues, with which
//! parameters, limits and paper accounts. Parsed raw (serde, unknown fields refused),
//! then validated into typed config; every error names the file, the entry and the field.

use crate::market_data::SymbolInfo;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The only `version` this host reads.
pub const CONFIG_VERSION: u32 = 1;

/// Why plugins.toml could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {entry}{field}: {message}")]
pub struct ConfigError {
    /// The file read.
    pub file: String,
    /// `strategy `id`` or empty for top-level problems.
    pub entry: String,
    /// `: field `x`` or empty.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn new(file: &Path, entry: Option<&str>, field: Option<&str>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.display().to_string(),
            entry: entry.map(|e| format!("strategy `{e}`")).unwrap_or_default(),
            field: match (entry, field) {
                (Some(_), Some(f)) => format!(": field `{f}`"),
                (None, Some(f)) => format!("field `{f}`"),
                _ => String::new(),
            },
            message: message.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    version: u32,
    #[serde(default)]
    host: RawHost,
    #[serde(default)]
    defaults: RawOverrides,
    #[serde(default, rename = "strategy")]
    strategies: Vec<RawStrategy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    plugin_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverrides {
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    account: RawAccount,
    #[serde(default)]
    risk: RawRisk,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    fuel: Option<u64>,
    deadline_ms: Option<u64>,
    memory_mb: Option<u64>,
    max_failures: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    balances: Option<BTreeMap<String, Decimal>>,
    taker_fee: Option<Decimal>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRisk {
    max_order_notional: Option<Decimal>,
    max_position_notional: Option<Decimal>,
    max_trades_per_session: Option<u32>,
    max_position_size: Option<Decimal>,
    max_daily_loss: Option<Decimal>,
    min_balance_ratio: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrategy {
    id: String,
    module: PathBuf,
    symbols: Vec<String>,
    #[serde(default = "default_venue")]
    venue: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    params: toml::Table,
    /// Param name -> environment variable that overrides it.
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    account: RawAccount,
    #[serde(default)]
    risk: RawRisk,
}

fn default_venue() -> String {
    "paper".into()
}
fn yes() -> bool {
    true
}

/// Sandbox limits applied to every call into a strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Fuel (roughly wasm instructions) per call.
    pub fuel: u64,
    /// Wall-clock deadline per call, in ms (epoch interruption).
    pub deadline_ms: u64,
    /// Linear memory cap, bytes.
    pub memory_bytes: usize,
    /// Consecutive failures before the instance is disabled.
    pub max_failures: u32,
}

/// The paper account an instance trades on.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountConfig {
    /// Starting balances per asset.
    pub balances: BTreeMap<String, Decimal>,
    /// Taker fee rate (0.001 = 0.1 %).
    pub taker_fee: Decimal,
}

/// Risk limits checked before any order reaches a venue.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskConfig {
    /// Largest notional (qty * price) of one order.
    pub max_order_notional: Decimal,
    /// Largest notional of the position on one symbol after the order.
    pub max_position_notional: Decimal,
    /// Most orders accepted per run of the host (seed 003 `max_trades`).
    pub max_trades_per_session: Option<u32>,
    /// Largest position on one symbol after the order, base units (seed 003 `max_position_size`).
    pub max_position_size: Option<Decimal>,
    /// Largest loss since the start of the UTC day (equity, quote asset); past it only
    /// orders that reduce a position pass (seed 003 `max_daily_loss`).
    pub max_daily_loss: Option<Decimal>,
    /// Smallest quote balance as a fraction of the starting one; below it buys are refused
    /// (seed 003 `min_balance_ratio`).
    pub min_balance_ratio: Option<Decimal>,
}

impl RiskConfig {
    /// The notional limits only (10,000 per order, 50,000 per position).
    pub fn notional(max_order_notional: Decimal, max_position_notional: Decimal) -> RiskConfig {
        RiskConfig {
            max_order_notional,
            max_position_notional,
            max_trades_per_session: None,
            max_position_size: None,
            max_daily_loss: None,
            min_balance_ratio: None,
        }
    }
}

/// One strategy instance, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyConfig {
    /// Unique id, e.g. `sma-ema-a`.
    pub id: String,
    /// The `.wasm` file (resolved against the plugin directory).
    pub module: PathBuf,
    /// Symbols traded.
    pub symbols: Vec<SymbolInfo>,
    /// `paper`, or an exchange: `binance`, `gateio`, `kucoin`, `bybit` (testnet unless
    /// `<EXCHANGE>_TESTNET=false`), or `live`: every symbol is qualified (`bybit:BTCUSDT`)
    /// and its orders go to that exchange. Under an exchange venue, a qualified symbol
    /// trades on its own exchange and a bare one on the venue; under `paper`, qualified
    /// symbols are paper markets fed by their exchange (or a synthetic stand-in).
    pub venue: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Parameters rendered as text, nested tables flattened as `a.b`.
    pub params: Vec<(String, String)>,
    /// Sandbox limits.
    pub limits: LimitsConfig,
    /// Paper account.
    pub account: AccountConfig,
    /// Risk limits.
    pub risk: RiskConfig,
}

/// The whole file, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginsConfig {
    /// Where `.wasm` files live and are watched.
    pub plugin_dir: PathBuf,
    /// Instances in file order.
    pub strategies: Vec<StrategyConfig>,
}

impl StrategyConfig {
    /// The exchange orders on `symbol` go to; `None` for paper trading.
    pub fn exchange_for(&self, symbol: &SymbolInfo) -> Option<crate::connectors::ExchangeId> {
        use crate::connectors::ExchangeId;
        match self.venue.as_str() {
            "paper" => None,
            venue => symbol.venue().and_then(ExchangeId::parse).or_else(|| ExchangeId::parse(venue)),
        }
    }

    /// Every exchange this instance sends orders to.
    pub fn exchanges(&self) -> Vec<crate::connectors::ExchangeId> {
        let mut v: Vec<_> = self.symbols.iter().filter_map(|s| self.exchange_for(s)).collect();
        if let Some(ex) = crate::connectors::ExchangeId::parse(&self.venue) {
            v.push(ex);
        }
        v.sort();
        v.dedup();
        v
    }
}

impl PluginsConfig {
    /// The exchanges the enabled instances send orders to, sorted.
    pub fn traded_exchanges(&self) -> Vec<crate::connectors::ExchangeId> {
        let mut v: Vec<_> = self.strategies.iter().filter(|s| s.enabled).flat_map(|s| s.exchanges()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The venue-qualified markets (`bybit:BTCUSDT`) of the enabled instances, in file order.
    pub fn qualified_markets(&self) -> Vec<SymbolInfo> {
        let mut v: Vec<SymbolInfo> = Vec::new();
        for m in self.strategies.iter().filter(|s| s.enabled).flat_map(|s| &s.symbols) {
            if m.venue().is_some() && !v.contains(m) {
                v.push(m.clone());
            }
        }
        v
    }

    /// Every exchange a market of an enabled instance is qualified with (`bybit:BTCUSDT`),
    /// sorted: with a live feed these stream from their exchange whatever the instance's venue.
    pub fn qualified_exchanges(&self) -> Vec<crate::connectors::ExchangeId> {
        let mut v: Vec<_> = self
            .strategies
            .iter()
            .filter(|s| s.enabled)
            .flat_map(|s| s.symbols.iter().filter_map(|m| m.venue().and_then(crate::connectors::ExchangeId::parse)))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Read and validate a file; `env` answers environment lookups (so tests need not
    /// touch the process environment).
    pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, None, None, format!("cannot read: {e}")))?;
        Self::parse(&text, path, env)
    }

    /// Validate the text of a plugins.toml that lives at `path`.
    pub fn parse(text: &str, path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::new(path, None, None, e.to_string().trim().to_string()))?;
        if raw.version != CONFIG_VERSION {
            let msg = format!("unsupported version {}, this host reads version {CONFIG_VERSION}", raw.version);
            return Err(ConfigError::new(path, None, Some("version"), msg));
        }
        // Absolute, so paths compare equal to what the file watcher reports.
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let base = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
        let plugin_dir = base.join(raw.host.plugin_dir.unwrap_or_else(|| PathBuf::from("plugins")));
        let mut strategies: Vec<StrategyConfig> = Vec::new();
        for s in raw.strategies {
            let cfg = validate_strategy(s, &raw.defaults, &plugin_dir, path, env)?;
            if strategies.iter().any(|o| o.id == cfg.id) {
                return Err(ConfigError::new(path, Some(&cfg.id), Some("id"), "duplicate id"));
            }
            strategies.push(cfg);
        }
        Ok(PluginsConfig { plugin_dir, strategies })
    }
}

fn validate_strategy(
    s: RawStrategy,
    defaults: &RawOverrides,
    plugin_dir: &Path,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StrategyConfig, ConfigError> {
    let id = s.id.clone();
    let err = |field: &str, msg: String| ConfigError::new(path, Some(&id), Some(field), msg);
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(err("id", "use letters, digits, `-` and `_` only".into()));
    }
    if s.module.as_os_str().is_empty() {
        return Err(err("module", "empty path".into()));
    }
    let venue = match crate::connectors::ExchangeId::parse(&s.venue) {
        _ if s.venue == "paper" || s.venue == "live" => s.venue.clone(),
        Some(ex) => ex.as_str().to_string(),
        None => {
            let msg = format!("unknown venue `{}`; use paper, live, binance, gateio, kucoin or bybit", s.venue);
            return Err(err("venue", msg));
        }
    };
    let symbol_names = match env("SYMBOLS") {
        Some(list) if !list.trim().is_empty() => list.split(',').map(|x| x.trim().to_string()).collect(),
        _ => s.symbols.clone(),
    };
    if symbol_names.is_empty() {
        return Err(err("symbols", "at least one symbol is required".into()));
    }
    let mut symbols = Vec::new();
    for name in &symbol_names {
        let info =
            SymbolInfo::parse(name).ok_or_else(|| err("symbols", format!("`{name}` is not a symbol like BTCUSDT")))?;
        let info = match info.venue().map(|v| (v, crate::connectors::ExchangeId::parse(v))) {
            None => info,
            // One spelling per exchange (`gate:` is `gateio:`), so one market has one name.
            Some((_, Some(ex))) => SymbolInfo { name: format!("{ex}:{}", info.pair()), ..info },
            Some((v, None)) => {
                let msg = format!("`{name}`: unknown venue `{v}`; qualify with binance, gateio, kucoin or bybit");
                return Err(err("symbols", msg));
            }
        };
        if venue == "live" && info.venue().is_none() {
            let msg = format!("`{name}`: with venue = \"live\" every symbol names its exchange, e.g. `binance:{name}`");
            return Err(err("symbols", msg));
        }
        if !symbols.contains(&info) {
            symbols.push(info);
        }
    }
    let mut params = Vec::new();
    flatten_params("", &s.params, &mut params).map_err(|(k, m)| err(&format!("params.{k}"), m))?;
    for (param, var) in &s.env {
        if let Some(value) = env(var) {
            params.retain(|(k, _)| k != param);
            params.push((param.clone(), value.trim().to_string()));
        }
    }
    let limits = merge_limits(&defaults.limits, &s.limits).map_err(|(f, m)| err(f, m))?;
    let account = AccountConfig {
        balances: s
            .account
            .balances
            .clone()
            .or_else(|| defaults.account.balances.clone())
            .unwrap_or_else(|| BTreeMap::from([("USDT".to_string(), Decimal::from(10_000))])),
        taker_fee: s.account.taker_fee.or(defaults.account.taker_fee).unwrap_or(Decimal::new(1, 3)),
    };
    if account.balances.values().any(|v| v.is_sign_negative()) {
        return Err(err("account.balances", "balances must not be negative".into()));
    }
    if account.taker_fee.is_sign_negative() || account.taker_fee >= Decimal::ONE {
        return Err(err("account.taker_fee", "a fee rate in [0, 1), e.g. 0.001".into()));
    }
    let risk = RiskConfig {
        max_order_notional: s
            .risk
            .max_order_notional
            .or(defaults.risk.max_order_notional)
            .unwrap_or(Decimal::from(10_000)),
        max_position_notional: s
            .risk
            .max_position_notional
            .or(defaults.risk.max_position_notional)
            .unwrap_or(Decimal::from(50_000)),
        max_trades_per_session: s.risk.max_trades_per_session.or(defaults.risk.max_trades_per_session),
        max_position_size: s.risk.max_position_size.or(defaults.risk.max_position_size),
        max_daily_loss: s.risk.max_daily_loss.or(defaults.risk.max_daily_loss),
        min_balance_ratio: s.risk.min_balance_ratio.or(defaults.risk.min_balance_ratio),
    };
    for (field, v) in [
        ("risk.max_position_size", risk.max_position_size),
        ("risk.max_daily_loss", risk.max_daily_loss),
        ("risk.min_balance_ratio", risk.min_balance_ratio),
    ] {
        if v.is_some_and(|v| v.is_sign_negative()) {
            return Err(err(field, "must not be negative".into()));
        }
    }
    if risk.min_balance_ratio.is_some_and(|r| r > Decimal::ONE) {
        return Err(err("risk.min_balance_ratio", "a fraction in [0, 1], e.g. 0.2".into()));
    }
    Ok(StrategyConfig {
        id: s.id,
        module: plugin_dir.join(&s.module),
        symbols,
        venue,
        enabled: s.enabled,
        params,
        limits,
        account,
        risk,
    })
}

fn merge_limits(d: &RawLimits, s: &RawLimits) -> Result<LimitsConfig, (&'static str, String)> {
    let limits = LimitsConfig {
        fuel: s.fuel.or(d.fuel).unwrap_or(50_000_000),
        deadline_ms: s.deadline_ms.or(d.deadline_ms).unwrap_or(50),
        memory_bytes: (s.memory_mb.or(d.memory_mb).unwrap_or(32) as usize).saturating_mul(1 << 20),
        max_failures: s.max_failures.or(d.max_failures).unwrap_or(5),
    };
    if limits.fuel == 0 {
        return Err(("limits.fuel", "must be positive".into()));
    }
    if limits.deadline_ms == 0 {
        return Err(("limits.deadline_ms", "must be positive".into()));
    }
    if limits.memory_bytes < (1 << 20) {
        return Err(("limits.memory_mb", "at least 1".into()));
    }
    Ok(limits)
}

fn flatten_params(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) -> Result<(), (String, String)> {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::String(s) => out.push((key, s.clone())),
            toml::Value::Integer(i) => out.push((key, i.to_string())),
            toml::Value::Float(f) => out.push((key, f.to_string())),
            toml::Value::Boolean(b) => out.push((key, b.to_string())),
            toml::Value::Table(t) if prefix.is_empty() => flatten_params(&key, t, out)?,
            _ => return Err((key, "use a string, number, boolean or one level of table".into())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
