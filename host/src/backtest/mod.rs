//! Backtests and live comparisons of strategy variants: the metrics they report.

pub mod metrics;

pub use metrics::{compute, Metrics, RoundTrip, BARS_PER_YEAR_1M};
