//! Streaming indicators. They compute in `f64` (signals, not money).

use std::collections::VecDeque;

/// Simple moving average over the last `period` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Sma {
    period: usize,
    window: VecDeque<f64>,
    sum: f64,
    since_resum: usize,
}

impl Sma {
    /// A new SMA; `period` must be at least 1 (0 is treated as 1).
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Sma { period, window: VecDeque::with_capacity(period + 1), sum: 0.0, since_resum: 0 }
    }

    /// Add a value; returns the average once `period` values have been seen.
    pub fn update(&mut self, value: f64) -> Option<f64> {
        self.window.push_back(value);
        self.sum += value;
        if self.window.len() > self.period {
            let old = self.window.pop_front().unwrap_or(0.0);
            self.sum -= old;
            self.since_resum += 1;
            // Re-add from scratch now and then so rounding drift cannot accumulate.
            if self.since_resum >= self.period {
                self.sum = self.window.iter().sum();
                self.since_resum = 0;
            }
        }
        self.value()
    }

    /// The current average, if warmed up.
    pub fn value(&self) -> Option<f64> {
        (self.window.len() == self.period).then(|| self.sum / self.period as f64)
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The values in the window, oldest first (for snapshots).
    pub fn window(&self) -> impl Iterator<Item = f64> + '_ {
        self.window.iter().copied()
    }
}

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_matches_naive_average() {
        let data: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 * 1.5 + 1000.0).collect();
        let mut sma = Sma::new(10);
        for (i, &x) in data.iter().enumerate() {
            let got = sma.update(x);
            if i < 9 {
                assert_eq!(got, None, "no value before the window fills (i={i})");
            } else {
                let naive: f64 = data[i - 9..=i].iter().sum::<f64>() / 10.0;
                assert!((got.unwrap() - naive).abs() < 1e-9, "i={i}: {got:?} vs {naive}");
            }
        }
    }

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
