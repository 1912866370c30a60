//! Live side-by-side metrics of the running variants (the seed's variant A vs B): each
//! instance's equity is marked to market once per closed candle of its first symbol, and
//! round trips are closed when a position returns to flat. The numbers are the same
//! `backtest::Metrics` a backtest reports.

use super::Core;
use crate::backtest::{self, Metrics, RoundTrip};
use crate::execution::{Account, Fill, Venue};
use crate::market_data::SymbolId;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use std::collections::HashMap;

/// What is tracked for one instance.
#[derive(Debug, Default, Clone)]
pub struct Track {
    initial: Option<f64>,
    curve: Vec<f64>,
    times: Vec<i64>,
    exposed: Vec<bool>,
    trips: Vec<RoundTrip>,
    fees: f64,
    open: HashMap<SymbolId, f64>,
    /// A backtest's account as last read: only a fill changes it (a backtest's accounts
    /// change by fills alone), so the marks until the next fill start from it.
    held: Option<Held>,
}

/// Cash and open positions of an account, read once between fills.
#[derive(Debug, Clone)]
struct Held {
    cash: Decimal,
    /// Open positions: symbol, signed quantity, average price (the mark without a trade).
    positions: Vec<(SymbolId, Decimal, Decimal)>,
    /// The equity while flat (it is then all cash).
    flat: f64,
}

impl Held {
    fn of<'a>(account: &Account, quote_assets: impl Iterator<Item = &'a str> + Clone) -> Held {
        let positions: Vec<_> =
            account.positions.iter().filter(|(_, p)| !p.qty.is_zero()).map(|(s, p)| (*s, p.qty, p.avg_price)).collect();
        let cash = cash(account, quote_assets);
        Held { cash, positions, flat: to_f64(cash) }
    }

    /// Marked equity at `last` prices, and whether a position is open.
    fn mark(&self, last: &[Option<Decimal>]) -> (f64, bool) {
        if self.positions.is_empty() {
            return (self.flat, false);
        }
        let held: Decimal = self
            .positions
            .iter()
            .map(|(sym, qty, avg)| qty * last.get(sym.0 as usize).copied().flatten().unwrap_or(*avg))
            .sum();
        (to_f64(self.cash + held), true)
    }
}

/// `d.to_f64()`, bit for bit: the steps of `rust_decimal`'s own conversion, on 64-bit
/// integers when the mantissa and the power of ten fit (prices, quantities and equities
/// do), where it divides on 128 bits (most of an equity mark's cost).
fn to_f64(d: Decimal) -> f64 {
    let scale = d.scale();
    let (Ok(abs), Some(&p)) =
        (u64::try_from(d.mantissa().unsigned_abs()), crate::matching::units::POW10.get(scale as usize))
    else {
        return d.to_f64().unwrap_or(0.0);
    };
    let p = p as u64;
    let neg = d.is_sign_negative();
    if scale == 0 {
        // rust_decimal: the mantissa as an integer (a zero is +0.0).
        let v = abs as f64;
        return if neg && abs != 0 { -v } else { v };
    }
    let (integral, frac) = ((abs / p) as f64, (abs % p) as f64 / p as f64);
    if frac == 0.0 {
        return if neg { -integral } else { integral };
    }
    let round_to = 10f64.powi(scale as i32);
    let rounded = ((integral + frac) * round_to).round() / round_to;
    if neg { -rounded } else { rounded }
}

/// Cash of an account in its quote assets.
fn cash<'a>(account: &Account, quote_assets: impl Iterator<Item = &'a str> + Clone) -> Decimal {
    // BTCUSDT and ETHUSDT (or one pair on two venues) share one USDT balance: count it once.
    quote_assets
        .clone()
        .enumerate()
        .filter(|(i, q)| !quote_assets.clone().take(*i).any(|seen| seen == *q))
        .map(|(_, q)| account.balance(q))
        .sum()
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
fn equity<'a>(account: &Account, last: &[Option<Decimal>], quote_assets: impl Iterator<Item = &'a str> + Clone) -> f64 {
    let cash = cash(account, quote_assets);
    let held: Decimal = account
        .positions
        .iter()
        .map(|(sym, p)| p.qty * last.get(sym.0 as usize).copied().flatten().unwrap_or(p.avg_price))
        .sum();
    to_f64(cash + held)
}

impl Core {
    /// Mark every instance whose first symbol just closed a candle.
    pub(super) fn mark_equity(&mut self, symbol: SymbolId) {
        for inst in self.plugins.instances() {
            if inst.symbols.first().map(|(id, _)| *id) != Some(symbol) {
                continue;
            }
            let now = self.now_ms;
            let track = match self.tracks.get_mut(inst.id()) {
                Some(t) => t,
                None => self.tracks.entry(inst.id().to_string()).or_default(),
            };
            let quotes = inst.symbols.iter().map(|(_, s)| s.quote.as_str());
            let (value, exposed) = match &track.held {
                Some(held) => held.mark(&self.last_prices),
                None => {
                    let Some(account) = self.venue.account(inst.id()) else { continue };
                    if self.settings.backtest {
                        let held = track.held.insert(Held::of(account, quotes));
                        held.mark(&self.last_prices)
                    } else {
                        let exposed = account.positions.values().any(|p| !p.qty.is_zero());
                        (equity(account, &self.last_prices, quotes), exposed)
                    }
                }
            };
            track.initial.get_or_insert(value);
            track.curve.push(value);
            track.times.push(now);
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
        track.held = None;
        let fee = to_f64(fill.fee);
        track.fees += fee;
        let running = track.open.entry(fill.symbol).or_insert(0.0);
        *running += to_f64(fill.realized_pnl) - fee;
        if flat_after {
            let pnl = track.open.remove(&fill.symbol).unwrap_or(0.0);
            track.trips.push(RoundTrip { pnl });
        }
    }

    /// The equity curve of one instance: (event time, marked equity) per closed candle.
    pub fn equity_curve(&self, id: &str) -> Vec<(i64, f64)> {
        self.tracks.get(id).map(|t| t.times.iter().copied().zip(t.curve.iter().copied()).collect()).unwrap_or_default()
    }

    /// Close every open position at `price_of(symbol)` (the end of a backtest): resting
    /// orders are canceled, then each long is sold (each short bought back) at that price.
    pub fn close_all(&mut self, price_of: impl Fn(SymbolId) -> Option<Decimal>) {
        let open: Vec<u64> = self.venue.open_orders().iter().map(|o| o.id).collect();
        for id in open {
            if let Some(o) = self.venue.cancel(id) {
                self.record_order_result(o, Vec::new(), super::dispatch::MAX_CHAIN);
            }
        }
        let mut positions: Vec<(String, SymbolId, Decimal)> = Vec::new();
        for (id, acc) in self.venue.accounts() {
            for (sym, p) in &acc.positions {
                if !p.qty.is_zero() {
                    positions.push((id.clone(), *sym, p.qty));
                }
            }
        }
        positions.sort();
        for (instance, symbol, qty) in positions {
            let (Some(price), Some(info)) = (price_of(symbol), self.infos.get(symbol.0 as usize).cloned()) else {
                continue;
            };
            let mut order = crate::execution::Order {
                id: self.next_order_id,
                instance,
                symbol,
                side: if qty.is_sign_positive() { crate::execution::Side::Sell } else { crate::execution::Side::Buy },
                kind: crate::execution::OrderKind::Market,
                qty: qty.abs(),
                filled: Decimal::ZERO,
                status: crate::execution::OrderStatus::New,
                reason: None,
                tag: "end of backtest".into(),
                time_ms: self.now_ms,
            };
            self.next_order_id += 1;
            let fill = self.venue.execute_at(&mut order, &info, price, self.now_ms);
            self.record_order_result(order, fill.into_iter().collect(), super::dispatch::MAX_CHAIN);
        }
        self.flush();
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
                    metrics: backtest::compute(
                        initial,
                        &t.curve,
                        &t.exposed,
                        &t.trips,
                        t.fees,
                        backtest::BARS_PER_YEAR_1M,
                    ),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::Side;
    use crate::market_data::SymbolInfo;

    #[test]
    fn equity_counts_a_shared_quote_balance_once_and_marks_positions() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let mut account = Account::new([("USDT".to_string(), d("10000"))].into(), Decimal::ZERO);
        assert_eq!(equity(&account, &[], ["USDT", "USDT"].into_iter()), 10_000.0, "two USDT pairs, one balance");
        let btc = SymbolInfo::parse("bybit:BTCUSDT").unwrap();
        let fill = Fill {
            order_id: 1,
            instance: "arbitrage-a".into(),
            symbol: SymbolId(1),
            side: Side::Buy,
            price: d("60000"),
            qty: d("0.1"),
            fee: Decimal::ZERO,
            fee_base: Decimal::ZERO,
            fee_outside: false,
            realized_pnl: Decimal::ZERO,
            time_ms: 0,
        };
        account.apply(&btc, &fill);
        let last = [None, Some(d("61000"))];
        assert_eq!(equity(&account, &last, ["USDT", "USDT"].into_iter()), 4_000.0 + 6_100.0);
    }
}

#[cfg(test)]
mod f64_tests {
    use rust_decimal::Decimal;
    use rust_decimal::prelude::ToPrimitive;

    fn same(d: Decimal) {
        let (ours, theirs) = (super::to_f64(d), d.to_f64().unwrap_or(0.0));
        assert_eq!(ours.to_bits(), theirs.to_bits(), "{d} (scale {}): {ours} vs {theirs}", d.scale());
    }

    #[test]
    fn edge_values_convert_as_rust_decimal_does() {
        for s in [
            "0",
            "-0",
            "0.00",
            "-0.00",
            "1",
            "-1",
            "0.1",
            "-0.1",
            "42027.60",
            "1e-28",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "-18446744073709551615.5",
            "79228162514264337593543950335",
            "0.0000000000000000000000000001",
            "123456789.123456789",
            "-98765.4321000",
        ] {
            let d = Decimal::from_scientific(s).or_else(|_| s.parse()).unwrap();
            same(d);
        }
    }

    proptest::proptest! {
        #[test]
        fn every_decimal_converts_as_rust_decimal_does(m in proptest::num::i64::ANY, hi in 0u32..3, scale in 0u32..29) {
            let wide = i128::from(m) + (i128::from(hi) << 64) * i128::from(m.signum());
            same(Decimal::from_i128_with_scale(wide, scale));
            same(Decimal::new(m, scale));
        }
    }
}
