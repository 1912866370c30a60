//! Crash safety: kill -9 in the middle of a replay, then restart. The database holds a
//! consistent state (no fill without its order, positions and balances equal to the
//! fills), the restart resumes after the last committed event, and the trade log from
//! before the crash is intact.

use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;
use tradehost_tests::{Host, Setup, recording, sma_ema_config, wasm};

#[derive(Debug, Clone, PartialEq)]
struct Trade {
    id: i64,
    order_id: i64,
    strategy: String,
    symbol: String,
    side: String,
    price: Decimal,
    qty: Decimal,
    fee: Decimal,
    time: i64,
}

fn d(s: String) -> Decimal {
    s.parse().unwrap()
}

fn trades_in(db: &Path) -> Vec<Trade> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT id, order_id, instance, symbol, side, price, qty, fee, time FROM fills ORDER BY id")
        .unwrap();
    st.query_map([], |r| {
        Ok(Trade {
            id: r.get(0)?,
            order_id: r.get(1)?,
            strategy: r.get(2)?,
            symbol: r.get(3)?,
            side: r.get(4)?,
            price: d(r.get(5)?),
            qty: d(r.get(6)?),
            fee: d(r.get(7)?),
            time: r.get(8)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The database must agree with itself: orders for fills, positions and balances
/// equal to what the fills imply.
fn assert_consistent(db: &Path) -> Vec<Trade> {
    let trades = trades_in(db);
    let conn = rusqlite::Connection::open(db).unwrap();
    let orphans: i64 = conn
        .query_row("SELECT COUNT(*) FROM fills f LEFT JOIN orders o ON o.id = f.order_id WHERE o.id IS NULL OR o.status != 'FILLED'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orphans, 0, "every fill has its filled order");
    let mut qty: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut usdt: BTreeMap<String, Decimal> = BTreeMap::new();
    for t in &trades {
        let (sign, cash) = if t.side == "BUY" {
            (Decimal::ONE, -(t.price * t.qty) - t.fee)
        } else {
            (-Decimal::ONE, t.price * t.qty - t.fee)
        };
        *qty.entry((t.strategy.clone(), t.symbol.clone())).or_default() += sign * t.qty;
        *usdt.entry(t.strategy.clone()).or_insert(Decimal::from(10_000)) += cash;
    }
    let mut st = conn.prepare("SELECT instance, symbol, qty FROM positions").unwrap();
    let stored: Vec<(String, String, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    for (inst, sym, q) in stored {
        let want = qty.get(&(inst.clone(), sym.clone())).copied().unwrap_or_default();
        assert_eq!(d(q), want, "position {inst}/{sym} equals its fills");
    }
    for (inst, want) in usdt {
        let have: String = conn
            .query_row("SELECT amount FROM balances WHERE instance = ?1 AND asset = 'USDT'", [&inst], |r| r.get(0))
            .unwrap();
        assert_eq!(d(have), want, "USDT balance of {inst} equals its fills");
    }
    trades
}

fn args(speed: &str) -> Vec<String> {
    let mut a = vec!["replay".to_string(), "--speed".to_string(), speed.to_string()];
    for s in ["btcusdt", "ethusdt"] {
        a.extend(recording(s).iter().map(|p| p.display().to_string()));
    }
    a
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_replay_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(
        dir.path(),
        Setup {
            plugins_toml: &sma_ema_config(3, 2),
            modules: vec![("sma_ema.wasm", wasm("sma_ema"))],
            args: args("40"),
            env: vec![],
        },
    )
    .unwrap();
    host.wait_for("/trades", 90, |t| t.as_array().unwrap().len() >= 2).await.unwrap();
    let health = host.json("/health").await.unwrap();
    assert_eq!(health["feed_ended"], false, "killed in the middle of the replay");
    host.kill().unwrap();

    let db = dir.path().join("state.db");
    let before = assert_consistent(&db);
    assert!(before.len() >= 2);
    let positions_before: Vec<(String, String, String)> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut st = conn.prepare("SELECT instance, symbol, qty FROM positions ORDER BY instance, symbol").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };

    // Restart on the same database and replay: it resumes after the committed cursor. The
    // core thread polls instead of sleeping this time (`--busy-poll`): the same results,
    // and it still stops cleanly.
    let mut resumed = args("0");
    resumed.push("--busy-poll".into());
    let host = Host::restart(dir.path(), &resumed, &[]).unwrap();
    let positions = host.json("/positions").await.unwrap();
    for (inst, sym, q) in &positions_before {
        let p = positions.as_array().unwrap().iter().find(|p| p["strategy"] == *inst && p["symbol"] == *sym);
        assert_eq!(
            p.map(|p| p["qty"].as_str().unwrap().parse::<Decimal>().unwrap()),
            Some(d(q.clone())),
            "{inst}/{sym} resumed"
        );
    }
    let health = host.wait_for("/health", 120, |h| h["feed_ended"] == true).await.unwrap();
    assert!(
        health["resumed_skipped"].as_u64().unwrap() > 0,
        "events before the cursor are not replayed twice: {health}"
    );
    assert!(host.stop().unwrap().success());

    let after = assert_consistent(&db);
    assert_eq!(&after[..before.len()], &before[..], "the trade log from before the crash is intact");
    let ids: Vec<i64> = after.iter().map(|t| t.order_id).collect();
    let mut dedup = ids.clone();
    dedup.dedup();
    assert_eq!(ids, dedup, "no order filled twice");
}
