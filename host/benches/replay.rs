//! End-to-end replay throughput (frames/s) of the recorded Binance session (four gzip
//! files, BTCUSDT and ETHUSDT, 2024-08-08/09) through `tradehost::core::Core`: parse,
//! 1m aggregation, two SMA/EMA variants in the sandbox, risk, paper fills, SQLite, with
//! `Core::flush` every 512 events as the app does. Throughput is counted in input frames
//! (every line of the recordings, depth frames included) for every variant.
//!
//! - `aggregator_only` (baseline): the pre-parsed events through `CandleAggregator` alone;
//! - `gunzip_only`: decompressing the files and splitting lines, nothing parsed;
//! - `feed_only`: gunzip + parse + merge (`open_replay`), nothing downstream;
//! - `core_preparsed`: the pre-parsed events through `Core::handle`;
//! - `core_gunzip_parse`: `open_replay` and `Core::handle` on one thread, in series;
//! - `core_pipelined`: the app's topology, a feed thread sending batches of 512 events
//!   to the core thread over a bounded channel (`app.rs`);
//! - `core_preparsed_trading`: as `core_preparsed` with SMA 3 / EMA 2 instead of 10 / 5.
//!   The recording spans only ~11 minutes (about 10 closed candles per symbol), so the
//!   plugins.toml periods never warm up and never trade; the short periods make the
//!   strategies place orders that fill on the paper venue.
//!
//! A fresh `Core` (store in a temporary SQLite file, strategies started) is built before
//! every timed iteration, outside the timing. Needs `make wasm`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use std::collections::HashMap;
use std::hint::black_box;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tradehost::config::PluginsConfig;
use tradehost::core::{Core, CoreSettings};
use tradehost::market_data::feeds::{self, FeedEvent, SharedSymbols};
use tradehost::market_data::{Candle, CandleAggregator, Symbols};
use tradehost::plugins::registry::ModuleResults;
use tradehost::plugins::{Loader, PluginHost};
use tradehost::store::Store;

/// The recorded session.
const DATA_DIR: &str = "/work/shared/data/binance-spot-ws";
/// Events per flush, as `app.rs` batches them.
const BATCH: usize = 512;
/// Criterion samples per benchmark (the minimum; one replay takes a good fraction of a second).
const SAMPLES: usize = 10;
/// Goal for end-to-end replay.
const GOAL_FRAMES_PER_SEC: f64 = 1e6;

fn wasm_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-unknown-unknown/wasm");
    assert!(dir.join("sma_ema.wasm").is_file(), "{}/sma_ema.wasm is missing: run `make wasm` first", dir.display());
    dir
}

/// The two variants of plugins.toml (SMA `sma`, EMA `ema`), with the module taken from
/// the build output.
fn config(sma: u32, ema: u32) -> PluginsConfig {
    let variant = |id: &str, stop_loss: &str| {
        format!(
            "[[strategy]]\nid = \"{id}\"\nmodule = \"sma_ema.wasm\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\n\
             venue = \"paper\"\n[strategy.params]\nsma_period = {sma}\nema_period = {ema}\nstop_loss = \"{stop_loss}\"\n\
             qty = {{ BTCUSDT = \"0.001\", ETHUSDT = \"0.01\" }}\n"
        )
    };
    let text = format!(
        "version = 1\n[host]\nplugin_dir = {:?}\n\
         [defaults.limits]\nfuel = 50_000_000\ndeadline_ms = 50\nmemory_mb = 32\nmax_failures = 5\n\
         [defaults.account]\nbalances = {{ USDT = \"10000\" }}\ntaker_fee = \"0.001\"\n{}{}",
        wasm_dir().display().to_string(),
        variant("sma-ema-a", "0.15"),
        variant("sma-ema-b", "0.10"),
    );
    PluginsConfig::parse(&text, Path::new("/bench/plugins.toml"), &|_| None).expect("valid bench config")
}

fn recordings() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(DATA_DIR)
        .unwrap_or_else(|e| panic!("{DATA_DIR}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gz"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 4, "expected the four recordings in {DATA_DIR}");
    paths
}

/// Non-empty lines (frames) in the recordings.
fn count_frames(paths: &[PathBuf]) -> u64 {
    let mut frames = 0;
    for p in paths {
        let file = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file));
        frames += reader.split(b'\n').map(|l| l.expect("readable gzip")).filter(|l| !l.is_empty()).count() as u64;
    }
    frames
}

/// Everything a core needs that can be built once.
struct Setup {
    config: PluginsConfig,
    loader: Loader,
    modules: ModuleResults,
    db_dir: tempfile::TempDir,
    runs: usize,
}

impl Setup {
    fn new(config: PluginsConfig) -> Setup {
        let loader = Loader::new(None).expect("wasm engine");
        let modules = PluginHost::load_modules(&loader, &config);
        for (path, r) in &modules {
            assert!(r.is_ok(), "{}: {:?}; run `make wasm` first", path.display(), r.as_ref().err());
        }
        Setup { config, loader, modules, db_dir: tempfile::tempdir().expect("temp dir"), runs: 0 }
    }

    /// A fresh core over its own SQLite file, as `app::run` builds it.
    fn core(&mut self, symbols: SharedSymbols) -> Core {
        self.runs += 1;
        let store = Store::open(&self.db_dir.path().join(format!("run-{}.db", self.runs))).expect("store opens");
        let settings = CoreSettings {
            skip_first_partial: true,
            tick_capacity: 10_000,
            resume_after_ms: None,
            feed: "replay(4 files)".into(),
            backtest: false,
            mirror_market: false,
        };
        let (bus, _) = tokio::sync::broadcast::channel(4096);
        let plugins = PluginHost::new(self.loader.clone());
        Core::new(settings, symbols, plugins, store, self.config.clone(), &self.modules, bus).expect("core starts")
    }
}

/// Decompress the recordings and split them into lines, as the feed's line reader does.
fn gunzip_lines(paths: &[PathBuf]) -> usize {
    let mut lines = 0;
    for p in paths {
        let file = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let mut reader = std::io::BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(file));
        let mut line = String::new();
        while reader.read_line(&mut line).expect("readable gzip") > 0 {
            lines += 1;
            line.clear();
        }
    }
    lines
}

/// Drive a core over events, flushing every `BATCH` events and at the end.
fn drive(core: &mut Core, events: impl IntoIterator<Item = FeedEvent>) {
    for (n, e) in events.into_iter().enumerate() {
        core.handle(e);
        if (n + 1) % BATCH == 0 {
            core.flush();
        }
    }
    core.flush();
}

fn feed_events(paths: &[PathBuf], symbols: SharedSymbols) -> impl Iterator<Item = FeedEvent> {
    let mut feed = feeds::open_replay(paths, symbols).expect("recordings open");
    std::iter::from_fn(move || feed.next_event().expect("recordings parse"))
}

/// The app's topology: a feed thread batching events to the core over a bounded channel.
fn pipelined(core: &mut Core, paths: &[PathBuf], symbols: SharedSymbols) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<FeedEvent>>(64);
    let paths = paths.to_vec();
    let feed = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(BATCH);
        for e in feed_events(&paths, symbols) {
            batch.push(e);
            if batch.len() >= BATCH && tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err() {
                return;
            }
        }
        let _ = tx.send(batch);
    });
    while let Ok(batch) = rx.recv() {
        for e in batch {
            core.handle(e);
        }
        core.flush();
    }
    feed.join().expect("feed thread");
}

/// Time `iters` runs of `run`, each after an untimed `setup`; records s per run.
fn timed<S>(iters: u64, record: &mut Vec<f64>, mut setup: impl FnMut() -> S, mut run: impl FnMut(&mut S)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut state = setup();
        let started = Instant::now();
        run(&mut state);
        total += started.elapsed();
        black_box(&state);
    }
    record.push(total.as_secs_f64() / iters as f64);
    total
}

fn median(record: &[f64]) -> Option<f64> {
    let mut v = record[record.len().saturating_sub(SAMPLES)..].to_vec();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}

fn replay(c: &mut Criterion) {
    let paths = recordings();
    let frames = count_frames(&paths);
    let mut setup = Setup::new(config(10, 5));
    let mut trading = Setup::new(config(3, 2));
    // Parse once with a table the cores then start from, so symbol ids agree.
    let table: SharedSymbols = feeds::shared_symbols();
    let events: Vec<FeedEvent> = feed_events(&paths, table.clone()).collect();
    let table = table.read().map(|t| t.clone()).unwrap_or_default();
    let fresh = |t: &Symbols| -> SharedSymbols { Arc::new(RwLock::new(t.clone())) };
    let check = |setup: &mut Setup, must_trade: bool| {
        let mut core = setup.core(fresh(&table));
        drive(&mut core, events.iter().copied());
        let h = core.health();
        assert_eq!(h.strategies_running, 2, "both variants must run the whole replay");
        assert!(h.candles > 0, "the replay must close candles");
        assert!(!must_trade || h.fills > 0, "the short-period variants must trade");
        format!("{} events, {} candles, {} orders, {} fills", h.events, h.candles, h.orders, h.fills)
    };
    let checks = [check(&mut setup, false), check(&mut trading, true)];

    let mut group = c.benchmark_group("replay");
    group
        .sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(frames));
    let mut times: [Vec<f64>; 7] = Default::default();
    let [t_agg, t_gunzip, t_feed, t_pre, t_serial, t_pipe, t_trading] = &mut times;

    group.bench_function("aggregator_only", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                t_agg,
                || (CandleAggregator::new(true), Vec::<Candle>::with_capacity(64)),
                |(agg, out)| {
                    for e in &events {
                        if let FeedEvent::Trade(t) = e {
                            agg.on_tick(t, out);
                        } else if let FeedEvent::Clock(now) = e {
                            agg.on_clock(*now, out);
                        }
                    }
                },
            )
        })
    });
    group.bench_function("gunzip_only", |b| {
        b.iter_custom(|iters| timed(iters, t_gunzip, || (), |()| assert_eq!(gunzip_lines(&paths) as u64, frames)))
    });
    group.bench_function("feed_only", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_feed, feeds::shared_symbols, |symbols| {
                black_box(feed_events(&paths, symbols.clone()).count());
            })
        })
    });
    group.bench_function("core_preparsed", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_pre, || setup.core(fresh(&table)), |core| drive(core, events.iter().copied()))
        })
    });
    group.bench_function("core_gunzip_parse", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                t_serial,
                || {
                    let symbols = feeds::shared_symbols();
                    (setup.core(symbols.clone()), symbols)
                },
                |(core, symbols)| drive(core, feed_events(&paths, symbols.clone())),
            )
        })
    });
    group.bench_function("core_pipelined", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                t_pipe,
                || {
                    let symbols = feeds::shared_symbols();
                    (setup.core(symbols.clone()), symbols)
                },
                |(core, symbols)| pipelined(core, &paths, symbols.clone()),
            )
        })
    });
    group.bench_function("core_preparsed_trading", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_trading, || trading.core(fresh(&table)), |core| drive(core, events.iter().copied()))
        })
    });
    group.finish();
    summary(&times, frames, events.len(), &checks);
}

fn summary(times: &[Vec<f64>; 7], frames: u64, events: usize, checks: &[String; 2]) {
    let names = [
        "aggregator_only",
        "gunzip_only",
        "feed_only",
        "core_preparsed",
        "core_gunzip_parse",
        "core_pipelined",
        "core_preparsed_trading",
    ];
    let Some(base) = median(&times[0]) else { return };
    println!("\nreplay summary: {frames} frames -> {events} events");
    println!("one core run, SMA 10 / EMA 5 (plugins.toml): {}", checks[0]);
    println!("one core run, SMA 3 / EMA 2 (trading):       {}", checks[1]);
    println!("{:<24} {:>12} {:>14} {:>16}", "benchmark", "median ms", "frames/s", "x aggregator");
    let mut by_name = HashMap::new();
    for (name, t) in names.iter().zip(times) {
        if let Some(m) = median(t) {
            by_name.insert(*name, frames as f64 / m);
            println!("{name:<24} {:>12.2} {:>14.0} {:>16.1}", m * 1e3, frames as f64 / m, m / base);
        }
    }
    for name in ["core_preparsed", "core_gunzip_parse", "core_pipelined", "core_preparsed_trading"] {
        if let Some(fps) = by_name.get(name) {
            let verdict = if *fps >= GOAL_FRAMES_PER_SEC { "met" } else { "MISSED" };
            println!("goal {name}: >= 1 M frames/s: {verdict} ({:.2} M frames/s)", fps / 1e6);
        }
    }
    println!();
}

criterion_group!(benches, replay);
criterion_main!(benches);
