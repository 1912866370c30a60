//! Live side-by-side metrics of the running variants (the seed's variant A vs B): each
//! instance's equity is marked to market once per closed candle of its first symbol, and
//! round trips are closed when a position returns to flat. The numbers are the same
//! `backtest::Metrics` a backtest reports.

use super::Core;
use crate::backtest::{self, Metrics, RoundTrip};
use crate::execution::{Account, Fill, Venue};
use crate::market_data::SymbolId;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;

/// What is tracked for one instance.
#[derive(Debug, Default, Clone)]
pub struct Track {
    initial: Option<f64>,
    curve: Vec<f64>,
    exposed: Vec<bool>,
    trips: Vec<RoundTrip>,
    fees: f64,
    open: HashMap<SymbolId, f64>,
}

/// One row of `/api/strategies/compare`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VariantMetrics {
    /// Strategy instance.
    pub strategy: String,
    /// Marked equity now (quote asset).
    pub equity: f64,
    /// The metrics.
    pub metrics: Metrics,
}

/// Value of an account in its quote assets, positions marked at `last`.
fn equity(account: &Account, last: &[Option<Decimal>], quote_assets: &[&str]) -> f64 {
    let cash: Decimal = quote_assets.iter().map(|q| account.balance(q)).sum();
    let held: Decimal = account
        .positions
        .iter()
        .map(|(sym, p)| p.qty * last.get(sym.0 as usize).copied().flatten().unwrap_or(p.avg_price))
        .sum();
    (cash + held).to_f64().unwrap_or(0.0)
}

impl Core {
    /// Mark every instance whose first symbol just closed a candle.
    pub(super) fn mark_equity(&mut self, symbol: SymbolId) {
        for inst in self.plugins.instances() {
            if inst.symbols.first().map(|(id, _)| *id) != Some(symbol) {
                continue;
            }
            let Some(account) = self.venue.account(inst.id()) else { continue };
            let quotes: Vec<&str> = inst.symbols.iter().map(|(_, s)| s.quote.as_str()).collect();
            let value = equity(account, &self.last_prices, &quotes);
            let exposed = account.positions.values().any(|p| !p.qty.is_zero());
            let track = self.tracks.entry(inst.id().to_string()).or_default();
            track.initial.get_or_insert(value);
            track.curve.push(value);
            track.exposed.push(exposed);
        }
    }

    /// Account for a fill: fees, and a round trip when the position returns to flat.
    pub(super) fn track_fill(&mut self, fill: &Fill) {
        let flat_after = self
            .venue
            .account(&fill.instance)
            .and_then(|a| a.positions.get(&fill.symbol))
            .is_none_or(|p| p.qty.is_zero());
        let track = self.tracks.entry(fill.instance.clone()).or_default();
        let fee = fill.fee.to_f64().unwrap_or(0.0);
        track.fees += fee;
        let running = track.open.entry(fill.symbol).or_insert(0.0);
        *running += fill.realized_pnl.to_f64().unwrap_or(0.0) - fee;
        if flat_after {
            let pnl = track.open.remove(&fill.symbol).unwrap_or(0.0);
            track.trips.push(RoundTrip { pnl });
        }
    }

    /// Metrics of every instance, in configuration order.
    pub fn compare(&self) -> Vec<VariantMetrics> {
        self.plugins
            .instances()
            .iter()
            .map(|inst| {
                let t = self.tracks.get(inst.id()).cloned().unwrap_or_default();
                let initial = t.initial.unwrap_or(0.0);
                VariantMetrics {
                    strategy: inst.id().to_string(),
                    equity: t.curve.last().copied().unwrap_or(initial),
                    metrics: backtest::compute(initial, &t.curve, &t.exposed, &t.trips, t.fees, backtest::BARS_PER_YEAR_1M),
                }
            })
            .collect()
    }
}
