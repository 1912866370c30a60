//! Spread strategy (the seed's `enhanced_futures_trader.py`, long only on spot).
//!
//! Per symbol, on every closed candle (or every trade with `ticks = true`):
//!
//! * flat: market buy `qty.<SYMBOL>`, unless an entry limit below holds;
//! * long and `(price - entry) / entry >= spread_threshold`: market sell the whole position.
//!
//! There is no stop loss, as in the seed: a position waits for its spread.
//!
//! | param | default | meaning |
//! | --- | --- | --- |
//! | `qty.<SYMBOL>` (or `qty`) | required | size of each buy in base units (the seed's `amount`) |
//! | `spread_threshold` | `0.0005` | take-profit spread as a fraction of the entry price (0.05 %) |
//! | `max_trades` | `10` | entries (filled buys) per session, all symbols together; exits stay allowed |
//! | `max_position.<SYMBOL>` (or `max_position`) | the symbol's `qty` | largest position in base units: a buy is cut to fit |
//! | `max_daily_loss` | `500` | quote units; once the UTC day's realised loss reaches it, no entries until the next day |
//! | `ticks` | `false` | decide on every trade instead of every closed candle |
//!
//! A "session" is the life of the instance: the trade count and the day's PnL are in the
//! snapshot, so a hot reload or a restart does not reset the limits. Realised PnL comes
//! from this strategy's own fills and is net of both legs' fees: with the seed's 0.05 %
//! target and a 0.1 % taker fee every round trip loses, which is what the daily limit
//! is for. Days roll on event time (candle close, trade or fill time), never the wall clock.

use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{
    Candle, Ctx, Decimal, Fill, InitContext, Level, ParamError, Params, Side, Strategy, Subscriptions, SymbolId, Tick,
};

const STATE_VERSION: u8 = 1;
const DAY_MS: i64 = 86_400_000;
/// How long an order may go without a fill before the strategy decides again (a rejected
/// order never reports back).
const PENDING_TIMEOUT_MS: i64 = 60_000;

/// One traded symbol.
#[derive(Debug, Clone, PartialEq)]
struct Leg {
    symbol: SymbolId,
    qty: Decimal,
    max_position: Decimal,
    /// Event time an order was sent at, until its fill (or the timeout).
    pending_since: Option<i64>,
    /// Base held according to this strategy's fills, and what it cost including fees.
    held: Decimal,
    cost: Decimal,
}

/// The strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    legs: Vec<Leg>,
    threshold: Decimal,
    max_trades: u32,
    max_daily_loss: Decimal,
    ticks: bool,
    /// Entries so far this session.
    trades: u32,
    /// The order the last counted entry belongs to (a partly filled buy counts once).
    last_entry_order: Option<u64>,
    /// UTC day (days since the epoch) that `day_pnl` belongs to.
    day: i64,
    /// Realised PnL of the day, net of fees.
    day_pnl: Decimal,
}

fn positive(key: &str, v: Decimal) -> Result<Decimal, ParamError> {
    Params::check(key, v, |v| *v > Decimal::ZERO, "a positive number")
}

impl Spread {
    fn leg(&mut self, symbol: SymbolId) -> Option<&mut Leg> {
        self.legs.iter_mut().find(|l| l.symbol == symbol)
    }

    /// Start a new day's PnL when event time crosses UTC midnight.
    fn roll_day(&mut self, now_ms: i64) {
        let day = now_ms.div_euclid(DAY_MS);
        if day > self.day {
            self.day = day;
            self.day_pnl = Decimal::ZERO;
        }
    }

    fn loss_limit_hit(&self) -> bool {
        -self.day_pnl >= self.max_daily_loss
    }

    /// Decide for one symbol at `price` and event time `now_ms`.
    fn decide(&mut self, ctx: &mut Ctx, symbol: SymbolId, price: Decimal, now_ms: i64) {
        self.roll_day(now_ms);
        let (threshold, can_enter) = (self.threshold, self.trades < self.max_trades && !self.loss_limit_hit());
        let Some(leg) = self.leg(symbol) else { return };
        if leg.pending_since.is_some_and(|t| now_ms - t < PENDING_TIMEOUT_MS) {
            return;
        }
        leg.pending_since = None;
        let host = ctx.host();
        if !host.open_orders(symbol).is_empty() {
            return;
        }
        let position = host.position(symbol);
        if position > Decimal::ZERO {
            let Some(entry) = host.entry_price(symbol).filter(|e| *e > Decimal::ZERO) else { return };
            let spread = (price - entry) / entry;
            if spread >= threshold {
                let reason = format!("spread {}% >= {}%", pct(spread), pct(threshold));
                ctx.signal(symbol, Side::Sell, price, &reason);
                ctx.market(symbol, Side::Sell, position, "spread take-profit");
                leg.pending_since = Some(now_ms);
            }
        } else if can_enter {
            let qty = leg.qty.min(leg.max_position - position);
            if qty > Decimal::ZERO {
                ctx.signal(symbol, Side::Buy, price, "flat: enter");
                ctx.market(symbol, Side::Buy, qty, "spread entry");
                leg.pending_since = Some(now_ms);
            }
        }
    }
}

/// A fraction as a percentage with at most 4 decimals, for reasons and logs.
fn pct(f: Decimal) -> Decimal {
    (f * Decimal::ONE_HUNDRED).round_dp(4).normalize()
}

impl Strategy for Spread {
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
        let p = &ctx.params;
        let threshold = positive("spread_threshold", p.get_or("spread_threshold", Decimal::new(5, 4))?)?;
        let max_trades = p.get_or("max_trades", 10u32)?;
        let max_daily_loss = positive("max_daily_loss", p.get_or("max_daily_loss", Decimal::from(500))?)?;
        let ticks = p.get_or("ticks", false)?;
        let mut legs = Vec::new();
        for s in &ctx.symbols {
            let qty_key = format!("qty.{}", s.name);
            let qty = p.require_for_symbol("qty", &s.name)?;
            let qty = positive(&qty_key, qty)?;
            let max_key = format!("max_position.{}", s.name);
            let max_position = positive(&max_key, p.for_symbol("max_position", &s.name)?.unwrap_or(qty))?;
            legs.push(Leg {
                symbol: s.id,
                qty,
                max_position,
                pending_since: None,
                held: Decimal::ZERO,
                cost: Decimal::ZERO,
            });
        }
        let s = Spread {
            legs,
            threshold,
            max_trades,
            max_daily_loss,
            ticks,
            trades: 0,
            last_entry_order: None,
            day: i64::MIN,
            day_pnl: Decimal::ZERO,
        };
        Ok((s, Subscriptions { ticks, timer_ms: 0 }))
    }

    fn on_candle(&mut self, ctx: &mut Ctx, c: &Candle) {
        if self.ticks {
            self.roll_day(c.close_time_ms);
        } else {
            self.decide(ctx, c.symbol, c.close, c.close_time_ms);
        }
    }

    fn on_tick(&mut self, ctx: &mut Ctx, t: &Tick) {
        if self.ticks {
            self.decide(ctx, t.symbol, t.price, t.time_ms);
        }
    }

    fn on_fill(&mut self, ctx: &mut Ctx, f: &Fill) {
        self.roll_day(f.time_ms);
        let was_hit = self.loss_limit_hit();
        let flat_after = ctx.host().position(f.symbol) <= Decimal::ZERO;
        let Some(leg) = self.leg(f.symbol) else { return };
        leg.pending_since = None;
        let pnl = match f.side {
            Side::Buy => {
                leg.held += f.qty;
                leg.cost += f.price * f.qty + f.fee;
                None
            }
            Side::Sell => {
                // Cost of what was sold at the average cost; a position this strategy did
                // not build (no known cost) only counts its fee. Flat after it (the host's
                // position), all that was held is gone: a fee the venue took in the base
                // asset kept back part of what the buys filled.
                let sold = f.qty.min(leg.held);
                let gone = if flat_after { leg.held } else { sold };
                let released = if leg.held > Decimal::ZERO { leg.cost * gone / leg.held } else { Decimal::ZERO };
                leg.held -= gone;
                leg.cost = if leg.held > Decimal::ZERO { leg.cost - released } else { Decimal::ZERO };
                Some(f.price * sold - released - f.fee)
            }
        };
        let new_entry = pnl.is_none() && self.last_entry_order != Some(f.order_id);
        match pnl {
            None if new_entry => {
                self.trades = self.trades.saturating_add(1);
                self.last_entry_order = Some(f.order_id);
            }
            None => {}
            Some(pnl) => self.day_pnl += pnl,
        }
        if !was_hit && self.loss_limit_hit() {
            let msg = format!(
                "daily loss limit reached ({} realised today): no entries until the next UTC day",
                self.day_pnl.round_dp(8).normalize()
            );
            ctx.host().log(Level::Warn, &msg);
        }
        if new_entry && self.trades == self.max_trades {
            ctx.host()
                .log(Level::Warn, &format!("max_trades ({}) reached: no more entries this session", self.max_trades));
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        w.u32(self.trades).u64(self.last_entry_order.map_or(0, |id| id.saturating_add(1))).u64(self.day as u64);
        put_dec(&mut w, self.day_pnl);
        w.u32(self.legs.len() as u32);
        for leg in &self.legs {
            w.u32(leg.symbol);
            put_dec(&mut w, leg.held);
            put_dec(&mut w, leg.cost);
        }
        w.finish()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (version, mut r) = StateReader::new(state)?;
        if version != STATE_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        self.trades = r.u32()?;
        self.last_entry_order = r.u64()?.checked_sub(1);
        self.day = r.u64()? as i64;
        self.day_pnl = get_dec(&mut r)?;
        for _ in 0..r.u32()? {
            let (symbol, held, cost) = (r.u32()?, get_dec(&mut r)?, get_dec(&mut r)?);
            if let Some(leg) = self.leg(symbol) {
                leg.held = held;
                leg.cost = cost;
            }
        }
        Ok(())
    }
}

/// A `Decimal` as its 96-bit mantissa (two u64) and scale.
fn put_dec(w: &mut StateWriter, d: Decimal) {
    let m = d.mantissa();
    w.u64(m as u64).u64((m >> 64) as u64).u32(d.scale());
}

fn get_dec(r: &mut StateReader<'_>) -> Result<Decimal, String> {
    let (lo, hi, scale) = (r.u64()?, r.u64()?, r.u32()?);
    let m = (i128::from(hi as i64) << 64) | i128::from(lo);
    Decimal::try_from_i128_with_scale(m, scale).map_err(|e| format!("bad decimal in snapshot: {e}"))
}

tradehost_sdk::export_strategy!(Spread);

#[cfg(test)]
mod tests;
