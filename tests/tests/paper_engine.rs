//! Paper trading on the matching engine: with the market mirrored into the paper exchange
//! (a paced replay of real Binance recordings), the SMA/EMA variants' orders execute in
//! the engine against the house liquidity. The engine's view (`/api/...`, user
//! `strategy:<id>`) and the host's view (`/trades`, `/positions`) agree trade for trade,
//! funds are conserved, and a kill -9 + restart keeps both.

use rust_decimal::Decimal;
use serde_json::Value;
use tradehost_tests::{Host, Setup, sma_ema_config, wasm};

fn num(v: &Value) -> Decimal {
    v.to_string().trim_matches('"').parse().unwrap()
}

/// (side, price, qty) of the host's fills of one instance, oldest first.
async fn host_fills(host: &Host, instance: &str) -> Vec<(String, Decimal, Decimal)> {
    let mut v: Vec<(i64, String, Decimal, Decimal)> = host
        .json(&format!("/trades?strategy={instance}&limit=10000"))
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_i64().unwrap(), t["side"].as_str().unwrap().to_string(), num(&t["price"]), num(&t["qty"])))
        .collect();
    v.sort_by_key(|t| t.0);
    v.into_iter().map(|(_, s, p, q)| (s, p, q)).collect()
}

/// The same from the engine's trade list of `strategy:<instance>`.
async fn engine_fills(host: &Host, instance: &str) -> Vec<(String, Decimal, Decimal)> {
    let mut v: Vec<(u64, String, Decimal, Decimal)> = host
        .json(&format!("/api/trades?user_id=strategy:{instance}&limit=10000"))
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let id: u64 = t["id"].as_str().unwrap().trim_start_matches("trade_").parse().unwrap();
            (id, t["side"].as_str().unwrap().to_ascii_uppercase(), num(&t["price"]), num(&t["quantity"]))
        })
        .collect();
    v.sort_by_key(|t| t.0);
    v.into_iter().map(|(_, s, p, q)| (s, p, q)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategies_trade_on_the_engine_and_both_books_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["replay".to_string(), "--speed".to_string(), "120".to_string()];
    args.extend(tradehost_tests::recording("btcusdt").iter().map(|p| p.display().to_string()));
    let setup = Setup {
        plugins_toml: &sma_ema_config(3, 2),
        modules: vec![("sma_ema.wasm", wasm("sma_ema"))],
        args: args.clone(),
        env: vec![],
    };
    let host = Host::start(dir.path(), setup).unwrap();
    host.wait_for("/trades?limit=10000", 120, |v| v.as_array().is_some_and(|a| a.len() >= 3)).await.unwrap();

    let check = |host_side: Vec<(String, Decimal, Decimal)>, engine_side: Vec<(String, Decimal, Decimal)>| {
        assert!(!host_side.is_empty());
        // The engine may already hold a fill the host has not flushed yet: compare the prefix.
        assert!(engine_side.len() >= host_side.len(), "{engine_side:?} vs {host_side:?}");
        assert_eq!(engine_side[..host_side.len()], host_side[..], "engine trades = host fills");
    };
    for instance in ["sma-ema-a", "sma-ema-b"] {
        check(host_fills(&host, instance).await, engine_fills(&host, instance).await);
    }
    // Market orders took the house's quotes: a buy pays above the last trade (the ask).
    let orders = host.json("/api/orders?user_id=strategy:sma-ema-a&status=all&limit=1000").await.unwrap();
    assert!(orders.as_array().unwrap().iter().any(|o| o["order_type"] == "market"), "{orders}");
    let stats = host.json("/api/stats").await.unwrap();
    assert_eq!(stats["funds_conserved"], true, "{stats}");

    // kill -9 and restart: the engine replays its journal, the host its store; they
    // still agree.
    host.kill().unwrap();
    let host = Host::restart(dir.path(), &args, &[]).unwrap();
    host.wait_for("/health", 60, |h| h["events"].as_u64().is_some_and(|e| e > 0)).await.unwrap();
    for instance in ["sma-ema-a", "sma-ema-b"] {
        check(host_fills(&host, instance).await, engine_fills(&host, instance).await);
    }
    host.stop().unwrap();
}
