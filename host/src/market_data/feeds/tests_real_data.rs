//! End-to-end test on a real recorded Binance session: replay (merge, gzip, frame
//! parsing) into the candle aggregator, checked against candles computed independently
//! from the raw JSON trades.

use super::{FeedEvent, open_replay, shared_symbols};
use crate::market_data::{Candle, CandleAggregator, MINUTE_MS};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The shared real-data directory (`../../shared/data` from the host crate). Fails loudly
/// when missing: a test on real data that silently passes without it proves nothing.
pub(crate) fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    assert!(
        dir.is_dir(),
        "real market data not found at {}: these tests need the shared/ data directory beside the checkout",
        dir.display()
    );
    dir
}

fn ws_file(name: &str) -> PathBuf {
    data_dir().join("binance-spot-ws").join(name)
}

/// Independent candle fields from the raw JSON of every `@trade` frame of the files.
#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
    quote_volume: Decimal,
    trades: u64,
    first_id: u64,
    last_id: u64,
    taker_buy_base: Decimal,
    taker_buy_quote: Decimal,
}

/// (symbol name, minute) -> fields, from `(T, t, p, q, m)` of every trade frame.
fn expected_from_raw(files: &[PathBuf]) -> BTreeMap<(String, i64), Expected> {
    let mut trades: Vec<(String, i64, u64, Decimal, Decimal, bool)> = Vec::new();
    for path in files {
        let reader = BufReader::new(flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()));
        for line in reader.lines() {
            let line = line.unwrap();
            let frame: Value = serde_json::from_str(line.split_once(' ').unwrap().1).unwrap();
            if !frame["stream"].as_str().is_some_and(|s| s.ends_with("@trade")) {
                continue;
            }
            let d = &frame["data"];
            let dec = |k: &str| Decimal::from_str(d[k].as_str().unwrap()).unwrap();
            let symbol = d["s"].as_str().unwrap().to_owned();
            trades.push((
                symbol,
                d["T"].as_i64().unwrap(),
                d["t"].as_u64().unwrap(),
                dec("p"),
                dec("q"),
                d["m"].as_bool().unwrap(),
            ));
        }
    }
    trades.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
    let mut out: BTreeMap<(String, i64), Expected> = BTreeMap::new();
    for (symbol, time, id, price, qty, buyer_maker) in trades {
        let e = out.entry((symbol, time.div_euclid(MINUTE_MS) * MINUTE_MS)).or_default();
        if e.trades == 0 {
            (e.open, e.high, e.low, e.first_id) = (price, price, price, id);
        }
        e.high = e.high.max(price);
        e.low = e.low.min(price);
        (e.close, e.last_id) = (price, id);
        e.volume += qty;
        e.quote_volume += price * qty;
        e.trades += 1;
        if !buyer_maker {
            e.taker_buy_base += qty;
            e.taker_buy_quote += price * qty;
        }
    }
    out
}

#[test]
fn recorded_session_aggregates_to_independently_computed_candles() {
    let files = [
        "spot_btcusdt_20240808.gz",
        "spot_ethusdt_20240808.gz",
        "spot_btcusdt_20240809.gz",
        "spot_ethusdt_20240809.gz",
    ]
    .map(ws_file)
    .to_vec();
    let symbols = shared_symbols();
    let mut feed = open_replay(&files, symbols.clone()).unwrap();
    assert!(!feed.starts_on_minute_boundary(), "a recording joins mid-minute");
    let mut agg = CandleAggregator::new(!feed.starts_on_minute_boundary());
    let (mut candles, mut counts, mut order) = (Vec::new(), [0usize; 3], Vec::new());
    while let Some(event) = feed.next_event().unwrap() {
        match event {
            FeedEvent::Trade(t) => {
                counts[0] += 1;
                order.push(t.symbol);
                agg.on_tick(&t, &mut candles);
            }
            FeedEvent::Book(_) => counts[1] += 1,
            FeedEvent::Clock(now) => {
                counts[2] += 1;
                agg.on_clock(now, &mut candles);
            }
            FeedEvent::Candle(c) => panic!("no klines in the recording: {c:?}"),
        }
    }
    assert_eq!(counts, [19_904 + 14_515, 73_174 + 58_758, 6_495 + 6_470], "[trades, book tickers, depth clocks]");
    assert_eq!(agg.late_ticks(), 0);
    // Merged by receive time, the two symbols interleave rather than follow each other.
    let switches = order.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches > 1000, "only {switches} switches between symbols");

    let expected = expected_from_raw(&files);
    let first_complete = 1_723_161_300_000; // 2024-08-08 23:55:00 UTC
    for (name, total_trades) in [("BTCUSDT", 19_904), ("ETHUSDT", 14_515)] {
        let id = symbols.read().unwrap().get(name).unwrap();
        let got: Vec<&Candle> = candles.iter().filter(|c| c.symbol == id).collect();
        let opens: Vec<i64> = got.iter().map(|c| c.open_time_ms).collect();
        let want_opens: Vec<i64> = (0..10).map(|k| first_complete + k * MINUTE_MS).collect();
        assert_eq!(opens, want_opens, "{name}: ten complete minutes 23:55..00:04");
        for c in got {
            let e = &expected[&(name.to_owned(), c.open_time_ms)];
            let fields =
                [c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.taker_buy_base, c.taker_buy_quote];
            let want = [e.open, e.high, e.low, e.close, e.volume, e.quote_volume, e.taker_buy_base, e.taker_buy_quote];
            assert_eq!(fields, want, "{name} {}", c.open_time_ms);
            assert_eq!(c.trades, e.trades, "{name} {}", c.open_time_ms);
            assert_eq!(c.trades, e.last_id - e.first_id + 1, "{name} {}: trade ids are gap-free", c.open_time_ms);
            assert_eq!(c.close_time_ms, c.open_time_ms + MINUTE_MS - 1);
        }
        let forming = agg.forming(id).unwrap();
        assert_eq!(forming.open_time_ms, first_complete + 10 * MINUTE_MS, "{name}: 00:05 is still forming");
        let raw_total: u64 = expected.iter().filter(|(k, _)| k.0 == name).map(|(_, e)| e.trades).sum();
        assert_eq!(raw_total, total_trades, "{name}: trades in the raw files");
    }
}
