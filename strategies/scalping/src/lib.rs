//! Scalping: small, frequent profits from short dips (the seed's "Scalping" bot).
//!
//! Per symbol, on every closed candle:
//!
//! * long and the close is `profit_target` above the average entry: sell the whole position;
//! * long and the close is `stop_loss` below the average entry: sell the whole position;
//! * otherwise, when the RSI(`rsi_period`) crosses below `rsi_entry` (a fresh dip): buy
//!   `qty.<SYMBOL>`, cut so the position stays within `max_position_size.<SYMBOL>`. Each
//!   new dip may add to the position until that cap.
//!
//! | param | default | meaning |
//! | --- | --- | --- |
//! | `qty.<SYMBOL>` (or `qty`) | required | size of each entry in base units |
//! | `max_position_size.<SYMBOL>` (or `max_position_size`) | the symbol's `qty` | largest position in base units |
//! | `profit_target` | `0.005` | take profit at this fraction above the average entry (0.5 %) |
//! | `stop_loss` | `0.002` | stop out at this fraction below the average entry (0.2 %) |
//! | `rsi_period` | `7` | RSI period (at least 2) |
//! | `rsi_entry` | `30` | RSI level whose downward crossing is a dip |
//!
//! The seed gives `profit_target = 0.5` and `stop_loss = 0.2` in percent; here they are
//! fractions. Exits are judged on candle closes, not intra-minute.

use tradehost_sdk::indicators::{Rsi, to_f64};
use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{Candle, Ctx, Decimal, InitContext, ParamError, Params, Side, Strategy, Subscriptions, SymbolId};

const STATE_VERSION: u8 = 1;

/// One traded symbol.
#[derive(Debug, Clone, PartialEq)]
struct Leg {
    symbol: SymbolId,
    qty: Decimal,
    max_position: Decimal,
    rsi: Rsi,
    /// RSI at the previous candle.
    prev_rsi: Option<f64>,
}

/// The strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalping {
    legs: Vec<Leg>,
    profit_target: Decimal,
    stop_loss: Decimal,
    rsi_entry: f64,
}

fn fraction(p: &Params, key: &str, default: Decimal) -> Result<Decimal, ParamError> {
    let v = p.get_or(key, default)?;
    Params::check(key, v, |v| *v > Decimal::ZERO && *v < Decimal::ONE, "a fraction between 0 and 1 (0.005 = 0.5 %)")
}

impl Scalping {
    /// The exit due for a long position at `close`, if any.
    fn exit_reason(&self, entry: Decimal, close: Decimal) -> Option<&'static str> {
        if close >= entry * (Decimal::ONE + self.profit_target) {
            Some("profit target")
        } else if close <= entry * (Decimal::ONE - self.stop_loss) {
            Some("stop loss")
        } else {
            None
        }
    }
}

impl Strategy for Scalping {
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
        let p = &ctx.params;
        let profit_target = fraction(p, "profit_target", Decimal::new(5, 3))?;
        let stop_loss = fraction(p, "stop_loss", Decimal::new(2, 3))?;
        let rsi_period = Params::check("rsi_period", p.get_or("rsi_period", 7usize)?, |v| *v >= 2, "an integer >= 2")?;
        let rsi_entry = Params::check(
            "rsi_entry",
            p.get_or("rsi_entry", 30.0f64)?,
            |v| *v > 0.0 && *v < 100.0,
            "a level in (0, 100)",
        )?;
        let mut legs = Vec::new();
        for s in &ctx.symbols {
            let key = format!("qty.{}", s.name);
            let qty = p.require_for_symbol("qty", &s.name)?;
            let qty = Params::check(&key, qty, |v| *v > Decimal::ZERO, "a positive quantity")?;
            let max_key = format!("max_position_size.{}", s.name);
            let max_position = p.for_symbol("max_position_size", &s.name)?.unwrap_or(qty);
            let max_position = Params::check(&max_key, max_position, |v| *v > Decimal::ZERO, "a positive quantity")?;
            legs.push(Leg { symbol: s.id, qty, max_position, rsi: Rsi::new(rsi_period), prev_rsi: None });
        }
        Ok((Scalping { legs, profit_target, stop_loss, rsi_entry }, Subscriptions::default()))
    }

    fn on_candle(&mut self, ctx: &mut Ctx, c: &Candle) {
        let Some(i) = self.legs.iter().position(|l| l.symbol == c.symbol) else { return };
        let rsi = self.legs[i].rsi.update(to_f64(c.close));
        let prev = std::mem::replace(&mut self.legs[i].prev_rsi, rsi);
        let dip = matches!((prev, rsi), (Some(p), Some(r)) if p >= self.rsi_entry && r < self.rsi_entry);

        let host = ctx.host();
        if !host.open_orders(c.symbol).is_empty() {
            return;
        }
        let position = host.position(c.symbol);
        if position > Decimal::ZERO
            && let Some(reason) = host.entry_price(c.symbol).and_then(|e| self.exit_reason(e, c.close))
        {
            ctx.signal(c.symbol, Side::Sell, c.close, reason);
            ctx.market(c.symbol, Side::Sell, position, reason);
            return;
        }
        let leg = &self.legs[i];
        let qty = leg.qty.min(leg.max_position - position.max(Decimal::ZERO));
        if dip && qty > Decimal::ZERO {
            let reason = format!("rsi {:.1} crossed below {}", rsi.unwrap_or_default(), self.rsi_entry);
            ctx.signal(c.symbol, Side::Buy, c.close, &reason);
            ctx.market(c.symbol, Side::Buy, qty, "rsi dip");
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        w.u32(self.legs.len() as u32);
        for leg in &self.legs {
            w.u32(leg.symbol);
            leg.rsi.save(&mut w);
            w.opt_f64(leg.prev_rsi);
        }
        w.finish()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (version, mut r) = StateReader::new(state)?;
        if version != STATE_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        for _ in 0..r.u32()? {
            let (symbol, rsi, prev_rsi) = (r.u32()?, Rsi::load(&mut r)?, r.opt_f64()?);
            // Indicator state carries over only where the period is unchanged.
            if let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == symbol && l.rsi.period() == rsi.period()) {
                leg.rsi = rsi;
                leg.prev_rsi = prev_rsi;
            }
        }
        Ok(())
    }
}

tradehost_sdk::export_strategy!(Scalping);

#[cfg(test)]
mod tests;
