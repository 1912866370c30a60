//! Performance metrics of one strategy variant: from its equity curve (marked to market
//! once per candle) and its closed round trips. Reporting only: f64 is fine here.

use serde::Serialize;

/// Minutes in a year: the annualisation factor for 1-minute bars.
pub const BARS_PER_YEAR_1M: f64 = 525_600.0;

/// A finished round trip (entry to exit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundTrip {
    /// PnL after fees.
    pub pnl: f64,
}

/// The numbers of the report, one row per variant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    /// Round trips closed.
    pub trades: usize,
    /// Final equity minus initial equity.
    pub net_pnl: f64,
    /// Net PnL over initial equity, percent.
    pub return_pct: f64,
    /// Largest fall from a peak of the equity curve, percent of that peak.
    pub max_drawdown_pct: f64,
    /// Annualised mean / standard deviation of bar returns.
    pub sharpe: f64,
    /// Annualised mean / downside deviation of bar returns.
    pub sortino: f64,
    /// Winning round trips, percent.
    pub win_rate_pct: f64,
    /// Gross profit / gross loss of round trips (infinite shown as 0 with no losses).
    pub profit_factor: f64,
    /// Bars with an open position, percent.
    pub exposure_pct: f64,
    /// Fees paid.
    pub fees: f64,
}

/// Compute the metrics. `equity[i]` is the marked equity after bar `i`, `exposed[i]`
/// whether a position was open during it; `bars_per_year` annualises ratios.
pub fn compute(
    initial: f64,
    equity: &[f64],
    exposed: &[bool],
    trips: &[RoundTrip],
    fees: f64,
    bars_per_year: f64,
) -> Metrics {
    let last = equity.last().copied().unwrap_or(initial);
    let mut peak = initial;
    let mut max_dd: f64 = 0.0;
    for &e in equity {
        peak = peak.max(e);
        if peak > 0.0 {
            max_dd = max_dd.max((peak - e) / peak);
        }
    }
    let mut prev = initial;
    let returns: Vec<f64> = equity
        .iter()
        .map(|&e| {
            let r = if prev != 0.0 { e / prev - 1.0 } else { 0.0 };
            prev = e;
            r
        })
        .collect();
    let n = returns.len() as f64;
    let mean = if n > 0.0 { returns.iter().sum::<f64>() / n } else { 0.0 };
    let var = if n > 1.0 { returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    let down = if n > 0.0 { (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt() } else { 0.0 };
    let annual = bars_per_year.sqrt();
    let ratio = |num: f64, den: f64| if den > 0.0 { num / den * annual } else { 0.0 };
    let wins = trips.iter().filter(|t| t.pnl > 0.0).count();
    let gross_win: f64 = trips.iter().filter(|t| t.pnl > 0.0).map(|t| t.pnl).sum();
    let gross_loss: f64 = -trips.iter().filter(|t| t.pnl < 0.0).map(|t| t.pnl).sum::<f64>();
    Metrics {
        trades: trips.len(),
        net_pnl: last - initial,
        return_pct: if initial != 0.0 { (last - initial) / initial * 100.0 } else { 0.0 },
        max_drawdown_pct: max_dd * 100.0,
        sharpe: ratio(mean, var.sqrt()),
        sortino: ratio(mean, down),
        win_rate_pct: if trips.is_empty() { 0.0 } else { wins as f64 / trips.len() as f64 * 100.0 },
        profit_factor: if gross_loss > 0.0 { gross_win / gross_loss } else { 0.0 },
        exposure_pct: if exposed.is_empty() {
            0.0
        } else {
            exposed.iter().filter(|x| **x).count() as f64 / exposed.len() as f64 * 100.0
        },
        fees,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn hand_computed_curve() {
        // 100 -> 110 -> 99 -> 121: drawdown (110-99)/110 = 10 %.
        let equity = [110.0, 99.0, 121.0];
        let trips = [RoundTrip { pnl: 10.0 }, RoundTrip { pnl: -11.0 }, RoundTrip { pnl: 22.0 }];
        let m = compute(100.0, &equity, &[true, false, true], &trips, 1.5, 1.0);
        assert!(close(m.net_pnl, 21.0) && close(m.return_pct, 21.0));
        assert!(close(m.max_drawdown_pct, 10.0));
        assert!(close(m.win_rate_pct, 200.0 / 3.0));
        assert!(close(m.profit_factor, 32.0 / 11.0));
        assert!(close(m.exposure_pct, 200.0 / 3.0));
        // Returns 0.1, -0.1, 0.2222..: mean 0.0740740..., sample sd, downside sqrt(0.01/3).
        let r = [0.1, -0.1, 121.0 / 99.0 - 1.0];
        let mean = r.iter().sum::<f64>() / 3.0;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!(close(m.sharpe, mean / sd));
        assert!(close(m.sortino, mean / (0.01f64 / 3.0).sqrt()));
        assert_eq!(m.trades, 3);
        assert!(close(m.fees, 1.5));
    }

    #[test]
    fn empty_run_is_all_zero() {
        let m = compute(100.0, &[], &[], &[], 0.0, BARS_PER_YEAR_1M);
        assert_eq!(m, Metrics::default());
    }
}
