//! Cost of one `on-candle` call through the sandbox, next to the same SMA/EMA strategy
//! compiled natively and driven through `tradehost_sdk::testing::MockHost`, in the same
//! run and over the same random-walk candles. The summary prints median ns per call, the
//! ratio sandboxed / native, and whether the sandboxed call meets its goal.
//!
//! Variants of the sandboxed call:
//! - `sandboxed`: `PluginInstance::invoke` alone (fuel and deadline armed, stats kept);
//! - `sandboxed_last_prices`: plus copying the core's last prices into the store data;
//! - `sandboxed_core_refresh`: plus everything `Core::deliver` does before a call (the
//!   instance id, the account view rebuilt from the paper account, the last prices);
//! - `sandboxed_floor_on_timer`: an `on-timer` call the strategy does not implement, the
//!   cost of crossing the boundary with no argument record, no host calls and no work.
//!
//! Needs the components built by `make wasm`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tradehost::config::PluginsConfig;
use tradehost::execution::Account;
use tradehost::market_data::{Candle, SymbolId, SymbolInfo};
use tradehost::plugins::bindings::{candle_compact_out, candle_out, wit};

/// A candle as the core sends it: the compact form when it fits, else the full record.
type WireCandle = (wit::Candle, Option<wit::CandleCompact>);
use tradehost::plugins::{Loader, PluginInstance};
use tradehost_sdk::testing::MockHost;
use tradehost_sdk::{Ctx, Strategy};

/// Candles in the stream (about a week of one-minute candles); calls cycle through them.
const CANDLES: usize = 10_000;
/// Criterion samples per benchmark.
const SAMPLES: usize = 50;
/// Goal for the median sandboxed call on the development machine (2 cores).
const GOAL_NS: f64 = 500.0;
/// 2024-08-09 00:00:00 UTC.
const START_MS: i64 = 1_723_161_600_000;

const PARAMS: &[(&str, &str)] = &[("sma_period", "10"), ("ema_period", "5"), ("qty.BTCUSDT", "0.001")];

fn wasm(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-unknown-unknown/wasm").join(name);
    assert!(p.is_file(), "{} is missing: run `make wasm` first", p.display());
    p
}

/// A seeded random walk of BTCUSDT candles (cents), so that the EMA and SMA cross often.
fn candles() -> Vec<Candle> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: i64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % (2 * n as u64 + 1)) as i64 - n
    };
    let mut close = 6_000_000_i64;
    (0..CANDLES as i64)
        .map(|m| {
            let open = close;
            close = (close + next(3_000)).max(100);
            let (hi, lo) = (open.max(close) + next(500).abs(), open.min(close) - next(500).abs());
            let volume = Decimal::new(1_000 + next(900), 3);
            Candle {
                symbol: SymbolId(0),
                open_time_ms: START_MS + m * 60_000,
                close_time_ms: START_MS + m * 60_000 + 59_999,
                open: Decimal::new(open, 2),
                high: Decimal::new(hi, 2),
                low: Decimal::new(lo.max(1), 2),
                close: Decimal::new(close, 2),
                volume,
                quote_volume: volume * Decimal::new(close, 2),
                trades: 100 + next(50).unsigned_abs(),
                taker_buy_base: volume / Decimal::TWO,
                taker_buy_quote: volume * Decimal::new(close, 2) / Decimal::TWO,
            }
        })
        .collect()
}

fn sdk_candle(c: &Candle) -> tradehost_sdk::Candle {
    tradehost_sdk::Candle {
        symbol: c.symbol.0,
        open_time_ms: c.open_time_ms,
        close_time_ms: c.close_time_ms,
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
        quote_volume: c.quote_volume,
        trades: c.trades,
        taker_buy_base: c.taker_buy_base,
        taker_buy_quote: c.taker_buy_quote,
    }
}

fn native() -> sma_ema::SmaEma {
    let ctx = tradehost_sdk::InitContext {
        instance: "t".into(),
        symbols: vec![tradehost_sdk::SymbolInfo {
            id: 0,
            name: "BTCUSDT".into(),
            base: "BTC".into(),
            quote: "USDT".into(),
        }],
        params: tradehost_sdk::Params::new(PARAMS.iter().copied()),
    };
    match sma_ema::SmaEma::init(&ctx) {
        Ok((s, _)) => s,
        Err(e) => panic!("native init failed: {e}"),
    }
}

fn sandboxed(loader: &Loader) -> PluginInstance {
    let params: String = PARAMS.iter().map(|(k, v)| format!("\"{k}\" = \"{v}\"\n")).collect();
    // A long wall-clock deadline: arming it costs the same as the default 50 ms, and a
    // bench thread descheduled on a busy 2-core machine must not trip it mid-measurement.
    let toml = format!(
        "version = 1\n[[strategy]]\nid = \"t\"\nmodule = \"sma_ema.wasm\"\nsymbols = [\"BTCUSDT\"]\n\
         [strategy.limits]\ndeadline_ms = 10000\n[strategy.params]\n{params}"
    );
    let cfg = PluginsConfig::parse(&toml, Path::new("/p/plugins.toml"), &|_| None).expect("valid test config");
    let symbols = vec![(SymbolId(0), SymbolInfo::parse("BTCUSDT").expect("valid symbol"))];
    let mut inst = PluginInstance::new(cfg.strategies[0].clone(), symbols, Vec::new());
    let module = loader.load_file(&wasm("sma_ema.wasm")).expect("sma_ema.wasm loads");
    inst.start(module, None).expect("sma_ema starts");
    inst
}

fn call(inst: &mut PluginInstance, c: &WireCandle) -> Vec<wit::Intent> {
    let (wide, compact) = *c;
    match inst.invoke(move |api, st| match compact {
        Some(k) => api.tradehost_strategy_guest().call_on_candle_compact(st, k),
        None => api.tradehost_strategy_guest().call_on_candle(st, wide),
    }) {
        Some(intents) => intents,
        None => panic!("sandboxed call failed: {:?}", inst.stats.last_error),
    }
}

/// Both builds must decide the same over one pass of the stream, or the comparison
/// measures two different workloads.
fn check_parity(loader: &Loader, host_candles: &[tradehost_sdk::Candle], wit_candles: &[WireCandle]) -> usize {
    let (mut n, host, mut s) = (native(), MockHost::default(), sandboxed(loader));
    let mut orders = 0;
    for (hc, wc) in host_candles.iter().zip(wit_candles) {
        let mut cx = Ctx::new(&host);
        n.on_candle(&mut cx, hc);
        let native_orders = cx.take_intents().iter().filter(|i| matches!(i, tradehost_sdk::Intent::Place(_))).count();
        let wasm_orders = call(&mut s, wc).iter().filter(|i| matches!(i, wit::Intent::Place(_))).count();
        assert_eq!(native_orders, wasm_orders, "native and sandboxed builds disagree at {}", hc.open_time_ms);
        orders += native_orders;
    }
    assert!(orders > 0, "the stream must make the strategy trade");
    orders
}

/// Time `iters` calls of `f`, recording ns per call for the summary.
fn timed(iters: u64, record: &mut Vec<f64>, mut f: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        f();
    }
    let elapsed = started.elapsed();
    record.push(elapsed.as_nanos() as f64 / iters as f64);
    elapsed
}

/// Median ns per call over the measured samples (criterion's warm-up runs come first).
fn median(record: &[f64]) -> Option<f64> {
    let mut v = record[record.len().saturating_sub(SAMPLES)..].to_vec();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}

fn sandbox(c: &mut Criterion) {
    let stream = candles();
    let host_candles: Vec<tradehost_sdk::Candle> = stream.iter().map(sdk_candle).collect();
    let wit_candles: Vec<WireCandle> = stream.iter().map(|c| (candle_out(c), candle_compact_out(c))).collect();
    assert!(wit_candles.iter().all(|(_, k)| k.is_some()), "the bench stream takes the compact path");
    let loader = Loader::new(None).expect("wasm engine");
    let orders = check_parity(&loader, &host_candles, &wit_candles);

    let mut group = c.benchmark_group("sandbox_on_candle");
    group.sample_size(SAMPLES).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    let mut times: [Vec<f64>; 5] = Default::default();
    let [t_native, t_sandboxed, t_prices, t_refresh, t_floor] = &mut times;

    // State lives outside the closures (criterion calls each once per sample), so every
    // benchmark walks the stream once through one strategy instance.
    let (mut s, host, mut i) = (native(), MockHost::default(), 0usize);
    group.bench_function("native", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_native, || {
                let mut cx = Ctx::new(&host);
                s.on_candle(&mut cx, &host_candles[i % CANDLES]);
                black_box(cx.take_intents());
                i += 1;
            })
        })
    });

    let (mut inst, mut i) = (sandboxed(&loader), 0usize);
    group.bench_function("sandboxed", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_sandboxed, || {
                black_box(call(&mut inst, &wit_candles[i % CANDLES]));
                i += 1;
            })
        })
    });

    // What the core keeps: one last price per interned symbol (BTCUSDT, ETHUSDT).
    let last_prices = vec![Some(Decimal::new(6_183_763, 2)), Some(Decimal::new(268_380, 2))];
    let (mut inst, mut i) = (sandboxed(&loader), 0usize);
    group.bench_function("sandboxed_last_prices", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_prices, || {
                if let Some(hs) = inst.host_state() {
                    hs.last_prices.clone_from(&last_prices);
                }
                black_box(call(&mut inst, &wit_candles[i % CANDLES]));
                i += 1;
            })
        })
    });

    let account = Account::new(BTreeMap::from([("USDT".to_string(), Decimal::from(10_000))]), Decimal::new(1, 3));
    let (mut inst, mut i) = (sandboxed(&loader), 0usize);
    group.bench_function("sandboxed_core_refresh", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_refresh, || {
                if let Some(hs) = inst.host_state() {
                    hs.last_prices.clone_from(&last_prices);
                    hs.account.refresh(&account, &[], &hs.instance);
                }
                black_box(call(&mut inst, &wit_candles[i % CANDLES]));
                i += 1;
            })
        })
    });
    // The floor of any event call: `on-timer`, which the strategy leaves to the SDK's
    // default (no work, no intents), so only the boundary crossing is left.
    let mut inst = sandboxed(&loader);
    group.bench_function("sandboxed_floor_on_timer", |b| {
        b.iter_custom(|iters| {
            timed(iters, t_floor, || {
                let out = inst.invoke(|api, st| api.tradehost_strategy_guest().call_on_timer(st, START_MS));
                assert!(out.is_some_and(|i| i.is_empty()), "on-timer must be a no-op");
            })
        })
    });
    group.finish();
    summary(&times, orders);
}

fn summary(times: &[Vec<f64>; 5], orders: usize) {
    let names = ["native", "sandboxed", "sandboxed_last_prices", "sandboxed_core_refresh", "sandboxed_floor_on_timer"];
    let Some(base) = median(&times[0]) else { return };
    println!("\nsandbox_on_candle summary ({CANDLES} random-walk candles, {orders} orders per pass in both builds)");
    println!("{:<24} {:>12} {:>14} {:>10}", "benchmark", "median ns", "calls/s", "x native");
    for (name, t) in names.iter().zip(times) {
        if let Some(m) = median(t) {
            println!("{name:<24} {m:>12.1} {:>14.0} {:>10.2}", 1e9 / m, m / base);
        }
    }
    if let Some(m) = median(&times[1]) {
        let verdict = if m <= GOAL_NS { "met" } else { "MISSED" };
        println!("goal: sandboxed median <= {GOAL_NS} ns per call: {verdict} ({m:.1} ns)\n");
    }
}

criterion_group!(benches, sandbox);
criterion_main!(benches);
