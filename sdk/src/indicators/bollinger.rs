//! Bollinger bands (TA-Lib `BBANDS` with an SMA middle band).

use super::window::Window;
use crate::state::{StateReader, StateWriter};

/// One reading of the bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    /// `middle + k_up * std_dev`.
    pub upper: f64,
    /// The SMA of the window.
    pub middle: f64,
    /// `middle - k_down * std_dev`.
    pub lower: f64,
    /// Population standard deviation of the window.
    pub std_dev: f64,
}

impl Bands {
    /// How many standard deviations `x` lies from the middle band; `None` when the window
    /// is flat (the score is undefined).
    pub fn zscore(&self, x: f64) -> Option<f64> {
        (self.std_dev > 0.0).then(|| (x - self.middle) / self.std_dev)
    }
}

/// Bollinger bands over the last `period` values with separate multipliers for the
/// upper and lower band. No output for the first `period - 1` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Bollinger {
    window: Window,
    k_up: f64,
    k_down: f64,
}

impl Bollinger {
    /// New bands; `period` 0 is treated as 1. TA-Lib's defaults are `(5, 2.0, 2.0)`; the
    /// classic chart setting is `(20, 2.0, 2.0)`.
    pub fn new(period: usize, k_up: f64, k_down: f64) -> Self {
        Bollinger { window: Window::new(period), k_up, k_down }
    }

    /// Add a value; returns the bands once the window is full.
    pub fn update(&mut self, x: f64) -> Option<Bands> {
        self.window.push(x);
        self.value()
    }

    /// The current bands, if warmed up.
    pub fn value(&self) -> Option<Bands> {
        let (middle, std_dev) = (self.window.mean()?, self.window.std_dev()?);
        Some(Bands { upper: middle + self.k_up * std_dev, middle, lower: middle - self.k_down * std_dev, std_dev })
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.window.period()
    }

    /// The same window with other multipliers (e.g. a restored history under new params).
    pub fn with_multipliers(self, k_up: f64, k_down: f64) -> Self {
        Bollinger { k_up, k_down, ..self }
    }

    /// The (upper, lower) multipliers.
    pub fn multipliers(&self) -> (f64, f64) {
        (self.k_up, self.k_down)
    }

    /// Append the exact internal state to a snapshot.
    pub fn save(&self, w: &mut StateWriter) {
        self.window.save(w);
        w.f64(self.k_up).f64(self.k_down);
    }

    /// Read what [`Bollinger::save`] wrote.
    pub fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        Ok(Bollinger { window: Window::load(r)?, k_up: r.f64()?, k_down: r.f64()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_use_separate_multipliers() {
        let mut bb = Bollinger::new(8, 2.0, 1.5);
        let mut last = None;
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            last = bb.update(x);
        }
        let b = last.expect("warm after 8 values");
        // Mean 5, population std 2.
        assert!((b.middle - 5.0).abs() < 1e-12 && (b.std_dev - 2.0).abs() < 1e-12, "{b:?}");
        assert!((b.upper - 9.0).abs() < 1e-12 && (b.lower - 2.0).abs() < 1e-12, "{b:?}");
        assert!((b.zscore(1.0).unwrap() + 2.0).abs() < 1e-12);
    }

    #[test]
    fn flat_window_has_no_zscore() {
        let mut bb = Bollinger::new(3, 2.0, 2.0);
        let b = [7.0, 7.0, 7.0].iter().map(|&x| bb.update(x)).last().flatten().unwrap();
        assert_eq!((b.upper, b.lower, b.std_dev), (7.0, 7.0, 0.0));
        assert_eq!(b.zscore(7.0), None);
    }
}
