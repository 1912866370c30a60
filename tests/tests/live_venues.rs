//! The live trading path end to end, per exchange: the real `tradehost` binary runs the
//! spread strategy (`.wasm`, deciding on every trade) with `venue = "<exchange>"` against a
//! local fake of that exchange. The fake's market trades reach the strategy over the
//! venue's WebSocket, its orders leave the host signed (the fake verifies every
//! signature like the exchange), fills come back over the private stream, and after a
//! kill -9 and restart the host reconciles without sending any order twice.

use rust_decimal::Decimal;
use serde_json::Value;
use std::time::Duration;
use tradehost_tests::fake::{self, FakeExchange, FakeKeys};
use tradehost_tests::{Host, Setup, wasm};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A decimal from a JSON string or number, exactly as written.
fn num(v: &Value) -> Decimal {
    d(v.to_string().trim_matches('"'))
}

fn config(venue: &str) -> String {
    format!(
        "version = 1\n[[strategy]]\nid = \"live-{venue}\"\nmodule = \"spread.wasm\"\nsymbols = [\"BTCUSDT\"]\n\
         venue = \"{venue}\"\n[strategy.params]\nqty = \"0.01\"\nspread_threshold = \"0.001\"\nticks = true\n"
    )
}

fn env(fake: &FakeExchange, prefix: &str) -> Vec<(&'static str, String)> {
    fake.env(prefix).into_iter().map(|(k, v)| (&*Box::leak(k.into_boxed_str()), v)).collect()
}

async fn wait_until(what: &str, secs: u64, host: &Host, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}\nlog:\n{}", host.log_tail());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn ready(host: &Host) {
    host.wait_for("/api/v1/risk", 60, |v| v["venues"][0]["ready"] == Value::Bool(true)).await.unwrap();
}

async fn round_trip(venue: &str, prefix: &str, fake: FakeExchange) {
    let dir = tempfile::tempdir().unwrap();
    // A last price before the host connects, so the first market order has a price.
    fake.state.push_trade("BTCUSDT", d("60000"), d("0.5"), false);
    let setup = Setup {
        plugins_toml: &config(venue),
        modules: vec![("spread.wasm", wasm("spread"))],
        args: vec!["run".into()],
        env: env(&fake, prefix),
    };
    let host = Host::start(dir.path(), setup).unwrap();
    ready(&host).await;

    // Flat: the strategy buys at market on the next trade.
    fake.state.push_trade("BTCUSDT", d("60000"), d("0.2"), true);
    wait_until("the buy to fill at the fake", 20, &host, || {
        fake.state.orders().iter().any(|o| o.side == "BUY" && o.status == "FILLED")
    })
    .await;
    let fills = host
        .wait_for("/trades", 20, |v| v.as_array().is_some_and(|a| a.iter().any(|t| t["side"] == "BUY")))
        .await
        .unwrap();
    let buy = fills.as_array().unwrap().iter().find(|t| t["side"] == "BUY").unwrap().clone();
    assert_eq!(num(&buy["price"]), d("60000"), "{buy}");
    assert_eq!(num(&buy["qty"]), d("0.01"), "{buy}");
    // The exchange took its fee out of the bought BTC (as real venues do on a buy): the
    // position is what the account holds, and the fee is booked, valued in USDT.
    let ex_buy = fake.state.fills(Some("BTCUSDT")).into_iter().find(|f| f.side == "BUY").unwrap();
    assert_eq!(ex_buy.fee_asset, "BTC");
    host.wait_for("/trades", 20, |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|t| t["side"] == "BUY" && num(&t["fee"]) == ex_buy.fee * ex_buy.price))
    })
    .await
    .unwrap_or_else(|e| panic!("the buy's fee ({} BTC) booked: {e}", ex_buy.fee));
    let positions = host.json("/positions").await.unwrap();
    let held: Decimal =
        positions.as_array().map(|a| a.iter().filter_map(|p| p["qty"].as_str().map(d)).sum()).unwrap_or_default();
    assert_eq!(held, ex_buy.qty - ex_buy.fee, "the position is the BTC the exchange credited: {positions}");

    // Long and up 0.2 % (threshold 0.1 %): the strategy sells.
    fake.state.push_trade("BTCUSDT", d("60120"), d("0.2"), false);
    wait_until("the sell to fill at the fake", 20, &host, || {
        fake.state.orders().iter().any(|o| o.side == "SELL" && o.status == "FILLED")
    })
    .await;
    let ex_sell = fake.state.fills(Some("BTCUSDT")).into_iter().find(|f| f.side == "SELL").unwrap();
    assert_eq!((ex_sell.qty, ex_sell.fee_asset.as_str()), (ex_buy.qty - ex_buy.fee, "USDT"), "sold what it held");
    host.wait_for("/trades", 20, |v| {
        v.as_array().is_some_and(|a| a.iter().any(|t| t["side"] == "SELL" && num(&t["fee"]) == ex_sell.fee))
    })
    .await
    .unwrap_or_else(|e| panic!("the sell's fee ({} USDT) booked: {e}", ex_sell.fee));
    assert_eq!(fake.state.signature_failures(), 0, "every request was signed correctly");
    let orders = fake.state.orders();
    assert_eq!(orders.len(), 2, "{orders:#?}");
    for o in &orders {
        assert!(o.client_id.starts_with("th"), "the host's client order id: {}", o.client_id);
    }

    // kill -9, restart: reconciliation finds both orders final, sends nothing new.
    host.kill().unwrap();
    let host = Host::restart(dir.path(), &["run".into()], &env(&fake, prefix)).unwrap();
    ready(&host).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.state.orders().len(), 2, "no order was sent twice after the restart");
    let positions = host.json("/positions").await.unwrap();
    let held: Decimal =
        positions.as_array().map(|a| a.iter().filter_map(|p| p["qty"].as_str().map(d)).sum()).unwrap_or_default();
    assert_eq!(held, Decimal::ZERO, "flat after the round trip: {positions}");
    host.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binance_round_trip() {
    round_trip("binance", "BINANCE", fake::binance::start(FakeKeys::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_round_trip() {
    round_trip("bybit", "BYBIT", fake::bybit::start(FakeKeys::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateio_round_trip() {
    round_trip("gateio", "GATEIO", fake::gateio::start(FakeKeys::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kucoin_round_trip() {
    round_trip("kucoin", "KUCOIN", fake::kucoin::start(FakeKeys::default()).await).await;
}

/// One strategy on one pair at two exchanges (`venue = "live"`, symbols `binance:BTCUSDT`
/// and `bybit:BTCUSDT`): each market streams from its own exchange, the arbitrage buys on
/// the cheap one and sells on the rich one, and each order goes, signed, to its own
/// exchange; after kill -9 and a restart nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrage_across_two_exchanges() {
    let binance = fake::binance::start(FakeKeys::default()).await;
    let bybit = fake::bybit::start(FakeKeys::default()).await;
    let dir = tempfile::tempdir().unwrap();
    for f in [&binance, &bybit] {
        f.state.push_trade("BTCUSDT", d("60000"), d("0.5"), false);
    }
    let toml = "version = 1\n[[strategy]]\nid = \"arb\"\nmodule = \"arbitrage.wasm\"\n\
                symbols = [\"binance:BTCUSDT\", \"bybit:BTCUSDT\"]\nvenue = \"live\"\n[strategy.params]\n\
                leg_a = \"binance:BTCUSDT\"\nleg_b = \"bybit:BTCUSDT\"\nqty = \"0.01\"\n";
    let both: Vec<_> = env(&binance, "BINANCE").into_iter().chain(env(&bybit, "BYBIT")).collect();
    let modules = vec![("arbitrage.wasm", wasm("arbitrage"))];
    let setup = Setup { plugins_toml: toml, modules, args: vec!["run".into()], env: both.clone() };
    let host = Host::start(dir.path(), setup).unwrap();
    let both_ready = |v: &Value| {
        v["venues"].as_array().is_some_and(|a| a.len() == 2 && a.iter().all(|x| x["ready"] == Value::Bool(true)))
    };
    host.wait_for("/api/v1/risk", 60, both_ready).await.unwrap();

    // Minutes ahead of the clock, so candles close on trade time: Bybit 0.5 % rich in m1.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let m1 = now - now.rem_euclid(60_000) + 120_000;
    // The host joined the market mid-minute: the first minute it sees is partial, not traded on.
    binance.state.push_trade_at("BTCUSDT", d("60000"), d("0.1"), true, m1 - 59_000);
    bybit.state.push_trade_at("BTCUSDT", d("60000"), d("0.1"), false, m1 - 58_000);
    binance.state.push_trade_at("BTCUSDT", d("60000"), d("0.1"), true, m1 + 1_000);
    bybit.state.push_trade_at("BTCUSDT", d("60300"), d("0.1"), false, m1 + 2_000);
    // Trades of the next minute close m1 on both markets.
    binance.state.push_trade_at("BTCUSDT", d("60000"), d("0.1"), true, m1 + 61_000);
    bybit.state.push_trade_at("BTCUSDT", d("60300"), d("0.1"), false, m1 + 62_000);
    wait_until("the buy at Binance and the sell at Bybit", 30, &host, || {
        let filled =
            |f: &FakeExchange, side: &str| f.state.orders().iter().any(|o| o.side == side && o.status == "FILLED");
        filled(&binance, "BUY") && filled(&bybit, "SELL")
    })
    .await;
    let trades = host.wait_for("/trades", 20, |v| v.as_array().is_some_and(|a| a.len() == 2)).await.unwrap();
    let mut seen: Vec<(String, String, Decimal, Decimal)> = trades
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (t["symbol"].as_str().unwrap().into(), t["side"].as_str().unwrap().into(), num(&t["price"]), num(&t["qty"]))
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("binance:BTCUSDT".into(), "BUY".into(), d("60000"), d("0.01")),
            ("bybit:BTCUSDT".into(), "SELL".into(), d("60300"), d("0.01"))
        ],
        "{trades}"
    );
    for (f, side) in [(&binance, "BUY"), (&bybit, "SELL")] {
        let orders = f.state.orders();
        assert_eq!(orders.len(), 1, "one order per exchange, on the right one: {orders:#?}");
        assert_eq!((orders[0].symbol.as_str(), orders[0].side.as_str()), ("BTCUSDT", side));
        assert!(orders[0].client_id.starts_with("th"), "{}", orders[0].client_id);
        assert_eq!(f.state.signature_failures(), 0);
    }

    host.kill().unwrap();
    let host = Host::restart(dir.path(), &["run".into()], &both).unwrap();
    host.wait_for("/api/v1/risk", 60, both_ready).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((binance.state.orders().len(), bybit.state.orders().len()), (1, 1), "nothing sent twice");
    let positions = host.json("/positions").await.unwrap();
    let net: Decimal = positions.as_array().unwrap().iter().filter_map(|p| p["qty"].as_str().map(d)).sum();
    // Flat but for Binance's fee, taken out of the BTC bought there.
    let fee = binance.state.fills(Some("BTCUSDT"))[0].fee;
    assert_eq!(net, -fee, "long at Binance, short at Bybit, flat in BTC but the fee: {positions}");
    host.stop().unwrap();
}

/// `--feed live` with nothing to stream from is refused at start with what to do, not run
/// on a silently different feed.
#[test]
fn a_live_feed_without_an_exchange_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"spread.wasm\"\nsymbols = [\"BTCUSDT\"]\n\
                [strategy.params]\nqty = \"0.01\"\n";
    std::fs::write(dir.path().join("plugins.toml"), toml).unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(wasm("spread"), dir.path().join("plugins/spread.wasm")).unwrap();
    let out = std::process::Command::new(tradehost_tests::binary())
        .current_dir(dir.path())
        .args(["run", "--feed", "live", "--port", "0", "--ws-port", "0", "--db", "state.db"])
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`--feed live` needs an exchange"), "{stderr}");
}
