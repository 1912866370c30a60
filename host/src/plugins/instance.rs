//! One sandboxed strategy instance: its store, limits per call, statistics, and what
//! happens when it fails (restart from the last snapshot with backoff, then disable).

use super::PluginError;
use super::bindings::{CONTRACT_PACKAGE, CONTRACT_VERSION, HostState, PackedCandle, Strategy, wit};
use super::loader::{EPOCH_TICKS_PER_SEC, LoadedModule};
use crate::config::StrategyConfig;
use crate::market_data::{SymbolId, SymbolInfo};
use std::sync::Arc;
use std::time::Instant;
use wasmtime::{Store, StoreLimitsBuilder, Trap};

/// First restart delay after a failure (event time); doubles per consecutive failure.
const BACKOFF_BASE_MS: i64 = 1_000;
/// Longest restart delay.
const BACKOFF_MAX_MS: i64 = 60_000;

/// Lifecycle of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceState {
    /// Receiving events.
    Running,
    /// Failed; restarts from its last snapshot at `until_ms` (event time).
    Backoff {
        /// When the restart is due.
        until_ms: i64,
    },
    /// Disabled by the operator (plugins.toml or the API).
    Stopped,
    /// Disabled after repeated failures or a load error; needs a new build or config.
    Disabled {
        /// Why.
        reason: String,
    },
}

impl InstanceState {
    /// Short name for the API: running, backoff, stopped, disabled.
    pub fn name(&self) -> &'static str {
        match self {
            InstanceState::Running => "running",
            InstanceState::Backoff { .. } => "backoff",
            InstanceState::Stopped => "stopped",
            InstanceState::Disabled { .. } => "disabled",
        }
    }
}

/// Counters shown by `/plugins`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceStats {
    /// Event calls made.
    pub calls: u64,
    /// Calls that trapped (including fuel, deadline and memory).
    pub traps: u64,
    /// Total time inside event calls, ns.
    pub call_ns: u128,
    /// Restarts after failures.
    pub restarts: u32,
    /// Successful hot reloads.
    pub reloads: u32,
    /// Failures since the last successful call.
    pub consecutive_failures: u32,
    /// The last error, with its cause.
    pub last_error: Option<String>,
}

impl InstanceStats {
    /// Mean time per event call, µs.
    pub fn mean_call_us(&self) -> f64 {
        if self.calls == 0 { 0.0 } else { self.call_ns as f64 / self.calls as f64 / 1e3 }
    }
}

struct Sandbox {
    store: Store<HostState>,
    api: Strategy,
    /// `guest-batch.on-candles`, when the component exports it (optional in the contract).
    batch: Option<BatchFunc>,
}

/// `on-candles: func(candles: list<candle-compact>) -> tuple<u32, list<intent>>`.
type BatchFunc = wasmtime::component::TypedFunc<(Vec<PackedCandle>,), ((u32, Vec<wit::Intent>),)>;

/// One strategy instance and its sandbox.
pub struct PluginInstance {
    /// Validated config of this instance.
    pub config: StrategyConfig,
    /// The module it runs, if one loaded.
    pub module: Option<Arc<LoadedModule>>,
    /// Its symbols, interned.
    pub symbols: Vec<(SymbolId, SymbolInfo)>,
    /// Lifecycle state.
    pub state: InstanceState,
    /// Counters.
    pub stats: InstanceStats,
    /// What it asked for at init.
    pub subscriptions: wit::Subscriptions,
    /// State from the last successful snapshot.
    pub snapshot: Vec<u8>,
    /// Next `on-timer` due, event time.
    pub next_timer_ms: Option<i64>,
    /// Event time of the event being handled (drives backoff deterministically).
    pub now_ms: i64,
    /// Whether calls are timed for [`InstanceStats`] (off in a backtest, where nobody
    /// reads it and two clock reads per call show in the profile).
    pub timed: bool,
    sandbox: Option<Sandbox>,
}

impl PluginInstance {
    /// An instance that has not started yet.
    pub fn new(config: StrategyConfig, symbols: Vec<(SymbolId, SymbolInfo)>, snapshot: Vec<u8>) -> Self {
        let state = if config.enabled { InstanceState::Backoff { until_ms: i64::MIN } } else { InstanceState::Stopped };
        PluginInstance {
            config,
            module: None,
            symbols,
            state,
            stats: InstanceStats::default(),
            subscriptions: wit::Subscriptions { ticks: false, timer_ms: 0 },
            snapshot,
            next_timer_ms: None,
            now_ms: 0,
            timed: true,
            sandbox: None,
        }
    }

    /// The instance id.
    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// Whether the instance trades this symbol.
    pub fn trades(&self, symbol: SymbolId) -> bool {
        self.symbols.iter().any(|(id, _)| *id == symbol)
    }

    /// Whether events are delivered now.
    pub fn is_running(&self) -> bool {
        self.sandbox.is_some() && self.state == InstanceState::Running
    }

    /// The host state of the live store, to refresh the account view before calls.
    pub fn host_state(&mut self) -> Option<&mut HostState> {
        self.sandbox.as_mut().map(|s| s.store.data_mut())
    }

    /// Start (or restart) on `module`, restoring `self.snapshot`. On failure the old
    /// sandbox, if any, keeps running and the error is returned.
    pub fn start(&mut self, module: Arc<LoadedModule>, carry: Option<Vec<u8>>) -> Result<(), PluginError> {
        let snapshot = carry.unwrap_or_else(|| self.snapshot.clone());
        let (sandbox, subs) = self.build(&module, &snapshot)?;
        self.sandbox = Some(sandbox);
        self.module = Some(module);
        self.subscriptions = subs;
        self.snapshot = snapshot;
        self.state = InstanceState::Running;
        self.next_timer_ms = None;
        Ok(())
    }

    /// Take the live state out of the running sandbox (for a reload).
    pub fn take_snapshot(&mut self) -> Vec<u8> {
        if self.is_running()
            && let Some(bytes) = self.invoke(|api, store| api.tradehost_strategy_guest().call_snapshot(store))
        {
            self.snapshot = bytes;
        }
        self.snapshot.clone()
    }

    /// Stop delivering events (operator's choice).
    pub fn stop(&mut self) {
        self.sandbox = None;
        self.state = InstanceState::Stopped;
    }

    /// Mark as disabled with a reason (e.g. its module failed to load).
    pub fn disable(&mut self, reason: String) {
        self.sandbox = None;
        self.stats.last_error = Some(reason.clone());
        self.state = InstanceState::Disabled { reason };
    }

    fn build(&self, module: &LoadedModule, snapshot: &[u8]) -> Result<(Sandbox, wit::Subscriptions), PluginError> {
        let limits = &self.config.limits;
        let state = HostState {
            instance: self.config.id.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(16)
                .tables(32)
                .memories(8)
                .trap_on_grow_failure(true)
                .build(),
            account: Default::default(),
            last_prices: Vec::new(),
            last_log: None,
            fills_ignored: false,
        };
        let mut store = Store::new(&module.engine, state);
        store.limiter(|s| &mut s.limits);
        arm(&mut store, limits.fuel, limits.deadline_ms)?;
        let instance = module.pre.instance_pre().instantiate(&mut store).map_err(|e| describe(&e, &store, limits))?;
        let api = Strategy::new(&mut store, &instance).map_err(|e| describe(&e, &store, limits))?;
        let batch = instance
            .get_export_index(&mut store, None, &format!("{CONTRACT_PACKAGE}/guest-batch@{CONTRACT_VERSION}"))
            .and_then(|iface| instance.get_export_index(&mut store, Some(&iface), "on-candles"))
            .and_then(|f| instance.get_typed_func::<_, _>(&mut store, &f).ok());
        let ctx = self.init_context();
        arm(&mut store, limits.fuel, limits.deadline_ms)?;
        let subs = api
            .tradehost_strategy_guest()
            .call_init(&mut store, &ctx)
            .map_err(|e| describe(&e, &store, limits))?
            .map_err(|e| PluginError::Rejected(format!("init failed: {e}")))?;
        if !snapshot.is_empty() {
            arm(&mut store, limits.fuel, limits.deadline_ms)?;
            api.tradehost_strategy_guest()
                .call_restore(&mut store, snapshot)
                .map_err(|e| describe(&e, &store, limits))?
                .map_err(|e| PluginError::Rejected(format!("restore failed: {e}")))?;
        }
        Ok((Sandbox { store, api, batch }, subs))
    }

    fn init_context(&self) -> wit::InitContext {
        wit::InitContext {
            instance: self.config.id.clone(),
            symbols: self
                .symbols
                .iter()
                .map(|(id, s)| wit::SymbolInfo {
                    id: id.0,
                    name: s.name.clone(),
                    base: s.base.clone(),
                    quote: s.quote.clone(),
                })
                .collect(),
            params: self.config.params.iter().map(|(k, v)| wit::Param { key: k.clone(), value: v.clone() }).collect(),
        }
    }

    /// Call into the sandbox with fuel and deadline armed. A failure tears the sandbox
    /// down and schedules a restart (see [`PluginInstance::restart_if_due`]).
    pub fn invoke<R>(&mut self, f: impl FnOnce(&Strategy, &mut Store<HostState>) -> wasmtime::Result<R>) -> Option<R> {
        let limits = &self.config.limits;
        let sandbox = self.sandbox.as_mut()?;
        if let Err(e) = arm(&mut sandbox.store, limits.fuel, limits.deadline_ms) {
            self.fail(e.to_string());
            return None;
        }
        sandbox.store.data_mut().last_log = None;
        let started = self.timed.then(Instant::now);
        let result = f(&sandbox.api, &mut sandbox.store);
        self.settle(result, started)
    }

    /// Count a finished call; a failed one tears the sandbox down.
    fn settle<R>(&mut self, result: wasmtime::Result<R>, started: Option<Instant>) -> Option<R> {
        self.stats.calls += 1;
        if let Some(started) = started {
            self.stats.call_ns += started.elapsed().as_nanos();
        }
        match result {
            Ok(r) => {
                self.stats.consecutive_failures = 0;
                Some(r)
            }
            Err(e) => {
                let reason = match self.sandbox.as_ref() {
                    Some(sb) => describe(&e, &sb.store, &self.config.limits).to_string(),
                    None => format!("{e:#}"),
                };
                self.stats.traps += 1;
                self.fail(reason);
                None
            }
        }
    }

    /// Whether the running sandbox wants `on-fill` calls (not after `host.fills-ignored`).
    pub fn wants_fills(&self) -> bool {
        self.sandbox.as_ref().is_some_and(|s| !s.store.data().fills_ignored)
    }

    /// Whether the running sandbox takes candles in batches (`guest-batch.on-candles`).
    pub fn takes_batches(&self) -> bool {
        self.sandbox.as_ref().is_some_and(|s| s.batch.is_some())
    }

    /// `on-candles` with fuel and deadline scaled by the batch's length (each candle gets
    /// what one call would). `None` if the instance has no batch export or failed (then
    /// it is torn down as by [`PluginInstance::invoke`]).
    pub fn invoke_batch(&mut self, candles: Vec<PackedCandle>) -> Option<(u32, Vec<wit::Intent>)> {
        let n = candles.len().max(1) as u64;
        let limits = &self.config.limits;
        let sandbox = self.sandbox.as_mut()?;
        let func = sandbox.batch?;
        let (fuel, deadline_ms) = (limits.fuel.saturating_mul(n), limits.deadline_ms.saturating_mul(n).min(60_000));
        if let Err(e) = arm(&mut sandbox.store, fuel, deadline_ms) {
            self.fail(e.to_string());
            return None;
        }
        sandbox.store.data_mut().last_log = None;
        let started = self.timed.then(Instant::now);
        let result = func.call(&mut sandbox.store, (candles,)).map(|(r,)| r);
        self.settle(result, started)
    }

    /// Record a failure at the current event time: back off, or disable after too many.
    pub fn fail(&mut self, reason: String) {
        self.sandbox = None;
        self.stats.consecutive_failures += 1;
        let n = self.stats.consecutive_failures;
        tracing::warn!(strategy = %self.config.id, failures = n, error = %reason, "strategy failed");
        self.stats.last_error = Some(reason.clone());
        self.state = if n >= self.config.limits.max_failures {
            InstanceState::Disabled { reason: format!("disabled after {n} consecutive failures; last: {reason}") }
        } else {
            let delay = (BACKOFF_BASE_MS << (n - 1).min(16)).min(BACKOFF_MAX_MS);
            InstanceState::Backoff { until_ms: self.now_ms.saturating_add(delay) }
        };
    }

    /// Restart a failed instance once its backoff has passed.
    pub fn restart_if_due(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
        let InstanceState::Backoff { until_ms } = self.state else { return };
        if now_ms < until_ms {
            return;
        }
        let Some(module) = self.module.clone() else { return };
        let first_start = until_ms == i64::MIN;
        match self.start(module, None) {
            Ok(()) => {
                if !first_start {
                    self.stats.restarts += 1;
                    tracing::info!(strategy = %self.config.id, restarts = self.stats.restarts, "strategy restarted from snapshot");
                }
            }
            Err(e) => self.fail(e.to_string()),
        }
    }
}

/// Refill fuel and re-arm the deadline before a call.
fn arm(store: &mut Store<HostState>, fuel: u64, deadline_ms: u64) -> Result<(), PluginError> {
    store.set_fuel(fuel).map_err(|e| PluginError::Engine(e.to_string()))?;
    store.set_epoch_deadline((deadline_ms * EPOCH_TICKS_PER_SEC / 1000).max(1));
    store.epoch_deadline_trap();
    Ok(())
}

/// Turn a wasmtime error into a cause an operator can act on.
fn describe(e: &wasmtime::Error, store: &Store<HostState>, limits: &crate::config::LimitsConfig) -> PluginError {
    let text = format!("{e:#}");
    let cause = match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => format!("out of fuel (limit {} per call)", limits.fuel),
        Some(Trap::Interrupt) => format!("deadline exceeded ({} ms per call)", limits.deadline_ms),
        Some(Trap::UnreachableCodeReached) => match &store.data().last_log {
            Some(msg) if msg.contains("panicked") => msg.clone(),
            _ => "trapped: unreachable code reached (panic or abort)".into(),
        },
        _ if text.contains("forcing trap when growing memory") => {
            format!("memory limit exceeded ({} MiB)", limits.memory_bytes >> 20)
        }
        Some(trap) => format!("trapped: {trap}"),
        None => text,
    };
    PluginError::Trap(cause)
}
