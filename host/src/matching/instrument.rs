//! A listed pair: its integer grid (ticks, lots), its filters, and the conversions
//! between the edge's decimals and the engine's integers.

use super::command::PairConfig;
use super::reject::RejectReason;
use super::types::PairId;
use super::units::{AMOUNT_SCALE, MAX_VALUE, Step, StepError, pow10};
use rust_decimal::Decimal;

/// The largest notional accepted in whole quote units (keeps every event amount well
/// inside `Decimal`'s 96-bit mantissa).
const MAX_NOTIONAL: i64 = 1_000_000_000_000_000;

/// A validated pair's numbers (Copy: the matcher takes it by value).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pair {
    /// Its id.
    pub id: PairId,
    /// Wallet asset index of the base.
    pub base_asset: u32,
    /// Wallet asset index of the quote.
    pub quote_asset: u32,
    /// Price grid.
    pub tick: Step,
    /// Quantity grid.
    pub lot: Step,
    /// Minimum and maximum quantity, lots.
    pub min_lots: i64,
    pub max_lots: i64,
    /// Minimum and maximum notional in notional units (see [`Pair::notional`]).
    pub min_notional: i128,
    pub max_notional: i128,
    /// Wallet units of quote per notional unit.
    pub quote_factor: i128,
    /// Wallet units of base per lot.
    pub base_per_lot: i128,
    /// ICEBERG_PARTS limit.
    pub max_iceberg_parts: u32,
    /// TRAILING_DELTA bounds, bps.
    pub min_trail_bps: u32,
    pub max_trail_bps: u32,
}

impl Pair {
    /// Validate a config. Assets are given already interned.
    pub fn new(id: PairId, config: &PairConfig, base_asset: u32, quote_asset: u32) -> Result<Pair, String> {
        let tick = Step::new(config.tick_size).ok_or("tick_size must be positive with at most 12 decimals")?;
        let lot = Step::new(config.step_size).ok_or("step_size must be positive with at most 12 decimals")?;
        if tick.scale + lot.scale > AMOUNT_SCALE {
            return Err(format!(
                "tick_size and step_size together have {} decimals; at most {AMOUNT_SCALE} allowed",
                tick.scale + lot.scale
            ));
        }
        let min_lots = if config.min_qty.is_zero() {
            1
        } else {
            lot.count(config.min_qty).map_err(|_| "min_qty must be a positive multiple of step_size")?
        };
        let max_lots = match config.max_qty {
            None => lot.count(Decimal::from(MAX_VALUE)).unwrap_or(i64::MAX),
            Some(q) => lot.count(q).map_err(|_| "max_qty must be a positive multiple of step_size")?,
        };
        if max_lots < min_lots {
            return Err("max_qty is below min_qty".into());
        }
        if config.min_trailing_delta_bps > config.max_trailing_delta_bps || config.max_trailing_delta_bps >= 10_000 {
            return Err("trailing delta bounds must satisfy min <= max < 10000".into());
        }
        let notional_scale = tick.scale + lot.scale;
        let to_notional = |d: Decimal, what: &str| -> Result<i128, String> {
            let d = d.normalize();
            if d.is_sign_negative() || d.scale() > notional_scale || d > Decimal::from(MAX_NOTIONAL) {
                return Err(format!("{what} {d} must be >= 0, at most {MAX_NOTIONAL}, on the price x quantity grid"));
            }
            Ok(d.mantissa() * pow10(notional_scale - d.scale()))
        };
        let min_notional = to_notional(config.min_notional, "min_notional")?;
        let max_notional = to_notional(config.max_notional.unwrap_or(Decimal::from(MAX_NOTIONAL)), "max_notional")?;
        Ok(Pair {
            id,
            base_asset,
            quote_asset,
            tick,
            lot,
            min_lots,
            max_lots,
            min_notional,
            max_notional,
            quote_factor: pow10(AMOUNT_SCALE - notional_scale),
            base_per_lot: i128::from(lot.mantissa) * pow10(AMOUNT_SCALE - lot.scale),
            max_iceberg_parts: config.max_iceberg_parts,
            min_trail_bps: config.min_trailing_delta_bps,
            max_trail_bps: config.max_trailing_delta_bps,
        })
    }

    /// A price field as ticks.
    #[inline]
    pub fn ticks(&self, field: &str, price: Decimal) -> Result<i64, RejectReason> {
        self.tick.count(price).map_err(|e| match e {
            StepError::NotMultiple => {
                RejectReason::PriceTick { field: field.into(), price, tick_size: self.tick.decimal() }
            }
            StepError::NotPositive | StepError::TooLarge => {
                RejectReason::PriceRange { field: field.into(), price, max_price: Decimal::from(MAX_VALUE) }
            }
        })
    }

    /// A quantity field as lots (grid only; see [`Pair::check_lots`] for the range).
    #[inline]
    pub fn lots(&self, field: &str, qty: Decimal) -> Result<i64, RejectReason> {
        self.lot.count(qty).map_err(|e| match e {
            StepError::NotMultiple => RejectReason::QtyStep { field: field.into(), qty, step_size: self.lot.decimal() },
            StepError::NotPositive => RejectReason::MinQty { qty, min_qty: self.qty(self.min_lots).normalize() },
            StepError::TooLarge => RejectReason::MaxQty { qty, max_qty: self.qty(self.max_lots).normalize() },
        })
    }

    /// LOT_SIZE min/max.
    #[inline]
    pub fn check_lots(&self, lots: i64) -> Result<(), RejectReason> {
        if lots < self.min_lots {
            let (qty, min_qty) = (self.qty(lots).normalize(), self.qty(self.min_lots).normalize());
            return Err(RejectReason::MinQty { qty, min_qty });
        }
        if lots > self.max_lots {
            let (qty, max_qty) = (self.qty(lots).normalize(), self.qty(self.max_lots).normalize());
            return Err(RejectReason::MaxQty { qty, max_qty });
        }
        Ok(())
    }

    /// MIN_NOTIONAL and MAX_ORDER_SIZE on a notional (notional units).
    #[inline]
    pub fn check_notional(&self, notional: i128) -> Result<(), RejectReason> {
        if notional < self.min_notional {
            let n = self.notional_decimal(notional).normalize();
            let m = self.notional_decimal(self.min_notional).normalize();
            return Err(RejectReason::MinNotional { notional: n, min_notional: m });
        }
        if notional > self.max_notional {
            let n = self.notional_decimal(notional).normalize();
            let m = self.notional_decimal(self.max_notional).normalize();
            return Err(RejectReason::MaxNotional { notional: n, max_notional: m });
        }
        Ok(())
    }

    /// price * qty in notional units of 10^-(tick scale + lot scale) quote.
    #[inline]
    pub fn notional(&self, ticks: i64, lots: i64) -> i128 {
        i128::from(ticks) * i128::from(lots) * i128::from(self.tick.mantissa) * i128::from(self.lot.mantissa)
    }

    /// Notional units per lot at a price.
    #[inline]
    pub fn notional_per_lot(&self, ticks: i64) -> i128 {
        self.notional(ticks, 1)
    }

    /// Ticks as a decimal price.
    #[inline]
    pub fn price(&self, ticks: i64) -> Decimal {
        self.tick.to_decimal(ticks)
    }

    /// Lots as a decimal quantity.
    #[inline]
    pub fn qty(&self, lots: i64) -> Decimal {
        self.lot.to_decimal(lots)
    }

    /// Notional units as a decimal quote amount.
    #[inline]
    pub fn notional_decimal(&self, notional: i128) -> Decimal {
        super::units::dec(notional, self.tick.scale + self.lot.scale)
    }

    /// A quote amount in notional units, for the `quote_quantity` field.
    pub fn quote_notional(&self, quote: Decimal) -> Result<i128, RejectReason> {
        let scale = self.tick.scale + self.lot.scale;
        let d = quote.normalize();
        if d <= Decimal::ZERO || d.scale() > scale || d > Decimal::from(MAX_NOTIONAL) {
            return Err(RejectReason::QtyStep {
                field: "quote_quantity".into(),
                qty: quote,
                step_size: Decimal::new(1, scale),
            });
        }
        Ok(d.mantissa() * pow10(scale - d.scale()))
    }
}
