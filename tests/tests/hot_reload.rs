//! Hot reload while events flow: a replaced `.wasm` goes live with its state and no
//! event lost; a new variant in plugins.toml starts; a broken build or a broken config
//! leaves the running version in place and is reported.

use serde_json::Value;
use std::path::Path;
use tradehost_tests::{Host, Setup, wasm};

const ONE: &str = r#"
version = 1
[[strategy]]
id = "counter"
module = "counter.wasm"
symbols = ["BTCUSDT"]
params = { mode = "ok" }
"#;

/// Signals of one strategy as (build, candle number, candle open time).
fn signals_of(all: &Value, id: &str) -> Vec<(u32, u64, i64)> {
    all.as_array()
        .unwrap()
        .iter()
        .filter(|s| s["strategy"] == id)
        .map(|s| {
            // "build 2 candle #14 at 1723162380000"
            let words: Vec<&str> = s["reason"].as_str().unwrap().split_whitespace().collect();
            (words[1].parse().unwrap(), words[3][1..].parse().unwrap(), words[5].parse().unwrap())
        })
        .collect()
}

fn plugin<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array().unwrap().iter().find(|p| p["id"] == id)
}

/// Replace a file the way editors and build tools do: write aside, then rename.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_module_and_config_while_events_flow() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(
        dir.path(),
        Setup {
            plugins_toml: ONE,
            modules: vec![("counter.wasm", wasm("hostile"))],
            args: ["run", "--speed", "300", "--start-ms", "1723161600000"].map(String::from).to_vec(),
            env: vec![],
        },
    )
    .unwrap();
    let module = dir.path().join("plugins/counter.wasm");

    // 1. A new build replaces the file: it goes live carrying the candle count.
    host.wait_for("/signals?limit=10000", 60, |s| signals_of(s, "counter").len() >= 3).await.unwrap();
    let old_hash = plugin(&host.json("/plugins").await.unwrap(), "counter").unwrap()["hash"].clone();
    replace(&module, &std::fs::read(wasm("hostile-v2")).unwrap());
    let list = host.wait_for("/plugins", 60, |l| plugin(l, "counter").unwrap()["reloads"] == 1).await.unwrap();
    let p = plugin(&list, "counter").unwrap();
    assert_ne!(p["hash"], old_hash);
    assert_eq!(p["state"], "running");
    let sigs = host
        .wait_for("/signals?limit=10000", 60, |s| signals_of(s, "counter").iter().filter(|x| x.0 == 2).count() >= 3)
        .await
        .unwrap();
    let seq = signals_of(&sigs, "counter");
    for (i, pair) in seq.windows(2).enumerate() {
        assert_eq!(pair[1].1, pair[0].1 + 1, "candle count carried across the reload without a gap at {i}: {seq:?}");
        assert_eq!(pair[1].2 - pair[0].2, 60_000, "no candle lost or repeated at {i}: {seq:?}");
        assert!(pair[1].0 >= pair[0].0, "builds only move forward: {seq:?}");
    }
    assert_eq!(seq.first().unwrap().0, 1);
    assert_eq!(seq.last().unwrap().0, 2);

    // 2. A new variant in plugins.toml starts while the old one keeps running.
    let two = format!(
        "{ONE}\n[[strategy]]\nid = \"counter-2\"\nmodule = \"counter.wasm\"\nsymbols = [\"ETHUSDT\"]\nparams = {{ mode = \"ok\" }}\n"
    );
    replace(&dir.path().join("plugins.toml"), two.as_bytes());
    host.wait_for("/signals?limit=10000", 60, |s| signals_of(s, "counter-2").len() >= 2).await.unwrap();
    let list = host.json("/plugins").await.unwrap();
    assert_eq!(plugin(&list, "counter-2").unwrap()["state"], "running");
    assert_eq!(plugin(&list, "counter").unwrap()["reloads"], 1, "an unchanged instance is left alone");

    // 3. A broken build: the running version stays, the error is shown.
    let live_hash = plugin(&list, "counter").unwrap()["hash"].clone();
    replace(&module, b"this is not a component");
    let list = host
        .wait_for("/plugins", 60, |l| {
            plugin(l, "counter").unwrap()["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("reload failed, old version keeps running"))
        })
        .await
        .unwrap();
    let p = plugin(&list, "counter").unwrap();
    assert_eq!((p["state"].as_str(), &p["hash"]), (Some("running"), &live_hash), "{p}");
    let before = signals_of(&host.json("/signals?limit=10000").await.unwrap(), "counter").len();
    host.wait_for("/signals?limit=10000", 60, |s| signals_of(s, "counter").len() >= before + 2).await.unwrap();

    // 4. A broken plugins.toml: nothing changes, the log says why.
    replace(&dir.path().join("plugins.toml"), b"version = 1\n[[strategy]]\nid = \"x\"\n");
    let before = signals_of(&host.json("/signals?limit=10000").await.unwrap(), "counter-2").len();
    host.wait_for("/signals?limit=10000", 60, |s| signals_of(s, "counter-2").len() >= before + 2).await.unwrap();
    let log = std::fs::read_to_string(&host.log).unwrap();
    assert!(log.contains("plugins.toml not applied, running configuration stays"), "{}", host.log_tail());
    assert_eq!(host.json("/plugins").await.unwrap().as_array().unwrap().len(), 2);
}
