//! Exponential moving average (TA-Lib `EMA`, default compatibility).

use super::window::read_len;
use crate::state::{StateReader, StateWriter};

/// Exponential moving average, seeded as TA-Lib does: no output for the first
/// `period - 1` values, then the SMA of the first `period` values, then
/// `ema += (x - ema) * 2 / (period + 1)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ema {
    period: usize,
    k: f64,
    seen: usize,
    seed_sum: f64,
    value: Option<f64>,
}

impl Ema {
    /// A new EMA; `period` must be at least 1 (0 is treated as 1).
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Ema { period, k: 2.0 / (period as f64 + 1.0), seen: 0, seed_sum: 0.0, value: None }
    }

    /// Add a value; returns the EMA once warmed up.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.seen = self.seen.saturating_add(1);
        self.value = match self.value {
            Some(prev) => Some((x - prev) * self.k + prev),
            None => {
                self.seed_sum += x;
                (self.seen == self.period).then(|| self.seed_sum / self.period as f64)
            }
        };
        self.value
    }

    /// The current EMA, if warmed up.
    pub fn value(&self) -> Option<f64> {
        self.value
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Internal state for snapshots: (values seen, seed sum, value).
    pub fn state(&self) -> (usize, f64, Option<f64>) {
        (self.seen, self.seed_sum, self.value)
    }

    /// Rebuild from [`Ema::state`].
    pub fn from_state(period: usize, seen: usize, seed_sum: f64, value: Option<f64>) -> Self {
        let mut e = Ema::new(period);
        e.seen = seen;
        e.seed_sum = seed_sum;
        e.value = value;
        e
    }

    /// Append the exact internal state to a snapshot.
    pub fn save(&self, w: &mut StateWriter) {
        w.u64(self.period as u64).u64(self.seen as u64).f64(self.seed_sum).opt_f64(self.value);
    }

    /// Read what [`Ema::save`] wrote.
    pub fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        let period = read_len(r)?;
        Ok(Ema::from_state(period, read_len(r)?, r.f64()?, r.opt_f64()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_is_seeded_with_sma_like_talib() {
        // TA-Lib EMA(3) of 1..=6: seed = (1+2+3)/3 = 2, then k = 0.5:
        // 4 -> 3, 5 -> 4, 6 -> 5.
        let mut ema = Ema::new(3);
        let out: Vec<Option<f64>> = (1..=6).map(|x| ema.update(x as f64)).collect();
        assert_eq!(out, vec![None, None, Some(2.0), Some(3.0), Some(4.0), Some(5.0)]);
    }

    #[test]
    fn ema_state_round_trips() {
        let mut a = Ema::new(5);
        for x in [3.0, 1.0, 4.0, 1.0, 5.0, 9.0] {
            a.update(x);
        }
        let (seen, sum, value) = a.state();
        let mut b = Ema::from_state(5, seen, sum, value);
        assert_eq!(a.update(2.0), b.update(2.0));
    }
}
