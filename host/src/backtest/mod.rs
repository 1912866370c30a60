//! Backtests and live comparisons of strategy variants.
//!
//! | file | owns |
//! | --- | --- |
//! | `metrics.rs` | net PnL, return, drawdown, Sharpe, Sortino, win rate, profit factor, exposure |
//! | `runner.rs` | running the core loop over a data file, threads for sweeps |
//! | `sweep.rs` | parameter grids |
//! | `report.rs` | the table, JSON and HTML (SVG charts) reports |

pub mod metrics;
pub mod report;
pub mod runner;
pub mod sweep;

pub use metrics::{BARS_PER_YEAR_1M, Metrics, RoundTrip, compute};
pub use runner::{BacktestSettings, Progress, VariantResult, run};
pub use sweep::Sweep;
