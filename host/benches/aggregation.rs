//! Throughput of the one-minute candle aggregator (ticks/s) on a pre-generated synthetic
//! stream, next to a baseline measured in the same run over the same ticks: a plain loop
//! that sums the Decimal prices. Report the aggregator as a ratio to that baseline.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use tradehost::market_data::feeds::synthetic::{SyntheticFeed, default_markets};
use tradehost::market_data::feeds::{Feed, FeedEvent};
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

criterion_group!(benches, aggregation);
criterion_main!(benches);
