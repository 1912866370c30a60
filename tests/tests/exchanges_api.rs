//! The unified exchange API (`/api/v1/exchanges/...`) and the kill switch (`/api/v1/risk`)
//! of the real binary, against the fake Binance: connections whose keys are sealed by
//! the vault (never in a response, the database or the log), market data equal to the
//! fake's, orders rounded to the exchange's filters (or refused before anything is
//! sent), and a kill switch that cancels at the exchange and survives a restart.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tradehost_tests::fake::{self, FakeExchange, FakeKeys};
use tradehost_tests::{Host, Setup, wasm};

/// 32 bytes as hex: the vault's master key.
const MASTER: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// The host's API key (`X-API-Key`).
const API_KEY: &str = "host-api-key-for-tests-42";
/// A host with no strategies.
const NO_STRATEGIES: &str = "version = 1\n";
/// KuCoin keys stored through the API (never used on the wire).
const KUCOIN_KEY: &str = "kucoin-key-abcdef123456";
const KUCOIN_SECRET: &str = "kucoin-secret-zyxwvutsrq987";
const KUCOIN_PASSPHRASE: &str = "kucoin-passphrase-qwerty55";

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|_| panic!("not a decimal: {s}"))
}

/// A decimal from a JSON string or number, exactly as written.
fn num(v: &Value) -> Decimal {
    assert!(!v.is_null(), "expected a decimal, got null");
    d(v.to_string().trim_matches('"'))
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The fake's URL variables, with or without its keys.
fn venue_env(fake: &FakeExchange, prefix: &str, with_keys: bool) -> Vec<(&'static str, String)> {
    fake.env(prefix)
        .into_iter()
        .filter(|(k, _)| {
            with_keys || !(k.ends_with("_API_KEY") || k.ends_with("_SECRET_KEY") || k.ends_with("_PASSPHRASE"))
        })
        .map(|(k, v)| (leak(k), v))
        .collect()
}

fn run_args() -> Vec<String> {
    vec!["run".into()]
}

async fn wait_until(what: &str, secs: u64, host: &Host, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}\nlog:\n{}", host.log_tail());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn post(host: &Host, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    host.send("POST", path, key, Some(&body.to_string())).await.unwrap()
}

/// The connection `id` in a `GET /api/v1/exchanges/connections` answer.
fn find_conn<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array().unwrap_or_else(|| panic!("not a list: {list}")).iter().find(|c| c["id"] == id)
}

/// asset -> (free, locked), non-zero only, from a `/balance/...` answer.
fn api_balances(v: &Value) -> BTreeMap<String, (Decimal, Decimal)> {
    v["balances"]
        .as_array()
        .unwrap_or_else(|| panic!("no balances: {v}"))
        .iter()
        .map(|b| (b["asset"].as_str().unwrap().to_string(), (num(&b["free"]), num(&b["locked"]))))
        .filter(|(_, (f, l))| !f.is_zero() || !l.is_zero())
        .collect()
}

fn fake_balances(fake: &FakeExchange) -> BTreeMap<String, (Decimal, Decimal)> {
    fake.state.balances().into_iter().filter(|(_, (f, l))| !f.is_zero() || !l.is_zero()).collect()
}

/// Every file of the database (`state.db`, `-wal`, `-shm`, journal), as bytes.
fn db_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("state.db") && e.path().is_file() {
            out.push((name, std::fs::read(e.path()).unwrap()));
        }
    }
    assert!(out.iter().any(|(n, _)| n == "state.db"), "no state.db in {}", dir.display());
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_db_clean(dir: &Path, secrets: &[&str]) {
    for (name, bytes) in db_files(dir) {
        for s in secrets {
            assert!(!contains(&bytes, s), "{name} holds `{s}` in clear");
        }
    }
}

/// Every log the host wrote in `dir` (one per start) is free of `secrets`.
fn assert_logs_clean(dir: &Path, secrets: &[&str]) {
    let mut seen = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("host-") && name.ends_with(".log") {
            seen += 1;
            let text = std::fs::read_to_string(e.path()).unwrap();
            for s in secrets {
                assert!(!text.contains(s), "{name} shows `{s}`");
            }
        }
    }
    assert!(seen > 0, "no host log in {}", dir.display());
}

/// Stored connection rows: id -> sealed keys.
fn stored_rows(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let db = rusqlite::Connection::open_with_flags(dir.join("state.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut st = db.prepare("SELECT id, sealed_keys FROM exchange_connections").unwrap();
    st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_keep_keys_sealed_and_survive_restarts() {
    let fake = fake::binance::start(FakeKeys::default()).await;
    let keys = fake.state.keys.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut env = venue_env(&fake, "BINANCE", false);
    env.push(("TRADEHOST_API_KEY", API_KEY.into()));
    let with_master: Vec<(&str, String)> =
        env.iter().cloned().chain([("TRADEHOST_MASTER_KEY", MASTER.to_string())]).collect();
    let setup = Setup { plugins_toml: NO_STRATEGIES, modules: vec![], args: run_args(), env: with_master.clone() };
    let host = Host::start(dir.path(), setup).unwrap();
    let conns = "/api/v1/exchanges/connections";

    // The environment connection: the fake's URLs, no keys.
    let list = host.json(conns).await.unwrap();
    let env_conn = find_conn(&list, "binance").unwrap_or_else(|| panic!("no env connection: {list}"));
    assert_eq!(env_conn["source"], "env", "{env_conn}");
    assert_eq!(env_conn["has_keys"], false, "{env_conn}");
    assert!(env_conn["api_key"].is_null(), "{env_conn}");
    let t = host.json("/api/v1/exchanges/connections/binance/test").await.unwrap();
    assert_eq!(t["connected"], true, "{t}");
    assert!(t["report"]["authenticated"].is_null(), "no keys: nothing to authenticate: {t}");
    let (status, body) = host.get("/api/v1/exchanges/balance/binance").await.unwrap();
    assert_eq!(status, 502, "a balance needs keys: {body}");

    // Auth on the mutating endpoint: nothing is created without the right key.
    let new = json!({"id": "mine", "exchange": "binance", "api_key": keys.api_key, "api_secret": keys.secret});
    let (status, body) = post(&host, conns, None, &new).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(&host, conns, Some("wrong-key"), &new).await;
    assert_eq!(status, 403, "{body}");
    assert!(find_conn(&host.json(conns).await.unwrap(), "mine").is_none(), "created despite a refused key");

    // Create: 201, masked key, keys flagged, nothing secret in the answer.
    let (status, created) = post(&host, conns, Some(API_KEY), &new).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], "mine", "{created}");
    assert_eq!(created["exchange"], "binance", "{created}");
    assert_eq!(created["has_keys"], true, "{created}");
    assert_eq!(created["api_key"], "fake***", "{created}");
    assert_eq!(created["source"], "api", "{created}");
    assert_eq!(created["market"], "spot", "{created}");
    let created_ms = created["created_ms"].as_i64().unwrap();
    assert!(created_ms > 1_600_000_000_000, "{created}");
    let text = created.to_string();
    assert!(!text.contains(&keys.secret) && !text.contains(&keys.api_key), "keys echoed: {text}");
    let (status, body) = post(&host, conns, Some(API_KEY), &new).await;
    assert_eq!(status, 409, "the same id twice: {body}");

    // KuCoin keys need the passphrase; with it they are stored (sealed) too.
    let kucoin = json!({"id": "kc", "exchange": "kucoin", "api_key": KUCOIN_KEY, "api_secret": KUCOIN_SECRET});
    let (status, body) = post(&host, conns, Some(API_KEY), &kucoin).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("passphrase"), "{body}");
    let mut kucoin = kucoin;
    kucoin["passphrase"] = json!(KUCOIN_PASSPHRASE);
    let (status, body) = post(&host, conns, Some(API_KEY), &kucoin).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((&body["has_keys"], &body["api_key"]), (&json!(true), &json!("kuco***")), "{body}");
    let (status, body) = post(&host, conns, Some(API_KEY), &json!({"exchange": "kraken"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        post(&host, conns, Some(API_KEY), &json!({"exchange": "binance", "api_key": "only-a-key"})).await;
    assert_eq!(status, 400, "a key without a secret: {body}");

    let list = host.json(conns).await.unwrap();
    let mine = find_conn(&list, "mine").unwrap_or_else(|| panic!("mine not listed: {list}"));
    assert_eq!(mine, &created, "the list shows what the create answered");
    let text = list.to_string();
    for s in [&keys.secret, &keys.api_key, KUCOIN_KEY, KUCOIN_SECRET, KUCOIN_PASSPHRASE] {
        assert!(!text.contains(s), "the list shows {s}: {text}");
    }

    // The stored keys work: signed calls reach the fake with the right signature.
    let t = host.json("/api/v1/exchanges/connections/mine/test").await.unwrap();
    assert_eq!(t["connection"], "mine", "{t}");
    assert_eq!(t["connected"], true, "{t}");
    assert_eq!(t["report"]["authenticated"], true, "{t}");
    let b = host.json("/api/v1/exchanges/balance/mine").await.unwrap();
    assert_eq!(b["connection"], "mine", "{b}");
    assert_eq!(api_balances(&b), fake_balances(&fake), "{b}");
    assert_eq!(fake.state.signature_failures(), 0);

    // At rest: sealed rows, no key in clear in the database files.
    let secrets = [keys.secret.as_str(), keys.api_key.as_str(), KUCOIN_KEY, KUCOIN_SECRET, KUCOIN_PASSPHRASE, MASTER];
    assert_db_clean(dir.path(), &secrets);
    let rows = stored_rows(dir.path());
    for id in ["mine", "kc"] {
        let sealed = rows.get(id).unwrap_or_else(|| panic!("{id} not stored: {rows:?}")).clone();
        let sealed = sealed.unwrap_or_else(|| panic!("{id} stored without its sealed keys"));
        assert!(sealed.len() >= 12 + 16 + 20, "{id}: {} bytes cannot hold nonce, tag and keys", sealed.len());
    }

    // PUT replaces an API connection (creation time kept); env connections and unknown ids are refused.
    let put = json!({"exchange": "binance", "api_key": keys.api_key, "api_secret": keys.secret, "testnet": false});
    let (status, updated) =
        host.send("PUT", &format!("{conns}/mine"), Some(API_KEY), Some(&put.to_string())).await.unwrap();
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["testnet"], false, "{updated}");
    assert_eq!(updated["has_keys"], true, "{updated}");
    assert_eq!(updated["created_ms"], created_ms, "{updated}");
    let (status, body) = host.send("PUT", &format!("{conns}/mine"), None, Some(&put.to_string())).await.unwrap();
    assert_eq!(status, 401, "{body}");
    let (status, body) =
        host.send("PUT", &format!("{conns}/nope"), Some(API_KEY), Some(&put.to_string())).await.unwrap();
    assert_eq!(status, 404, "{body}");
    let (status, body) =
        host.send("PUT", &format!("{conns}/binance"), Some(API_KEY), Some(&put.to_string())).await.unwrap();
    assert_eq!(status, 400, "the env connection is not replaced through the API: {body}");
    let t = host.json("/api/v1/exchanges/connections/mine/test").await.unwrap();
    assert_eq!(t["report"]["authenticated"], true, "after the PUT: {t}");

    // Restart with the same master key: the connection is back and its keys open.
    assert!(host.stop().unwrap().success());
    let host = Host::restart(dir.path(), &run_args(), &with_master).unwrap();
    let list = host.json(conns).await.unwrap();
    let mine = find_conn(&list, "mine").unwrap_or_else(|| panic!("mine lost in the restart: {list}"));
    assert_eq!(mine, &updated, "the restored connection is the one stored");
    assert_eq!(find_conn(&list, "kc").map(|c| c["api_key"].clone()), Some(json!("kuco***")), "{list}");
    let t = host.json("/api/v1/exchanges/connections/mine/test").await.unwrap();
    assert_eq!(t["report"]["authenticated"], true, "keys decrypted after the restart: {t}");
    let b = host.json("/api/v1/exchanges/balance/mine").await.unwrap();
    assert_eq!(api_balances(&b), fake_balances(&fake), "{b}");

    // Restart without the master key: stored keys cannot be opened; the host still runs.
    assert!(host.stop().unwrap().success());
    let no_master: Vec<(&str, String)> = env.iter().cloned().chain([("TRADEHOST_MASTER_KEY", String::new())]).collect();
    let host = Host::restart(dir.path(), &run_args(), &no_master).unwrap();
    assert_eq!(host.json("/health").await.unwrap()["status"], "ok");
    let list = host.json(conns).await.unwrap();
    if find_conn(&list, "mine").is_some() {
        let (status, t) = host.get("/api/v1/exchanges/connections/mine/test").await.unwrap();
        assert!(status != 200 || t["report"]["authenticated"] != true, "keys used without the master key: {t}");
    }
    let (status, t) = host.get("/api/v1/exchanges/balance/mine").await.unwrap();
    assert_ne!(status, 200, "sealed keys used without the master key: {t}");
    assert!(find_conn(&list, "binance").is_some(), "the env connection is still there: {list}");
    let other = json!({"id": "other", "exchange": "binance", "api_key": keys.api_key, "api_secret": keys.secret});
    let (status, body) = post(&host, conns, Some(API_KEY), &other).await;
    assert_eq!(status, 400, "keys must not be stored without the master key: {body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("TRADEHOST_MASTER_KEY"), "{body}");
    assert!(!stored_rows(dir.path()).contains_key("other"), "refused, yet stored");
    assert!(stored_rows(dir.path()).get("mine").is_some_and(Option::is_some), "the sealed row is kept");

    // Back with the master key: the same keys open again.
    assert!(host.stop().unwrap().success());
    let host = Host::restart(dir.path(), &run_args(), &with_master).unwrap();
    let t = host.json("/api/v1/exchanges/connections/mine/test").await.unwrap();
    assert_eq!(t["report"]["authenticated"], true, "{t}");

    // DELETE: key required, then gone (also from the database, so after a restart).
    let (status, body) = host.send("DELETE", &format!("{conns}/mine"), None, None).await.unwrap();
    assert_eq!(status, 401, "{body}");
    let (status, body) = host.send("DELETE", &format!("{conns}/mine"), Some(API_KEY), None).await.unwrap();
    assert_eq!(status, 204, "{body}");
    assert!(find_conn(&host.json(conns).await.unwrap(), "mine").is_none());
    let (status, body) = host.get("/api/v1/exchanges/connections/mine/test").await.unwrap();
    assert_eq!(status, 404, "{body}");
    let (status, body) = host.send("DELETE", &format!("{conns}/mine"), Some(API_KEY), None).await.unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(!stored_rows(dir.path()).contains_key("mine"), "deleted from the database");

    assert_db_clean(dir.path(), &secrets);
    assert_logs_clean(dir.path(), &[&keys.secret, &keys.api_key, KUCOIN_SECRET, KUCOIN_PASSPHRASE, MASTER, API_KEY]);

    // The env connection cannot be deleted through the API.
    let (status, body) = host.send("DELETE", &format!("{conns}/binance"), Some(API_KEY), None).await.unwrap();
    let list = host.json(conns).await.unwrap();
    assert!(
        (400..500).contains(&status) && find_conn(&list, "binance").is_some(),
        "DELETE of the env connection answered {status} {body}; connections now: {list}"
    );
    host.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_data_is_the_exchanges() {
    let fake = fake::binance::start(FakeKeys::default()).await;
    let s = &fake.state;
    s.push_trade("BTCUSDT", d("60000"), d("0.25"), false);
    s.push_trade("BTCUSDT", d("60012.34"), d("0.5"), true);
    s.push_trade("ETHUSDT", d("3000.5"), d("2"), false);
    // Resting orders make the fake's book: two bids and an ask in BTCUSDT.
    s.place("b1", "BTCUSDT", "BUY", "LIMIT", Some(d("59990.5")), d("0.03")).unwrap();
    s.place("b2", "BTCUSDT", "BUY", "LIMIT", Some(d("59995")), d("0.1")).unwrap();
    s.place("a1", "BTCUSDT", "SELL", "LIMIT", Some(d("60100")), d("0.2")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup {
        plugins_toml: NO_STRATEGIES,
        modules: vec![],
        args: run_args(),
        env: venue_env(&fake, "BINANCE", false),
    };
    let host = Host::start(dir.path(), setup).unwrap();

    let t = host.json("/api/v1/exchanges/ticker/BTCUSDT?connection=binance").await.unwrap();
    assert_eq!(t["exchange"], "binance", "{t}");
    assert_eq!(num(&t["last_price"]), d("60012.34"), "{t}");
    assert_eq!(t["ticker"]["symbol"], "BTCUSDT", "{t}");
    assert_eq!(num(&t["ticker"]["volume_24h"]), d("0.75"), "{t}");
    let t = host.json("/api/v1/exchanges/ticker/ETH%2FUSDT?connection=binance").await.unwrap();
    assert_eq!(num(&t["last_price"]), d("3000.5"), "BTC/USDT spelling: {t}");
    let (status, body) = host.get("/api/v1/exchanges/ticker/BTCUSDT?connection=nope").await.unwrap();
    assert_eq!(status, 404, "{body}");
    let (status, body) = host.get("/api/v1/exchanges/ticker/not-a-symbol!?connection=binance").await.unwrap();
    assert_eq!(status, 400, "{body}");

    let book = host.json("/api/v1/exchanges/orderbook/BTCUSDT?connection=binance").await.unwrap();
    let side = |v: &Value| -> Vec<(Decimal, Decimal)> {
        v.as_array().unwrap().iter().map(|l| (num(&l["price"]), num(&l["amount"]))).collect()
    };
    assert_eq!(book["symbol"], "BTCUSDT", "{book}");
    assert_eq!(side(&book["bids"]), [(d("59995"), d("0.1")), (d("59990.5"), d("0.03"))], "best bid first: {book}");
    assert_eq!(side(&book["asks"]), [(d("60100"), d("0.2"))], "{book}");
    let book = host.json("/api/v1/exchanges/orderbook/BTCUSDT?connection=binance&limit=1").await.unwrap();
    assert_eq!(side(&book["bids"]), [(d("59995"), d("0.1"))], "depth 1: {book}");

    let syms = host.json("/api/v1/exchanges/symbols/binance").await.unwrap();
    let mut list: Vec<&str> = syms["symbols"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    list.sort();
    assert_eq!(list, ["BTCUSDT", "ETHUSDT"], "{syms}");

    let info = host.json("/api/v1/exchanges/info/binance").await.unwrap();
    assert_eq!(info["exchange"], "binance", "{info}");
    assert_eq!(info["market"], "spot", "{info}");
    let rules = info["symbols"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{info}");
    for r in rules {
        let (sym, base) = if r["symbol"] == "BTCUSDT" { ("BTCUSDT", "BTC") } else { ("ETHUSDT", "ETH") };
        assert_eq!(
            (r["symbol"].as_str(), r["base"].as_str(), r["quote"].as_str()),
            (Some(sym), Some(base), Some("USDT"))
        );
        assert_eq!(num(&r["tick_size"]), d("0.01"), "{r}");
        assert_eq!(num(&r["lot_size"]), d("0.00001"), "{r}");
        assert_eq!(num(&r["min_qty"]), d("0.00001"), "{r}");
        assert_eq!(num(&r["max_qty"]), d("9000"), "{r}");
        assert_eq!(num(&r["min_notional"]), d("5"), "{r}");
        assert_eq!(r["trading"], true, "{r}");
    }
    assert_eq!(s.signature_failures(), 0, "public calls need no signature");
    assert_logs_clean(dir.path(), &[&s.keys.secret, &s.keys.passphrase]);
    host.stop().unwrap();
}

/// `POST /api/v1/exchanges/orders` body.
fn order(conn: &str, side: &str, kind: &str, amount: &str, price: Option<&str>, client: Option<&str>) -> Value {
    let mut v = json!({"connection_id": conn, "symbol": "BTCUSDT", "side": side, "order_type": kind, "amount": amount});
    if let Some(p) = price {
        v["price"] = json!(p);
    }
    if let Some(c) = client {
        v["client_order_id"] = json!(c);
    }
    v
}

fn order_posts(fake: &FakeExchange) -> usize {
    fake.state.requests().iter().filter(|r| r.as_str() == "POST /api/v3/order").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_rounded_checked_placed_and_canceled() {
    let fake = fake::binance::start(FakeKeys::default()).await;
    let s = &fake.state;
    s.push_trade("BTCUSDT", d("60000"), d("0.5"), false);
    let dir = tempfile::tempdir().unwrap();
    let mut env = venue_env(&fake, "BINANCE", true);
    env.push(("TRADEHOST_API_KEY", API_KEY.into()));
    let setup = Setup { plugins_toml: NO_STRATEGIES, modules: vec![], args: run_args(), env };
    let host = Host::start(dir.path(), setup).unwrap();
    let orders = "/api/v1/exchanges/orders";

    // A limit buy below the market rests at the fake as sent.
    let (status, body) =
        post(&host, orders, None, &order("binance", "buy", "limit", "0.01", Some("59000"), None)).await;
    assert_eq!(status, 401, "{body}");
    let (status, placed) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.01", Some("59000"), Some("mybuy-1")))
            .await;
    assert_eq!(status, 201, "{placed}");
    let at_fake = s.find(None, Some("mybuy-1")).unwrap_or_else(|| panic!("not at the fake: {:#?}", s.orders()));
    assert_eq!(
        (at_fake.side.as_str(), at_fake.kind.as_str(), at_fake.price, at_fake.qty, at_fake.status.as_str()),
        ("BUY", "LIMIT", Some(d("59000")), d("0.01"), "NEW")
    );
    assert_eq!(placed["order_id"], at_fake.id.to_string(), "{placed}");
    assert_eq!(placed["client_order_id"], "mybuy-1", "{placed}");
    assert_eq!((placed["side"].as_str(), placed["status"].as_str()), (Some("BUY"), Some("NEW")), "{placed}");
    assert_eq!(num(&placed["price"]), d("59000"), "{placed}");
    assert_eq!(num(&placed["quantity"]), d("0.01"), "{placed}");

    // Off the tick and the lot: the buy is rounded down, the sell's price up, before sending.
    let (status, body) = post(
        &host,
        orders,
        Some(API_KEY),
        &order("binance", "buy", "limit", "0.012349", Some("59000.129"), Some("b2")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let b2 = s.find(None, Some("b2")).unwrap();
    assert_eq!((b2.price, b2.qty), (Some(d("59000.12")), d("0.01234")), "buy rounded down to tick and lot");
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "sell", "limit", "0.01", Some("61000.121"), Some("s1")))
            .await;
    assert_eq!(status, 201, "{body}");
    let s1 = s.find(None, Some("s1")).unwrap();
    assert_eq!((s1.side.as_str(), s1.price), ("SELL", Some(d("61000.13"))), "sell rounded up to the tick");
    assert!(placed["client_order_id"].is_string());

    // Below the filters: 400 naming the filter, nothing sent.
    let (n_orders, n_requests, n_posts) = (s.orders().len(), s.order_requests(), order_posts(&fake));
    let refused = [
        (order("binance", "buy", "limit", "0.000001", Some("59000"), None), "LOT_SIZE"),
        (order("binance", "buy", "limit", "0.00005", Some("59000"), None), "MIN_NOTIONAL"),
        (order("binance", "sell", "market", "0.00005", None, None), "MIN_NOTIONAL"),
        (order("binance", "buy", "limit", "10000", Some("1"), None), "LOT_SIZE"),
    ];
    for (req, filter) in refused {
        let (status, body) = post(&host, orders, Some(API_KEY), &req).await;
        assert_eq!(status, 400, "{req} -> {body}");
        assert!(body["error"].as_str().unwrap_or_default().contains(filter), "{req} should name {filter}: {body}");
    }
    for (req, what) in [
        (order("binance", "hold", "limit", "0.01", Some("59000"), None), "side"),
        (order("binance", "buy", "stop", "0.01", Some("59000"), None), "order_type"),
        (order("binance", "buy", "limit", "0", Some("59000"), None), "amount"),
        (order("binance", "buy", "limit", "0.01", None, None), "PRICE_FILTER"),
        (order("binance", "buy", "limit", "0.01", Some("59000"), Some("bad id!")), "client_order_id"),
    ] {
        let (status, body) = post(&host, orders, Some(API_KEY), &req).await;
        assert_eq!(status, 400, "{req} -> {body}");
        assert!(body["error"].as_str().unwrap_or_default().contains(what), "{req} should name {what}: {body}");
    }
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("nope", "buy", "limit", "0.01", Some("59000"), None)).await;
    assert_eq!(status, 404, "unknown connection: {body}");
    assert_eq!(s.orders().len(), n_orders, "a refused order reached the fake: {:#?}", s.orders());
    assert_eq!(s.order_requests(), n_requests);
    assert_eq!(order_posts(&fake), n_posts, "no order request was sent");

    // Look it up (by exchange id and by client id), list, cancel.
    let id = at_fake.id.to_string();
    let got = host.json(&format!("{orders}/binance/{id}?symbol=BTCUSDT")).await.unwrap();
    assert_eq!((got["order_id"].as_str(), got["status"].as_str()), (Some(id.as_str()), Some("NEW")), "{got}");
    assert_eq!(num(&got["price"]), d("59000"), "{got}");
    let got = host.json(&format!("{orders}/binance/mybuy-1?symbol=BTC/USDT&client=true")).await.unwrap();
    assert_eq!(got["order_id"], id, "{got}");
    let (status, body) = host.get(&format!("{orders}/binance/123?symbol=BTCUSDT")).await.unwrap();
    assert_eq!(status, 404, "unknown order: {body}");
    let (status, body) = host.get(&format!("{orders}/nope/{id}?symbol=BTCUSDT")).await.unwrap();
    assert_eq!(status, 404, "unknown connection: {body}");
    let open = host.json(&format!("{orders}/binance")).await.unwrap();
    let mut open_ids: Vec<String> =
        open.as_array().unwrap().iter().map(|o| o["client_order_id"].as_str().unwrap().to_string()).collect();
    open_ids.sort();
    assert_eq!(open_ids, ["b2", "mybuy-1", "s1"], "{open}");
    let open = host.json(&format!("{orders}/binance?symbol=ETHUSDT")).await.unwrap();
    assert_eq!(open, json!([]), "none in ETHUSDT");

    let (status, body) =
        host.send("DELETE", &format!("{orders}/binance/{id}?symbol=BTCUSDT"), None, None).await.unwrap();
    assert_eq!(status, 401, "{body}");
    assert_eq!(s.find(Some(at_fake.id), None).unwrap().status, "NEW");
    let (status, canceled) =
        host.send("DELETE", &format!("{orders}/binance/{id}?symbol=BTCUSDT"), Some(API_KEY), None).await.unwrap();
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "CANCELED", "{canceled}");
    assert_eq!(s.find(Some(at_fake.id), None).unwrap().status, "CANCELED", "canceled at the fake");
    let (status, body) =
        host.send("DELETE", &format!("{orders}/binance/{id}?symbol=BTCUSDT"), Some(API_KEY), None).await.unwrap();
    assert_eq!(status, 404, "cancel twice: {body}");
    let open = host.json(&format!("{orders}/binance?symbol=BTCUSDT")).await.unwrap();
    assert_eq!(open.as_array().unwrap().len(), 2, "{open}");

    // A marketable limit fills at once; the account's trades show the fake's fill.
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.02", Some("60000"), Some("take-1")))
            .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "FILLED", "{body}");
    let fill = s.fills(Some("BTCUSDT")).into_iter().find(|f| f.client_id == "take-1").unwrap();
    let trades = host.json("/api/v1/exchanges/trades/binance/BTCUSDT").await.unwrap();
    let t =
        trades.as_array().unwrap().iter().find(|t| t["trade_id"].as_str() == Some(fill.trade_id.to_string().as_str()));
    let t = t.unwrap_or_else(|| panic!("fill {} not in {trades}", fill.trade_id));
    assert_eq!(t["order_id"], fill.order_id.to_string(), "{t}");
    assert_eq!((num(&t["price"]), num(&t["quantity"]), num(&t["fee"])), (fill.price, fill.qty, fill.fee), "{t}");
    assert_eq!(t["fee_asset"], fill.fee_asset, "{t}");
    let b = host.json("/api/v1/exchanges/balance/binance").await.unwrap();
    assert_eq!(api_balances(&b), fake_balances(&fake), "balances after the orders: {b}");
    let (status, body) = host.get("/api/v1/exchanges/positions/binance").await.unwrap();
    assert_eq!(status, 400, "no positions on spot: {body}");

    // A 429 at the exchange is a 429 here; nothing more is sent until Retry-After passed.
    let posts = order_posts(&fake);
    s.fail_next(429, Some(1));
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.01", Some("58000"), Some("rl-1")))
            .await;
    assert_eq!(status, 429, "{body}");
    assert!(s.find(None, Some("rl-1")).is_none());
    assert_eq!(order_posts(&fake), posts + 1, "the throttled request");
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.01", Some("58000"), Some("rl-1")))
            .await;
    assert_eq!(status, 429, "still blocked: {body}");
    assert_eq!(order_posts(&fake), posts + 1, "nothing sent while blocked");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.01", Some("58000"), Some("rl-1")))
            .await;
    assert_eq!(status, 201, "after Retry-After: {body}");
    assert_eq!(s.find(None, Some("rl-1")).map(|o| o.price), Some(Some(d("58000"))));

    assert_eq!(s.signature_failures(), 0);
    assert_logs_clean(dir.path(), &[&s.keys.secret, &s.keys.api_key, &s.keys.passphrase, API_KEY]);
    host.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_switch_cancels_at_the_exchange_and_survives_a_restart() {
    let fake = fake::binance::start(FakeKeys::default()).await;
    let s = &fake.state;
    s.push_trade("BTCUSDT", d("60000"), d("0.5"), false);
    let dir = tempfile::tempdir().unwrap();
    let toml = "version = 1\n[[strategy]]\nid = \"live\"\nmodule = \"spread.wasm\"\nsymbols = [\"BTCUSDT\"]\n\
                venue = \"binance\"\n[strategy.params]\nqty = \"0.01\"\nspread_threshold = \"0.001\"\nticks = false\n";
    let mut env = venue_env(&fake, "BINANCE", true);
    env.push(("TRADEHOST_API_KEY", API_KEY.into()));
    let setup = Setup {
        plugins_toml: toml,
        modules: vec![("spread.wasm", wasm("spread"))],
        args: run_args(),
        env: env.clone(),
    };
    let host = Host::start(dir.path(), setup).unwrap();
    let ready = |v: &Value| v["venues"][0]["ready"] == true;
    let risk = host.wait_for("/api/v1/risk", 30, ready).await.unwrap();
    assert_eq!(risk["halted"], false, "{risk}");
    assert_eq!(risk["venues"][0]["venue"], "binance", "{risk}");

    let orders = "/api/v1/exchanges/orders";
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.01", Some("59000"), Some("rest-1")))
            .await;
    assert_eq!(status, 201, "{body}");
    let resting = s.find(None, Some("rest-1")).unwrap();
    assert_eq!(resting.status, "NEW");

    // The switch needs the key.
    let (status, body) =
        host.send("POST", "/api/v1/risk/kill-switch", None, Some(r#"{"reason": "nope"}"#)).await.unwrap();
    assert_eq!(status, 401, "{body}");
    assert_eq!(host.json("/api/v1/risk").await.unwrap()["halted"], false);

    let reason = "test: stop everything";
    let (status, body) = host
        .send("POST", "/api/v1/risk/kill-switch", Some(API_KEY), Some(&json!({"reason": reason}).to_string()))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["halted"], &body["reason"]), (&json!(true), &json!(reason)), "{body}");
    let risk = host.json("/api/v1/risk").await.unwrap();
    assert_eq!((&risk["halted"], &risk["reason"]), (&json!(true), &json!(reason)), "{risk}");
    wait_until("the resting order to be canceled at the fake", 10, &host, || {
        s.find(Some(resting.id), None).is_some_and(|o| o.status == "CANCELED")
    })
    .await;
    assert!(s.open_orders(None).is_empty(), "nothing left working: {:#?}", s.open_orders(None));

    // New orders are refused before anything is sent.
    let requests = s.order_requests();
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.01", Some("59000"), Some("halt-1")))
            .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains(reason), "the refusal says why: {body}");
    assert_eq!(s.order_requests(), requests, "a refused order reached the fake");

    // Still halted after a restart.
    assert!(host.stop().unwrap().success());
    let host = Host::restart(dir.path(), &run_args(), &env).unwrap();
    let risk = host.wait_for("/api/v1/risk", 30, ready).await.unwrap();
    assert_eq!((&risk["halted"], &risk["reason"]), (&json!(true), &json!(reason)), "after the restart: {risk}");
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.01", Some("59000"), Some("halt-2")))
            .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(s.order_requests(), requests);

    // Lifted: orders work again and stay working.
    let (status, body) = host.send("DELETE", "/api/v1/risk/kill-switch", None, None).await.unwrap();
    assert_eq!(status, 401, "{body}");
    let (status, body) = host.send("DELETE", "/api/v1/risk/kill-switch", Some(API_KEY), None).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["halted"], false, "{body}");
    let risk = host.json("/api/v1/risk").await.unwrap();
    assert_eq!((&risk["halted"], &risk["reason"]), (&json!(false), &Value::Null), "{risk}");
    let (status, body) =
        post(&host, orders, Some(API_KEY), &order("binance", "buy", "limit", "0.01", Some("59000"), Some("after-1")))
            .await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.find(None, Some("after-1")).map(|o| o.status), Some("NEW".to_string()));
    assert_eq!(s.signature_failures(), 0);

    // Lifted for good: a restart does not bring the switch back.
    assert!(host.stop().unwrap().success());
    let host = Host::restart(dir.path(), &run_args(), &env).unwrap();
    assert_eq!(host.json("/api/v1/risk").await.unwrap()["halted"], false);
    assert_logs_clean(dir.path(), &[&s.keys.secret, &s.keys.api_key, &s.keys.passphrase, API_KEY]);
    host.stop().unwrap();
}

/// A host with no strategies and the fake Binance's URLs (no keys), the API key and `master` (may be empty).
/// [`vault_host`] with the master key and a stored connection `mine` to the fake.
async fn vault_host_with_mine(fake: &FakeExchange, dir: &Path) -> (Host, Vec<(&'static str, String)>) {
    let (host, env) = vault_host(fake, dir, MASTER);
    let keys = &fake.state.keys;
    let new = json!({"id": "mine", "exchange": "binance", "api_key": keys.api_key, "api_secret": keys.secret});
    let (status, body) = post(&host, "/api/v1/exchanges/connections", Some(API_KEY), &new).await;
    assert_eq!(status, 201, "{body}");
    (host, env)
}

fn vault_host(fake: &FakeExchange, dir: &Path, master: &str) -> (Host, Vec<(&'static str, String)>) {
    let mut env = venue_env(fake, "BINANCE", false);
    env.push(("TRADEHOST_API_KEY", API_KEY.into()));
    env.push(("TRADEHOST_MASTER_KEY", master.to_string()));
    let setup = Setup { plugins_toml: NO_STRATEGIES, modules: vec![], args: run_args(), env: env.clone() };
    (Host::start(dir, setup).unwrap(), env)
}

fn with_master(env: &[(&'static str, String)], master: &str) -> Vec<(&'static str, String)> {
    env.iter()
        .map(|(k, v)| if *k == "TRADEHOST_MASTER_KEY" { (*k, master.to_string()) } else { (*k, v.clone()) })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_create_stores_nothing() {
    let fake = fake::binance::start(FakeKeys::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (host, _) = vault_host(&fake, dir.path(), MASTER);
    // The host cannot build this connector (KuCoin is spot only): 400, and nothing kept.
    let (status, body) = post(
        &host,
        "/api/v1/exchanges/connections",
        Some(API_KEY),
        &json!({"id": "kfut", "exchange": "kucoin", "market": "futures"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(find_conn(&host.json("/api/v1/exchanges/connections").await.unwrap(), "kfut").is_none());
    let rows = stored_rows(dir.path());
    assert!(
        !rows.contains_key("kfut"),
        "refused with 400 yet stored (reloaded, and refused again, on every start): {rows:?}"
    );
    host.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_update_keeps_the_stored_connection() {
    let fake = fake::binance::start(FakeKeys::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (host, env) = vault_host_with_mine(&fake, dir.path()).await;
    let conns = "/api/v1/exchanges/connections";
    let sealed = stored_rows(dir.path())["mine"].clone();
    // An update the host cannot apply (KuCoin futures): 400, and the stored connection is untouched.
    let bad = json!({"exchange": "kucoin", "market": "futures"}).to_string();
    let (status, body) = host.send("PUT", &format!("{conns}/mine"), Some(API_KEY), Some(&bad)).await.unwrap();
    assert_eq!(status, 400, "{body}");
    let t = host.json("/api/v1/exchanges/connections/mine/test").await.unwrap();
    assert_eq!(t["report"]["authenticated"], true, "in memory the old connection stays: {t}");
    assert_eq!(stored_rows(dir.path()).get("mine"), Some(&sealed), "the refused update replaced the stored row");
    assert!(host.stop().unwrap().success());
    let host = Host::restart(dir.path(), &run_args(), &env).unwrap();
    let (status, t) = host.get("/api/v1/exchanges/connections/mine/test").await.unwrap();
    assert_eq!((status, &t["report"]["authenticated"]), (200, &json!(true)), "after a restart: {t}");
    host.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_keys_survive_a_start_without_the_master_key() {
    let fake = fake::binance::start(FakeKeys::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (host, env) = vault_host_with_mine(&fake, dir.path()).await;
    let conns = "/api/v1/exchanges/connections";
    assert!(host.stop().unwrap().success());

    // Without the master key `mine` is not loaded; a keyless create under its id must not
    // silently replace the sealed keys (refuse it, or keep the keys).
    let host = Host::restart(dir.path(), &run_args(), &with_master(&env, "")).unwrap();
    let (status, body) = post(&host, conns, Some(API_KEY), &json!({"id": "mine", "exchange": "binance"})).await;
    let row = stored_rows(dir.path()).get("mine").cloned();
    assert!(host.stop().unwrap().success());
    let host = Host::restart(dir.path(), &run_args(), &with_master(&env, MASTER)).unwrap();
    let (test_status, t) = host.get("/api/v1/exchanges/connections/mine/test").await.unwrap();
    assert!(
        test_status == 200 && t["report"]["authenticated"] == true,
        "the stored keys of `mine` are gone: a keyless POST without the master key answered {status} {body}, \
         the stored row's sealed keys are now {:?}; with the master key back, the test says {test_status} {t}",
        row.map(|r| r.map(|b| b.len()))
    );
    host.stop().unwrap();
}
