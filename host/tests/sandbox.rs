//! The sandbox against real components: the SMA/EMA strategy and the hostile fixtures
//! (built by `make wasm`). Each failure mode must be stopped and named.

use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tradehost::config::PluginsConfig;
use tradehost::market_data::{Candle, SymbolId, SymbolInfo};
use tradehost::plugins::bindings::{candle_out, wit};
use tradehost::plugins::{InstanceState, LoadedModule, Loader, PluginInstance};

fn wasm(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = if name == "hostile-v2" {
        root.join("target/fixture-v2/wasm32-unknown-unknown/wasm/hostile.wasm")
    } else {
        root.join("target/wasm32-unknown-unknown/wasm").join(format!("{name}.wasm"))
    };
    assert!(p.is_file(), "{} is missing: run `make wasm` (or `make test`) first", p.display());
    p
}

fn instance(module: &str, extra: &str) -> PluginInstance {
    let toml =
        format!("version = 1\n[[strategy]]\nid = \"t\"\nmodule = \"{module}\"\nsymbols = [\"BTCUSDT\"]\n{extra}");
    let cfg = PluginsConfig::parse(&toml, Path::new("/p/plugins.toml"), &|_| None).unwrap();
    let symbols = vec![(SymbolId(0), SymbolInfo::parse("BTCUSDT").unwrap())];
    PluginInstance::new(cfg.strategies[0].clone(), symbols, Vec::new())
}

fn candle(minute: i64, close: i64) -> wit::Candle {
    let c = Decimal::from(close);
    candle_out(&Candle {
        symbol: SymbolId(0),
        open_time_ms: minute * 60_000,
        close_time_ms: minute * 60_000 + 59_999,
        open: c,
        high: c,
        low: c,
        close: c,
        volume: Decimal::ONE,
        quote_volume: c,
        trades: 1,
        taker_buy_base: Decimal::ZERO,
        taker_buy_quote: Decimal::ZERO,
    })
}

fn on_candle(inst: &mut PluginInstance, minute: i64) -> Option<Vec<wit::Intent>> {
    let c = candle(minute, 100 + minute);
    inst.invoke(move |api, st| api.tradehost_strategy_guest().call_on_candle(st, c))
}

fn load(loader: &Loader, name: &str) -> Arc<LoadedModule> {
    loader.load_file(&wasm(name)).unwrap()
}

#[test]
fn refuses_components_that_do_not_fit_the_contract() {
    let loader = Loader::new(None).unwrap();
    let err = loader.load_file(&wasm("future_contract")).unwrap_err().to_string();
    assert!(
        err.contains("built for contract tradehost:strategy@0.2.0; this host speaks tradehost:strategy@0.1.0"),
        "{err}"
    );
    // The smallest valid component: no exports at all.
    let empty = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    let err = loader.load_bytes(Path::new("empty.wasm"), &empty).unwrap_err().to_string();
    assert!(err.contains("missing export `tradehost:strategy/guest@0.1.0`"), "{err}");
    let err = loader.load_bytes(Path::new("junk.wasm"), b"definitely not wasm").unwrap_err().to_string();
    assert!(err.starts_with("junk.wasm: invalid component"), "{err}");
    let m = load(&loader, "sma_ema");
    assert_eq!(m.contract_version, "0.1.0");
    assert_eq!(m.hash.len(), 64);
}

#[test]
fn each_failure_mode_is_stopped_and_named() {
    let loader = Loader::new(None).unwrap();
    let hostile = load(&loader, "hostile");
    let cases = [
        ("mode = \"loop\"", "[strategy.limits]\nfuel = 1000000", "out of fuel (limit 1000000 per call)"),
        (
            "mode = \"loop\"",
            "[strategy.limits]\nfuel = 100000000000\ndeadline_ms = 20",
            "deadline exceeded (20 ms per call)",
        ),
        ("mode = \"oom\"", "[strategy.limits]\nmemory_mb = 8", "memory limit exceeded (8 MiB)"),
        ("mode = \"panic\"", "", "hostile strategy panicked on purpose at candle 1"),
    ];
    for (params, limits, want) in cases {
        let mut inst = instance("hostile.wasm", &format!("[strategy.params]\n{params}\n{limits}"));
        inst.start(hostile.clone(), None).unwrap();
        assert!(on_candle(&mut inst, 1).is_none(), "{params}: the call must fail");
        let err = inst.stats.last_error.clone().unwrap_or_default();
        assert!(err.contains(want), "{params}: got `{err}`, want `{want}`");
        assert_eq!(inst.stats.traps, 1);
        assert!(matches!(inst.state, InstanceState::Backoff { .. }), "{params}: {:?}", inst.state);
        assert!(!inst.is_running());
    }
    let mut inst = instance("hostile.wasm", "[strategy.params]\nmode = \"init-error\"");
    let err = inst.start(hostile, None).unwrap_err().to_string();
    assert_eq!(err, "init failed: init-error mode: refusing to start");
}

#[test]
fn failing_instance_restarts_with_backoff_then_is_disabled() {
    let loader = Loader::new(None).unwrap();
    let hostile = load(&loader, "hostile");
    let mut inst = instance("hostile.wasm", "[strategy.params]\nmode = \"panic\"\n[strategy.limits]\nmax_failures = 3");
    inst.module = Some(hostile);
    inst.restart_if_due(0);
    assert!(inst.is_running(), "first start: {:?}", inst.stats.last_error);
    let mut now = 0;
    for failure in 1..=3u32 {
        assert!(on_candle(&mut inst, failure as i64).is_none());
        assert_eq!(inst.stats.consecutive_failures, failure);
        if failure < 3 {
            let InstanceState::Backoff { until_ms } = inst.state else { panic!("{:?}", inst.state) };
            assert_eq!(until_ms - now, 1000 << (failure - 1), "backoff doubles");
            inst.restart_if_due(until_ms - 1);
            assert!(!inst.is_running(), "not before the backoff has passed");
            now = until_ms;
            inst.restart_if_due(now);
            assert!(inst.is_running());
            assert_eq!(inst.stats.restarts, failure);
        }
    }
    match &inst.state {
        InstanceState::Disabled { reason } => {
            assert!(reason.starts_with("disabled after 3 consecutive failures; last: "), "{reason}")
        }
        s => panic!("expected disabled, got {s:?}"),
    }
}

#[test]
fn reload_carries_state_into_the_new_build() {
    let loader = Loader::new(None).unwrap();
    let (v1, v2) = (load(&loader, "hostile"), load(&loader, "hostile-v2"));
    assert_ne!(v1.hash, v2.hash);
    let mut inst = instance("hostile.wasm", "");
    inst.start(v1, None).unwrap();
    for m in 1..=3 {
        on_candle(&mut inst, m).unwrap();
    }
    let carry = inst.take_snapshot();
    inst.start(v2, Some(carry)).unwrap();
    let intents = on_candle(&mut inst, 4).unwrap();
    let reasons: Vec<String> = intents
        .into_iter()
        .filter_map(|i| match i {
            wit::Intent::Signal(s) => Some(s.reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, vec![format!("build 2 candle #4 at {}", 4 * 60_000)]);
}

#[test]
fn sma_ema_component_trades_like_its_native_build() {
    let loader = Loader::new(None).unwrap();
    let module = load(&loader, "sma_ema");
    let params = "[strategy.params]\nsma_period = 3\nema_period = 2\n\"qty.BTCUSDT\" = \"0.001\"";
    let mut inst = instance("sma_ema.wasm", params);
    inst.start(module, None).unwrap();
    let closes = [100, 99, 98, 97, 110];
    let mut last = Vec::new();
    for (m, close) in closes.iter().enumerate() {
        let c = candle(m as i64, *close);
        last = inst.invoke(move |api, st| api.tradehost_strategy_guest().call_on_candle(st, c)).unwrap();
    }
    let orders: Vec<_> = last
        .iter()
        .filter_map(|i| match i {
            wit::Intent::Place(o) => Some((o.side, o.tag.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(orders, vec![(wit::Side::Buy, "ema crossed above sma".to_string())]);
}

/// A strategy that does not handle fills (market making) says so on its first one, and
/// the host stops asking; one that does (SMA/EMA places its stop on the fill) keeps
/// getting them. A component built without the import (plain contract) keeps getting
/// them too.
#[test]
fn fills_stop_only_for_strategies_that_ignore_them() {
    let loader = Loader::new(None).unwrap();
    let fill = wit::Fill {
        symbol: 0,
        order_id: 1,
        side: wit::Side::Buy,
        price: tradehost::plugins::bindings::dec_out(Decimal::from(100)),
        qty: tradehost::plugins::bindings::dec_out(Decimal::new(1, 3)),
        fee: tradehost::plugins::bindings::dec_out(Decimal::ZERO),
        time_ms: 60_000,
    };
    let cases = [
        ("market_making", "[strategy.params]\n\"qty.BTCUSDT\" = \"0.001\"", false),
        ("sma_ema", "[strategy.params]\n\"qty.BTCUSDT\" = \"0.001\"", true),
        ("plain_contract", "", true),
    ];
    for (name, params, still_wanted) in cases {
        let mut inst = instance(&format!("{name}.wasm"), params);
        inst.start(load(&loader, name), None).unwrap();
        assert!(inst.wants_fills(), "{name}: fills are wanted until the strategy says otherwise");
        for _ in 0..2 {
            inst.invoke(move |api, st| api.tradehost_strategy_guest().call_on_fill(st, fill)).unwrap();
        }
        assert_eq!(inst.wants_fills(), still_wanted, "{name}");
    }
}

#[test]
fn compiled_artefacts_are_cached_by_content_hash() {
    let dir = tempfile::tempdir().unwrap();
    let first = Loader::new(Some(dir.path().into())).unwrap();
    let a = first.load_file(&wasm("sma_ema")).unwrap();
    assert_eq!(first.counters(), (1, 0), "compiled once");
    assert!(dir.path().join(format!("{}-wasmtime48.0.8.cwasm", a.hash)).is_file());
    first.load_file(&wasm("sma_ema")).unwrap();
    assert_eq!(first.counters(), (1, 0), "same bytes again: served from memory");

    // A restarted host (a new loader on the same directory) does not recompile.
    let second = Loader::new(Some(dir.path().into())).unwrap();
    let b = second.load_file(&wasm("sma_ema")).unwrap();
    assert_eq!((b.hash.as_str(), second.counters()), (a.hash.as_str(), (0, 1)));

    // A damaged artefact is ignored and rebuilt, never trusted.
    std::fs::write(dir.path().join(format!("{}-wasmtime48.0.8.cwasm", a.hash)), b"garbage").unwrap();
    let third = Loader::new(Some(dir.path().into())).unwrap();
    third.load_file(&wasm("sma_ema")).unwrap();
    assert_eq!(third.counters(), (1, 0));
}
