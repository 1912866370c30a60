//! Tick-to-order latency through the whole host, on loopback against the fake Binance:
//! the spread strategy (`.wasm`, deciding on every trade) runs in the real host
//! (`app::run`); each round pushes one trade that makes it trade. Two numbers per round:
//!
//! * **host**: frame received by the WebSocket session -> signed order request handed to
//!   the HTTP client (the `connectors::latency` probe): parse, core loop, aggregator,
//!   the sandboxed strategy, risk and filters, the SQLite write of the order (orders are
//!   journaled before they leave), the router, signing.
//! * **wire**: trade pushed at the fake -> order request received by the fake's handler
//!   (adds the fake's WebSocket write, loopback both ways and HTTP parsing).
//!
//! The host runs twice against the same fake: as by default (the core thread sleeps
//! between events), then with `--busy-poll` (it polls), and the ratio of the host p50s is
//! printed.
//!
//! `cargo bench -p tradehost --bench tick_to_order` (needs `make wasm` for spread.wasm).

use rust_decimal::Decimal;
use std::time::{Duration, Instant};
use tradehost::app::{self, FeedChoice, RunSettings};
use tradehost_tests::fake::{self, FakeKeys};

const ROUNDS: usize = 2000;

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn env_lookup(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

type Samples = std::collections::BTreeMap<String, Vec<Duration>>;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wasm = root.join("target/wasm32-unknown-unknown/wasm/spread.wasm");
    assert!(wasm.is_file(), "{} is missing: run `make wasm`", wasm.display());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(&wasm, dir.path().join("plugins/spread.wasm")).unwrap();
    std::fs::write(
        dir.path().join("plugins.toml"),
        "version = 1\n[[strategy]]\nid = \"bench\"\nmodule = \"spread.wasm\"\nsymbols = [\"BTCUSDT\"]\nvenue = \"binance\"\n\
         [strategy.params]\nqty = \"0.01\"\nspread_threshold = \"0.001\"\nticks = true\nmax_trades = 1000000\n\
         max_daily_loss = \"1000000000\"\n[strategy.account]\nbalances = { USDT = \"1000000\" }\n",
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let fake = rt.block_on(fake::binance::start(FakeKeys::default()));
    for (k, v) in fake.env("BINANCE") {
        // SAFETY: set before the host starts any thread that reads the environment.
        unsafe { std::env::set_var(k, v) };
    }
    fake.state.push_trade("BTCUSDT", Decimal::from(60_000), Decimal::ONE, false);
    // The default (the core thread sleeps between events), then `--busy-poll`, one after
    // the other against the same fake exchange.
    let mut results = Vec::new();
    for busy_poll in [false, true] {
        results.push((busy_poll, run_host(&fake, dir.path(), busy_poll)));
    }
    let show = |mode: &str, name: &str, v: &mut Vec<Duration>| {
        let (p50, p99) = (percentile(v, 0.50), percentile(v, 0.99));
        println!(
            "tick_to_order/{mode}/{name}: n={} p50={:.1} µs p99={:.1} µs",
            v.len(),
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
        p50
    };
    let mut host_p50 = Vec::new();
    for (busy_poll, mut samples) in results {
        let mode = if busy_poll { "busy-poll" } else { "default" };
        for (name, v) in samples.iter_mut().filter(|(n, _)| n.starts_with("stage")) {
            show(mode, &format!("  {name}"), v);
        }
        host_p50.push(show(mode, "host (frame received -> signed request)", samples.get_mut("host").unwrap()));
        show(mode, "wire (trade pushed at the fake -> order at the fake)", samples.get_mut("wire").unwrap());
    }
    println!(
        "tick_to_order/busy-poll vs default, host p50: {:.2}x",
        host_p50[0].as_secs_f64() / host_p50[1].as_secs_f64()
    );
}

/// Start the host on the fake, trade `ROUNDS` times, stop it: the probe's stages, the
/// host-side and the wire-side samples. The host has a runtime of its own, dropped at the
/// end, so nothing of one run is left working during the next.
fn run_host(fake: &fake::FakeExchange, dir: &std::path::Path, busy_poll: bool) -> Samples {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mode = if busy_poll { "busy" } else { "default" };
    let settings = RunSettings {
        config_path: dir.join("plugins.toml"),
        feed: FeedChoice::Live(Vec::new()),
        speed: 1.0,
        db: dir.join(format!("state-{mode}.db")),
        cache_dir: dir.join("cache"),
        bind: std::net::IpAddr::from([127, 0, 0, 1]),
        port: 0,
        ws_port: 0,
        api_key: None,
        env: env_lookup,
        busy_poll,
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let host = rt.spawn(app::run(
        settings,
        move |b| {
            let _ = bound_tx.send(b);
        },
        async {
            let _ = stop_rx.await;
        },
    ));
    let bound = bound_rx.recv_timeout(Duration::from_secs(60)).expect("host started");
    let client = reqwest::blocking_free_client();
    let ready = format!("http://{}/api/v1/risk", bound.rest);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = rt.block_on(async { client.get(&ready).send().await.ok()?.text().await.ok() }).unwrap_or_default();
        if body.contains("\"ready\":true") {
            break;
        }
        assert!(Instant::now() < deadline, "venue never ready: {body}");
        std::thread::sleep(Duration::from_millis(20));
    }
    tradehost::connectors::latency::enable();
    // Only this run's rounds: nothing left from the previous run's exit or this one's start.
    let _ = (tradehost::connectors::latency::take_samples(), tradehost::connectors::latency::take_stages());
    let mut wire = Vec::with_capacity(ROUNDS);
    let up = Decimal::from(60_120);
    for i in 0..ROUNDS {
        let price = if i % 2 == 0 { Decimal::from(60_000) } else { up };
        let before = fake.state.order_instants().len();
        let t0 = Instant::now();
        fake.state.push_trade("BTCUSDT", price, Decimal::new(1, 2), i % 2 == 1);
        // Blocks on the fake's notification: no polling thread competes with the host.
        let at = fake.state.wait_order_instant(before, Duration::from_secs(5));
        wire.push(at.unwrap_or_else(|| panic!("round {i}: no order")) - t0);
        // Let the fill come back before the next decision.
        std::thread::sleep(Duration::from_millis(3));
    }
    let mut samples = Samples::new();
    samples.insert("host".into(), tradehost::connectors::latency::take_samples());
    samples.insert("wire".into(), wire);
    for (name, d) in tradehost::connectors::latency::take_stages() {
        samples.entry(format!("stage {name}")).or_default().push(d);
    }
    let _ = stop_tx.send(());
    let _ = rt.block_on(host);
    rt.shutdown_timeout(Duration::from_secs(2));
    samples
}

mod reqwest {
    pub fn blocking_free_client() -> ::reqwest::Client {
        ::reqwest::Client::new()
    }
}
