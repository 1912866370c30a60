//! Average true range (TA-Lib `ATR`).

use super::window::read_len;
use crate::state::{StateReader, StateWriter};

/// Wilder's average true range. The true range of a bar is
/// `max(high - low, |high - prev_close|, |low - prev_close|)`, so, as in TA-Lib, the first
/// bar only provides a previous close and no range. The first output (after `period + 1`
/// bars) is the plain average of the first `period` true ranges; later ones are
/// `atr = (atr * (period - 1) + tr) / period`.
#[derive(Debug, Clone, PartialEq)]
pub struct Atr {
    period: usize,
    prev_close: Option<f64>,
    /// True ranges seen so far (saturating).
    ranges: usize,
    /// Sum of the true ranges while seeding.
    seed_sum: f64,
    value: Option<f64>,
}

impl Atr {
    /// A new ATR; `period` 0 is treated as 1 (ATR(1) is the true range itself).
    pub fn new(period: usize) -> Self {
        Atr { period: period.max(1), prev_close: None, ranges: 0, seed_sum: 0.0, value: None }
    }

    /// The true range of a bar against the previous close (TA-Lib `TRANGE`).
    pub fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
        let mut greatest = high - low;
        let to_high = (prev_close - high).abs();
        if to_high > greatest {
            greatest = to_high;
        }
        let to_low = (prev_close - low).abs();
        if to_low > greatest {
            greatest = to_low;
        }
        greatest
    }

    /// Add a bar; returns the ATR once `period` true ranges have been seen.
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let prev_close = self.prev_close.replace(close)?;
        let tr = Atr::true_range(high, low, prev_close);
        let n = self.period as f64;
        self.ranges = self.ranges.saturating_add(1);
        self.value = match self.value {
            Some(prev) => Some((prev * (n - 1.0) + tr) / n),
            None => {
                self.seed_sum += tr;
                (self.ranges == self.period).then(|| self.seed_sum / n)
            }
        };
        self.value
    }

    /// The current ATR, if warmed up.
    pub fn value(&self) -> Option<f64> {
        self.value
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Append the exact internal state to a snapshot.
    pub fn save(&self, w: &mut StateWriter) {
        w.u64(self.period as u64).opt_f64(self.prev_close).u64(self.ranges as u64);
        w.f64(self.seed_sum).opt_f64(self.value);
    }

    /// Read what [`Atr::save`] wrote.
    pub fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        let period = read_len(r)?.max(1);
        let (prev_close, ranges) = (r.opt_f64()?, read_len(r)?);
        Ok(Atr { period, prev_close, ranges, seed_sum: r.f64()?, value: r.opt_f64()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_range_table() {
        // (high, low, prev_close, tr)
        let cases = [
            (10.0, 8.0, 9.0, 2.0),  // inside: high - low
            (10.0, 8.0, 13.0, 5.0), // gap down: prev_close - low
            (10.0, 8.0, 5.0, 5.0),  // gap up: high - prev_close
            (8.0, 8.0, 8.0, 0.0),
        ];
        for (h, l, pc, want) in cases {
            assert_eq!(Atr::true_range(h, l, pc), want, "{h} {l} {pc}");
        }
    }

    #[test]
    fn seeds_with_mean_of_first_ranges_then_smooths() {
        let mut atr = Atr::new(2);
        let bars = [(10.0, 8.0, 9.0), (11.0, 9.0, 10.0), (12.0, 9.0, 11.0), (12.0, 10.0, 11.0)];
        let out: Vec<Option<f64>> = bars.iter().map(|&(h, l, c)| atr.update(h, l, c)).collect();
        // TRs from bar 1: 2, 3, 2. Seed (2+3)/2 = 2.5, then (2.5*1 + 2)/2 = 2.25.
        assert_eq!(out, vec![None, None, Some(2.5), Some(2.25)]);
    }
}
