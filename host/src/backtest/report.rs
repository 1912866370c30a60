//! Backtest reports: a ranked text table, JSON, and one self-contained HTML file with an
//! equity and a drawdown chart per variant (inline SVG, no CDN).

use super::VariantResult;
use std::fmt::Write as _;

/// The fill convention, stated in every report.
pub const CONVENTION: &str = "Candle data follows freqtrade and backtesting.py: a signal on a candle's close fills at the \
next candle's open; a stop is checked against each candle's low (high for shorts) from the entry candle on and fills \
at the stop price, or at the open when the candle opens beyond it; a position still open at the end is closed at the \
last candle's open. Trade data fills at the last trade price.";

/// Results sorted best first by return, then Sharpe.
pub fn ranked(results: &[VariantResult]) -> Vec<&VariantResult> {
    let mut v: Vec<&VariantResult> = results.iter().collect();
    v.sort_by(|a, b| {
        b.metrics.return_pct.total_cmp(&a.metrics.return_pct).then(b.metrics.sharpe.total_cmp(&a.metrics.sharpe))
    });
    v
}

/// The text table.
pub fn table(results: &[VariantResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:>6} {:>12} {:>8} {:>8} {:>7} {:>8} {:>6} {:>6} {:>8} {:>10}",
        "strategy", "trades", "net pnl", "return%", "max dd%", "sharpe", "sortino", "win%", "pf", "exposure", "fees"
    );
    for r in ranked(results) {
        let m = &r.metrics;
        let _ = writeln!(
            out,
            "{:<34} {:>6} {:>12.2} {:>8.2} {:>8.2} {:>7.2} {:>8.2} {:>6.1} {:>6.2} {:>7.1}% {:>10.4}",
            truncate(&r.strategy, 34),
            m.trades,
            m.net_pnl,
            m.return_pct,
            m.max_drawdown_pct,
            m.sharpe,
            m.sortino,
            m.win_rate_pct,
            m.profit_factor,
            m.exposure_pct,
            m.fees
        );
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).chain(['…']).collect() }
}

/// Most equity points kept per variant in the JSON report (metrics use every point).
pub const MAX_EQUITY_POINTS: usize = 10_000;

/// The JSON report (`report.json`); `elapsed_s` is the time spent in the backtest itself.
/// Equity curves are thinned to at most [`MAX_EQUITY_POINTS`] evenly spaced points (the
/// last kept). It borrows the results and serialises straight to the writer: a long
/// backtest's trade log runs to hundreds of thousands of rows.
#[derive(Debug, serde::Serialize)]
pub struct JsonReport<'a> {
    convention: &'static str,
    data: &'a [String],
    elapsed_s: f64,
    variants: Vec<JsonVariant<'a>>,
}

/// One variant in [`JsonReport`] (keys in alphabetical order, as before).
#[derive(Debug, serde::Serialize)]
struct JsonVariant<'a> {
    equity: Vec<&'a (i64, f64)>,
    metrics: &'a super::Metrics,
    params: &'a [(String, String)],
    strategy: &'a str,
    trades: &'a [crate::store::TradeRow],
}

/// The JSON report of `results` over `files`.
pub fn json<'a>(files: &'a [String], results: &'a [VariantResult], elapsed_s: f64) -> JsonReport<'a> {
    let variants = results
        .iter()
        .map(|r| {
            let every = r.equity.len().div_ceil(MAX_EQUITY_POINTS).max(1);
            let equity = r
                .equity
                .iter()
                .enumerate()
                .filter(|(i, _)| i % every == 0 || *i + 1 == r.equity.len())
                .map(|(_, p)| p)
                .collect();
            JsonVariant { equity, metrics: &r.metrics, params: &r.params, strategy: &r.strategy, trades: &r.trades }
        })
        .collect();
    JsonReport { convention: CONVENTION, data: files, elapsed_s, variants }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An SVG polyline chart of `values` (no axes library: min/max labels only).
fn chart(values: &[f64], color: &str, title: &str) -> String {
    let (w, h) = (720.0, 180.0);
    if values.is_empty() {
        return format!("<p>{} — no data</p>", escape(title));
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = if values.len() > 1 { w / (values.len() - 1) as f64 } else { 0.0 };
    let every = values.len().div_ceil(2000).max(1);
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0 || *i == values.len() - 1)
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, h - (v - lo) / span * h))
        .collect();
    format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 -12 {w} {}\" width=\"{w}\" height=\"{}\" role=\"img\">\
         <polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.2\" points=\"{}\"/>\
         <text x=\"2\" y=\"-2\" font-size=\"10\">{hi:.2}</text><text x=\"2\" y=\"{}\" font-size=\"10\">{lo:.2}</text></svg></figure>",
        escape(title),
        h + 24.0,
        h + 24.0,
        points.join(" "),
        h + 10.0
    )
}

/// The HTML report.
pub fn html(files: &[String], results: &[VariantResult]) -> String {
    let mut out = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>tradehost backtest</title><style>\
         body{font-family:system-ui,sans-serif;margin:2em;max-width:980px}table{border-collapse:collapse}\
         td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}\
         figure{margin:1em 0}figcaption{font-weight:600}</style></head><body><h1>Backtest</h1>",
    );
    let _ = write!(out, "<p>Data: {}</p><p><small>{}</small></p>", escape(&files.join(", ")), escape(CONVENTION));
    out.push_str("<table><tr><th>strategy</th><th>trades</th><th>net PnL</th><th>return %</th><th>max DD %</th><th>Sharpe</th><th>Sortino</th><th>win %</th><th>profit factor</th><th>exposure %</th><th>fees</th></tr>");
    for r in ranked(results) {
        let m = &r.metrics;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.1}</td><td>{:.2}</td><td>{:.1}</td><td>{:.4}</td></tr>",
            escape(&r.strategy),
            m.trades,
            m.net_pnl,
            m.return_pct,
            m.max_drawdown_pct,
            m.sharpe,
            m.sortino,
            m.win_rate_pct,
            m.profit_factor,
            m.exposure_pct,
            m.fees
        );
    }
    out.push_str("</table>");
    for r in ranked(results).into_iter().take(20) {
        let equity: Vec<f64> = r.equity.iter().map(|(_, e)| *e).collect();
        let mut peak = f64::MIN;
        let drawdown: Vec<f64> = equity
            .iter()
            .map(|e| {
                peak = peak.max(*e);
                if peak > 0.0 { (e - peak) / peak * 100.0 } else { 0.0 }
            })
            .collect();
        let _ = write!(out, "<h2>{}</h2>", escape(&r.strategy));
        out.push_str(&chart(&equity, "#1f77b4", "Equity"));
        out.push_str(&chart(&drawdown, "#d62728", "Drawdown %"));
    }
    out.push_str("</body></html>\n");
    out
}
