//! `tradehost backtest` on real 1-minute candles: deterministic, and its SMA/EMA trades
//! (EMA 5, SMA 10, stop 10 %) are exactly those of an independent, deliberately simple
//! simulation of the candle convention: a signal on a close fills at the next open; the
//! stop is checked against each candle's low from the entry candle on and fills at the
//! stop price (or the open when the candle opens below it); what is open at the end is
//! closed at the last candle's open.

use rust_decimal::Decimal;
use serde_json::Value;
use std::process::Command;
use tradehost_tests::{binary, shared_data, wasm};

const CONFIG: &str = r#"
version = 1
[[strategy]]
id = "sma-ema-b"
module = "sma_ema.wasm"
symbols = ["BTCUSDT"]
[strategy.params]
sma_period = 10
ema_period = 5
stop_loss = "0.10"
qty = { BTCUSDT = "0.1" }
[strategy.account]
balances = { USDT = "1000000000" }
taker_fee = "0.001"
[strategy.risk]
max_order_notional = "1000000000"
max_position_notional = "1000000000"
"#;

struct Bar {
    open: Decimal,
    low: Decimal,
    close: Decimal,
}

fn bars() -> Vec<Bar> {
    let text = std::fs::read_to_string(shared_data().join("binance-us-1m/BTCUSDT_1m_20230301_20230321.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Bar { open: f[1].parse().unwrap(), low: f[3].parse().unwrap(), close: f[4].parse().unwrap() }
        })
        .collect()
}

/// The simple twin: (bar index of the fill, side, price).
fn simulate(bars: &[Bar]) -> Vec<(usize, &'static str, Decimal)> {
    let (sma_n, ema_n) = (10usize, 5usize);
    let k = 2.0 / (ema_n as f64 + 1.0);
    let closes: Vec<f64> = bars.iter().map(|b| b.close.to_string().parse().unwrap()).collect();
    let (mut ema, mut seed) = (None::<f64>, 0.0);
    let mut prev_sign: Option<i8> = None;
    let (mut long, mut stop, mut pending): (bool, Option<Decimal>, Option<&'static str>) = (false, None, None);
    let mut out = Vec::new();
    for (i, b) in bars.iter().enumerate() {
        if let Some(side) = pending.take() {
            out.push((i, side, b.open));
            long = side == "BUY";
            stop = long.then(|| (b.open * Decimal::new(9, 1)).round_dp(8));
        }
        if let (true, Some(s)) = (long, stop)
            && (b.open <= s || b.low <= s)
        {
            out.push((i, "SELL", if b.open <= s { b.open } else { s }));
            long = false;
            stop = None;
        }
        ema = match ema {
            Some(e) => Some((closes[i] - e) * k + e),
            None => {
                seed += closes[i];
                (i + 1 == ema_n).then(|| seed / ema_n as f64)
            }
        };
        let sma = (i + 1 >= sma_n).then(|| closes[i + 1 - sma_n..=i].iter().sum::<f64>() / sma_n as f64);
        let sign = match (sma, ema) {
            (Some(s), Some(e)) => Some(if e > s {
                1
            } else if e < s {
                -1
            } else {
                0
            }),
            _ => None,
        };
        let prev = prev_sign;
        if sign.is_some() {
            prev_sign = sign;
        }
        let up = matches!((prev, sign), (Some(p), Some(1)) if p <= 0);
        let down = matches!((prev, sign), (Some(p), Some(-1)) if p >= 0);
        if long && down {
            pending = Some("SELL");
            stop = None;
        } else if !long && up {
            pending = Some("BUY");
        }
    }
    if long {
        out.push((bars.len() - 1, "SELL", bars[bars.len() - 1].open));
    }
    out
}

fn backtest(dir: &std::path::Path, threads: &str) -> Value {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(wasm("sma_ema"), dir.join("plugins/sma_ema.wasm")).unwrap();
    std::fs::write(dir.join("plugins.toml"), CONFIG).unwrap();
    let data = shared_data().join("binance-us-1m/BTCUSDT_1m_20230301_20230321.csv");
    let out = Command::new(binary())
        .current_dir(dir)
        .args(["backtest", data.to_str().unwrap(), "--out", "report", "--threads", threads])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("sma-ema-b") && stdout.contains("max dd%"), "{stdout}");
    let html = std::fs::read_to_string(dir.join("report/report.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("Drawdown %") && !html.contains("http"),
        "self-contained HTML with charts"
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap()).unwrap()
}

#[test]
fn sma_ema_backtest_follows_the_candle_convention_and_is_deterministic() {
    let bars = bars();
    assert_eq!(bars.len(), 30_240);
    let first = tempfile::tempdir().unwrap();
    // Two threads for one variant: the data is read on a thread of its own.
    let report = backtest(first.path(), "2");
    let variant = &report["variants"][0];
    let trades = variant["trades"].as_array().unwrap();
    let t0 = 1_677_628_800_000i64; // 2023-03-01 00:00 UTC, the first candle
    let got: Vec<(usize, String, Decimal)> = trades
        .iter()
        .map(|t| {
            let i = ((t["time"].as_i64().unwrap() - t0) / 60_000) as usize;
            (i, t["side"].as_str().unwrap().to_string(), t["price"].as_str().unwrap().parse().unwrap())
        })
        .collect();
    let want: Vec<(usize, String, Decimal)> =
        simulate(&bars).into_iter().map(|(i, s, p)| (i, s.to_string(), p)).collect();
    assert!(want.len() > 100, "the simple twin trades: {}", want.len());
    for (n, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "trade #{n} differs (bar index, side, price)");
    }
    assert_eq!(got.len(), want.len());
    let fees: Decimal = trades.iter().map(|t| t["fee"].as_str().unwrap().parse::<Decimal>().unwrap()).sum();
    let expected_fees: Decimal =
        want.iter().map(|(_, _, p)| (*p * Decimal::new(1, 1) * Decimal::new(1, 3)).round_dp(8)).sum();
    assert_eq!(fees, expected_fees, "0.1 % taker fee on every fill");
    assert_eq!(variant["metrics"]["trades"].as_u64().unwrap() as usize, want.len() / 2, "round trips");

    let second = tempfile::tempdir().unwrap();
    // One thread reads between chunks, the first of them shorter in the run above.
    assert_eq!(backtest(second.path(), "1")["variants"], report["variants"], "identical reports");
}

/// A flat 30-minute OHLCV file at 60,000, but for `moves` (minute, open, close).
fn ohlcv(path: &std::path::Path, moves: &[(u32, u32, u32)]) {
    let mut text = String::from("open_time,open,high,low,close,volume\n");
    for m in 0..30u32 {
        let (o, c) = moves.iter().find(|(at, ..)| *at == m).map_or((60_000, 60_000), |(_, o, c)| (*o, *c));
        text.push_str(&format!("2024-08-09 00:{m:02}:00,{o},{},{},{c},1.5\n", o.max(c) + 10, o.min(c) - 10));
    }
    std::fs::write(path, text).unwrap();
}

/// One pair on two venues, each from its own file (`binance:FILE`, `bybit:FILE`): the
/// arbitrage strategy sees two markets, sells on Bybit what it bought on Binance while Bybit
/// is rich, buys it back there when Bybit turns cheap, and the account books both legs.
#[test]
fn arbitrage_backtest_across_two_venues_files() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(wasm("arbitrage"), dir.join("plugins/arbitrage.wasm")).unwrap();
    let config = "version = 1\n[[strategy]]\nid = \"arb\"\nmodule = \"arbitrage.wasm\"\n\
                  symbols = [\"binance:BTCUSDT\", \"bybit:BTCUSDT\"]\n[strategy.params]\n\
                  leg_a = \"binance:BTCUSDT\"\nleg_b = \"bybit:BTCUSDT\"\nqty = \"0.01\"\n";
    std::fs::write(dir.join("plugins.toml"), config).unwrap();
    ohlcv(&dir.join("BTCUSDT-binance.csv"), &[]);
    let bybit = [(10, 60_000, 60_300), (11, 60_300, 60_000), (20, 60_000, 59_700), (21, 59_700, 60_000)];
    ohlcv(&dir.join("BTCUSDT-bybit.csv"), &bybit);
    let out = Command::new(binary())
        .current_dir(dir)
        .args(["backtest", "binance:BTCUSDT-binance.csv", "bybit:BTCUSDT-bybit.csv", "--out", "report"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap()).unwrap();
    let v = &report["variants"][0];
    let trades: Vec<(String, String, Decimal, Decimal)> = v["trades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let dec = |k: &str| t[k].as_str().unwrap().parse::<Decimal>().unwrap();
            (
                t["symbol"].as_str().unwrap().into(),
                t["side"].as_str().unwrap().into(),
                dec("price"),
                dec("realized_pnl"),
            )
        })
        .collect();
    let t =
        |s: &str, side: &str, p: i64, pnl: i64| (s.to_string(), side.to_string(), Decimal::from(p), Decimal::from(pnl));
    assert_eq!(
        trades,
        [
            // Bybit rich at the close of minute 10: buy Binance, then sell Bybit, at minute 11's opens.
            t("binance:BTCUSDT", "BUY", 60_000, 0),
            t("bybit:BTCUSDT", "SELL", 60_300, 0),
            // Bybit cheap at minute 20: buy it back at minute 21's open (the short realises
            // 0.01 x 600), then sell Binance (at minute 22's open: Binance's bar of minute 21
            // opened before the buy filled).
            t("bybit:BTCUSDT", "BUY", 59_700, 6),
            t("binance:BTCUSDT", "SELL", 60_000, 0),
        ],
        "{:#}",
        v["trades"]
    );
    let m = &v["metrics"];
    assert_eq!(m["trades"], 2, "two round trips, one per market: {m}");
    // 6 USDT realised less the 0.1 % taker fee of each fill.
    let net = m["net_pnl"].as_f64().unwrap();
    assert!((net - (6.0 - 0.6 - 0.603 - 0.597 - 0.6)).abs() < 1e-6, "{m}");
    assert_eq!(v["equity"].as_array().unwrap().last().unwrap()[1].as_f64(), Some(10_000.0 + net), "{m}");
}

/// Every shipped variant over `data` on `threads` threads, one call per candle or in
/// batches; the report.
fn shipped_variants(dir: &std::path::Path, data: &std::path::Path, batched: bool, threads: &str) -> Value {
    let mut args =
        vec!["backtest", data.to_str().unwrap(), "--out", "report", "--cache-dir", "cache", "--threads", threads];
    if !batched {
        args.push("--no-batch");
    }
    let out = Command::new(binary()).current_dir(dir).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap()).unwrap()
}

#[test]
fn candle_batches_change_nothing_for_any_shipped_strategy() {
    // The shipped plugins.toml (seven strategies, two variants each, plus arbitrage)
    // over the first 3,000 real candles: offering quiet stretches of candles in one call
    // must give exactly the trades, metrics and equity curves of one call per candle. The
    // batched run shares the variants among three threads (each takes the next variant
    // left for each chunk of data), the other runs them all on one.
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let config = std::fs::read_to_string(tradehost_tests::root().join("plugins.toml")).unwrap();
    std::fs::write(dir.path().join("plugins.toml"), &config).unwrap();
    let mut modules: Vec<&str> = config.lines().filter_map(|l| l.strip_prefix("module = \"")).collect();
    modules.sort_unstable();
    modules.dedup();
    assert!(modules.len() >= 8, "{modules:?}");
    for m in modules {
        let file = m.trim_end_matches('"');
        std::fs::copy(wasm(file.trim_end_matches(".wasm")), plugins.join(file)).unwrap();
    }
    let full = std::fs::read_to_string(shared_data().join("binance-us-1m/BTCUSDT_1m_20230301_20230321.csv")).unwrap();
    let data = dir.path().join("BTCUSDT_1m_head.csv");
    std::fs::write(&data, full.lines().take(3_001).collect::<Vec<_>>().join("\n")).unwrap();

    let batched = shipped_variants(dir.path(), &data, true, "3");
    let single = shipped_variants(dir.path(), &data, false, "1");
    let (a, b) = (batched["variants"].as_array().unwrap(), single["variants"].as_array().unwrap());
    assert_eq!(a.len(), b.len());
    let ids =
        |v: &[Value]| v.iter().map(|x| x["strategy"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>();
    let configured: Vec<String> =
        config.lines().filter_map(|l| l.strip_prefix("id = \"")).map(|l| l.trim_end_matches('"').to_string()).collect();
    assert_eq!(ids(a), configured, "results in configuration order");
    assert_eq!(ids(b), configured);
    let mut traded = 0;
    for (x, y) in a.iter().zip(b) {
        let id = x["strategy"].as_str().unwrap();
        let (tx, ty) = (x["trades"].as_array().unwrap(), y["trades"].as_array().unwrap());
        if let Some(n) = (0..tx.len().min(ty.len())).find(|&n| tx[n] != ty[n]) {
            panic!("{id}: trade #{n} differs: batched {} vs one by one {}", tx[n], ty[n]);
        }
        assert_eq!(tx.len(), ty.len(), "{id}: number of trades");
        assert_eq!(x["metrics"], y["metrics"], "{id}: metrics");
        assert_eq!(x["equity"], y["equity"], "{id}: equity curve");
        traded += usize::from(!tx.is_empty());
    }
    assert!(traded >= 10, "most variants trade on these candles: {traded}");
}

#[test]
fn a_component_without_candle_batches_runs_one_call_per_candle() {
    // Built against the plain `strategy` world (no `guest-batch`, no `view-version`), as
    // components were before those existed: it loads, and gets every candle.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(wasm("plain_contract"), dir.path().join("plugins/plain_contract.wasm")).unwrap();
    let config = CONFIG.replace("sma_ema.wasm", "plain_contract.wasm").replace("sma-ema-b", "plain");
    std::fs::write(dir.path().join("plugins.toml"), config).unwrap();
    let data = shared_data().join("binance-us-1m/BTCUSDT_1m_20230301_20230321.csv");
    let out = Command::new(binary())
        .current_dir(dir.path())
        .args(["backtest", data.to_str().unwrap(), "--out", "report"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report/report.json")).unwrap()).unwrap();
    let trades = report["variants"][0]["trades"].as_array().unwrap();
    let bars = bars();
    let got: Vec<(String, Decimal)> = trades
        .iter()
        .map(|t| (t["side"].as_str().unwrap().to_string(), t["price"].as_str().unwrap().parse().unwrap()))
        .collect();
    // Decided on the closes of candles 1 and 10, filled at the opens of the next ones.
    assert_eq!(got, vec![("BUY".to_string(), bars[1].open), ("SELL".to_string(), bars[10].open)]);
}
