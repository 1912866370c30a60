//! The rolling window behind [`Sma`](super::Sma), [`RollingStd`](super::RollingStd),
//! [`Bollinger`](super::Bollinger) and [`ZScore`](super::ZScore).
//!
//! The plain sum is kept in TA-Lib's order (drop the leaving value, add the new one), so
//! the mean equals TA-Lib's SMA bit for bit until the first re-sum. The variance does not
//! use `E[x²] - mean²` on raw prices (at BTC prices that loses ~8 digits to cancellation);
//! it sums deviations from a shift near the data instead. Every `period` updates both sums
//! are rebuilt from the window, which bounds rounding drift at an amortised O(1) cost.

use crate::state::{StateReader, StateWriter};
use std::collections::VecDeque;

/// The last `period` values and their running sums.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Window {
    period: usize,
    values: VecDeque<f64>,
    /// Sum of `values`.
    sum: f64,
    /// Reference point for the deviation sums (the mean at the last re-sum).
    shift: f64,
    /// Sum of `x - shift` over the window.
    dev_sum: f64,
    /// Sum of `(x - shift)²` over the window.
    dev_sq_sum: f64,
    /// Values dropped since the sums were last rebuilt.
    since_resum: usize,
    /// How many of the newest values are equal to the newest one (at most `period`).
    run: usize,
}

impl Window {
    /// An empty window; `period` 0 is treated as 1.
    pub(super) fn new(period: usize) -> Self {
        let period = period.max(1);
        Window {
            period,
            values: VecDeque::with_capacity(period),
            sum: 0.0,
            shift: 0.0,
            dev_sum: 0.0,
            dev_sq_sum: 0.0,
            since_resum: 0,
            run: 0,
        }
    }

    pub(super) fn period(&self) -> usize {
        self.period
    }

    pub(super) fn is_full(&self) -> bool {
        self.values.len() == self.period
    }

    pub(super) fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().copied()
    }

    /// The newest value, if any.
    pub(super) fn last(&self) -> Option<f64> {
        self.values.back().copied()
    }

    /// Add a value, dropping the oldest once the window is full.
    pub(super) fn push(&mut self, x: f64) {
        if self.values.len() == self.period
            && let Some(old) = self.values.pop_front()
        {
            self.sum -= old;
            let d = old - self.shift;
            self.dev_sum -= d;
            self.dev_sq_sum -= d * d;
            self.since_resum += 1;
        }
        if self.values.is_empty() {
            self.shift = x;
        }
        self.run = if self.values.back() == Some(&x) { (self.run + 1).min(self.period) } else { 1 };
        self.values.push_back(x);
        self.sum += x;
        let d = x - self.shift;
        self.dev_sum += d;
        self.dev_sq_sum += d * d;
        if self.since_resum >= self.period {
            self.resum();
        }
    }

    fn resum(&mut self) {
        self.sum = self.values.iter().sum();
        self.shift = self.sum / self.period as f64;
        let (mut s, mut s2) = (0.0, 0.0);
        for &x in &self.values {
            let d = x - self.shift;
            s += d;
            s2 += d * d;
        }
        self.dev_sum = s;
        self.dev_sq_sum = s2;
        self.since_resum = 0;
    }

    /// Mean of a full window.
    pub(super) fn mean(&self) -> Option<f64> {
        self.is_full().then(|| self.sum / self.period as f64)
    }

    /// Population variance of a full window; exactly 0 when every value is equal.
    pub(super) fn variance(&self) -> Option<f64> {
        if !self.is_full() {
            return None;
        }
        if self.run >= self.period {
            return Some(0.0);
        }
        let n = self.period as f64;
        let m = self.dev_sum / n;
        Some((self.dev_sq_sum / n - m * m).max(0.0))
    }

    /// Population standard deviation of a full window.
    pub(super) fn std_dev(&self) -> Option<f64> {
        self.variance().map(f64::sqrt)
    }

    pub(super) fn save(&self, w: &mut StateWriter) {
        w.u64(self.period as u64).u64(self.values.len() as u64);
        for &x in &self.values {
            w.f64(x);
        }
        w.f64(self.sum).f64(self.shift).f64(self.dev_sum).f64(self.dev_sq_sum);
        w.u64(self.since_resum as u64).u64(self.run as u64);
    }

    pub(super) fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        let period = read_len(r)?;
        let len = read_len(r)?;
        if period == 0 || len > period {
            return Err(format!("bad window in snapshot: {len} values for period {period}"));
        }
        let mut values = VecDeque::with_capacity(period);
        for _ in 0..len {
            values.push_back(r.f64()?);
        }
        let (sum, shift, dev_sum, dev_sq_sum) = (r.f64()?, r.f64()?, r.f64()?, r.f64()?);
        let since_resum = read_len(r)?.min(period);
        let run = read_len(r)?.min(len);
        Ok(Window { period, values, sum, shift, dev_sum, dev_sq_sum, since_resum, run })
    }
}

/// Read a count or period written as u64.
pub(super) fn read_len(r: &mut StateReader<'_>) -> Result<usize, String> {
    usize::try_from(r.u64()?).map_err(|_| "count in snapshot out of range".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        (mean, xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n)
    }

    #[test]
    fn mean_and_variance_match_two_pass_through_resums() {
        let data: Vec<f64> = (0..500).map(|i| 23_000.0 + ((i * 7919) % 113) as f64 * 0.37 + i as f64).collect();
        let mut w = Window::new(7);
        for (i, &x) in data.iter().enumerate() {
            w.push(x);
            if i < 6 {
                assert_eq!(w.mean(), None);
                continue;
            }
            let (mean, var) = naive(&data[i - 6..=i]);
            assert!((w.mean().unwrap() - mean).abs() <= 1e-12 * mean, "i={i}");
            assert!((w.variance().unwrap() - var).abs() <= 1e-9 * var, "i={i}: {:?} vs {var}", w.variance());
        }
    }

    #[test]
    fn flat_window_has_exactly_zero_variance() {
        let mut w = Window::new(4);
        for x in [100.0, 250.5, 250.5, 250.5, 250.5] {
            w.push(x);
        }
        assert_eq!(w.variance(), Some(0.0), "shift is 100 here, yet the flat window is exactly 0");
        w.push(250.6);
        assert!(w.variance().unwrap() > 0.0);
    }
}
