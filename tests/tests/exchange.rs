//! The paper exchange through the real binary: the seed's `/api/...` endpoints, orders
//! against the market's mirrored liquidity, wallets with locked funds, clear 4xx answers,
//! alerts over `/ws/{client_id}`, the rate limit, and a restart that replays the journal.

use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::time::Duration;
use tradehost_tests::{Host, Setup, sma_ema_config, wasm};

const KEY: &str = "exchange-key";

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.to_string().parse().unwrap(),
        other => panic!("not a decimal: {other}"),
    }
}

fn args() -> Vec<String> {
    ["run", "--speed", "60", "--start-ms", "1723161600000"].map(String::from).to_vec()
}

async fn post(host: &Host, path: &str, body: Value) -> (u16, Value) {
    host.send("POST", path, Some(KEY), Some(&body.to_string())).await.unwrap()
}

fn wallet<'a>(w: &'a Value, asset: &str) -> &'a Value {
    w.as_array().unwrap().iter().find(|x| x["currency"] == asset).unwrap_or_else(|| panic!("no {asset} in {w}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn trading_api_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("TRADEHOST_API_KEY", KEY.to_string()), ("RATE_LIMIT_PER_MINUTE", "40".to_string())];
    let host = Host::start(
        dir.path(),
        Setup {
            plugins_toml: &sma_ema_config(10, 5),
            modules: vec![("sma_ema.wasm", wasm("sma_ema"))],
            args: args(),
            env: env.clone(),
        },
    )
    .unwrap();
    let pairs = host
        .wait_for("/api/trading-pairs", 60, |p| p.as_array().unwrap().iter().all(|x| !x["current_price"].is_null()))
        .await
        .unwrap();
    let btc = pairs.as_array().unwrap().iter().find(|p| p["symbol"] == "BTC/USDT").unwrap().clone();
    let last = dec(&btc["current_price"]);
    let (bid, ask) = (dec(&btc["bid_price"]), dec(&btc["ask_price"]));
    assert!(bid < last && last < ask, "house quotes around the market: {btc}");
    let cryptos = host.json("/api/cryptocurrencies").await.unwrap();
    assert!(cryptos.as_array().unwrap().iter().any(|c| c["id"] == "crypto_btc" && c["name"] == "Bitcoin"));
    assert_eq!(host.json("/api/cryptocurrencies/BTC").await.unwrap()["symbol"], "BTC");
    let book = host.json("/api/trading-pairs/BTC/USDT/orderbook?limit=5").await.unwrap();
    assert_eq!(book["pair_symbol"], "BTC/USDT");
    assert!(!book["bids"].as_array().unwrap().is_empty() && !book["asks"].as_array().unwrap().is_empty(), "{book}");
    assert_eq!(host.json("/api/trading-pairs/BTCUSDT/orderbook").await.unwrap()["pair_symbol"], "BTC/USDT");

    // A resting limit buy locks its funds; cancelling releases them.
    let far = (last * Decimal::new(5, 1)).round_dp(2);
    let (s, order) = post(
        &host,
        "/api/orders",
        json!({"user_id": "alice", "pair_symbol": "BTC/USDT", "order_type": "limit",
        "order_side": "buy", "quantity": "0.1", "price": far.to_string(), "time_in_force": "good_til_canceled"}),
    )
    .await;
    assert_eq!(s, 201, "{order}");
    assert_eq!(order["status"], "NEW");
    let id = order["id"].as_str().unwrap().to_string();
    let w = host.json("/api/wallets?user_id=alice").await.unwrap();
    assert_eq!(dec(&wallet(&w, "USDT")["locked_balance"]), far * Decimal::new(1, 1));
    assert_eq!(host.json(&format!("/api/orders/{id}")).await.unwrap()["status"], "NEW");
    assert_eq!(host.json("/api/orders?user_id=alice").await.unwrap().as_array().unwrap().len(), 1);
    let (s, canceled) = host.send("DELETE", &format!("/api/orders/{id}?user_id=alice"), Some(KEY), None).await.unwrap();
    assert_eq!((s, canceled["status"].as_str()), (200, Some("CANCELED")), "{canceled}");
    let w = host.json("/api/wallets?user_id=alice").await.unwrap();
    assert_eq!(dec(&wallet(&w, "USDT")["locked_balance"]), Decimal::ZERO);
    assert_eq!(dec(&wallet(&w, "USDT")["balance"]), Decimal::from(100_000));

    // A market buy fills against the market's liquidity; the fee is taken in BTC.
    let (s, bought) = post(
        &host,
        "/api/orders",
        json!({"user_id": "alice", "pair_symbol": "BTCUSDT", "order_type": "market",
        "order_side": "buy", "quantity": "0.01"}),
    )
    .await;
    assert_eq!((s, bought["status"].as_str()), (201, Some("FILLED")), "{bought}");
    let fill = &bought["trades"][0];
    assert_eq!(fill["fee_currency"], "BTC");
    let w = host.json("/api/wallets?user_id=alice").await.unwrap();
    assert_eq!(dec(&wallet(&w, "BTC")["balance"]), Decimal::new(1, 2) - dec(&fill["fee"]));
    assert_eq!(host.json("/api/wallets/alice_BTC").await.unwrap()["currency"], "BTC");
    let trades = host.json("/api/trades?user_id=alice").await.unwrap();
    assert_eq!(trades.as_array().unwrap().len(), bought["trades"].as_array().unwrap().len());

    // Closed orders are listed on request: the canceled limit and the filled market order.
    let ids = |v: Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| (o["id"].as_str().unwrap().to_string(), o["status"].as_str().unwrap().to_string()))
            .collect()
    };
    let bought_id = bought["id"].as_str().unwrap().to_string();
    assert!(ids(host.json("/api/orders?user_id=alice").await.unwrap()).is_empty(), "no open order left");
    let all = ids(host.json("/api/orders?user_id=alice&status=all").await.unwrap());
    assert_eq!(all, [(bought_id.clone(), "FILLED".to_string()), (id.clone(), "CANCELED".to_string())], "newest first");
    assert_eq!(
        ids(host.json("/api/orders?user_id=alice&status=filled").await.unwrap()),
        [(bought_id, "FILLED".into())]
    );
    assert_eq!(
        ids(host.json("/api/orders?user_id=alice&status=canceled").await.unwrap()),
        [(id.clone(), "CANCELED".into())]
    );
    let (s, v) = host.get("/api/orders?status=bogus").await.unwrap();
    assert_eq!(s, 400, "{v}");
    let portfolio = host.json("/api/portfolio?user_id=alice").await.unwrap();
    assert!(dec(&portfolio["total_value_usd"]) > Decimal::from(99_000), "{portfolio}");
    assert!(portfolio["allocations"]["BTC"].is_number() || portfolio["allocations"]["BTC"].is_string(), "{portfolio}");

    // Bad input: each refusal names the problem.
    let cases = [
        (
            json!({"user_id": "bob", "pair_symbol": "BTC/USDT", "order_type": "limit", "order_side": "buy", "quantity": "0.001", "price": "100.005"}),
            400,
            "PRICE_FILTER",
        ),
        (
            json!({"user_id": "bob", "pair_symbol": "DOGE/USDT", "order_type": "market", "order_side": "buy", "quantity": "1"}),
            404,
            "unknown trading pair `DOGE/USDT`",
        ),
        (
            json!({"user_id": "bob", "pair_symbol": "BTC/USDT", "order_type": "limit", "order_side": "buy", "quantity": "10", "price": last.round_dp(2).to_string()}),
            400,
            "insufficient balance",
        ),
        (
            json!({"user_id": "bob", "pair_symbol": "BTC/USDT", "order_type": "stop_loss", "order_side": "sell", "quantity": "0.001", "stop_price": (last * Decimal::from(2)).round_dp(2).to_string()}),
            400,
            "would trigger immediately",
        ),
        (
            json!({"user_id": "bob", "pair_symbol": "BTC/USDT", "order_type": "teleport", "order_side": "buy", "quantity": "1"}),
            400,
            "order_type `teleport`",
        ),
        (
            json!({"user_id": "bob", "pair_symbol": "BTC/USDT", "order_type": "limit", "order_side": "buy", "quantity": "0.000001", "price": "100"}),
            400,
            "LOT_SIZE",
        ),
    ];
    for (body, status, words) in cases {
        let (s, v) = post(&host, "/api/orders", body.clone()).await;
        assert_eq!(s, status, "{body}: {v}");
        assert!(v["error"].as_str().unwrap_or_default().contains(words), "{body}: {v}");
    }
    let (s, v) = host.send("POST", "/api/orders", None, Some("{}")).await.unwrap();
    assert_eq!((s, v["error"].as_str()), (401, Some("missing API key: send it in the X-API-Key header")));
    let (s, v) = host.send("POST", "/api/orders", Some(KEY), Some("{oops")).await.unwrap();
    assert!(s == 400 && v["error"].as_str().unwrap().starts_with("invalid JSON body"), "{v}");
    let (s, _) = host.get("/api/orders/order_999999").await.unwrap();
    assert_eq!(s, 404);

    // A price alert below the market fires on the next trade and reaches subscribers.
    let ws_url = format!("{}/ws/client-1", host.rest.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        json!({"type": "subscribe", "subscription_type": "alerts"}).to_string().into(),
    ))
    .await
    .unwrap();
    let (s, alert) = post(
        &host,
        "/api/price-alerts",
        json!({"user_id": "alice", "cryptocurrency_id": "crypto_btc",
        "alert_type": "price_above", "target_price": (last * Decimal::new(5, 1)).round_dp(2).to_string()}),
    )
    .await;
    assert_eq!(s, 201, "{alert}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.expect("alert within 30 s").unwrap().unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        if v["type"] == "price_alert_triggered" {
            assert_eq!(v["alert"]["id"], alert["id"]);
            break;
        }
    }
    let alerts = host.json("/api/price-alerts?user_id=alice").await.unwrap();
    assert_eq!(alerts[0]["is_active"], false);
    let stats = host.json("/api/stats").await.unwrap();
    assert_eq!(stats["funds_conserved"], true, "{stats}");

    // A trading bot is a strategy instance: creating one starts the WASM strategy.
    let (s, bot) = post(
        &host,
        "/api/trading-bots",
        json!({"user_id": "alice", "name": "fast cross", "strategy": "sma-ema",
        "pair_symbol": "BTC/USDT", "parameters": {"sma_period": 3, "ema_period": 2, "qty.BTCUSDT": "0.001"}}),
    )
    .await;
    assert_eq!((s, bot["status"].as_str()), (201, Some("running")), "{bot}");
    let plugins = host.json("/plugins").await.unwrap();
    assert!(plugins.as_array().unwrap().iter().any(|p| p["id"] == bot["id"] && p["state"] == "running"), "{plugins}");
    assert_eq!(host.json("/api/trading-bots?user_id=alice").await.unwrap()[0]["name"], "fast cross");
    let (s, v) = post(
        &host,
        "/api/trading-bots",
        json!({"user_id": "alice", "name": "x", "strategy": "astrology",
        "pair_symbol": "BTC/USDT", "parameters": {}}),
    )
    .await;
    assert!(
        s == 400 && v["error"].as_str().unwrap().contains("unknown strategy `astrology`; available: sma-ema"),
        "{v}"
    );
    let (s, v) = post(
        &host,
        "/api/trading-bots",
        json!({"user_id": "alice", "name": "x", "strategy": "sma-ema",
        "pair_symbol": "BTC/USDT", "parameters": {"sma_period": 0, "qty.BTCUSDT": "0.001"}}),
    )
    .await;
    assert!(s == 400 && v["error"].as_str().unwrap().contains("sma_period"), "{v}");
    assert_eq!(
        host.json("/plugins").await.unwrap().as_array().unwrap().len(),
        3,
        "a refused bot leaves nothing behind"
    );

    // A DAY order that rests (it must survive the crash below).
    let (s, resting) = post(
        &host,
        "/api/orders",
        json!({"user_id": "dave", "pair_symbol": "ETH/USDT", "order_type": "limit",
        "order_side": "buy", "quantity": "0.5", "price": "100", "time_in_force": "day"}),
    )
    .await;
    assert_eq!(s, 201, "{resting}");

    // The rate limit per key answers 429 with a retry hint.
    let mut limited = None;
    for _ in 0..60 {
        let (s, v) = post(&host, "/api/price-alerts", json!({"user_id": "carol", "cryptocurrency_id": "crypto_eth", "alert_type": "price_below", "target_price": "1"})).await;
        if s == 429 {
            limited = Some(v);
            break;
        }
    }
    let v = limited.expect("the 40/minute limit is reached");
    assert!(v["error"].as_str().unwrap().starts_with("rate limit exceeded: retry in"), "{v}");

    // kill -9, then a restart replays the journal: every acknowledged order, fill, wallet
    // and alert is back as it was.
    let wallets_before = host.json("/api/wallets?user_id=alice").await.unwrap();
    let dave_before = host.json("/api/wallets?user_id=dave").await.unwrap();
    host.kill().unwrap();
    let host = Host::restart(dir.path(), &args(), &env).unwrap();
    assert_eq!(host.json("/api/wallets?user_id=alice").await.unwrap(), wallets_before);
    assert_eq!(host.json("/api/wallets?user_id=dave").await.unwrap(), dave_before, "locked funds restored");
    assert_eq!(host.json(&format!("/api/orders/{id}")).await.unwrap()["status"], "CANCELED");
    let again = host.json(&format!("/api/orders/{}", resting["id"].as_str().unwrap())).await.unwrap();
    assert_eq!((again["status"].as_str(), again["time_in_force"].as_str()), (Some("NEW"), Some("DAY")), "{again}");
    let alerts = host.json("/api/price-alerts?user_id=alice").await.unwrap();
    assert_eq!((alerts[0]["id"].as_str(), &alerts[0]["is_active"]), (alert["id"].as_str(), &json!(false)), "{alerts}");
    // The bot is back, running, with its parameters; the next one gets a new id.
    let bots = host.json("/api/trading-bots?user_id=alice").await.unwrap();
    assert_eq!(bots.as_array().unwrap().len(), 1, "{bots}");
    assert_eq!((bots[0]["id"].as_str(), bots[0]["status"].as_str()), (bot["id"].as_str(), Some("running")), "{bots}");
    assert_eq!(bots[0]["parameters"], bot["parameters"]);
    let plugins = host.json("/plugins").await.unwrap();
    assert!(plugins.as_array().unwrap().iter().any(|p| p["id"] == bot["id"] && p["state"] == "running"), "{plugins}");
    let (s, second) = post(
        &host,
        "/api/trading-bots",
        json!({"user_id": "alice", "name": "second", "strategy": "sma-ema",
        "pair_symbol": "ETH/USDT", "parameters": {"sma_period": 4, "ema_period": 2, "qty.ETHUSDT": "0.01"}}),
    )
    .await;
    assert_eq!(s, 201, "{second}");
    assert_ne!(second["id"], bot["id"]);

    // A graceful stop snapshots the exchange and compacts its journal; the next start
    // restores the snapshot (plus anything journaled after it) to the same state.
    let wallets_before = host.json("/api/wallets?user_id=alice").await.unwrap();
    let dave_before = host.json("/api/wallets?user_id=dave").await.unwrap();
    let orders_before = host.json("/api/orders?status=all&limit=1000").await.unwrap();
    host.stop().unwrap();
    {
        let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
        let snapshots: i64 = db.query_row("SELECT COUNT(*) FROM exchange_snapshots", [], |r| r.get(0)).unwrap();
        let journal: i64 = db.query_row("SELECT COUNT(*) FROM journal", [], |r| r.get(0)).unwrap();
        assert_eq!(snapshots, 1);
        assert!(journal <= 1, "the journal is compacted to the entry the snapshot covers: {journal}");
    }
    let host = Host::restart(dir.path(), &args(), &env).unwrap();
    assert_eq!(host.json("/api/wallets?user_id=alice").await.unwrap(), wallets_before);
    assert_eq!(host.json("/api/wallets?user_id=dave").await.unwrap(), dave_before);
    let orders_after = host.json("/api/orders?status=all&limit=1000").await.unwrap();
    assert_eq!(orders_after, orders_before);
    assert!(std::fs::read_to_string(&host.log).unwrap().contains("exchange restored from its snapshot"));
}

/// With book tickers in the feed, the house quotes the market's own best bid and ask.
#[tokio::test(flavor = "multi_thread")]
async fn house_liquidity_mirrors_the_recorded_book_ticker() {
    use flate2::read::GzDecoder;
    use std::io::{BufRead, BufReader};
    let files = tradehost_tests::recording("btcusdt");
    let mut last = None;
    for f in &files {
        for line in BufReader::new(GzDecoder::new(std::fs::File::open(f).unwrap())).lines() {
            let line = line.unwrap();
            if line.contains("@bookTicker") {
                last = Some(line);
            }
        }
    }
    let last: Value = serde_json::from_str(last.unwrap().split_once(' ').unwrap().1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["replay".to_string(), "--speed".to_string(), "300".to_string()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let host = Host::start(
        dir.path(),
        Setup {
            plugins_toml: &sma_ema_config(10, 5),
            modules: vec![("sma_ema.wasm", wasm("sma_ema"))],
            args,
            env: vec![],
        },
    )
    .unwrap();
    host.wait_for("/health", 120, |h| h["feed_ended"] == true).await.unwrap();
    let book = host.json("/api/trading-pairs/BTC/USDT/orderbook?limit=1").await.unwrap();
    assert_eq!(dec(&book["bids"][0]["price"]), dec(&last["data"]["b"]), "{book}");
    assert_eq!(dec(&book["asks"][0]["price"]), dec(&last["data"]["a"]), "{book}");
    assert_eq!(dec(&book["bids"][0]["quantity"]), dec(&last["data"]["B"]), "{book}");
}
