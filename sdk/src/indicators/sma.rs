//! Simple moving average (TA-Lib `SMA`).

use super::window::Window;
use crate::state::{StateReader, StateWriter};

/// Simple moving average over the last `period` values. No output for the first
/// `period - 1` values (TA-Lib's lookback), then the mean of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Sma {
    window: Window,
}

impl Sma {
    /// A new SMA; `period` must be at least 1 (0 is treated as 1).
    pub fn new(period: usize) -> Self {
        Sma { window: Window::new(period) }
    }

    /// Add a value; returns the average once `period` values have been seen.
    pub fn update(&mut self, value: f64) -> Option<f64> {
        self.window.push(value);
        self.value()
    }

    /// The current average, if warmed up.
    pub fn value(&self) -> Option<f64> {
        self.window.mean()
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.window.period()
    }

    /// The values in the window, oldest first.
    pub fn window(&self) -> impl Iterator<Item = f64> + '_ {
        self.window.values()
    }

    /// Append the exact internal state to a snapshot.
    pub fn save(&self, w: &mut StateWriter) {
        self.window.save(w);
    }

    /// Read what [`Sma::save`] wrote; the result continues bit for bit.
    pub fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        Ok(Sma { window: Window::load(r)? })
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
    fn period_zero_is_one() {
        let mut sma = Sma::new(0);
        assert_eq!(sma.period(), 1);
        assert_eq!(sma.update(4.5), Some(4.5));
    }
}
