//! Replaying the recorded Binance sessions through the real binary: every candle field
//! equals the candle computed independently from the same trades, and a second replay
//! gives identical candles, signals and trades.

use flate2::read::GzDecoder;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use tradehost_tests::{Host, Setup, recording, sma_ema_config, wasm};

#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
    quote_volume: Decimal,
    trades: u64,
    taker_buy_base: Decimal,
    taker_buy_quote: Decimal,
}

/// Candles per (symbol, minute) straight from the raw `@trade` frames, in file order.
fn expected_candles() -> BTreeMap<(String, i64), Expected> {
    let mut out: BTreeMap<(String, i64), Expected> = BTreeMap::new();
    for symbol in ["btcusdt", "ethusdt"] {
        let mut minutes: BTreeMap<i64, Expected> = BTreeMap::new();
        for path in recording(symbol) {
            let reader = BufReader::new(GzDecoder::new(std::fs::File::open(&path).unwrap()));
            for line in reader.lines() {
                let line = line.unwrap();
                let (_, frame) = line.split_once(' ').unwrap();
                let v: Value = serde_json::from_str(frame).unwrap();
                // Depth, book tickers and the one REST depth snapshot (no "stream") are not trades.
                if !v["stream"].as_str().is_some_and(|s| s.ends_with("@trade")) {
                    continue;
                }
                let d = &v["data"];
                let p: Decimal = d["p"].as_str().unwrap().parse().unwrap();
                let q: Decimal = d["q"].as_str().unwrap().parse().unwrap();
                let minute = d["T"].as_i64().unwrap() / 60_000 * 60_000;
                let c = minutes.entry(minute).or_insert_with(|| Expected {
                    open: p,
                    high: p,
                    low: p,
                    ..Default::default()
                });
                c.high = c.high.max(p);
                c.low = c.low.min(p);
                c.close = p;
                c.volume += q;
                c.quote_volume += p * q;
                c.trades += 1;
                if !d["m"].as_bool().unwrap() {
                    c.taker_buy_base += q;
                    c.taker_buy_quote += p * q;
                }
            }
        }
        // The first minute is partial (the recording starts mid-minute) and the last one
        // has not closed when the recording ends: neither is a candle.
        let keys: Vec<i64> = minutes.keys().copied().collect();
        for m in &keys[1..keys.len() - 1] {
            out.insert((symbol.to_uppercase(), *m), minutes[m].clone());
        }
    }
    out
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

async fn replay(dir: &std::path::Path) -> (Value, Value, Value, Value) {
    let mut args = vec!["replay".to_string()];
    for s in ["btcusdt", "ethusdt"] {
        args.extend(recording(s).iter().map(|p| p.display().to_string()));
    }
    let host = Host::start(
        dir,
        Setup {
            plugins_toml: &sma_ema_config(3, 2),
            modules: vec![("sma_ema.wasm", wasm("sma_ema"))],
            args,
            env: vec![],
        },
    )
    .unwrap();
    let health = host.wait_for("/health", 120, |h| h["feed_ended"] == true).await.unwrap();
    let candles = host.json("/candles?limit=10000").await.unwrap();
    let signals = host.json("/signals?limit=10000").await.unwrap();
    let trades = host.json("/trades?limit=10000").await.unwrap();
    assert!(host.stop().unwrap().success());
    (health, candles, signals, trades)
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_candles_equal_independent_ones_and_replays_are_deterministic() {
    let expected = expected_candles();
    assert_eq!(expected.len(), 20, "ten complete minutes per symbol");
    let first = tempfile::tempdir().unwrap();
    let (health, candles, signals, trades) = replay(first.path()).await;
    assert_eq!(
        health["events"],
        34_419 + 131_932 + 12_965,
        "every trade, book ticker and clock event handled: {health}"
    );

    let candles = candles.as_array().unwrap();
    assert_eq!(candles.len(), expected.len(), "{candles:?}");
    for c in candles {
        let key = (c["symbol"].as_str().unwrap().to_string(), c["open_time"].as_i64().unwrap());
        let want = expected.get(&key).unwrap_or_else(|| panic!("unexpected candle {c}"));
        let got = Expected {
            open: dec(&c["open"]),
            high: dec(&c["high"]),
            low: dec(&c["low"]),
            close: dec(&c["close"]),
            volume: dec(&c["volume"]),
            quote_volume: dec(&c["quote_volume"]),
            trades: c["trades"].as_u64().unwrap(),
            taker_buy_base: dec(&c["taker_buy_base"]),
            taker_buy_quote: dec(&c["taker_buy_quote"]),
        };
        assert_eq!(&got, want, "candle {key:?}");
        assert_eq!(c["close_time"].as_i64().unwrap(), key.1 + 59_999);
    }
    assert!(!trades.as_array().unwrap().is_empty(), "SMA 3 / EMA 2 trades on ten minutes of data");

    let second = tempfile::tempdir().unwrap();
    let (_, candles2, signals2, trades2) = replay(second.path()).await;
    assert_eq!(candles, candles2.as_array().unwrap(), "identical candles");
    assert_eq!(signals, signals2, "identical signals");
    assert_eq!(trades, trades2, "identical trades");
}
