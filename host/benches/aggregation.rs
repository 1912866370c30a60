//! Throughput of the one-minute candle aggregator (ticks/s) on a pre-generated synthetic
//! stream, next to a baseline measured in the same run over the same ticks: a plain loop
//! that sums the Decimal prices. Report the aggregator as a ratio to that baseline.
//! A second group measures Binance WebSocket frame parsing (frames/s) on frames from the
//! recorded session, mixed in the recording's proportions.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use tradehost::market_data::feeds::binance_ws::parse_frame;
use tradehost::market_data::feeds::synthetic::{SyntheticFeed, default_markets};
use tradehost::market_data::feeds::{Feed, FeedEvent, SymbolCache};
use tradehost::market_data::{Candle, CandleAggregator, Symbols, Tick};

/// Ticks in the pre-generated stream (about 14 hours of two markets at 4 trades/s each).
const TICKS: usize = 400_000;
/// 2024-08-09 00:00:00 UTC.
const START_MS: i64 = 1_723_161_600_000;

/// The synthetic trades and the clock events among them, in feed order.
fn stream() -> Vec<FeedEvent> {
    let symbols = Arc::new(RwLock::new(Symbols::default()));
    let Ok(mut feed) = SyntheticFeed::new(42, START_MS, &default_markets(), symbols) else {
        panic!("default markets are valid");
    };
    let mut events = Vec::with_capacity(TICKS * 2);
    let mut ticks = 0;
    while ticks < TICKS {
        match feed.next_event() {
            Ok(Some(event)) => {
                ticks += usize::from(matches!(event, FeedEvent::Trade(_)));
                events.push(event);
            }
            other => panic!("the synthetic feed is endless: {other:?}"),
        }
    }
    events
}

fn aggregation(c: &mut Criterion) {
    let events = stream();
    let ticks: Vec<Tick> = events
        .iter()
        .filter_map(|e| match e {
            FeedEvent::Trade(t) => Some(*t),
            _ => None,
        })
        .collect();
    let mut group = c.benchmark_group("aggregation");
    group.throughput(Throughput::Elements(ticks.len() as u64));

    group.bench_function(BenchmarkId::new("baseline_sum_prices", ticks.len()), |b| {
        b.iter(|| {
            let mut sum = Decimal::ZERO;
            for t in black_box(&ticks) {
                sum += t.price;
            }
            sum
        })
    });

    group.bench_function(BenchmarkId::new("aggregator_ticks", ticks.len()), |b| {
        let mut out: Vec<Candle> = Vec::with_capacity(4096);
        b.iter(|| {
            let mut agg = CandleAggregator::new(false);
            out.clear();
            for t in black_box(&ticks) {
                agg.on_tick(t, &mut out);
            }
            out.len()
        })
    });

    // The same ticks with the feed's one-per-second clock events interleaved, as the
    // core loop sees them (throughput still counted in ticks).
    group.bench_function(BenchmarkId::new("aggregator_ticks_and_clocks", ticks.len()), |b| {
        let mut out: Vec<Candle> = Vec::with_capacity(4096);
        b.iter(|| {
            let mut agg = CandleAggregator::new(false);
            out.clear();
            for event in black_box(&events) {
                match event {
                    FeedEvent::Trade(t) => agg.on_tick(t, &mut out),
                    FeedEvent::Clock(now) => agg.on_clock(*now, &mut out),
                    _ => {}
                }
            }
            out.len()
        })
    });
    group.finish();
}

/// One frame of each kind from `spot_btcusdt_20240808.gz`.
const TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
const BOOK: &str = r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239203,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"2.30520000"}}"#;
const DEPTH: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"],["61730.17000000","0.00000000"],["56854.58000000","0.00000000"]],"a":[["61837.64000000","1.54698000"],["61839.85000000","0.00000000"],["61839.86000000","0.00000000"]]}}"#;

fn frame_parsing(c: &mut Criterion) {
    // The recording holds about 3 trades and 1 depth frame per 11 book tickers.
    let mix: Vec<&str> = [[TRADE; 3].as_slice(), &[BOOK; 11], &[DEPTH; 1]].concat();
    let frames: Vec<&str> = mix.iter().copied().cycle().take(15_000).collect();
    let mut symbols = SymbolCache::new(Arc::new(RwLock::new(Symbols::default())));
    let mut group = c.benchmark_group("binance_ws");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function(BenchmarkId::new("parse_frame_mix", frames.len()), |b| {
        b.iter(|| {
            let mut kept = 0usize;
            for frame in black_box(&frames) {
                kept += usize::from(matches!(parse_frame(frame, &mut symbols), Ok(Some(_))));
            }
            kept
        })
    });
    group.finish();
}

criterion_group!(benches, aggregation, frame_parsing);
criterion_main!(benches);
