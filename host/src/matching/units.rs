//! Exact conversion between `Decimal` at the edge and integers inside: prices in ticks,
//! quantities in lots (both `i64`), wallet amounts in units of 10^-12 (`i128`).
//!
//! Bounds: a price or quantity is at most 10^12, so a notional (at most 10^24) in units
//! of 10^-12 fits an `i128` with room for the fee arithmetic.

use rust_decimal::Decimal;

/// Decimals of every wallet amount inside the engine.
pub(crate) const AMOUNT_SCALE: u32 = 12;
/// The largest price or quantity accepted, in whole units.
pub(crate) const MAX_VALUE: i64 = 1_000_000_000_000;

pub(crate) const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// 10^n as an i128 (n <= 38).
pub(crate) fn pow10(n: u32) -> i128 {
    10i128.pow(n)
}

/// Why a decimal is not a whole number of steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepError {
    /// Zero or negative.
    NotPositive,
    /// Not a multiple of the step.
    NotMultiple,
    /// Above [`MAX_VALUE`].
    TooLarge,
}

/// A positive decimal step (tick size, lot size) as `mantissa * 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Step {
    /// Normalised mantissa (no trailing zeros unless scale is 0).
    pub mantissa: i64,
    /// Decimal places.
    pub scale: u32,
    /// Largest `value * 10^scale` allowed (from [`MAX_VALUE`]).
    max_scaled: i64,
}

impl Step {
    /// A step from a positive decimal with at most 12 decimal places.
    pub fn new(d: Decimal) -> Option<Step> {
        let d = d.normalize();
        if d <= Decimal::ZERO || d.scale() > AMOUNT_SCALE {
            return None;
        }
        let mantissa = i64::try_from(d.mantissa()).ok().filter(|m| *m <= MAX_VALUE)?;
        let max_scaled = i64::try_from(i128::from(MAX_VALUE) * pow10(d.scale())).unwrap_or(i64::MAX);
        Some(Step { mantissa, scale: d.scale(), max_scaled })
    }

    /// The exact number of steps in `d`.
    #[inline]
    pub fn count(self, d: Decimal) -> Result<i64, StepError> {
        let m = d.mantissa();
        if m <= 0 {
            return Err(StepError::NotPositive);
        }
        let m = i64::try_from(m).map_err(|_| StepError::TooLarge)?;
        let s = d.scale();
        let scaled = if s <= self.scale {
            let p = POW10.get((self.scale - s) as usize).copied().ok_or(StepError::TooLarge)?;
            m.checked_mul(p).ok_or(StepError::TooLarge)?
        } else {
            let p = POW10.get((s - self.scale) as usize).copied().ok_or(StepError::NotMultiple)?;
            if m % p != 0 {
                return Err(StepError::NotMultiple);
            }
            m / p
        };
        if scaled > self.max_scaled {
            return Err(StepError::TooLarge);
        }
        if self.mantissa == 1 {
            return Ok(scaled);
        }
        if scaled % self.mantissa != 0 {
            return Err(StepError::NotMultiple);
        }
        Ok(scaled / self.mantissa)
    }

    /// `n` steps as a decimal at the step's scale.
    pub fn to_decimal(self, n: i64) -> Decimal {
        dec(i128::from(n) * i128::from(self.mantissa), self.scale)
    }

    /// The step as a decimal.
    pub fn decimal(self) -> Decimal {
        Decimal::new(self.mantissa, self.scale)
    }
}

/// A decimal amount in wallet units (10^-12); `None` with more decimals or out of range.
pub(crate) fn amount_units(d: Decimal) -> Option<i128> {
    let d = d.normalize();
    if d.scale() > AMOUNT_SCALE {
        return None;
    }
    let units = d.mantissa().checked_mul(pow10(AMOUNT_SCALE - d.scale()))?;
    (units.abs() <= i128::from(MAX_VALUE) * pow10(AMOUNT_SCALE + 2)).then_some(units)
}

/// A decimal from a non-negative mantissa and a scale (<= 28), built from its parts:
/// cheaper than `Decimal::from_i128_with_scale`, which matters on the per-event path.
/// Values beyond the 96-bit mantissa saturate to `Decimal::MAX` (the engine's bounds
/// keep amounts far below it).
#[inline]
pub(crate) fn dec(mantissa: i128, scale: u32) -> Decimal {
    if (0..1i128 << 96).contains(&mantissa) {
        let m = mantissa as u128;
        Decimal::from_parts(m as u32, (m >> 32) as u32, (m >> 64) as u32, false, scale)
    } else {
        Decimal::try_from_i128_with_scale(mantissa, scale).unwrap_or(Decimal::MAX)
    }
}

/// Wallet units as a normalised decimal.
pub(crate) fn units_decimal(units: i128) -> Decimal {
    Decimal::try_from_i128_with_scale(units, AMOUNT_SCALE).unwrap_or(Decimal::MAX).normalize()
}

/// `ceil(a / b)` for `a >= 0`, `b > 0`, on the 64-bit path when both fit.
pub(crate) fn ceil_div(a: i128, b: i128) -> i128 {
    if let (Ok(a), Ok(b)) = (u64::try_from(a), u64::try_from(b)) {
        return i128::from(a.div_ceil(b));
    }
    (a + b - 1) / b
}

/// `floor(a / b)` for `a >= 0`, `b > 0`, on the 64-bit path when both fit.
pub(crate) fn floor_div(a: i128, b: i128) -> i128 {
    if let (Ok(a), Ok(b)) = (u64::try_from(a), u64::try_from(b)) {
        return i128::from(a / b);
    }
    a / b
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn counts_steps_exactly() {
        let cases = [
            ("0.01", "100.05", Ok(10005)),
            ("0.01", "100.005", Err(StepError::NotMultiple)),
            ("0.01", "100.0500", Ok(10005)),
            ("0.05", "100.05", Ok(2001)),
            ("0.05", "100.01", Err(StepError::NotMultiple)),
            ("10", "120", Ok(12)),
            ("10", "125", Err(StepError::NotMultiple)),
            ("0.00001", "1", Ok(100_000)),
            ("0.01", "0", Err(StepError::NotPositive)),
            ("0.01", "-1", Err(StepError::NotPositive)),
            ("1", "1000000000001", Err(StepError::TooLarge)),
        ];
        for (step, value, want) in cases {
            let step = Step::new(d(step)).unwrap();
            assert_eq!(step.count(d(value)), want, "{value} / {step:?}");
            if let Ok(n) = want {
                assert_eq!(step.to_decimal(n).normalize(), d(value).normalize());
            }
        }
    }

    #[test]
    fn rejects_bad_steps() {
        for bad in ["0", "-0.01", "0.0000000000001"] {
            assert!(Step::new(d(bad)).is_none(), "{bad}");
        }
    }

    #[test]
    fn amounts_round_trip() {
        assert_eq!(amount_units(d("1.5")), Some(1_500_000_000_000));
        assert_eq!(amount_units(d("0.0000000000001")), None);
        assert_eq!(units_decimal(1_500_000_000_000), d("1.5"));
        assert_eq!(ceil_div(7, 2), 4);
        assert_eq!(ceil_div(i128::MAX / 4, i128::MAX / 8), 3);
        assert_eq!(floor_div(7, 2), 3);
        assert_eq!(dec(12_345, 2), d("123.45"));
        assert_eq!(dec((1i128 << 96) - 1, 0), Decimal::MAX);
        assert_eq!(dec(-5, 1), d("-0.5"));
    }
}
