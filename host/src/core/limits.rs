//! The seed-003 spread bot's controls as host-level risk limits any strategy can use
//! (`[strategy.risk]` in plugins.toml): most orders per session (orders that only reduce
//! a position never count and always pass, so a limit never traps a position), largest position in
//! base units, largest loss since the start of the UTC day (event time), and the
//! smallest quote balance as a fraction of the starting one. They need state across
//! orders, so they live in the core next to the stateless checks of `execution::risk`.

use super::Core;
use crate::execution::{Order, Side, Venue};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Per-instance state of the session limits.
#[derive(Debug, Default)]
pub(super) struct SessionRisk {
    /// Orders accepted in this run, per instance.
    orders: HashMap<String, u32>,
    /// (UTC day number, equity at its first event) per instance.
    day_start: HashMap<String, (i64, Decimal)>,
    /// The UTC day of the last event.
    day: Option<i64>,
}

const DAY_MS: i64 = 86_400_000;

impl Core {
    /// Equity of an instance in `quote`: that balance plus positions in symbols quoted in
    /// it, marked at the last price.
    fn equity_in(&self, instance: &str, quote: &str) -> Option<Decimal> {
        let acc = self.venue.account(instance)?;
        let mut equity = acc.balances.get(quote).copied().unwrap_or_default();
        for (sym, p) in &acc.positions {
            let same_quote = self.infos.get(sym.0 as usize).is_some_and(|i| i.quote == quote);
            let price = self.last_prices.get(sym.0 as usize).copied().flatten();
            if let (true, Some(price)) = (same_quote, price) {
                equity += p.qty * price;
            }
        }
        Some(equity)
    }

    /// Event time entered a new UTC day: remember each limited instance's equity, the
    /// reference of `max_daily_loss`.
    pub(super) fn roll_session_day(&mut self) {
        let day = self.now_ms.div_euclid(DAY_MS);
        if self.session.day == Some(day) {
            return;
        }
        self.session.day = Some(day);
        let limited: Vec<(String, String)> = self
            .config
            .strategies
            .iter()
            .filter(|s| s.risk.max_daily_loss.is_some())
            .filter_map(|s| s.symbols.first().map(|i| (s.id.clone(), i.quote.clone())))
            .collect();
        for (id, quote) in limited {
            if let Some(e) = self.equity_in(&id, &quote) {
                self.session.day_start.insert(id, (day, e));
            }
        }
    }

    /// Check `order` against the instance's session limits; on success it counts toward
    /// `max_trades_per_session`.
    pub(super) fn session_check(&mut self, order: &Order) -> Result<(), String> {
        // Borrowed, not cloned: this runs for every order a strategy sends.
        let Some(cfg) = self.config.strategies.iter().find(|s| s.id == order.instance) else { return Ok(()) };
        let (risk, start_balances) = (&cfg.risk, &cfg.account.balances);
        let Some(info) = self.infos.get(order.symbol.0 as usize) else { return Ok(()) };
        let account = self.venue.account(&order.instance);
        let held = account.and_then(|a| a.positions.get(&order.symbol)).map(|p| p.qty).unwrap_or_default();
        let after = match order.side {
            Side::Buy => held + order.qty,
            Side::Sell => held - order.qty,
        };
        let reduces = after.abs() < held.abs();
        if let Some(max) = risk.max_trades_per_session.filter(|_| !reduces) {
            let n = self.session.orders.get(&order.instance).copied().unwrap_or(0);
            if n >= max {
                return Err(format!("max_trades_per_session {max} reached"));
            }
        }
        if let Some(max) = risk.max_position_size
            && after.abs() > max
            && !reduces
        {
            return Err(format!(
                "position after this order {} exceeds max_position_size {max}",
                after.abs().normalize()
            ));
        }
        if let Some(acc) = account {
            let quote = acc.balances.get(&info.quote).copied().unwrap_or_default();
            if let Some(max_loss) = risk.max_daily_loss {
                let day = self.now_ms.div_euclid(DAY_MS);
                let equity = self.equity_in(&order.instance, &info.quote).unwrap_or_default();
                let start = *self.session.day_start.entry(order.instance.clone()).or_insert((day, equity));
                let loss = start.1 - equity;
                if start.0 == day && loss > max_loss && !reduces {
                    return Err(format!(
                        "loss today {} exceeds max_daily_loss {max_loss}; only orders that reduce a position pass",
                        loss.round_dp(8).normalize()
                    ));
                }
            }
            if let (Some(ratio), Side::Buy) = (risk.min_balance_ratio, order.side) {
                let start = start_balances.get(&info.quote).copied().unwrap_or_default();
                if start > Decimal::ZERO && quote / start < ratio {
                    return Err(format!(
                        "{} balance {} is below min_balance_ratio {ratio} of the starting {start}",
                        info.quote,
                        quote.round_dp(8).normalize()
                    ));
                }
            }
        }
        if !reduces {
            *self.session.orders.entry(order.instance.clone()).or_default() += 1;
        }
        Ok(())
    }
}
