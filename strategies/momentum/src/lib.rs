//! Momentum trading (the seed's "Momentum Trading" bot), long only.
//!
//! Per symbol, on every closed candle, with `roc` the rate of change of the close over
//! `trend_period` candles (TA-Lib `ROCP`, a fraction) and `ema` the EMA of the close over
//! the same period:
//!
//! * flat, `roc >= momentum_threshold` and the close above `ema`: buy `qty.<SYMBOL>`;
//! * long and the close `stop_loss` below the highest close since entry: sell everything
//!   (a trailing stop, so a trend's gains are kept);
//! * long and `roc <= -momentum_threshold` (momentum reversed): sell everything.
//!
//! | param | default | meaning |
//! | --- | --- | --- |
//! | `qty.<SYMBOL>` (or `qty`) | required | size of each entry in base units |
//! | `trend_period` | `20` | candles for the rate of change and the trend EMA (at least 2) |
//! | `momentum_threshold` | `0.01` | rate of change over the period that counts as momentum (1 %) |
//! | `stop_loss` | `0.02` | trailing stop below the highest close since entry (2 %) |

use tradehost_sdk::indicators::{Ema, Rocp, to_f64};
use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{Candle, Ctx, Decimal, InitContext, Params, Side, Strategy, Subscriptions, SymbolId};

const STATE_VERSION: u8 = 1;

/// One traded symbol.
#[derive(Debug, Clone, PartialEq)]
struct Leg {
    symbol: SymbolId,
    qty: Decimal,
    roc: Rocp,
    ema: Ema,
    /// Highest close since the position was opened.
    peak: Option<Decimal>,
}

/// The strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Momentum {
    legs: Vec<Leg>,
    threshold: f64,
    stop_loss: Decimal,
}

impl Strategy for Momentum {
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
        let p = &ctx.params;
        let period = Params::check("trend_period", p.get_or("trend_period", 20usize)?, |v| *v >= 2, "an integer >= 2")?;
        let threshold = p.get_or("momentum_threshold", 0.01f64)?;
        let threshold =
            Params::check("momentum_threshold", threshold, |v| *v > 0.0 && *v < 1.0, "a fraction (0.01 = 1 %)")?;
        let stop_loss = p.get_or("stop_loss", Decimal::new(2, 2))?;
        let stop_loss = Params::check(
            "stop_loss",
            stop_loss,
            |v| *v > Decimal::ZERO && *v < Decimal::ONE,
            "a fraction between 0 and 1 (0.02 = 2 %)",
        )?;
        let mut legs = Vec::new();
        for s in &ctx.symbols {
            let key = format!("qty.{}", s.name);
            let qty = p.require_for_symbol("qty", &s.name)?;
            let qty = Params::check(&key, qty, |v| *v > Decimal::ZERO, "a positive quantity")?;
            legs.push(Leg { symbol: s.id, qty, roc: Rocp::new(period), ema: Ema::new(period), peak: None });
        }
        Ok((Momentum { legs, threshold, stop_loss }, Subscriptions::default()))
    }

    fn on_candle(&mut self, ctx: &mut Ctx, c: &Candle) {
        let (threshold, stop_loss) = (self.threshold, self.stop_loss);
        let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == c.symbol) else { return };
        let x = to_f64(c.close);
        let (roc, ema) = (leg.roc.update(x), leg.ema.update(x));
        let host = ctx.host();
        if !host.open_orders(c.symbol).is_empty() {
            return;
        }
        let position = host.position(c.symbol);
        if position > Decimal::ZERO {
            // A position from before this instance (no peak yet) trails from its entry.
            let start = leg.peak.or(host.entry_price(c.symbol)).unwrap_or(c.close);
            let peak = start.max(c.close);
            leg.peak = Some(peak);
            let reason = if c.close <= peak * (Decimal::ONE - stop_loss) {
                format!("trailing stop: {} is {}% below the peak {peak}", c.close, pct(stop_loss))
            } else if roc.is_some_and(|r| r <= -threshold) {
                format!("momentum reversed: roc {:.2}%", roc.unwrap_or_default() * 100.0)
            } else {
                return;
            };
            ctx.signal(c.symbol, Side::Sell, c.close, &reason);
            ctx.market(c.symbol, Side::Sell, position, "momentum exit");
        } else {
            leg.peak = None;
            if let (Some(r), Some(e)) = (roc, ema)
                && r >= threshold
                && x > e
            {
                ctx.signal(c.symbol, Side::Buy, c.close, &format!("roc {:.2}% above ema {e:.2}", r * 100.0));
                ctx.market(c.symbol, Side::Buy, leg.qty, "momentum entry");
                leg.peak = Some(c.close);
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        w.u32(self.legs.len() as u32);
        for leg in &self.legs {
            w.u32(leg.symbol);
            leg.roc.save(&mut w);
            leg.ema.save(&mut w);
            w.u32(u32::from(leg.peak.is_some()));
            put_dec(&mut w, leg.peak.unwrap_or_default());
        }
        w.finish()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (version, mut r) = StateReader::new(state)?;
        if version != STATE_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        for _ in 0..r.u32()? {
            let (symbol, roc, ema) = (r.u32()?, Rocp::load(&mut r)?, Ema::load(&mut r)?);
            let has_peak = r.u32()? != 0;
            let peak = get_dec(&mut r)?;
            // Indicator state carries over only where the period is unchanged.
            if let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == symbol && l.roc.period() == roc.period()) {
                leg.roc = roc;
                leg.ema = ema;
                leg.peak = has_peak.then_some(peak);
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

/// A fraction as a percentage, for reasons.
fn pct(f: Decimal) -> Decimal {
    (f * Decimal::ONE_HUNDRED).normalize()
}

tradehost_sdk::export_strategy!(Momentum);

#[cfg(test)]
mod tests;
