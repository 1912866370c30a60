//! Every REST endpoint and the WebSocket stream of the real binary, including the
//! 4xx answers to bad input.

use futures_util::StreamExt;
use rust_decimal::Decimal;
use serde_json::Value;
use std::time::Duration;
use tradehost_tests::{Host, Setup, sma_ema_config, wasm};

const KEY: &str = "test-key-123";

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

async fn start(dir: &std::path::Path) -> Host {
    Host::start(
        dir,
        Setup {
            plugins_toml: &sma_ema_config(10, 5),
            modules: vec![("sma_ema.wasm", wasm("sma_ema"))],
            args: ["run", "--speed", "600", "--start-ms", "1723161600000", "--seed", "7"].map(String::from).to_vec(),
            env: vec![("TRADEHOST_API_KEY", KEY.to_string())],
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_answers_and_bad_input_gets_a_clear_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let host = start(dir.path()).await;

    // WebSocket on the separate port: hello, then candles and signals as they happen.
    let (mut ws, _) = tokio_tungstenite::connect_async(host.ws.clone()).await.unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    let mut first_candle: Option<Value> = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let wanted = ["candle", "signal", "trade", "order", "strategy_metrics"];
    while !wanted.iter().all(|k| kinds.contains(*k)) {
        let msg =
            tokio::time::timeout_at(deadline, ws.next()).await.expect("WS messages within 60 s").unwrap().unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        let kind = v["type"].as_str().unwrap().to_string();
        if kind == "candle" && first_candle.is_none() {
            first_candle = Some(v["data"].clone());
        }
        kinds.insert(kind);
    }
    assert!(kinds.contains("hello"), "{kinds:?}");
    let c = first_candle.unwrap();
    assert!(c["symbol"] == "BTCUSDT" || c["symbol"] == "ETHUSDT", "{c}");
    assert_eq!(c["close_time"].as_i64().unwrap() - c["open_time"].as_i64().unwrap(), 59_999);

    let health = host.json("/health").await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["strategies_running"], 2);
    assert!(health["candles"].as_u64().unwrap() > 10, "{health}");

    let symbols = host.json("/symbols").await.unwrap();
    assert_eq!(symbols["symbols"], serde_json::json!(["BTCUSDT", "ETHUSDT"]));

    let candles = host.json("/candles/BTCUSDT?limit=5").await.unwrap();
    let candles = candles.as_array().unwrap();
    assert_eq!(candles.len(), 5);
    for pair in candles.windows(2) {
        assert_eq!(pair[1]["open_time"].as_i64().unwrap() - pair[0]["open_time"].as_i64().unwrap(), 60_000);
    }
    for c in candles {
        assert_eq!(c["symbol"], "BTCUSDT");
        let (o, h, l, cl) = (dec(&c["open"]), dec(&c["high"]), dec(&c["low"]), dec(&c["close"]));
        assert!(h >= o.max(cl) && l <= o.min(cl) && l > Decimal::ZERO, "{c}");
        assert_eq!(c["open_time"].as_i64().unwrap() % 60_000, 0);
    }
    let all = host.json("/candles").await.unwrap();
    assert!(all.as_array().unwrap().iter().any(|c| c["symbol"] == "ETHUSDT"));
    let eth = host.json("/candles?symbol=eth/usdt&limit=3").await.unwrap();
    let eth = eth.as_array().unwrap();
    assert!(eth.len() == 3 && eth.iter().all(|c| c["symbol"] == "ETHUSDT"), "{eth:?}");

    let trades = host.json("/trades?strategy=sma-ema-a").await.unwrap();
    let trades = trades.as_array().unwrap();
    assert!(!trades.is_empty());
    for t in trades {
        assert_eq!(t["strategy"], "sma-ema-a");
        let fee = (dec(&t["price"]) * dec(&t["qty"]) * Decimal::new(1, 3)).round_dp(8);
        assert_eq!(dec(&t["fee"]), fee, "0.1 % taker fee on {t}");
        let qty = dec(&t["qty"]);
        let want = if t["symbol"] == "BTCUSDT" { Decimal::new(1, 3) } else { Decimal::new(1, 2) };
        assert_eq!(qty, want, "the seed's order sizes: {t}");
    }
    let r = reqwest::get(format!("{}/trades/export", host.rest)).await.unwrap();
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("trades.json"));
    let exported: Value = r.json().await.unwrap();
    assert!(exported.as_array().unwrap().len() >= trades.len());

    // Live comparison of the variants: one row each; every SELL of this strategy closes
    // its whole position, so round trips = sells (give or take one fill in flight).
    let compare = host.json("/api/strategies/compare").await.unwrap();
    let rows = compare.as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["strategy"].as_str().unwrap()).collect::<Vec<_>>(), ["sma-ema-a", "sma-ema-b"]);
    let sells_a = host
        .json("/trades?strategy=sma-ema-a")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["side"] == "SELL")
        .count() as u64;
    let trips_a = rows[0]["metrics"]["trades"].as_u64().unwrap();
    assert!(trips_a.abs_diff(sells_a) <= 1, "round trips {trips_a} vs sells {sells_a}");
    assert!(rows[0]["equity"].as_f64().unwrap() > 9_000.0, "{compare}");
    assert!(rows[0]["metrics"]["fees"].as_f64().unwrap() > 0.0);

    let positions = host.json("/positions").await.unwrap();
    let strategies: Vec<&str> = positions.as_array().unwrap().iter().map(|p| p["strategy"].as_str().unwrap()).collect();
    assert!(strategies.contains(&"sma-ema-a") && strategies.contains(&"sma-ema-b"), "{positions}");
    let btc = host.json("/positions/btcusdt").await.unwrap();
    assert!(btc.as_array().unwrap().iter().all(|p| p["symbol"] == "BTCUSDT"));

    let ticks = host.json("/ticks?limit=3").await.unwrap();
    assert_eq!(ticks.as_array().unwrap().len(), 6, "3 per symbol: {ticks}");

    let strategy = host.json("/strategy").await.unwrap();
    let list = strategy["strategies"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["params"]["stop_loss"], "0.15");
    assert_eq!(list[1]["params"]["stop_loss"], "0.10");

    let plugins = host.json("/plugins").await.unwrap();
    for p in plugins.as_array().unwrap() {
        assert_eq!(p["state"], "running", "{p}");
        assert_eq!(p["hash"].as_str().unwrap().len(), 64);
        assert_eq!(p["contract_version"], "0.1.0");
        assert!(p["calls"].as_u64().unwrap() > 0 && p["mean_call_us"].as_f64().unwrap() > 0.0);
    }
    let signals = host.json("/signals").await.unwrap();
    assert!(!signals.as_array().unwrap().is_empty());
    let orders = host.json("/orders").await.unwrap();
    for o in orders.as_array().unwrap() {
        match o["kind"].as_str().unwrap() {
            "MARKET" => assert_eq!(o["status"], "FILLED", "{o}"),
            // Each entry is protected by a resting stop: it waits, fires, or is canceled
            // when the strategy exits on a crossover.
            "STOP_LOSS" => {
                assert_eq!(o["side"], "SELL", "{o}");
                assert!(["NEW", "FILLED", "CANCELED"].contains(&o["status"].as_str().unwrap()), "{o}");
            }
            other => panic!("unexpected order kind {other}: {o}"),
        }
    }

    let metrics = reqwest::get(format!("{}/metrics", host.rest)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("# TYPE tradehost_candles_total counter"), "{metrics}");
    assert!(metrics.contains("tradehost_strategy_running{strategy=\"sma-ema-a\"} 1"), "{metrics}");

    let docs = reqwest::get(format!("{}/docs/", host.rest)).await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"), "Swagger UI served from the binary");
    let spec = host.json("/openapi.json").await.unwrap();
    for path in ["/health", "/symbols/{symbol}", "/candles/{symbol}", "/plugins/{id}", "/trades", "/ws"] {
        assert!(spec["paths"][path].is_object(), "OpenAPI documents {path}");
    }

    // Bad input: each answer names the problem.
    // method, path, API key, body, expected status, expected words in the error
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("GET", "/candles/DOGEUSDT", None, None, 404, "unknown symbol `DOGEUSDT`"),
        ("GET", "/candles/NOT-A-SYMBOL!", None, None, 400, "is not a symbol like BTCUSDT"),
        ("GET", "/positions/XRPUSDT", None, None, 404, "unknown symbol `XRPUSDT`"),
        ("GET", "/candles?limit=abc", None, None, 400, "limit must be an integer from 1 to 10000, got `abc`"),
        ("GET", "/candles?symbol=DOGEUSDT", None, None, 404, "unknown symbol `DOGEUSDT`"),
        ("GET", "/nowhere", None, None, 404, "no endpoint at /nowhere"),
        ("POST", "/symbols/DOGEUSDT", None, None, 401, "missing API key"),
        ("POST", "/symbols/DOGEUSDT", Some("wrong"), None, 403, "wrong API key"),
        ("POST", "/symbols/%20", Some(KEY), None, 400, "is not a symbol like BTCUSDT"),
        ("DELETE", "/symbols/SOLUSDT", Some(KEY), None, 404, "unknown symbol `SOLUSDT`"),
        ("POST", "/plugins/sma-ema-a", None, Some("{}"), 401, "missing API key"),
        ("POST", "/plugins/sma-ema-a", Some(KEY), Some("{not json"), 400, "invalid JSON body"),
        (
            "POST",
            "/plugins/sma-ema-a",
            Some(KEY),
            Some(r#"{"action":"explode"}"#),
            400,
            "action must be enable, disable or reload, got `explode`",
        ),
        ("POST", "/plugins/nobody", Some(KEY), Some(r#"{"action":"disable"}"#), 404, "unknown strategy `nobody`"),
    ];
    for (method, path, key, body, status, msg) in cases {
        let (got, v) = host.send(method, path, key, body).await.unwrap();
        assert_eq!(got, status, "{method} {path}: {v}");
        let err = v["error"].as_str().unwrap_or_default();
        assert!(err.contains(msg), "{method} {path}: `{err}` should contain `{msg}`");
    }

    // Mutations with the key.
    let (s, v) = host.send("POST", "/symbols/DOGE-USDT", Some(KEY), None).await.unwrap();
    assert_eq!((s, v["added"].as_str()), (201, Some("DOGEUSDT")));
    assert!(host.json("/symbols").await.unwrap()["symbols"].as_array().unwrap().contains(&"DOGEUSDT".into()));
    let (s, _) = host.send("DELETE", "/symbols/DOGEUSDT", Some(KEY), None).await.unwrap();
    assert_eq!(s, 200);
    let (s, v) = host.send("POST", "/plugins/sma-ema-b", Some(KEY), Some(r#"{"action":"disable"}"#)).await.unwrap();
    assert_eq!(s, 200, "{v}");
    host.wait_for("/plugins", 10, |p| p[1]["state"] == "stopped").await.unwrap();
    let (s, _) = host.send("POST", "/plugins/sma-ema-b", Some(KEY), Some(r#"{"action":"enable"}"#)).await.unwrap();
    assert_eq!(s, 200);
    host.wait_for("/plugins", 10, |p| p[1]["state"] == "running").await.unwrap();
    let (s, v) = host.send("POST", "/plugins/sma-ema-a", Some(KEY), Some(r#"{"action":"reload"}"#)).await.unwrap();
    assert_eq!(s, 200, "{v}");

    // The WebSocket is also served on the REST port at /ws.
    let ws_url = format!("{}/ws", host.rest.replace("http://", "ws://"));
    let (mut ws2, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let hello = ws2.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("\"hello\""));

    let status = host.stop().unwrap();
    assert!(status.success(), "SIGTERM is a clean exit: {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_api_key_the_host_binds_loopback_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(
        dir.path(),
        Setup {
            plugins_toml: &sma_ema_config(10, 5),
            modules: vec![("sma_ema.wasm", wasm("sma_ema"))],
            args: ["run", "--speed", "60", "--bind", "0.0.0.0"].map(String::from).to_vec(),
            env: vec![],
        },
    )
    .unwrap();
    assert!(host.rest.starts_with("http://127.0.0.1:"), "{}", host.rest);
    let log = std::fs::read_to_string(&host.log).unwrap();
    assert!(log.contains("no TRADEHOST_API_KEY set: the API listens on 127.0.0.1 only"), "{log}");
}
