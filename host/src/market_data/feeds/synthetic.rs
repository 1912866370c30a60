//! A deterministic synthetic market: a geometric random walk per symbol with Poisson
//! trade arrivals and lognormal sizes, plus a clock event every second of event time.
//!
//! The walk runs in `f64` (it only has to look like a market); every emitted price and
//! quantity is an exact multiple of the symbol's tick and lot, as a `Decimal`. The random
//! source is a seeded xoshiro256**, so one seed always gives one stream.

use super::{Feed, FeedError, FeedEvent, SharedSymbols, SymbolCache};
use crate::market_data::candle::MINUTE_MS;
use crate::market_data::tick::{SymbolId, Tick};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Annualised volatility of the walk (BTC and ETH typically run at 50-80 %).
const ANNUAL_VOLATILITY: f64 = 0.65;
/// Milliseconds in a 365-day year.
const MS_PER_YEAR: f64 = 365.0 * 24.0 * 3600.0 * 1000.0;
/// Default trade arrival rate per symbol.
const DEFAULT_TRADES_PER_SECOND: f64 = 4.0;
/// Median trade size in quote currency, and the spread of the size distribution.
const MEDIAN_NOTIONAL: f64 = 300.0;
const SIZE_LOG_SIGMA: f64 = 1.2;
/// Interval of the clock events, ms.
const CLOCK_INTERVAL_MS: i64 = 1_000;
/// A venue's price of a pair wanders around the reference walk by a mean-reverting basis
/// (Ornstein-Uhlenbeck in log price): its stationary standard deviation (6 bps, BTCUSDT
/// between large venues in a lively market) and its time constant.
const BASIS_SD: f64 = 0.0006;
const BASIS_TAU_MS: f64 = 60_000.0;

/// One synthetic market: (symbol, start price, tick size, lot size).
pub type SyntheticMarket<'a> = (&'a str, Decimal, Decimal, Decimal);

/// BTCUSDT near 60,000 (tick 0.01, lot 0.00001) and ETHUSDT near 2,600 (tick 0.01,
/// lot 0.0001).
pub fn default_markets() -> Vec<SyntheticMarket<'static>> {
    vec![
        ("BTCUSDT", Decimal::new(60_000, 0), Decimal::new(1, 2), Decimal::new(1, 5)),
        ("ETHUSDT", Decimal::new(2_600, 0), Decimal::new(1, 2), Decimal::new(1, 4)),
    ]
}

/// The walk of one symbol.
#[derive(Debug, Clone)]
struct Market {
    symbol: SymbolId,
    log_price: f64,
    tick: Decimal,
    tick_f: f64,
    lot: Decimal,
    lot_f: f64,
    /// Event time of the next trade, fractional ms.
    next_time: f64,
    last_time: f64,
    next_id: u64,
    /// A venue's copy of a pair: the index of the reference market it follows, its basis
    /// and its own random source (so adding venues leaves the reference streams unchanged).
    venue: Option<(usize, f64, Xoshiro256)>,
}

/// The synthetic feed. Endless unless [`SyntheticFeed::with_end`] is set.
#[derive(Debug, Clone)]
pub struct SyntheticFeed {
    rng: Xoshiro256,
    markets: Vec<Market>,
    start_ms: i64,
    next_clock_ms: i64,
    end_ms: Option<i64>,
    rate_per_ms: f64,
    seed: u64,
    shared: SharedSymbols,
}

impl SyntheticFeed {
    /// A feed of `markets` from event time `start_ms`, interning names into `shared`.
    pub fn new(
        seed: u64,
        start_ms: i64,
        markets: &[SyntheticMarket<'_>],
        shared: SharedSymbols,
    ) -> Result<SyntheticFeed, FeedError> {
        if markets.is_empty() {
            return Err(FeedError::Config("the synthetic feed needs at least one market".into()));
        }
        let mut symbols = SymbolCache::new(shared.clone());
        let mut rng = Xoshiro256::seeded(seed);
        let rate_per_ms = DEFAULT_TRADES_PER_SECOND / 1000.0;
        let mut built = Vec::with_capacity(markets.len());
        for &(name, price, tick, lot) in markets {
            let positive = |d: Decimal| d.to_f64().filter(|f| *f > 0.0 && f.is_finite());
            let (Some(price_f), Some(tick_f), Some(lot_f)) = (positive(price), positive(tick), positive(lot)) else {
                return Err(FeedError::Config(format!("{name}: price, tick and lot must be positive")));
            };
            let symbol = symbols.resolve(name).map_err(|e| FeedError::Config(e.to_string()))?;
            let first = start_ms as f64 + rng.exponential(rate_per_ms);
            built.push(Market {
                symbol,
                log_price: price_f.ln(),
                tick,
                tick_f,
                lot,
                lot_f,
                next_time: first,
                last_time: start_ms as f64,
                next_id: 1,
                venue: None,
            });
        }
        let next_clock_ms = start_ms.div_euclid(CLOCK_INTERVAL_MS).saturating_add(1).saturating_mul(CLOCK_INTERVAL_MS);
        Ok(SyntheticFeed { rng, markets: built, start_ms, next_clock_ms, end_ms: None, rate_per_ms, seed, shared })
    }

    /// Add a stand-in for each venue-qualified market (`bybit:BTCUSDT`) whose pair this feed
    /// has: the pair's walk plus the venue's own mean-reverting basis, with its own trades.
    /// Markets of pairs the feed does not have are left without data, like bare ones.
    pub fn with_venues(mut self, markets: &[crate::market_data::SymbolInfo]) -> Result<SyntheticFeed, FeedError> {
        let mut symbols = SymbolCache::new(self.shared.clone());
        for m in markets.iter().filter(|m| m.venue().is_some()) {
            let Ok(pair) = symbols.resolve(m.pair()) else { continue };
            let Some(leader) = self.markets.iter().position(|x| x.symbol == pair && x.venue.is_none()) else {
                continue;
            };
            let symbol = symbols.resolve(&m.name).map_err(|e| FeedError::Config(e.to_string()))?;
            if self.markets.iter().any(|x| x.symbol == symbol) {
                continue;
            }
            let salt =
                m.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
            let mut rng = Xoshiro256::seeded(self.seed ^ salt);
            let basis = BASIS_SD * rng.normal();
            let first = self.start_ms as f64 + rng.exponential(self.rate_per_ms);
            let lead = &self.markets[leader];
            self.markets.push(Market {
                symbol,
                next_time: first,
                last_time: self.start_ms as f64,
                next_id: 1,
                venue: Some((leader, basis, rng)),
                ..lead.clone()
            });
        }
        Ok(self)
    }

    /// Stop after event time `end_ms` (inclusive).
    pub fn with_end(mut self, end_ms: i64) -> SyntheticFeed {
        self.end_ms = Some(end_ms);
        self
    }

    /// Trades per second per symbol (default 4); non-positive values keep the default.
    pub fn with_trade_rate(mut self, per_second: f64) -> SyntheticFeed {
        if per_second.is_finite() && per_second > 0.0 {
            self.rate_per_ms = per_second / 1000.0;
        }
        self
    }

    /// The next trade of market `i`, advancing its walk and arrival clock.
    fn trade(&mut self, i: usize) -> Tick {
        let reference = match self.markets[i].venue {
            Some((leader, _, _)) => self.markets[leader].log_price,
            None => 0.0,
        };
        let m = &mut self.markets[i];
        let time = m.next_time;
        let rng = match &mut m.venue {
            Some((_, basis, rng)) => {
                let decay = (-(time - m.last_time).max(0.0) / BASIS_TAU_MS).exp();
                *basis = decay * *basis + BASIS_SD * (1.0 - decay * decay).sqrt() * rng.normal();
                m.log_price = reference + *basis;
                rng
            }
            None => {
                let dt_years = (time - m.last_time).max(0.0) / MS_PER_YEAR;
                let sigma = ANNUAL_VOLATILITY * dt_years.sqrt();
                m.log_price += sigma * self.rng.normal() - 0.5 * sigma * sigma;
                &mut self.rng
            }
        };
        m.last_time = time;
        m.next_time = time + rng.exponential(self.rate_per_ms);
        let price_f = m.log_price.exp();
        let ticks = (price_f / m.tick_f).round().clamp(1.0, 1e15) as i64;
        let median_lots = (MEDIAN_NOTIONAL / price_f / m.lot_f).ln();
        let lots = (median_lots + SIZE_LOG_SIGMA * rng.normal()).exp().round().clamp(1.0, 1e12) as i64;
        let id = m.next_id;
        m.next_id += 1;
        Tick {
            symbol: m.symbol,
            time_ms: time as i64,
            price: Decimal::from(ticks).saturating_mul(m.tick),
            qty: Decimal::from(lots).saturating_mul(m.lot),
            trade_id: id,
            buyer_maker: rng.next_u64() & 1 == 1,
        }
    }
}

impl Feed for SyntheticFeed {
    fn next_event(&mut self) -> Result<Option<FeedEvent>, FeedError> {
        let mut next = 0;
        for (i, m) in self.markets.iter().enumerate() {
            if m.next_time < self.markets[next].next_time {
                next = i;
            }
        }
        let trade_ms = self.markets[next].next_time as i64;
        let event_ms = trade_ms.min(self.next_clock_ms);
        if self.end_ms.is_some_and(|end| event_ms > end) {
            return Ok(None);
        }
        if self.next_clock_ms <= trade_ms {
            let now = self.next_clock_ms;
            self.next_clock_ms = now.saturating_add(CLOCK_INTERVAL_MS);
            return Ok(Some(FeedEvent::Clock(now)));
        }
        Ok(Some(FeedEvent::Trade(self.trade(next))))
    }

    fn starts_on_minute_boundary(&self) -> bool {
        self.start_ms.rem_euclid(MINUTE_MS) == 0
    }
}

/// xoshiro256** (Blackman and Vigna), seeded through splitmix64.
#[derive(Debug, Clone)]
struct Xoshiro256([u64; 4]);

impl Xoshiro256 {
    fn seeded(seed: u64) -> Xoshiro256 {
        let mut sm = seed;
        let mut splitmix = || {
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Xoshiro256([splitmix(), splitmix(), splitmix(), splitmix()])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Exponential with the given rate (per ms), in ms.
    fn exponential(&mut self, rate: f64) -> f64 {
        -self.unit().ln() / rate
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
#[path = "synthetic_tests.rs"]
mod tests;
