//! The paper venue: market orders fill at the last trade price with the account's
//! taker fee; limit and stop orders rest until a trade reaches them. Each strategy
//! instance has its own account. (The full matching engine replaces this later.)

use super::order::{Fill, Order, OrderKind, OrderStatus, Side};
use super::{Account, Venue};
use crate::market_data::{SymbolId, SymbolInfo, Tick};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Paper accounts and resting orders.
#[derive(Debug, Default)]
pub struct PaperVenue {
    accounts: HashMap<String, Account>,
    last: HashMap<SymbolId, Decimal>,
    resting: Vec<Order>,
}

impl PaperVenue {
    /// Open (or replace) an instance's account.
    pub fn open_account(&mut self, instance: &str, account: Account) {
        self.accounts.insert(instance.to_string(), account);
    }

    /// Whether an instance has an account.
    pub fn has_account(&self, instance: &str) -> bool {
        self.accounts.contains_key(instance)
    }

    /// Every account, by instance id.
    pub fn accounts(&self) -> &HashMap<String, Account> {
        &self.accounts
    }

    /// Put back a working order loaded from the store.
    pub fn restore_order(&mut self, order: Order) {
        self.resting.push(order);
    }

    fn execute(&mut self, order: &mut Order, info: &SymbolInfo, price: Decimal, time_ms: i64) -> Option<Fill> {
        let Some(account) = self.accounts.get_mut(&order.instance) else {
            reject(order, format!("no paper account for strategy `{}`", order.instance));
            return None;
        };
        let qty = order.qty - order.filled;
        if let Err(reason) = account.can_afford(info, order.side, qty, price, account.taker_fee) {
            reject(order, reason);
            return None;
        }
        let mut fill = Fill {
            order_id: order.id,
            instance: order.instance.clone(),
            symbol: order.symbol,
            side: order.side,
            price,
            qty,
            fee: (price * qty * account.taker_fee).round_dp(8),
            realized_pnl: Decimal::ZERO,
            time_ms,
        };
        fill.realized_pnl = account.apply(info, &fill);
        order.filled += qty;
        order.status = OrderStatus::Filled;
        Some(fill)
    }
}

fn reject(order: &mut Order, reason: String) {
    order.status = OrderStatus::Rejected;
    order.reason = Some(reason);
}

/// Whether a trade at `price` reaches a resting order.
fn reached(order: &Order, price: Decimal) -> Option<Decimal> {
    match (order.kind, order.side) {
        (OrderKind::Limit(l), Side::Buy) if price <= l => Some(l),
        (OrderKind::Limit(l), Side::Sell) if price >= l => Some(l),
        (OrderKind::StopMarket(s), Side::Buy) if price >= s => Some(price),
        (OrderKind::StopMarket(s), Side::Sell) if price <= s => Some(price),
        _ => None,
    }
}

impl Venue for PaperVenue {
    fn submit(&mut self, order: &mut Order, info: &SymbolInfo) -> Vec<Fill> {
        let last = self.last.get(&order.symbol).copied();
        match order.kind {
            OrderKind::Market => match last {
                None => reject(order, format!("no market price yet for {}", info.name)),
                Some(price) => return self.execute(order, info, price, order.time_ms).into_iter().collect(),
            },
            OrderKind::StopMarket(stop) if last.is_some_and(|p| reached(order, p).is_some()) => {
                let p = last.unwrap_or(stop);
                reject(order, format!("stop {stop} would trigger immediately (last price {p})"));
            }
            OrderKind::Limit(_) | OrderKind::StopMarket(_) => {
                // A marketable limit fills now at the last price (never worse than its limit).
                if let (OrderKind::Limit(_), Some(p)) = (order.kind, last)
                    && reached(order, p).is_some()
                {
                    return self.execute(order, info, p, order.time_ms).into_iter().collect();
                }
                order.status = OrderStatus::New;
                self.resting.push(order.clone());
            }
        }
        Vec::new()
    }

    fn cancel(&mut self, order_id: u64) -> Option<Order> {
        let i = self.resting.iter().position(|o| o.id == order_id)?;
        let mut order = self.resting.remove(i);
        order.status = OrderStatus::Canceled;
        Some(order)
    }

    fn on_tick(&mut self, tick: &Tick, info: &SymbolInfo) -> Vec<(Order, Option<Fill>)> {
        self.last.insert(tick.symbol, tick.price);
        if self.resting.is_empty() {
            return Vec::new();
        }
        let (hit, keep): (Vec<Order>, Vec<Order>) = std::mem::take(&mut self.resting)
            .into_iter()
            .partition(|o| o.symbol == tick.symbol && reached(o, tick.price).is_some());
        self.resting = keep;
        hit.into_iter()
            .map(|mut o| {
                let price = reached(&o, tick.price).unwrap_or(tick.price);
                let fill = self.execute(&mut o, info, price, tick.time_ms);
                (o, fill)
            })
            .collect()
    }

    fn open_orders(&self) -> &[Order] {
        &self.resting
    }

    fn account(&self, instance: &str) -> Option<&Account> {
        self.accounts.get(instance)
    }
}

#[cfg(test)]
mod tests;
