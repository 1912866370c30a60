//! One-minute candles from trades, per symbol, driven by event time only.
//!
//! A candle closes when a trade of a later minute arrives or when a clock event says its
//! minute has ended; minutes without a trade become zero-volume candles at the previous
//! close. Trades older than the forming candle are late: they are counted and dropped,
//! never reopening a closed candle. The same input always gives the same candles.

use super::candle::{Candle, MINUTE_MS};
use super::tick::{SymbolId, Tick};
use rust_decimal::Decimal;

/// Gaps longer than this (a week) are not filled: such a jump is a bad timestamp or a
/// feed outage, and filling it could emit millions of empty candles in one call.
pub const MAX_GAP_MINUTES: i64 = 7 * 24 * 60;

/// Per-symbol state, indexed by symbol id.
#[derive(Debug, Clone)]
struct SymbolState {
    symbol: SymbolId,
    /// The candle being built.
    forming: Option<Candle>,
    /// False while the forming candle is the partial first minute that is not emitted.
    emit_forming: bool,
    /// Close of the last finished minute, the price of gap candles.
    prev_close: Option<Decimal>,
    /// Start of the first minute not yet closed; trades before it are late.
    next_minute: i64,
    /// Whether any trade of this symbol has been seen.
    seen: bool,
}

/// Builds one-minute candles for every symbol from a time-ordered stream of trades
/// and clock events.
#[derive(Debug, Clone, Default)]
pub struct CandleAggregator {
    skip_first_partial: bool,
    symbols: Vec<SymbolState>,
    late_ticks: u64,
}

impl CandleAggregator {
    /// An aggregator. With `skip_first_partial` the first minute seen for each symbol is
    /// not emitted (a live or recorded feed joins mid-minute); its close still seeds the
    /// gap candles that follow. Use `false` for feeds that start on a minute boundary.
    pub fn new(skip_first_partial: bool) -> CandleAggregator {
        CandleAggregator { skip_first_partial, ..CandleAggregator::default() }
    }

    /// Add a trade. Candles it closes (the forming one, then one zero-volume candle per
    /// empty minute in between) are pushed to `out` in time order.
    pub fn on_tick(&mut self, tick: &Tick, out: &mut Vec<Candle>) {
        let index = tick.symbol.0 as usize;
        if index >= self.symbols.len() {
            let start = self.symbols.len();
            self.symbols.extend((start..=index).map(|i| SymbolState::new(SymbolId(i as u32))));
        }
        let state = &mut self.symbols[index];
        if let Some(candle) = &mut state.forming {
            // Hot path: a trade inside the forming minute, without a division.
            if tick.time_ms >= candle.open_time_ms && tick.time_ms <= candle.close_time_ms {
                add_trade(candle, tick);
                return;
            }
        }
        let minute = Candle::minute_of(tick.time_ms);
        if state.seen && minute < state.next_minute {
            self.late_ticks += 1;
            return;
        }
        if state.seen {
            state.close_until(minute, out);
        } else {
            state.seen = true;
            state.emit_forming = !self.skip_first_partial;
        }
        state.forming = Some(first_trade(tick, minute));
        state.next_minute = minute;
    }

    /// Advance event time to `now_ms`: close every forming candle whose minute has ended
    /// and emit zero-volume candles for ended minutes without trades, up to (not
    /// including) the minute of `now_ms`. Candles go to `out` symbol by symbol, each
    /// symbol's in time order. A clock that goes backwards does nothing.
    pub fn on_clock(&mut self, now_ms: i64, out: &mut Vec<Candle>) {
        let minute = Candle::minute_of(now_ms);
        for state in self.symbols.iter_mut().filter(|s| s.seen && s.next_minute < minute) {
            state.close_until(minute, out);
            state.next_minute = minute;
        }
    }

    /// The symbol's candle still being built, if any.
    pub fn forming(&self, symbol: SymbolId) -> Option<&Candle> {
        self.symbols.get(symbol.0 as usize)?.forming.as_ref()
    }

    /// Trades dropped because their minute had already closed.
    pub fn late_ticks(&self) -> u64 {
        self.late_ticks
    }
}

impl SymbolState {
    fn new(symbol: SymbolId) -> SymbolState {
        SymbolState { symbol, forming: None, emit_forming: false, prev_close: None, next_minute: 0, seen: false }
    }

    /// Close the forming candle (if any) and fill empty minutes up to `minute`, exclusive.
    fn close_until(&mut self, minute: i64, out: &mut Vec<Candle>) {
        let mut gap_from = self.next_minute;
        if let Some(candle) = self.forming.take() {
            if std::mem::replace(&mut self.emit_forming, true) {
                out.push(candle);
            }
            self.prev_close = Some(candle.close);
            gap_from = candle.open_time_ms.saturating_add(MINUTE_MS);
        }
        let Some(price) = self.prev_close else { return };
        let gap_minutes = minute.saturating_sub(gap_from) / MINUTE_MS;
        if gap_minutes > MAX_GAP_MINUTES {
            tracing::warn!(
                symbol = self.symbol.0,
                from_ms = gap_from,
                to_ms = minute,
                "time gap too long to fill with empty candles"
            );
            return;
        }
        out.extend((0..gap_minutes.max(0)).map(|i| empty_candle(self.symbol, gap_from + i * MINUTE_MS, price)));
    }
}

/// The candle of `minute` opened by its first trade.
fn first_trade(tick: &Tick, minute: i64) -> Candle {
    let quote = tick.price.saturating_mul(tick.qty);
    let taker_buy = !tick.buyer_maker;
    Candle {
        symbol: tick.symbol,
        open_time_ms: minute,
        close_time_ms: minute.saturating_add(MINUTE_MS - 1),
        open: tick.price,
        high: tick.price,
        low: tick.price,
        close: tick.price,
        volume: tick.qty,
        quote_volume: quote,
        trades: 1,
        taker_buy_base: if taker_buy { tick.qty } else { Decimal::ZERO },
        taker_buy_quote: if taker_buy { quote } else { Decimal::ZERO },
    }
}

/// Fold a trade of the candle's minute into it. Saturating arithmetic: absurd input
/// clamps instead of panicking.
fn add_trade(candle: &mut Candle, tick: &Tick) {
    if tick.price > candle.high {
        candle.high = tick.price;
    }
    if tick.price < candle.low {
        candle.low = tick.price;
    }
    candle.close = tick.price;
    candle.volume = candle.volume.saturating_add(tick.qty);
    let quote = tick.price.saturating_mul(tick.qty);
    candle.quote_volume = candle.quote_volume.saturating_add(quote);
    candle.trades += 1;
    if !tick.buyer_maker {
        candle.taker_buy_base = candle.taker_buy_base.saturating_add(tick.qty);
        candle.taker_buy_quote = candle.taker_buy_quote.saturating_add(quote);
    }
}

/// A minute without trades, flat at the previous close.
fn empty_candle(symbol: SymbolId, open_time_ms: i64, price: Decimal) -> Candle {
    Candle {
        symbol,
        open_time_ms,
        close_time_ms: open_time_ms.saturating_add(MINUTE_MS - 1),
        open: price,
        high: price,
        low: price,
        close: price,
        volume: Decimal::ZERO,
        quote_volume: Decimal::ZERO,
        trades: 0,
        taker_buy_base: Decimal::ZERO,
        taker_buy_quote: Decimal::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone, Copy)]
    enum Ev {
        /// symbol, seconds, price, qty, buyer_maker
        T(u32, i64, i64, i64, bool),
        /// seconds
        Clock(i64),
    }
    use Ev::{Clock, T};

    fn run(skip_first: bool, events: &[Ev]) -> (CandleAggregator, Vec<Candle>) {
        let mut agg = CandleAggregator::new(skip_first);
        let mut out = Vec::new();
        for ev in events {
            match *ev {
                T(s, secs, p, q, m) => {
                    let (price, qty) = (Decimal::from(p), Decimal::from(q));
                    let tick =
                        Tick { symbol: SymbolId(s), time_ms: secs * 1000, price, qty, trade_id: 0, buyer_maker: m };
                    agg.on_tick(&tick, &mut out);
                }
                Clock(secs) => agg.on_clock(secs * 1000, &mut out),
            }
        }
        (agg, out)
    }

    /// (symbol, minute, [o, h, l, c], volume, trades)
    type Row = (u32, i64, [i64; 4], i64, u64);
    /// (name, skip first partial, events, emitted candles, late ticks)
    type Case = (&'static str, bool, Vec<Ev>, Vec<Row>, u64);

    fn row(c: &Candle) -> Row {
        let int = |d: Decimal| i64::try_from(d).unwrap();
        let ohlc = [int(c.open), int(c.high), int(c.low), int(c.close)];
        (c.symbol.0, c.open_time_ms / MINUTE_MS, ohlc, int(c.volume), c.trades)
    }

    #[test]
    fn closes_fills_and_drops_late_trades() {
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("one minute stays open", false, vec![T(0, 1, 10, 1, true), T(0, 59, 12, 2, false)], vec![], 0),
            ("next minute closes", false, vec![T(0, 1, 10, 1, true), T(0, 30, 8, 2, true), T(0, 59, 9, 1, true), T(0, 60, 11, 1, true)],
                vec![(0, 0, [10, 10, 8, 9], 4, 3)], 0),
            ("empty minutes at the previous close", false, vec![T(0, 1, 10, 1, true), T(0, 200, 11, 1, true)],
                vec![(0, 0, [10, 10, 10, 10], 1, 1), (0, 1, [10, 10, 10, 10], 0, 0), (0, 2, [10, 10, 10, 10], 0, 0)], 0),
            ("late trade never reopens", false, vec![T(0, 1, 10, 1, true), T(0, 61, 11, 1, true), T(0, 59, 99, 5, true), T(0, 62, 12, 1, true)],
                vec![(0, 0, [10, 10, 10, 10], 1, 1)], 1),
            ("partial first minute skipped but seeds gaps", true, vec![T(0, 30, 10, 1, true), T(0, 130, 11, 1, true), T(0, 185, 12, 1, true)],
                vec![(0, 1, [10, 10, 10, 10], 0, 0), (0, 2, [11, 11, 11, 11], 1, 1)], 0),
            ("clock closes once", false, vec![T(0, 1, 10, 1, true), Clock(60), T(0, 61, 11, 1, true), Clock(121)],
                vec![(0, 0, [10, 10, 10, 10], 1, 1), (0, 1, [11, 11, 11, 11], 1, 1)], 0),
            ("clock inside the minute does nothing", false, vec![T(0, 1, 10, 1, true), Clock(59), Clock(30)], vec![], 0),
            ("clock fills quiet minutes, then the trade continues", false,
                vec![T(0, 1, 10, 1, true), Clock(150), Clock(185), T(0, 190, 7, 1, true), Clock(240)],
                vec![(0, 0, [10, 10, 10, 10], 1, 1), (0, 1, [10, 10, 10, 10], 0, 0), (0, 2, [10, 10, 10, 10], 0, 0), (0, 3, [7, 7, 7, 7], 1, 1)], 0),
            ("trade in a minute the clock closed is late", false, vec![T(0, 1, 10, 1, true), Clock(125), T(0, 110, 3, 1, true)],
                vec![(0, 0, [10, 10, 10, 10], 1, 1), (0, 1, [10, 10, 10, 10], 0, 0)], 1),
            ("clock closes the skipped partial silently", true, vec![T(0, 1, 10, 1, true), Clock(130)], vec![(0, 1, [10, 10, 10, 10], 0, 0)], 0),
            ("symbols are independent", false, vec![T(1, 1, 10, 1, true), T(0, 2, 20, 1, true), T(1, 61, 11, 1, true), Clock(125)],
                vec![(1, 0, [10, 10, 10, 10], 1, 1), (0, 0, [20, 20, 20, 20], 1, 1), (0, 1, [20, 20, 20, 20], 0, 0), (1, 1, [11, 11, 11, 11], 1, 1)], 0),
            ("negative times floor to their minute", false, vec![T(0, -1, 10, 1, true), T(0, 0, 11, 1, true)], vec![(0, -1, [10, 10, 10, 10], 1, 1)], 0),
        ];
        for (name, skip_first, events, want, late) in cases {
            let (agg, out) = run(skip_first, &events);
            assert_eq!(out.iter().map(row).collect::<Vec<_>>(), want, "{name}");
            assert_eq!(agg.late_ticks(), late, "{name}");
        }
    }

    #[test]
    fn forming_candle_and_taker_volumes() {
        let (agg, _) = run(false, &[T(3, 1, 10, 2, false), T(3, 2, 12, 3, true), T(3, 3, 11, 5, false)]);
        let c = agg.forming(SymbolId(3)).copied().unwrap();
        assert_eq!(row(&c), (3, 0, [10, 12, 10, 11], 10, 3));
        assert_eq!([c.quote_volume, c.taker_buy_base, c.taker_buy_quote], [111.into(), 7.into(), 75.into()]);
        assert_eq!(c.close_time_ms, 59_999);
        assert_eq!(agg.forming(SymbolId(0)), None);
        assert_eq!(agg.forming(SymbolId(99)), None);
    }

    #[test]
    fn absurd_gaps_are_not_filled() {
        let (_, out) =
            run(false, &[T(0, 0, 10, 1, true), T(0, (MAX_GAP_MINUTES + 2) * 60, 11, 1, true), Clock(i64::MAX / 1000)]);
        assert_eq!(out.len(), 2, "the two traded minutes only");
    }

    /// Deliberately naive: group trades by (symbol, minute), then walk every minute.
    fn reference(skip_first: bool, ticks: &[Tick], horizon: &BTreeMap<u32, i64>) -> Vec<Candle> {
        let mut groups: BTreeMap<(u32, i64), Vec<Tick>> = BTreeMap::new();
        for t in ticks {
            groups.entry((t.symbol.0, Candle::minute_of(t.time_ms))).or_default().push(*t);
        }
        let mut out = Vec::new();
        for (&symbol, &end) in horizon {
            let first = groups.keys().find(|k| k.0 == symbol).unwrap().1;
            let mut prev_close = Decimal::ZERO;
            for minute in (first..end).step_by(MINUTE_MS as usize) {
                let mut c = empty_candle(SymbolId(symbol), minute, prev_close);
                if let Some(trades) = groups.get(&(symbol, minute)) {
                    c.open = trades[0].price;
                    c.close = trades[trades.len() - 1].price;
                    c.high = trades.iter().map(|t| t.price).max().unwrap();
                    c.low = trades.iter().map(|t| t.price).min().unwrap();
                    c.volume = trades.iter().map(|t| t.qty).sum();
                    c.quote_volume = trades.iter().map(|t| t.price * t.qty).sum();
                    c.trades = trades.len() as u64;
                    let buys = || trades.iter().filter(|t| !t.buyer_maker);
                    c.taker_buy_base = buys().map(|t| t.qty).sum();
                    c.taker_buy_quote = buys().map(|t| t.price * t.qty).sum();
                }
                prev_close = c.close;
                if !(skip_first && minute == first) {
                    out.push(c);
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn matches_a_naive_reference(
            skip_first in any::<bool>(),
            steps in prop::collection::vec((0u32..3, 0i64..100_000, 1i64..100_000, 1i64..100_000, any::<bool>(), 0u8..8), 1..200),
            final_clock in prop::option::of(0i64..300_000),
        ) {
            let (mut agg, mut out) = (CandleAggregator::new(skip_first), Vec::new());
            let (mut ticks, mut horizon) = (Vec::new(), BTreeMap::new());
            let mut now = 1_700_000_000_000i64;
            let clock = |agg: &mut CandleAggregator, out: &mut Vec<Candle>, horizon: &mut BTreeMap<u32, i64>, at: i64| {
                agg.on_clock(at, out);
                horizon.values_mut().for_each(|h: &mut i64| *h = (*h).max(Candle::minute_of(at)));
            };
            for (symbol, dt, price, qty, buyer_maker, kind) in steps {
                now += if kind == 0 { dt * 3 } else { dt / 10 };
                if kind == 1 {
                    clock(&mut agg, &mut out, &mut horizon, now);
                    continue;
                }
                let tick = Tick { symbol: SymbolId(symbol), time_ms: now, price: Decimal::new(price, 2), qty: Decimal::new(qty, 5), trade_id: 0, buyer_maker };
                agg.on_tick(&tick, &mut out);
                ticks.push(tick);
                let h = horizon.entry(symbol).or_insert(i64::MIN);
                *h = (*h).max(Candle::minute_of(now));
            }
            if let Some(extra) = final_clock {
                clock(&mut agg, &mut out, &mut horizon, now + extra);
            }
            out.sort_by_key(|c| c.symbol); // stable: keeps each symbol's emission order
            prop_assert_eq!(&out, &reference(skip_first, &ticks, &horizon));
            prop_assert_eq!(agg.late_ticks(), 0);
            for (&symbol, &end) in &horizon {
                let forming = agg.forming(SymbolId(symbol));
                let last_trade = ticks.iter().rev().find(|t| t.symbol.0 == symbol).map(|t| Candle::minute_of(t.time_ms));
                prop_assert_eq!(forming.map(|c| c.open_time_ms), last_trade.filter(|m| *m == end));
            }
        }
    }
}
