//! Mean reversion (the seed's "Mean Reversion" bot) on Bollinger bands, long only.
//!
//! Per symbol, on every closed candle, the close's z-score against the last
//! `lookback_period` closes (SMA middle, population standard deviation, the close
//! included) decides:
//!
//! * flat and `z <= -deviation_threshold` (the close is on or below the lower band):
//!   buy `position_size.<SYMBOL>`;
//! * long and `z >= exit_zscore` (back at the mean by default): sell the whole position.
//!
//! A flat window (every close equal, e.g. minutes without trades) has no z-score and no
//! trade. There is no stop loss: a trending fall keeps the position until the price
//! reverts, which is the strategy's risk.
//!
//! | param | default | meaning |
//! | --- | --- | --- |
//! | `position_size.<SYMBOL>` (or `position_size`) | required | size of each entry in base units |
//! | `lookback_period` | `20` | closes in the window (at least 2) |
//! | `deviation_threshold` | `2.0` | entry z-score (the band width in standard deviations) |
//! | `exit_zscore` | `0.0` | exit once the z-score is at least this (must be above `-deviation_threshold`) |

use tradehost_sdk::indicators::{Bollinger, to_f64};
use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{Candle, Ctx, Decimal, InitContext, Params, Side, Strategy, Subscriptions, SymbolId};

const STATE_VERSION: u8 = 1;

/// One traded symbol.
#[derive(Debug, Clone, PartialEq)]
struct Leg {
    symbol: SymbolId,
    size: Decimal,
    bands: Bollinger,
}

/// The strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanReversion {
    legs: Vec<Leg>,
    threshold: f64,
    exit_z: f64,
}

impl MeanReversion {
    /// What to do at z-score `z`, given whether a position is held.
    fn action(&self, long: bool, z: Option<f64>) -> Option<Side> {
        let z = z?;
        match long {
            false if z <= -self.threshold => Some(Side::Buy),
            true if z >= self.exit_z => Some(Side::Sell),
            _ => None,
        }
    }
}

impl Strategy for MeanReversion {
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
        let p = &ctx.params;
        let lookback = p.get_or("lookback_period", 20usize)?;
        let lookback = Params::check("lookback_period", lookback, |v| *v >= 2, "an integer >= 2")?;
        let threshold = p.get_or("deviation_threshold", 2.0f64)?;
        let threshold =
            Params::check("deviation_threshold", threshold, |v| v.is_finite() && *v > 0.0, "a positive z-score")?;
        let exit_z = p.get_or("exit_zscore", 0.0f64)?;
        let exit_z = Params::check(
            "exit_zscore",
            exit_z,
            |v| v.is_finite() && *v > -threshold,
            "a z-score above -deviation_threshold",
        )?;
        let mut legs = Vec::new();
        for s in &ctx.symbols {
            let key = format!("position_size.{}", s.name);
            let size = p.require_for_symbol("position_size", &s.name)?;
            let size = Params::check(&key, size, |v| *v > Decimal::ZERO, "a positive quantity")?;
            legs.push(Leg { symbol: s.id, size, bands: Bollinger::new(lookback, threshold, threshold) });
        }
        Ok((MeanReversion { legs, threshold, exit_z }, Subscriptions::default()))
    }

    fn on_candle(&mut self, ctx: &mut Ctx, c: &Candle) {
        let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == c.symbol) else { return };
        let bands = leg.bands.update(to_f64(c.close));
        let z = bands.and_then(|b| b.zscore(to_f64(c.close)));
        let size = leg.size;
        let host = ctx.host();
        if !host.open_orders(c.symbol).is_empty() {
            return;
        }
        let position = host.position(c.symbol);
        match self.action(position > Decimal::ZERO, z) {
            Some(Side::Buy) => {
                let lower = bands.map(|b| b.lower).unwrap_or_default();
                let reason = format!("z {:.2} <= -{} (lower band {lower:.2})", z.unwrap_or_default(), self.threshold);
                ctx.signal(c.symbol, Side::Buy, c.close, &reason);
                ctx.market(c.symbol, Side::Buy, size, "mean reversion entry");
            }
            Some(Side::Sell) => {
                let reason = format!("z {:.2} >= {}: reverted", z.unwrap_or_default(), self.exit_z);
                ctx.signal(c.symbol, Side::Sell, c.close, &reason);
                ctx.market(c.symbol, Side::Sell, position, "mean reversion exit");
            }
            None => {}
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        w.u32(self.legs.len() as u32);
        for leg in &self.legs {
            w.u32(leg.symbol);
            leg.bands.save(&mut w);
        }
        w.finish()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (version, mut r) = StateReader::new(state)?;
        if version != STATE_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        for _ in 0..r.u32()? {
            let (symbol, bands) = (r.u32()?, Bollinger::load(&mut r)?);
            // Same window length: keep the history, with the multipliers of the current params.
            if let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == symbol && l.bands.period() == bands.period()) {
                let (up, down) = leg.bands.multipliers();
                leg.bands = bands.with_multipliers(up, down);
            }
        }
        Ok(())
    }
}

tradehost_sdk::export_strategy!(MeanReversion);

#[cfg(test)]
mod tests;
