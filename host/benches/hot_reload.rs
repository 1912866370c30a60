//! Hot-reload latency, from "a new build replaced the .wasm file" to "the new version is
//! live", and its parts:
//!
//! - `load_*`: `Loader::load_file`: a cold compile (a fresh `Loader` per iteration, so no
//!   cache), a compile served from the on-disk artefact cache (fresh `Loader`, warm
//!   cache directory: what a restart pays), and the in-memory cache hit (same `Loader`);
//! - `swap_*`: `take_snapshot` + `PluginInstance::start` with the snapshot carried, which
//!   is what the core loop does between two events;
//! - `watcher_*`: the real `plugins::watcher` on a temp dir. Each iteration writes a build
//!   to a temp name and renames it over the watched `.wasm`; the clock stops when the
//!   watcher has delivered `WatchEvent::Module` and `PluginHost::apply_module` has swapped
//!   the running instance to that build. `watcher_cached_build` alternates the hostile
//!   fixture's v1 and v2 (both in the loader's in-memory cache after the first round);
//!   `watcher_new_build` makes every build new (v1 with a distinct custom section
//!   appended), so every reload compiles, as a developer's rebuild does;
//!   `watcher_new_build_sma_ema` does the same with the real (larger) SMA/EMA strategy.
//!
//! Needs the components built by `make wasm`.

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};
use tradehost::config::PluginsConfig;
use tradehost::market_data::{Candle, SymbolId, SymbolInfo, Symbols};
use tradehost::plugins::bindings::candle_out;
use tradehost::plugins::watcher::{self, WatchEvent};
use tradehost::plugins::{LoadedModule, Loader, PluginHost, PluginInstance};

/// Criterion samples per benchmark.
const SAMPLES: usize = 10;
/// Goal for "file replaced" to "new version live".
const GOAL_MS: f64 = 150.0;
/// Longest wait for the watcher before the bench fails.
const WATCH_TIMEOUT: Duration = Duration::from_secs(10);

fn wasm(build: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let p = match build {
        "hostile-v2" => root.join("fixture-v2/wasm32-unknown-unknown/wasm/hostile.wasm"),
        name => root.join("wasm32-unknown-unknown/wasm").join(format!("{name}.wasm")),
    };
    assert!(p.is_file(), "{} is missing: run `make wasm` first", p.display());
    p
}

fn read(build: &str) -> Vec<u8> {
    std::fs::read(wasm(build)).unwrap_or_else(|e| panic!("{build}: {e}"))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A distinct but equivalent build: the component with a custom section appended.
fn new_build(base: &[u8], n: u64) -> Vec<u8> {
    let name = b"tradehost-bench-build";
    let payload_len = 1 + name.len() + 8;
    let mut out = base.to_vec();
    out.extend_from_slice(&[0, payload_len as u8, name.len() as u8]);
    out.extend_from_slice(name);
    out.extend_from_slice(&n.to_le_bytes());
    out
}

fn strategy_config(plugin_dir: &Path, module: &str) -> PluginsConfig {
    let toml = format!(
        "version = 1\n[host]\nplugin_dir = {:?}\n[[strategy]]\nid = \"hot\"\nmodule = \"{module}\"\nsymbols = [\"BTCUSDT\"]\n\
         [strategy.params]\nsma_period = 10\nema_period = 5\n\"qty.BTCUSDT\" = \"0.001\"\n",
        plugin_dir.display().to_string()
    );
    PluginsConfig::parse(&toml, &plugin_dir.join("plugins.toml"), &|_| None).expect("valid bench config")
}

/// A running instance of `module`, fed a few candles so its snapshot is not empty.
fn running(module: Arc<LoadedModule>) -> PluginInstance {
    let cfg = strategy_config(Path::new("/bench"), "x.wasm").strategies.remove(0);
    let symbols = vec![(SymbolId(0), SymbolInfo::parse("BTCUSDT").expect("valid symbol"))];
    let mut inst = PluginInstance::new(cfg, symbols, Vec::new());
    inst.start(module, None).expect("module starts");
    for m in 0..20 {
        let p = Decimal::from(60_000 + (m * 37) % 11);
        let c = candle_out(&Candle {
            symbol: SymbolId(0),
            open_time_ms: m * 60_000,
            close_time_ms: m * 60_000 + 59_999,
            open: p,
            high: p,
            low: p,
            close: p,
            volume: Decimal::ONE,
            quote_volume: p,
            trades: 1,
            taker_buy_base: Decimal::ZERO,
            taker_buy_quote: Decimal::ZERO,
        });
        inst.invoke(move |api, st| api.tradehost_strategy_guest().call_on_candle(st, c)).expect("on-candle");
    }
    inst
}

/// Time `iters` runs of `run`, recording ms per run for the summary.
fn timed(iters: u64, record: &mut Vec<f64>, mut run: impl FnMut() -> Duration) -> Duration {
    let total: Duration = (0..iters).map(|_| run()).sum();
    record.push(total.as_secs_f64() * 1e3 / iters as f64);
    total
}

fn median(record: &[f64]) -> Option<f64> {
    let mut v = record[record.len().saturating_sub(SAMPLES)..].to_vec();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}

/// A plugin directory watched by the real watcher, with one instance running from it.
struct Watched {
    dir: tempfile::TempDir,
    /// The watched module's file name.
    file: &'static str,
    host: PluginHost,
    events: Receiver<WatchEvent>,
    _watcher: notify::RecommendedWatcher,
    /// Per replacement, ms since the start: file written and renamed, event received, live.
    stages: Vec<[f64; 3]>,
}

impl Watched {
    fn new(loader: &Loader, file: &'static str, first: &[u8]) -> Watched {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(file), first).expect("write module");
        let config = strategy_config(dir.path(), file);
        std::fs::write(dir.path().join("plugins.toml"), "version = 1\n").expect("write config");
        let modules = PluginHost::load_modules(loader, &config);
        let mut host = PluginHost::new(loader.clone());
        host.apply_config(&config, &modules, &mut Symbols::default(), &HashMap::new());
        assert!(host.instances()[0].is_running(), "{:?}", host.instances()[0].stats.last_error);
        let (tx, events) = channel();
        let w = watcher::spawn(loader.clone(), dir.path().to_path_buf(), dir.path().join("plugins.toml"), |_| None, {
            move |e| tx.send(e).is_ok()
        })
        .expect("watcher starts");
        Watched { dir, file, host, events, _watcher: w, stages: Vec::new() }
    }

    /// Replace the module file atomically and wait until the instance runs that build.
    fn replace(&mut self, bytes: &[u8]) -> Duration {
        let want = hex_sha256(bytes);
        let target = self.dir.path().join(self.file);
        let tmp = self.dir.path().join(format!("{}.part", self.file));
        let started = Instant::now();
        std::fs::write(&tmp, bytes).expect("write build");
        std::fs::rename(&tmp, &target).expect("rename build");
        let renamed = started.elapsed();
        loop {
            let left = WATCH_TIMEOUT.saturating_sub(started.elapsed());
            match self.events.recv_timeout(left) {
                Ok(WatchEvent::Module(path, Ok(m))) if path == target && m.hash == want => {
                    let received = started.elapsed();
                    let report = self.host.apply_module(&path, Ok(m));
                    let inst = &self.host.instances()[0];
                    let live = inst.is_running() && inst.module.as_ref().is_some_and(|m| m.hash == want);
                    assert!(live, "reload not applied: {report:?} {:?}", inst.stats.last_error);
                    let done = started.elapsed();
                    self.stages.push([renamed, received, done].map(|d| d.as_secs_f64() * 1e3));
                    return done;
                }
                Ok(WatchEvent::Module(_, Err(e))) => panic!("watcher rejected the build: {e}"),
                Ok(_) => continue, // a straggler from an earlier replacement
                Err(e) => panic!("no reload within {WATCH_TIMEOUT:?}: {e}"),
            }
        }
    }
}

fn hot_reload(c: &mut Criterion) {
    let (v1, v2) = (read("hostile"), read("hostile-v2"));
    assert_ne!(hex_sha256(&v1), hex_sha256(&v2), "hostile v1 and v2 must differ: run `make wasm`");
    let loader = Loader::new(None).expect("wasm engine");
    let (m1, m2) =
        (loader.load_file(&wasm("hostile")).expect("v1"), loader.load_file(&wasm("hostile-v2")).expect("v2"));
    let m_sma = loader.load_file(&wasm("sma_ema")).expect("sma_ema");
    let cache_dir = tempfile::tempdir().expect("temp dir");
    Loader::new(Some(cache_dir.path().to_path_buf())).and_then(|l| l.load_file(&wasm("hostile"))).expect("warm cache");

    let mut group = c.benchmark_group("hot_reload");
    group
        .sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut times: [Vec<f64>; 9] = Default::default();
    let [t_cold, t_cold_sma, t_disk, t_mem, t_swap, t_swap_sma, t_w_cached, t_w_new, t_w_new_sma] = &mut times;

    for (name, build, record) in
        [("load_cold_compile_hostile", "hostile", t_cold), ("load_cold_compile_sma_ema", "sma_ema", t_cold_sma)]
    {
        let path = wasm(build);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                timed(iters, record, || {
                    let fresh = Loader::new(None).expect("wasm engine");
                    let started = Instant::now();
                    black_box(fresh.load_file(&path).expect("compiles"));
                    started.elapsed()
                })
            })
        });
    }
    let hostile = wasm("hostile");
    group.bench_function("load_disk_cache_hostile", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_disk, || {
                let fresh = Loader::new(Some(cache_dir.path().to_path_buf())).expect("wasm engine");
                let started = Instant::now();
                black_box(fresh.load_file(&hostile).expect("loads"));
                started.elapsed()
            })
        })
    });
    group.bench_function("load_memory_cache_hostile", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_mem, || {
                let started = Instant::now();
                black_box(loader.load_file(&hostile).expect("loads"));
                started.elapsed()
            })
        })
    });

    let (mut inst, mut n) = (running(m1.clone()), 0u64);
    group.bench_function("swap_hostile_v1_v2", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_swap, || {
                n += 1;
                let next = if n % 2 == 1 { m2.clone() } else { m1.clone() };
                let started = Instant::now();
                let carry = inst.take_snapshot();
                inst.start(next, Some(carry)).expect("swap");
                started.elapsed()
            })
        })
    });
    let mut inst_sma = running(m_sma.clone());
    group.bench_function("swap_sma_ema", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_swap_sma, || {
                let started = Instant::now();
                let carry = inst_sma.take_snapshot();
                inst_sma.start(m_sma.clone(), Some(carry)).expect("swap");
                started.elapsed()
            })
        })
    });

    let sma = read("sma_ema");
    let (mut w_cached, mut w_new) =
        (Watched::new(&loader, "hostile.wasm", &v1), Watched::new(&loader, "hostile.wasm", &v1));
    let mut w_new_sma = Watched::new(&loader, "sma_ema.wasm", &sma);
    // Counters live outside the closures: criterion calls a closure once per sample.
    let (mut n_cached, mut n_new, mut n_new_sma) = (0u64, 0u64, 0u64);
    group.bench_function("watcher_cached_build", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_w_cached, || {
                n_cached += 1;
                w_cached.replace(if n_cached % 2 == 1 { &v2 } else { &v1 })
            })
        })
    });
    group.bench_function("watcher_new_build", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_w_new, || {
                n_new += 1;
                w_new.replace(&new_build(&v1, n_new))
            })
        })
    });
    group.bench_function("watcher_new_build_sma_ema", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_w_new_sma, || {
                n_new_sma += 1;
                w_new_sma.replace(&new_build(&sma, n_new_sma))
            })
        })
    });
    group.finish();
    summary(&times);
    stages("watcher_cached_build", &w_cached.stages);
    stages("watcher_new_build", &w_new.stages);
    stages("watcher_new_build_sma_ema", &w_new_sma.stages);
}

/// Where the end-to-end time goes: medians over every replacement after the first.
fn stages(name: &str, stages: &[[f64; 3]]) {
    let at = |i: usize| {
        let mut v: Vec<f64> = stages.iter().skip(1).map(|s| s[i]).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (renamed, received, live) = (at(0), at(1), at(2));
    println!(
        "{name}: {} replacements; median ms since the write began: renamed {renamed:.2}, \
         WatchEvent::Module received {received:.2}, swapped and live {live:.2}",
        stages.len()
    );
}

fn summary(times: &[Vec<f64>; 9]) {
    let names = [
        "load_cold_compile_hostile",
        "load_cold_compile_sma_ema",
        "load_disk_cache_hostile",
        "load_memory_cache_hostile",
        "swap_hostile_v1_v2",
        "swap_sma_ema",
        "watcher_cached_build",
        "watcher_new_build",
        "watcher_new_build_sma_ema",
    ];
    println!("\nhot_reload summary (goal: file replaced -> new version live <= {GOAL_MS} ms)");
    println!("{:<28} {:>12}", "benchmark", "median ms");
    for (name, t) in names.iter().zip(times) {
        if let Some(m) = median(t) {
            let goal = match name.starts_with("watcher_") {
                true if m <= GOAL_MS => "  goal met",
                true => "  goal MISSED",
                false => "",
            };
            println!("{name:<28} {m:>12.3}{goal}");
        }
    }
    println!();
}

criterion_group!(benches, hot_reload);
criterion_main!(benches);
