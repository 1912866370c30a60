//! Hostile strategies next to a good one: each is stopped and named in /plugins while
//! the host keeps serving and the good strategy keeps trading.

use serde_json::Value;
use tradehost_tests::{Host, Setup, wasm};

const CONFIG: &str = r#"
version = 1
[defaults.limits]
max_failures = 3

[[strategy]]
id = "good"
module = "sma_ema.wasm"
symbols = ["BTCUSDT", "ETHUSDT"]
[strategy.params]
sma_period = 3
ema_period = 2
qty = { BTCUSDT = "0.001", ETHUSDT = "0.01" }

[[strategy]]
id = "looper"
module = "hostile.wasm"
symbols = ["BTCUSDT"]
params = { mode = "loop", after = 2 }
limits = { fuel = 5000000 }

[[strategy]]
id = "sleeper"
module = "hostile.wasm"
symbols = ["BTCUSDT"]
params = { mode = "loop" }
limits = { fuel = 100000000000, deadline_ms = 30 }

[[strategy]]
id = "bomber"
module = "hostile.wasm"
symbols = ["ETHUSDT"]
params = { mode = "oom" }
limits = { memory_mb = 8 }

[[strategy]]
id = "panicker"
module = "hostile.wasm"
symbols = ["ETHUSDT"]
params = { mode = "panic" }

[[strategy]]
id = "junk"
module = "junk.wasm"
symbols = ["BTCUSDT"]

[[strategy]]
id = "future"
module = "future_contract.wasm"
symbols = ["BTCUSDT"]

[[strategy]]
id = "hollow"
module = "hollow.wasm"
symbols = ["BTCUSDT"]

[[strategy]]
id = "refuser"
module = "hostile.wasm"
symbols = ["BTCUSDT"]
params = { mode = "init-error" }
"#;

fn plugin<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("no plugin {id} in {list}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_strategies_are_contained_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("junk.wasm"), b"\0asm but not really").unwrap();
    std::fs::write(plugins.join("hollow.wasm"), [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]).unwrap();
    let host = Host::start(
        dir.path(),
        Setup {
            plugins_toml: CONFIG,
            modules: vec![
                ("sma_ema.wasm", wasm("sma_ema")),
                ("hostile.wasm", wasm("hostile")),
                ("future_contract.wasm", wasm("future_contract")),
            ],
            args: ["run", "--speed", "1200", "--start-ms", "1723161600000"].map(String::from).to_vec(),
            env: vec![],
        },
    )
    .unwrap();

    // Wait until every runtime failure has disabled its instance (3 failures each).
    let list = host
        .wait_for("/plugins", 120, |l| {
            ["looper", "sleeper", "bomber", "panicker"].iter().all(|id| plugin(l, id)["state"] == "disabled")
        })
        .await
        .unwrap();
    let expect = [
        ("looper", "out of fuel (limit 5000000 per call)"),
        ("sleeper", "deadline exceeded (30 ms per call)"),
        ("bomber", "memory limit exceeded (8 MiB)"),
        ("panicker", "hostile strategy panicked on purpose"),
        ("junk", "invalid component"),
        ("future", "component built for contract tradehost:strategy@0.2.0; this host speaks tradehost:strategy@0.1.0"),
        ("hollow", "missing export `tradehost:strategy/guest@0.1.0`"),
        ("refuser", "init failed: init-error mode: refusing to start"),
    ];
    for (id, cause) in expect {
        let p = plugin(&list, id);
        let err = p["last_error"].as_str().unwrap_or_default();
        assert!(err.contains(cause), "{id}: `{err}` should name `{cause}`");
    }
    for id in ["looper", "sleeper", "bomber", "panicker"] {
        let p = plugin(&list, id);
        assert_eq!(p["traps"], 3, "{id}: {p}");
        assert_eq!(p["restarts"], 2, "{id} was restarted from its snapshot before being disabled: {p}");
        assert!(p["last_error"].as_str().unwrap().starts_with("disabled after 3 consecutive failures"), "{p}");
    }
    for id in ["junk", "future", "hollow", "refuser"] {
        assert_eq!(plugin(&list, id)["state"], "disabled", "{id}");
    }

    // The good strategy kept trading after all of that, and the host keeps serving.
    let calls_then = plugin(&list, "good")["calls"].as_u64().unwrap();
    let trades_then = host.json("/trades?strategy=good").await.unwrap().as_array().unwrap().len();
    host.wait_for("/plugins", 60, |l| {
        let g = plugin(l, "good");
        g["state"] == "running" && g["calls"].as_u64().unwrap() > calls_then + 20
    })
    .await
    .unwrap();
    let trades_now = host.json("/trades?strategy=good").await.unwrap().as_array().unwrap().len();
    assert!(trades_now > trades_then, "good strategy still trades ({trades_then} -> {trades_now})");
    assert_eq!(host.json("/health").await.unwrap()["status"], "ok");
}
