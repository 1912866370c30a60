//! `tradehost backtest`: the real core loop (same strategy `.wasm`, same risk checks, the
//! paper venue) over a data file as fast as the machine allows, every variant in one
//! pass with its own account. A parameter sweep splits its variants across threads.

use super::Metrics;
use super::sweep::Sweep;
use crate::config::PluginsConfig;
use crate::config::StrategyConfig;
use crate::core::{Core, CoreSettings};
use crate::market_data::SymbolId;
use crate::market_data::feeds::{self, Feed, FeedEvent, SharedSymbols};
use crate::plugins::bindings::wit;
use crate::plugins::{Loader, PluginHost};
use crate::store::{Store, TradeRow};
use rust_decimal::Decimal;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Events read ahead and run through one variant after another.
const CHUNK: usize = 4096;
/// The first chunk when the reader has a thread of its own: the variants wait for it.
const FIRST_CHUNK: usize = 512;

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
    // Threads that run variants; a thread left over (fewer variants than threads) reads
    // the data while they run, instead of the first of them reading between chunks.
    let threads = settings.threads.clamp(1, config.strategies.len().max(1));
    let own_reader = settings.threads > threads;
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
    // One core per variant: each sees only its own orders and account. Created in
    // configuration order, so symbol ids do not depend on thread timing.
    let mut cores = Vec::with_capacity(config.strategies.len());
    for s in &config.strategies {
        let one = PluginsConfig { plugin_dir: config.plugin_dir.clone(), strategies: vec![s.clone()] };
        let store = Store::open(Path::new(":memory:"))?;
        let plugins = PluginHost::new(loader.clone());
        let mut core = Core::new(core_settings.clone(), symbols.clone(), plugins, store, one, &modules, bus.clone())?;
        core.set_slippage(settings.slippage);
        if let Some(bad) = core.plugin_views().into_iter().find(|p| p.state != "running") {
            return Err(BacktestError::Variant(format!(
                "strategy `{}` did not start: {}",
                bad.id,
                bad.last_error.unwrap_or_default()
            )));
        }
        cores.push(Mutex::new(Some(core)));
    }
    let shared =
        Shared::new(cores, &config.strategies, symbols, threads + usize::from(own_reader), settings.batch_candles);
    let reader = Reader { feed: &mut *feed, progress: settings.progress, runs_variants: !own_reader };
    std::thread::scope(|scope| {
        let mut reader = Some(reader);
        if own_reader {
            let own = reader.take();
            scope.spawn(|| shared.work(own));
        }
        for _ in 1..threads {
            scope.spawn(|| shared.work(None));
        }
        shared.work(reader);
    });
    if let Some(e) = shared.error.lock().map_err(|_| BacktestError::Thread)?.take() {
        return Err(e);
    }
    let mut out = Vec::new();
    for results in shared.results {
        out.extend(results.into_inner().map_err(|_| BacktestError::Thread)?);
    }
    Ok(out)
}

/// The end of one variant's run: what is still open is closed, at the last candle's open
/// on candle data (the convention), at the last trade otherwise; then its results.
fn finish(mut core: Core, s: &StrategyConfig, symbols: &[SymbolId], candle_only: bool) -> Vec<VariantResult> {
    let prices: Vec<(SymbolId, Option<Decimal>)> =
        symbols.iter().map(|&id| (id, if candle_only { core.last_open(id) } else { core.last_price(id) })).collect();
    core.close_all(|id| prices.iter().find(|(s, _)| *s == id).and_then(|(_, p)| *p));
    let metrics = core.compare();
    let mut out = Vec::with_capacity(metrics.len());
    for m in metrics {
        out.push(VariantResult {
            equity: core.equity_curve(&m.strategy),
            trades: core.take_backtest_trades(&m.strategy),
            strategy: m.strategy,
            params: s.params.clone(),
            metrics: m.metrics,
        });
    }
    out
}

/// A chunk of events, and the compact form of each candle among them (converted once for
/// every variant).
#[derive(Default)]
struct Chunk {
    events: Vec<FeedEvent>,
    compact: Vec<Option<wit::CandleCompact>>,
}

/// What one thread does besides (or instead of) running variants: it reads the data,
/// one chunk ahead of the others.
struct Reader<'f> {
    feed: &'f mut dyn Feed,
    progress: Option<fn(Progress)>,
    /// False when the reader has a thread of its own (a core no variant needs).
    runs_variants: bool,
}

/// The variants and the data they share across threads.
///
/// Chunk `k` of events is in `chunks[k % 2]`; while every thread runs it through variants
/// (each taking the next variant not yet taken, costliest first by the last chunk's
/// times, so the threads finish together however uneven the variants are), the first
/// thread (or a thread of its own) reads chunk `k + 1` into the other slot. One barrier per chunk: behind it,
/// every variant has finished chunk `k - 1` and chunk `k` is read.
struct Shared<'a> {
    /// One core per variant (taken by `finish` at the end) and its configuration.
    cores: Vec<Mutex<Option<Core>>>,
    strategies: &'a [StrategyConfig],
    /// The feed's symbol table.
    symbols: SharedSymbols,
    chunks: [RwLock<Chunk>; 2],
    /// Per slot: the order in which variants are taken, and the next position in it.
    order: [RwLock<Vec<usize>>; 2],
    next: [AtomicUsize; 2],
    /// Nanoseconds each variant took over its last chunk.
    cost: Vec<AtomicU64>,
    /// The first chunk not to run (the data ended, or something failed before it).
    stop: AtomicUsize,
    error: Mutex<Option<BacktestError>>,
    barrier: Barrier,
    candle_only: AtomicBool,
    /// Offer candles in batches (else one call per candle).
    batch: bool,
    /// Per variant, its results; and the next variant to finish.
    results: Vec<Mutex<Vec<VariantResult>>>,
    finish_next: AtomicUsize,
}

impl<'a> Shared<'a> {
    fn new(
        cores: Vec<Mutex<Option<Core>>>,
        strategies: &'a [StrategyConfig],
        symbols: SharedSymbols,
        threads: usize,
        batch: bool,
    ) -> Shared<'a> {
        let n = cores.len();
        Shared {
            strategies,
            symbols,
            results: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
            finish_next: AtomicUsize::new(0),
            cost: (0..n).map(|_| AtomicU64::new(0)).collect(),
            cores,
            chunks: [RwLock::new(Chunk::default()), RwLock::new(Chunk::default())],
            order: [RwLock::new((0..n).collect()), RwLock::new((0..n).collect())],
            next: [AtomicUsize::new(0), AtomicUsize::new(0)],
            stop: AtomicUsize::new(usize::MAX),
            error: Mutex::new(None),
            barrier: Barrier::new(threads),
            candle_only: AtomicBool::new(true),
            batch,
        }
    }

    /// Stop before chunk `k` with `error` (the first error is kept).
    fn fail(&self, k: usize, error: BacktestError) {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(error);
        }
        self.stop.fetch_min(k, Ordering::AcqRel);
    }

    /// One thread's part: until the data ends or something fails, run each chunk through
    /// the variants this thread takes. The thread with the `reader` reads the data.
    fn work(&self, mut reader: Option<Reader<'_>>) {
        let (mut events, started, mut shown) = (0u64, Instant::now(), Instant::now());
        let runs_variants = reader.as_ref().is_none_or(|r| r.runs_variants);
        if let Some(r) = reader.as_mut() {
            // A reader of its own makes the first chunk short: nothing runs until it is read.
            events += self.read(0, r, if r.runs_variants { CHUNK } else { FIRST_CHUNK });
        }
        let mut k = 0usize;
        loop {
            self.barrier.wait();
            // `stop` only moves to k + 1 or later while chunk k runs, so every thread
            // takes the same decision here.
            if self.stop.load(Ordering::Acquire) <= k {
                break;
            }
            let slot = k % 2;
            if let Some(r) = reader.as_mut() {
                // Ready the other slot for chunk k + 1: the order from the latest costs.
                let mut order: Vec<usize> = (0..self.cores.len()).collect();
                order.sort_by_key(|&i| std::cmp::Reverse(self.cost[i].load(Ordering::Relaxed)));
                if let Ok(mut o) = self.order[1 - slot].write() {
                    *o = order;
                }
                self.next[1 - slot].store(0, Ordering::Relaxed);
                events += self.read(k + 1, r, CHUNK);
                if let Some(report) = r.progress.filter(|_| shown.elapsed() > Duration::from_secs(1)) {
                    shown = Instant::now();
                    // A panic here (stderr gone) must not leave the others at the barrier.
                    let progress = self.progress(k, events, started, false);
                    if std::panic::catch_unwind(|| report(progress)).is_err() {
                        self.fail(k + 1, BacktestError::Thread);
                    }
                }
            }
            if runs_variants {
                self.run_chunk(k);
            }
            k += 1;
        }
        if let Some(report) = reader.and_then(|r| r.progress).filter(|_| started.elapsed() > Duration::from_secs(1)) {
            report(self.progress(k.saturating_sub(1), events, started, true));
        }
        if !runs_variants || self.error.lock().map_or(true, |e| e.is_some()) {
            return;
        }
        // The data is read: finish the variants, again each taking the next one left.
        let table = self.symbols.read().map(|s| s.clone()).unwrap_or_default();
        let ids: Vec<SymbolId> = table.iter().map(|(id, _)| id).collect();
        let candle_only = self.candle_only.load(Ordering::Relaxed);
        loop {
            let i = self.finish_next.fetch_add(1, Ordering::Relaxed);
            let Some(cell) = self.cores.get(i) else { break };
            let core = cell.lock().ok().and_then(|mut c| c.take());
            let (Some(core), Some(s)) = (core, self.strategies.get(i)) else { continue };
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| finish(core, s, &ids, candle_only))) {
                Ok(r) => {
                    if let Ok(mut slot) = self.results[i].lock() {
                        *slot = r;
                    }
                }
                Err(_) => self.fail(k, BacktestError::Thread),
            }
        }
    }

    /// Read chunk `k` (up to `limit` events) into its slot; an empty chunk (the end) or an
    /// error stops the run before it. Returns the number of events read.
    fn read(&self, k: usize, r: &mut Reader<'_>, limit: usize) -> u64 {
        let Ok(mut slot) = self.chunks[k % 2].write() else {
            self.fail(k, BacktestError::Thread);
            return 0;
        };
        let Chunk { events: chunk, compact } = &mut *slot;
        chunk.clear();
        let filled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            while chunk.len() < limit {
                match next(&mut *r.feed)? {
                    Some(event) => chunk.push(event),
                    None => break,
                }
            }
            *compact = Core::compact_forms(chunk);
            Ok::<(), BacktestError>(())
        }));
        match filled {
            Ok(Ok(())) if chunk.is_empty() => {
                self.stop.fetch_min(k, Ordering::AcqRel);
            }
            Ok(Ok(())) => {
                if !chunk.iter().all(|e| matches!(e, FeedEvent::Candle(_) | FeedEvent::Clock(_))) {
                    self.candle_only.store(false, Ordering::Relaxed);
                }
            }
            Ok(Err(e)) => self.fail(k, e),
            Err(_) => self.fail(k, BacktestError::Thread),
        }
        chunk.len() as u64
    }

    /// Take variants one by one until none is left for chunk `k`, and run it through each.
    fn run_chunk(&self, k: usize) {
        let slot = k % 2;
        let (Ok(chunk), Ok(order)) = (self.chunks[slot].read(), self.order[slot].read()) else {
            self.fail(k + 1, BacktestError::Thread);
            return;
        };
        loop {
            let j = self.next[slot].fetch_add(1, Ordering::Relaxed);
            let Some(&i) = order.get(j) else { break };
            let started = Instant::now();
            let mut guard = self.cores[i].lock();
            let Some(core) = guard.as_mut().ok().and_then(|c| c.as_mut()) else {
                self.fail(k + 1, BacktestError::Thread);
                return;
            };
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if self.batch {
                    core.handle_batched(&chunk.events, &chunk.compact);
                } else {
                    for event in &chunk.events {
                        core.handle(*event);
                    }
                }
                core.flush();
            }));
            if ran.is_err() {
                self.fail(k + 1, BacktestError::Thread);
            }
            self.cost[i].store(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
    }

    fn progress(&self, k: usize, events: u64, started: Instant, done: bool) -> Progress {
        let rate = events as f64 / started.elapsed().as_secs_f64();
        let event_time_ms =
            self.chunks[k % 2].read().ok().and_then(|c| c.events.iter().rev().find_map(|e| e.time_ms())).unwrap_or(0);
        Progress { events, rate, event_time_ms, done }
    }
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
