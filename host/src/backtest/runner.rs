//! `tradehost backtest`: the real core loop (same strategy `.wasm`, same risk checks, the
//! paper venue) over a data file as fast as the machine allows, every variant in one
//! pass with its own account. A parameter sweep splits its variants across threads.

use super::Metrics;
use super::sweep::Sweep;
use crate::config::PluginsConfig;
use crate::core::{Core, CoreSettings};
use crate::market_data::feeds::{self, Feed, FeedEvent};
use crate::plugins::{Loader, PluginHost};
use crate::store::{Store, TradeRow};
use rust_decimal::Decimal;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Events read ahead and run through one variant after another.
const CHUNK: usize = 4096;

/// What a backtest needs.
#[derive(Debug, Clone)]
pub struct BacktestSettings {
    /// Data files (klines/trades/aggTrades CSV, OHLCV CSV, recorded WS sessions).
    pub files: Vec<PathBuf>,
    /// The variants to run (plugins.toml).
    pub config: PluginsConfig,
    /// Parameter grid applied to every strategy that has all the swept params.
    pub sweep: Sweep,
    /// Compiled-artefact cache.
    pub cache_dir: Option<PathBuf>,
    /// Override of every account's taker fee rate.
    pub fee: Option<Decimal>,
    /// Adverse slippage on market and stop fills, fraction.
    pub slippage: Decimal,
    /// Threads (the sweep's variants are split across them).
    pub threads: usize,
    /// Offer candles to strategies in batches while nothing of theirs can execute (the
    /// same results as one call per candle, fewer sandbox calls; off: one call each).
    pub batch_candles: bool,
    /// Called about once a second on long runs (by the first thread) with the progress,
    /// and once at the end; the binary draws it, the library prints nothing.
    pub progress: Option<fn(Progress)>,
}

impl BacktestSettings {
    /// `config`'s variants over `files` as configured: no sweep, fee override or slippage,
    /// one thread, no progress reports.
    pub fn new(files: Vec<PathBuf>, config: PluginsConfig) -> BacktestSettings {
        BacktestSettings {
            files,
            config,
            sweep: Sweep::default(),
            cache_dir: None,
            fee: None,
            slippage: Decimal::ZERO,
            threads: 1,
            batch_candles: true,
            progress: None,
        }
    }
}

/// How far a backtest has come.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Market events handled by the reporting thread.
    pub events: u64,
    /// Events per second so far.
    pub rate: f64,
    /// Event time reached, ms.
    pub event_time_ms: i64,
    /// True for the last report.
    pub done: bool,
}

/// One variant's result.
#[derive(Debug, Clone, Serialize)]
pub struct VariantResult {
    /// Instance id (with the swept params in brackets).
    pub strategy: String,
    /// Its parameters.
    pub params: Vec<(String, String)>,
    /// The metrics.
    pub metrics: Metrics,
    /// Equity per closed candle: (event time ms, equity).
    pub equity: Vec<(i64, f64)>,
    /// Every fill.
    pub trades: Vec<TradeRow>,
}

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The data could not be read.
    #[error(transparent)]
    Feed(#[from] feeds::FeedError),
    /// The wasm engine could not start.
    #[error(transparent)]
    Plugins(#[from] crate::plugins::PluginError),
    /// The in-memory store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A strategy module did not load or a variant did not start.
    #[error("{0}")]
    Variant(String),
    /// A worker thread died.
    #[error("a backtest thread panicked")]
    Thread,
}

/// Run every variant over the data; results in configuration order.
pub fn run(settings: &BacktestSettings) -> Result<Vec<VariantResult>, BacktestError> {
    let mut config = settings.sweep.expand(&settings.config).map_err(BacktestError::Variant)?;
    if let Some(fee) = settings.fee {
        for s in &mut config.strategies {
            s.account.taker_fee = fee;
        }
    }
    let loader = Loader::new(settings.cache_dir.clone())?;
    let modules = PluginHost::load_modules(&loader, &config);
    if let Some((path, Err(e))) = modules.iter().find(|(_, r)| r.is_err()) {
        return Err(BacktestError::Variant(format!("{}: {e}", path.display())));
    }
    let threads = settings.threads.clamp(1, config.strategies.len().max(1));
    // Round-robin, so variants of one (maybe costly) strategy spread over the threads.
    let parts: Vec<PluginsConfig> = (0..threads)
        .map(|t| PluginsConfig {
            plugin_dir: config.plugin_dir.clone(),
            strategies: config.strategies.iter().skip(t).step_by(threads).cloned().collect(),
        })
        .collect();
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let (loader, modules) = (loader.clone(), modules.clone());
                let progress = settings.progress.filter(|_| i == 0);
                scope.spawn(move || run_part(settings, part, loader, &modules, progress))
            })
            .collect();
        handles.into_iter().map(|h| h.join().map_err(|_| BacktestError::Thread)?).collect::<Result<Vec<_>, _>>()
    })?;
    let mut all: Vec<VariantResult> = results.into_iter().flatten().collect();
    let order = |id: &str| config.strategies.iter().position(|s| s.id == id).unwrap_or(usize::MAX);
    all.sort_by_key(|r| order(&r.strategy));
    Ok(all)
}

fn run_part(
    settings: &BacktestSettings,
    config: &PluginsConfig,
    loader: Loader,
    modules: &crate::plugins::registry::ModuleResults,
    progress: Option<fn(Progress)>,
) -> Result<Vec<VariantResult>, BacktestError> {
    let symbols = feeds::shared_symbols();
    let markets = config.qualified_markets().into_iter().map(|m| m.name).collect();
    let replay = feeds::ReplayConfig { markets, ..Default::default() };
    let mut feed = feeds::open_replay_with(&settings.files, symbols.clone(), &replay)?;
    let core_settings = CoreSettings {
        skip_first_partial: !feed.starts_on_minute_boundary(),
        tick_capacity: 16,
        resume_after_ms: None,
        feed: "backtest".into(),
        backtest: true,
        mirror_market: false,
    };
    let (bus, _) = tokio::sync::broadcast::channel(1);
    // One core per variant: each sees only its own orders and account, and a chunk of
    // events runs through one variant after another (instance after instance, not event
    // after event), so each strategy's code and memory stay hot in the cache. The data is
    // still read once per thread.
    let mut cores = Vec::with_capacity(config.strategies.len());
    for s in &config.strategies {
        let one = PluginsConfig { plugin_dir: config.plugin_dir.clone(), strategies: vec![s.clone()] };
        let store = Store::open(Path::new(":memory:"))?;
        let plugins = PluginHost::new(loader.clone());
        let mut core = Core::new(core_settings.clone(), symbols.clone(), plugins, store, one, modules, bus.clone())?;
        core.set_slippage(settings.slippage);
        if let Some(bad) = core.plugin_views().into_iter().find(|p| p.state != "running") {
            return Err(BacktestError::Variant(format!(
                "strategy `{}` did not start: {}",
                bad.id,
                bad.last_error.unwrap_or_default()
            )));
        }
        cores.push(core);
    }
    let (mut n, started, mut shown) = (0u64, Instant::now(), Instant::now());
    let mut candle_only = true;
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        while chunk.len() < CHUNK {
            match next(&mut *feed)? {
                Some(event) => chunk.push(event),
                None => break,
            }
        }
        if chunk.is_empty() {
            break;
        }
        candle_only &= chunk.iter().all(|e| matches!(e, FeedEvent::Candle(_) | FeedEvent::Clock(_)));
        for core in &mut cores {
            if settings.batch_candles {
                core.handle_batched(&chunk);
            } else {
                for event in &chunk {
                    core.handle(*event);
                }
            }
            core.flush();
        }
        n += chunk.len() as u64;
        if let Some(report) = progress.filter(|_| shown.elapsed() > Duration::from_secs(1)) {
            shown = Instant::now();
            let rate = n as f64 / started.elapsed().as_secs_f64();
            let event_time_ms = cores.first().map_or(0, |c| c.health().event_time_ms);
            report(Progress { events: n, rate, event_time_ms, done: false });
        }
    }
    if let Some(report) = progress.filter(|_| started.elapsed() > Duration::from_secs(1)) {
        let rate = n as f64 / started.elapsed().as_secs_f64();
        let event_time_ms = cores.first().map_or(0, |c| c.health().event_time_ms);
        report(Progress { events: n, rate, event_time_ms, done: true });
    }
    let table = symbols.read().map(|s| s.clone()).unwrap_or_default();
    let ids: Vec<_> = table.iter().map(|(id, _)| id).collect();
    let mut out = Vec::new();
    for (core, s) in cores.iter_mut().zip(&config.strategies) {
        // Close what is still open: at the last candle's open on candle data (the
        // convention), at the last trade otherwise.
        let prices: Vec<(crate::market_data::SymbolId, Option<Decimal>)> =
            ids.iter().map(|&id| (id, if candle_only { core.last_open(id) } else { core.last_price(id) })).collect();
        core.close_all(|id| prices.iter().find(|(s, _)| *s == id).and_then(|(_, p)| *p));
        for m in core.compare() {
            out.push(VariantResult {
                strategy: m.strategy.clone(),
                params: s.params.clone(),
                equity: core.equity_curve(&m.strategy),
                metrics: m.metrics,
                trades: core.backtest_trades(&s.id),
            });
        }
    }
    Ok(out)
}

fn next(feed: &mut dyn Feed) -> Result<Option<FeedEvent>, BacktestError> {
    loop {
        match feed.next_event() {
            Ok(e) => return Ok(e),
            Err(e) if e.is_bad_input() => tracing::warn!(error = %e, "skipping bad input"),
            Err(e) => return Err(e.into()),
        }
    }
}
