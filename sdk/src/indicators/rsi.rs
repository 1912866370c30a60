//! Relative strength index (TA-Lib `RSI`, Wilder smoothing).

use super::window::read_len;
use crate::state::{StateReader, StateWriter};

/// Wilder's RSI in 0..=100. No output for the first `period` values (TA-Lib's lookback:
/// it needs `period` price changes); the first output uses the plain average gain and loss
/// of those changes, later ones Wilder's smoothing `avg = (avg * (period - 1) + x) / period`.
/// A window without any change gives 0, as TA-Lib does.
#[derive(Debug, Clone, PartialEq)]
pub struct Rsi {
    period: usize,
    prev: Option<f64>,
    /// Price changes seen so far (saturating).
    changes: usize,
    /// Sum of gains, then Wilder's average gain once warmed up.
    gain: f64,
    /// Sum of losses (positive), then Wilder's average loss once warmed up.
    loss: f64,
    value: Option<f64>,
}

impl Rsi {
    /// A new RSI; `period` must be at least 2, as in TA-Lib (smaller values are treated as 2).
    pub fn new(period: usize) -> Self {
        Rsi { period: period.max(2), prev: None, changes: 0, gain: 0.0, loss: 0.0, value: None }
    }

    /// Add a close; returns the RSI once `period` changes have been seen.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let prev = self.prev.replace(x)?;
        let change = x - prev;
        let n = self.period as f64;
        self.changes = self.changes.saturating_add(1);
        if self.changes <= self.period {
            self.accumulate(change);
            if self.changes < self.period {
                return None;
            }
            self.loss /= n;
            self.gain /= n;
        } else {
            // TA-Lib's exact order of operations, so values agree to the last bit or two.
            self.loss *= n - 1.0;
            self.gain *= n - 1.0;
            self.accumulate(change);
            self.loss /= n;
            self.gain /= n;
        }
        let total = self.gain + self.loss;
        self.value = Some(if total != 0.0 { 100.0 * (self.gain / total) } else { 0.0 });
        self.value
    }

    fn accumulate(&mut self, change: f64) {
        if change < 0.0 {
            self.loss -= change;
        } else {
            self.gain += change;
        }
    }

    /// The current RSI, if warmed up.
    pub fn value(&self) -> Option<f64> {
        self.value
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Append the exact internal state to a snapshot.
    pub fn save(&self, w: &mut StateWriter) {
        w.u64(self.period as u64).opt_f64(self.prev).u64(self.changes as u64);
        w.f64(self.gain).f64(self.loss).opt_f64(self.value);
    }

    /// Read what [`Rsi::save`] wrote.
    pub fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        let period = read_len(r)?.max(2);
        let (prev, changes) = (r.opt_f64()?, read_len(r)?);
        Ok(Rsi { period, prev, changes, gain: r.f64()?, loss: r.f64()?, value: r.opt_f64()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_small_series() {
        // (period, closes, expected outputs); worked by hand from Wilder's definition.
        type Case<'a> = (usize, &'a [f64], &'a [Option<f64>]);
        let cases: &[Case] = &[
            // Changes +1, +1: avg gain 1, loss 0 -> 100.
            (2, &[1.0, 2.0, 3.0], &[None, None, Some(100.0)]),
            // Changes +2, -1: gain 1, loss 0.5 -> 66.67; then -1: gain 0.5, loss 0.75 -> 40.
            (2, &[10.0, 12.0, 11.0, 10.0], &[None, None, Some(200.0 / 3.0), Some(40.0)]),
            // No change at all: TA-Lib reports 0, not 50.
            (3, &[5.0, 5.0, 5.0, 5.0, 5.0], &[None, None, None, Some(0.0), Some(0.0)]),
        ];
        for (period, closes, want) in cases {
            let mut rsi = Rsi::new(*period);
            let got: Vec<Option<f64>> = closes.iter().map(|&x| rsi.update(x)).collect();
            for (g, w) in got.iter().zip(want.iter()) {
                match (g, w) {
                    (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "period {period}: {got:?} vs {want:?}"),
                    _ => assert_eq!(g, w, "period {period}: {got:?} vs {want:?}"),
                }
            }
        }
    }

    #[test]
    fn snapshot_continues_bit_for_bit() {
        let mut a = Rsi::new(4);
        for x in [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0] {
            a.update(x);
        }
        let mut w = StateWriter::new(1);
        a.save(&mut w);
        let bytes = w.finish();
        let (_, mut r) = StateReader::new(&bytes).unwrap();
        let mut b = Rsi::load(&mut r).unwrap();
        assert_eq!(b, a);
        assert_eq!(a.update(6.0), b.update(6.0));
    }
}
