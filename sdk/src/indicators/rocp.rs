//! Rate of change as a fraction (TA-Lib `ROCP`).

use super::window::read_len;
use crate::state::{StateReader, StateWriter};
use std::collections::VecDeque;

/// `(x - x[period ago]) / x[period ago]`, e.g. 0.01 for a 1 % rise over the period. No
/// output for the first `period` values; 0 when the old value is 0, as in TA-Lib.
#[derive(Debug, Clone, PartialEq)]
pub struct Rocp {
    period: usize,
    /// The last `period + 1` values.
    values: VecDeque<f64>,
}

impl Rocp {
    /// A new rate of change; `period` 0 is treated as 1.
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Rocp { period, values: VecDeque::with_capacity(period + 1) }
    }

    /// Add a value; returns the rate of change once `period + 1` values have been seen.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        if self.values.len() > self.period {
            self.values.pop_front();
        }
        self.values.push_back(x);
        self.value()
    }

    /// The current rate of change, if warmed up.
    pub fn value(&self) -> Option<f64> {
        if self.values.len() <= self.period {
            return None;
        }
        let (old, new) = (*self.values.front()?, *self.values.back()?);
        Some(if old != 0.0 { (new - old) / old } else { 0.0 })
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Append the exact internal state to a snapshot.
    pub fn save(&self, w: &mut StateWriter) {
        w.u64(self.period as u64).u64(self.values.len() as u64);
        for &x in &self.values {
            w.f64(x);
        }
    }

    /// Read what [`Rocp::save`] wrote.
    pub fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        let mut rocp = Rocp::new(read_len(r)?);
        let len = read_len(r)?;
        if len > rocp.period + 1 {
            return Err(format!("bad rate-of-change window in snapshot: {len} values"));
        }
        for _ in 0..len {
            rocp.values.push_back(r.f64()?);
        }
        Ok(rocp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_over_the_period() {
        let mut r = Rocp::new(2);
        let out: Vec<Option<f64>> = [100.0, 50.0, 110.0, 55.0].iter().map(|&x| r.update(x)).collect();
        assert_eq!(out, vec![None, None, Some(0.1), Some(0.1)]);
        let mut z = Rocp::new(1);
        assert_eq!([0.0, 5.0].iter().map(|&x| z.update(x)).last().flatten(), Some(0.0));
    }
}
