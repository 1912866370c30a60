//! Tests of the synthetic feed: determinism, exchange-shaped output, realistic dynamics.

use super::*;
use crate::market_data::feeds::shared_symbols;
use crate::market_data::{Candle, CandleAggregator};
use std::collections::HashMap;

const START: i64 = 1_723_161_600_000; // 2024-08-09 00:00:00 UTC

fn events(seed: u64, n: usize) -> Vec<FeedEvent> {
    let mut feed = SyntheticFeed::new(seed, START, &default_markets(), shared_symbols()).unwrap();
    (0..n).map(|_| feed.next_event().unwrap().unwrap()).collect()
}

#[test]
fn same_seed_same_stream_other_seed_other_stream() {
    assert_eq!(events(7, 5_000), events(7, 5_000));
    assert_ne!(events(7, 5_000), events(8, 5_000));
}

#[test]
fn trades_look_like_an_exchange() {
    let markets = default_markets();
    let end = START + 30 * 60_000;
    let mut feed = SyntheticFeed::new(1, START, &markets, shared_symbols()).unwrap().with_end(end);
    let mut last: Vec<Option<Tick>> = vec![None; markets.len()];
    let (mut now, mut last_clock, mut trades) = (START, START, 0u64);
    while let Some(event) = feed.next_event().unwrap() {
        let t = event.time_ms().unwrap();
        assert!(t >= now && t <= end, "event time goes forward within the range");
        now = t;
        match event {
            FeedEvent::Clock(at) => {
                assert!(at - last_clock <= 1_000, "a clock at least every second");
                last_clock = at;
            }
            FeedEvent::Trade(tick) => {
                trades += 1;
                assert!(tick.time_ms - last_clock < 1_000, "no trade more than a second past the last clock");
                let (_, start_price, tick_size, lot) = markets[tick.symbol.0 as usize];
                assert!(tick.price > Decimal::ZERO && (tick.price % tick_size).is_zero(), "{tick:?}");
                assert!(tick.qty > Decimal::ZERO && (tick.qty % lot).is_zero(), "{tick:?}");
                let ratio = tick.price / start_price;
                assert!(
                    ratio > Decimal::new(8, 1) && ratio < Decimal::new(12, 1),
                    "30 minutes do not move 20 %: {tick:?}"
                );
                if let Some(prev) = last[tick.symbol.0 as usize] {
                    assert_eq!(tick.trade_id, prev.trade_id + 1);
                    assert!(tick.time_ms >= prev.time_ms);
                }
                last[tick.symbol.0 as usize] = Some(tick);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let per_second = trades as f64 / 1_800.0 / markets.len() as f64;
    assert!((3.0..5.0).contains(&per_second), "{per_second} trades/s per symbol");
    assert!(last_clock >= end - 1_000);
}

#[test]
fn volatility_is_realistic() {
    // Six hours of BTC minute candles: the annualised volatility of the minute log returns
    // must land near the configured 65 % (the estimate's error is a few percent).
    let markets = &default_markets()[..1];
    let end = START + 6 * 3_600_000;
    let mut feed = SyntheticFeed::new(3, START, markets, shared_symbols()).unwrap().with_end(end);
    assert!(feed.starts_on_minute_boundary());
    let (mut agg, mut candles) = (CandleAggregator::new(false), Vec::new());
    while let Some(event) = feed.next_event().unwrap() {
        match event {
            FeedEvent::Trade(t) => agg.on_tick(&t, &mut candles),
            FeedEvent::Clock(now) => agg.on_clock(now, &mut candles),
            _ => {}
        }
    }
    assert_eq!(candles.len(), 360, "the clock at the end closes the last minute");
    let closes: Vec<f64> = candles.iter().map(|c: &Candle| c.close.to_f64().unwrap()).collect();
    let returns: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (returns.len() - 1) as f64;
    let annual = (var * 365.0 * 24.0 * 60.0).sqrt();
    assert!((0.5..0.8).contains(&annual), "annualised volatility {annual}");
}

#[test]
fn rejects_bad_markets_and_reports_the_boundary() {
    let shared = shared_symbols();
    let one = Decimal::ONE;
    let cases: [&[SyntheticMarket<'_>]; 4] = [
        &[],
        &[("BTCUSDT", one, Decimal::ZERO, one)],
        &[("BTCUSDT", -one, one, one)],
        &[("not a symbol", one, one, one)],
    ];
    for markets in cases {
        assert!(
            matches!(SyntheticFeed::new(1, START, markets, shared.clone()), Err(FeedError::Config(_))),
            "{markets:?}"
        );
    }
    let feed = SyntheticFeed::new(1, START + 15_000, &default_markets(), shared).unwrap();
    assert!(!feed.starts_on_minute_boundary());
}

#[test]
fn venue_stand_ins_follow_their_pair_with_a_small_mean_reverting_basis() {
    let shared = shared_symbols();
    let end = START + 60 * 60_000;
    let plain = SyntheticFeed::new(3, START, &default_markets(), shared.clone()).unwrap().with_end(end);
    let venues: Vec<_> = ["binance:BTCUSDT", "bybit:BTCUSDT", "bybit:SOLUSDT"]
        .iter()
        .map(|n| crate::market_data::SymbolInfo::parse(n).unwrap())
        .collect();
    let mut both = plain.clone().with_venues(&venues).unwrap();
    let table = |id: SymbolId| shared.read().unwrap().name(id).to_string();
    let (mut reference, mut last): (Option<Decimal>, HashMap<String, Tick>) = (None, HashMap::new());
    let mut gaps: HashMap<String, Vec<f64>> = HashMap::new();
    let mut bare = Vec::new();
    while let Some(event) = both.next_event().unwrap() {
        let FeedEvent::Trade(t) = event else { continue };
        let name = table(t.symbol);
        if let Some(prev) = last.get(&name) {
            assert_eq!(t.trade_id, prev.trade_id + 1, "{name}: own trade ids");
        }
        assert!((t.price % Decimal::new(1, 2)).is_zero() && (t.qty % Decimal::new(1, 5)).is_zero(), "{t:?}");
        match name.as_str() {
            "BTCUSDT" => reference = Some(t.price),
            "ETHUSDT" => {}
            venue => {
                let Some(r) = reference.and_then(|r| r.to_f64()) else { continue };
                gaps.entry(venue.to_string()).or_default().push(t.price.to_f64().unwrap() / r - 1.0);
            }
        }
        if !name.contains(':') {
            bare.push(t);
        }
        last.insert(name, t);
    }
    let mut plain = plain;
    let mut alone = Vec::new();
    while let Some(event) = plain.next_event().unwrap() {
        if let FeedEvent::Trade(t) = event {
            alone.push(t);
        }
    }
    assert_eq!(bare, alone, "adding venues leaves the reference streams as they were");
    assert_eq!(gaps.len(), 2, "no stand-in for a pair the feed does not have: {:?}", gaps.keys());
    for (venue, g) in &gaps {
        let n = g.len() as f64;
        let mean = g.iter().sum::<f64>() / n;
        let sd = (g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(n > 10_000.0, "{venue}: {n} trades in an hour");
        assert!(g.iter().all(|x| x.abs() < 0.005), "{venue}: never 0.5 % away from the pair");
        assert!(mean.abs() < 0.0005 && (0.0003..0.0012).contains(&sd), "{venue}: mean {mean}, sd {sd}");
        assert!(g.iter().any(|x| *x > 0.0005) && g.iter().any(|x| *x < -0.0005), "{venue}: the basis swings both ways");
    }
}
