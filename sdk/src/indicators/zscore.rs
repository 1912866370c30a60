//! Rolling z-score of the newest value (no TA-Lib counterpart; built on the same window).

use super::window::Window;
use crate::state::{StateReader, StateWriter};

/// `(x - mean) / std_dev` of the newest value against the last `period` values (the
/// newest included), population standard deviation.
#[derive(Debug, Clone, PartialEq)]
pub struct ZScore {
    window: Window,
}

impl ZScore {
    /// A new z-score; `period` 0 is treated as 1 (and then never has a score).
    pub fn new(period: usize) -> Self {
        ZScore { window: Window::new(period) }
    }

    /// Add a value; returns its score once the window is full. `None` also while the
    /// window is flat, where the score is undefined.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push(x);
        self.value()
    }

    /// The score of the newest value, if defined.
    pub fn value(&self) -> Option<f64> {
        let (x, mean, std) = (self.window.last()?, self.window.mean()?, self.window.std_dev()?);
        (std > 0.0).then(|| (x - mean) / std)
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.window.period()
    }

    /// Append the exact internal state to a snapshot.
    pub fn save(&self, w: &mut StateWriter) {
        self.window.save(w);
    }

    /// Read what [`ZScore::save`] wrote.
    pub fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        Ok(ZScore { window: Window::load(r)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        // (period, values, expected score of the last value)
        let cases: &[(usize, &[f64], Option<f64>)] = &[
            (8, &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], Some(2.0)),
            (8, &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0], None),
            (3, &[1.0, 5.0, 5.0, 5.0], None),
            (2, &[10.0, 12.0], Some(1.0)),
            (2, &[12.0, 10.0], Some(-1.0)),
        ];
        for (period, xs, want) in cases {
            let mut z = ZScore::new(*period);
            let got = xs.iter().map(|&x| z.update(x)).last().flatten();
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{xs:?}: {g} vs {w}"),
                _ => assert_eq!(got, *want, "{xs:?}"),
            }
        }
    }
}
