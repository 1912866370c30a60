//! Faults on the live path, through the real binary against the fake Binance: the order
//! submit meets a 429, the socket drops mid-stream, trade ids are skipped, the next
//! submit meets a 418 and the exchange clock is skewed past the receive window. The host
//! must end with the same candles as the exchange's full trade history, exactly two
//! orders at the exchange, and the position the exchange's fills make.

use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tradehost_tests::fake::{self, FakeKeys, FakeTrade};
use tradehost_tests::{Host, Setup, wasm};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn num(v: &Value) -> Decimal {
    d(v.to_string().trim_matches('"'))
}

async fn wait_until(what: &str, secs: u64, host: &Host, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}\nlog:\n{}", host.log_tail());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The binary running `toml` (one strategy, `module`.wasm) against `fake` (keys in the
/// `prefix`_* environment), once its venue is ready; a last price is there before it
/// connects.
async fn start(fake: &fake::FakeExchange, prefix: &str, dir: &std::path::Path, toml: &str, module: &str) -> Host {
    fake.state.push_trade("BTCUSDT", d("60000"), d("0.5"), false);
    let vars = fake.env(prefix);
    let env = vars.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let file = format!("{module}.wasm");
    let setup = Setup { plugins_toml: toml, modules: vec![(&file, wasm(module))], args: vec!["run".into()], env };
    let host = Host::start(dir, setup).unwrap();
    host.wait_for("/api/v1/risk", 60, |v| v["venues"][0]["ready"] == Value::Bool(true)).await.unwrap();
    host
}

/// (open, high, low, close, volume) per minute, from the exchange's trade history.
fn candles(trades: &[FakeTrade]) -> BTreeMap<i64, (Decimal, Decimal, Decimal, Decimal, Decimal)> {
    let mut out: BTreeMap<i64, (Decimal, Decimal, Decimal, Decimal, Decimal)> = BTreeMap::new();
    for t in trades {
        let m = t.time_ms - t.time_ms.rem_euclid(60_000);
        let c = out.entry(m).or_insert((t.price, t.price, t.price, t.price, Decimal::ZERO));
        c.1 = c.1.max(t.price);
        c.2 = c.2.min(t.price);
        c.3 = t.price;
        c.4 += t.qty;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binance_faults_leave_candles_orders_and_position_right() {
    let fake = fake::binance::start(FakeKeys::default()).await;
    let s = &fake.state;
    let dir = tempfile::tempdir().unwrap();
    let toml = "version = 1\n[[strategy]]\nid = \"live\"\nmodule = \"spread.wasm\"\nsymbols = [\"BTCUSDT\"]\n\
                venue = \"binance\"\n[strategy.params]\nqty = \"0.01\"\nspread_threshold = \"0.001\"\nticks = true\n";
    let host = start(&fake, "BINANCE", dir.path(), toml, "spread").await;
    let connections = s.ws_connections();

    // Minutes chosen ahead of the clock, so candles close on trade time alone.
    let now = chrono_free_now();
    let m1 = now - now.rem_euclid(60_000) + 120_000;
    let (m2, m3, m4) = (m1 + 60_000, m1 + 120_000, m1 + 180_000);

    // Minute 1: the strategy buys; its first submit is throttled (429, Retry-After 1 s).
    s.fail_next(429, Some(1));
    s.push_trade_at("BTCUSDT", d("60000"), d("0.1"), true, m1 + 1_000);
    wait_until("the buy to fill despite the 429", 20, &host, || s.orders().iter().any(|o| o.status == "FILLED")).await;

    // The socket drops mid-stream; trades go on while the host reconnects.
    s.drop_connections();
    for (i, p) in ["60010", "60005", "60020"].iter().enumerate() {
        s.push_trade_at("BTCUSDT", d(p), d("0.03"), i % 2 == 0, m1 + 20_000 + i as i64 * 1_000);
    }
    wait_until("the reconnect", 20, &host, || s.ws_connections() > connections + 1).await;

    // Minute 2: three trade ids never reach the socket (REST backfill fills the gap).
    s.hide_next_trades(3);
    for (i, p) in ["60030", "59990", "60015", "60025", "60040"].iter().enumerate() {
        s.push_trade_at("BTCUSDT", d(p), d("0.02"), i % 2 == 1, m2 + 5_000 + i as i64 * 500);
    }

    // Minute 3: up 0.2 %, the strategy sells; that submit meets a 418 (Retry-After 2 s)
    // and, after it, a server clock 3 s behind the host (outside Binance's +1 s).
    s.fail_next(418, Some(2));
    s.set_clock_skew(-3_000);
    s.push_trade_at("BTCUSDT", d("60120"), d("0.05"), false, m3 + 2_000);
    wait_until("the sell to fill despite the 418 and the skew", 30, &host, || {
        s.orders().iter().filter(|o| o.status == "FILLED").count() == 2
    })
    .await;
    // Minute 4 opens: minutes 2 and 3 close; flat again, the strategy buys again.
    s.push_trade_at("BTCUSDT", d("60100"), d("0.01"), true, m4 + 1_000);
    wait_until("the second buy", 20, &host, || s.orders().iter().filter(|o| o.status == "FILLED").count() == 3).await;

    // Candles: equal to the exchange's history (minute 1 is the feed's partial first minute, skipped).
    let want = candles(&s.trades("BTCUSDT", Some(0), usize::MAX));
    let got = host
        .wait_for("/candles/BTCUSDT", 20, |v| v.as_array().is_some_and(|a| a.iter().any(|c| c["open_time"] == m3)))
        .await
        .unwrap();
    let got: BTreeMap<i64, (Decimal, Decimal, Decimal, Decimal, Decimal)> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let t = c["open_time"].as_i64().unwrap();
            (t, (num(&c["open"]), num(&c["high"]), num(&c["low"]), num(&c["close"]), num(&c["volume"])))
        })
        .collect();
    for m in [m2, m3] {
        assert_eq!(got.get(&m), want.get(&m), "candle {m}: host vs exchange history");
    }
    assert!(!got.contains_key(&m1), "the partial first minute is not a candle");

    // Orders: one at the exchange per decision (buy, sell, buy), every signature valid.
    let orders = s.orders();
    let sides: Vec<&str> = orders.iter().map(|o| o.side.as_str()).collect();
    assert_eq!(sides, ["BUY", "SELL", "BUY"], "no duplicate order: {orders:#?}");
    let mut ids: Vec<&str> = orders.iter().map(|o| o.client_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let host_orders = host.json("/orders").await.unwrap();
    let placed = host_orders.as_array().unwrap().iter().filter(|o| o["status"] != "REJECTED").count();
    assert_eq!(placed, 3, "the host's orders: {host_orders}");
    assert_eq!(s.signature_failures(), 0);
    assert!(s.timestamp_rejections() >= 1, "the skew was seen and corrected");

    // Position: the BTC the exchange's fills leave (bought, sold, bought again: 0.01 less
    // the fees taken in BTC).
    let fills = s.fills(Some("BTCUSDT"));
    let in_btc = |f: &fake::FakeFill| if f.fee_asset == "BTC" { f.fee } else { Decimal::ZERO };
    let net: Decimal = fills.iter().map(|f| if f.side == "BUY" { f.qty } else { -f.qty } - in_btc(f)).sum();
    let positions = host.json("/positions").await.unwrap();
    let held: Decimal = positions.as_array().unwrap().iter().map(|p| num(&p["qty"])).sum();
    assert_eq!(held, net, "host position vs exchange fills: {positions}");
    let trades = host.json("/trades").await.unwrap();
    assert_eq!(trades.as_array().unwrap().len(), fills.len(), "every exchange fill recorded once: {trades}");
    host.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kucoin_candles_built_without_the_trades_of_a_disconnect_are_repaired() {
    // KuCoin's catch-up after a reconnect is its last 100 trades and cannot page back: when
    // more were missed, the candles of those minutes were built without them. The host
    // replaces them, once closed, with the venue's own klines.
    let fake = fake::kucoin::start(FakeKeys::default()).await;
    let s = &fake.state;
    let dir = tempfile::tempdir().unwrap();
    let toml = "version = 1\n[[strategy]]\nid = \"watch\"\nmodule = \"sma_ema.wasm\"\nsymbols = [\"BTCUSDT\"]\n\
                venue = \"kucoin\"\n[strategy.params]\nqty = \"0.01\"\n";
    let host = start(&fake, "KUCOIN", dir.path(), toml, "sma_ema").await;
    let connections = s.ws_connections();

    // Minutes ahead of the clock, so candles close on trade time alone.
    let now = chrono_free_now();
    let m1 = now - now.rem_euclid(60_000) + 120_000;
    let (m2, m3) = (m1 + 60_000, m1 + 120_000);
    s.push_trade_at("BTCUSDT", d("60000"), d("0.1"), true, m1 + 1_000);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 300 trades while the socket is down, over minutes 1 and 2: the catch-up gets the
    // last 100, so minute 1 and the start of minute 2 lose 200 trades.
    s.drop_connections();
    for i in 0..300i64 {
        let price = d("60000") + Decimal::from((i * 7) % 90) - Decimal::from(45);
        s.push_trade_at("BTCUSDT", price, d("0.01"), i % 2 == 0, m1 + 2_000 + i * 400);
    }
    wait_until("the reconnect", 20, &host, || s.ws_connections() > connections).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Minute 3 opens: minutes 1 and 2 close (built without the lost trades), then repaired.
    s.push_trade_at("BTCUSDT", d("60010"), d("0.02"), false, m3 + 1_000);

    let want = candles(&s.trades("BTCUSDT", Some(0), usize::MAX));
    let ohlcv = |v: &Value| -> BTreeMap<i64, (Decimal, Decimal, Decimal, Decimal, Decimal)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let t = c["open_time"].as_i64().unwrap();
                (t, (num(&c["open"]), num(&c["high"]), num(&c["low"]), num(&c["close"]), num(&c["volume"])))
            })
            .collect()
    };
    let repaired = host
        .wait_for("/candles/BTCUSDT", 30, |v| {
            let got = ohlcv(v);
            [m1, m2].iter().all(|m| got.contains_key(m) && got.get(m) == want.get(m))
        })
        .await;
    let got = host.json("/candles/BTCUSDT").await.unwrap();
    assert!(
        repaired.is_ok(),
        "minutes 1 and 2 as the exchange has them: want {want:?}\ngot {got}\nlog:\n{}",
        host.log_tail()
    );
    assert!(host.log_tail().contains("candle repaired"), "the repair is logged");
    host.stop().unwrap();
}

fn chrono_free_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
