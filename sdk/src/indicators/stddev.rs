//! Rolling population standard deviation (TA-Lib `STDDEV` with `nbdev = 1`).

use super::window::Window;
use crate::state::{StateReader, StateWriter};

/// Population standard deviation of the last `period` values (divides by `period`, not
/// `period - 1`). No output for the first `period - 1` values; exactly 0 for a flat window.
#[derive(Debug, Clone, PartialEq)]
pub struct RollingStd {
    window: Window,
}

impl RollingStd {
    /// A new rolling standard deviation; `period` 0 is treated as 1.
    pub fn new(period: usize) -> Self {
        RollingStd { window: Window::new(period) }
    }

    /// Add a value; returns the standard deviation once the window is full.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push(x);
        self.value()
    }

    /// The current standard deviation, if warmed up.
    pub fn value(&self) -> Option<f64> {
        self.window.std_dev()
    }

    /// The mean of the window, if warmed up.
    pub fn mean(&self) -> Option<f64> {
        self.window.mean()
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.window.period()
    }

    /// Append the exact internal state to a snapshot.
    pub fn save(&self, w: &mut StateWriter) {
        self.window.save(w);
    }

    /// Read what [`RollingStd::save`] wrote.
    pub fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        Ok(RollingStd { window: Window::load(r)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_not_sample() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population variance 4, std 2 (sample std would be 2.14).
        let mut s = RollingStd::new(8);
        let out: Vec<Option<f64>> = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0].iter().map(|&x| s.update(x)).collect();
        assert!(out[..7].iter().all(Option::is_none));
        assert!((out[7].unwrap() - 2.0).abs() < 1e-12, "{out:?}");
        assert_eq!(s.mean(), Some(5.0));
    }
}
