//! The bar-convention paper venue: market orders fill at the last trade price with the
//! account's taker fee; limit and stop orders rest until a trade reaches them. Each
//! strategy instance has its own account (kept here for every venue). Backtests and
//! candle-only or full-speed replays execute here; live-like runs execute paper orders
//! on the matching engine instead (`core::engine_venue`).
//!
//! On candle-only data (kline files) it follows the convention of freqtrade and
//! backtesting.py: a market order placed on a candle's close fills at the next candle's
//! open; a resting stop or limit is checked against each candle's range and fills at its
//! price, or at the open when the candle opens beyond it.

use super::order::{Fill, Order, OrderKind, OrderStatus, Side};
use super::{Account, Venue};
use crate::market_data::{Candle, SymbolId, SymbolInfo, Tick};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

/// Paper accounts and resting orders.
#[derive(Debug, Default)]
pub struct PaperVenue {
    accounts: FxHashMap<String, Account>,
    last: FxHashMap<SymbolId, Decimal>,
    resting: Vec<Order>,
    bar_mode: bool,
    slippage: Decimal,
    /// Per symbol id, how far a candle must go to reach a resting order of that symbol;
    /// recomputed from `resting` after it changed (`reach_stale`).
    reach: Vec<Reach>,
    reach_stale: bool,
}

/// How far a candle of one symbol must go to reach one of its resting orders (in bar mode
/// every candle is checked against every resting order; most reach none).
#[derive(Debug, Default, Clone, Copy)]
struct Reach {
    /// A market order waits for the next open.
    market: bool,
    /// The highest buy limit or sell stop: a candle opening or trading at or below it
    /// reaches that order.
    below: Option<Decimal>,
    /// The lowest sell limit or buy stop: a candle opening or trading at or above it
    /// reaches that order.
    above: Option<Decimal>,
}

impl Reach {
    /// Whether candle `c`'s range, its open included, reaches a resting stop or limit
    /// (exactly when [`bar_price`] prices one of them).
    fn range(&self, c: &Candle) -> bool {
        let low = if price_cmp(&c.open, &c.low).is_lt() { &c.open } else { &c.low };
        let high = if price_cmp(&c.open, &c.high).is_gt() { &c.open } else { &c.high };
        self.below.is_some_and(|b| price_cmp(low, &b).is_le())
            || self.above.is_some_and(|a| price_cmp(&a, high).is_le())
    }
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

    /// An instance's account, to apply fills from a live venue.
    pub fn account_mut(&mut self, instance: &str) -> Option<&mut Account> {
        self.accounts.get_mut(instance)
    }

    /// Every account, by instance id.
    pub fn accounts(&self) -> &FxHashMap<String, Account> {
        &self.accounts
    }

    /// True once candle-only data was seen.
    pub fn bar_mode(&self) -> bool {
        self.bar_mode
    }

    /// Candle-only data: market orders wait for the next candle's open.
    pub fn set_bar_mode(&mut self, on: bool) {
        self.bar_mode = on;
    }

    /// Adverse slippage applied to market and stop fills, as a fraction (0.0005 = 5 bps).
    pub fn set_slippage(&mut self, fraction: Decimal) {
        self.slippage = fraction;
    }

    /// A new candle in bar mode, first step: market orders waiting since the last close
    /// fill at this candle's open.
    pub fn on_bar_open(&mut self, c: &Candle, info: &SymbolInfo) -> Vec<(Order, Option<Fill>)> {
        if !self.reach(c.symbol).market {
            return Vec::new();
        }
        self.take_resting(c.symbol, |o| matches!(o.kind, OrderKind::Market).then_some(c.open))
            .into_iter()
            .map(|(mut o, price)| {
                let price = self.slipped(o.side, price);
                let fill = self.execute(&mut o, info, price, c.open_time_ms);
                (o, fill)
            })
            .collect()
    }

    /// Second step: resting stops and limits against the candle's range (including
    /// those placed after the open filled an entry), then the close becomes the last price.
    pub fn on_bar_range(&mut self, c: &Candle, info: &SymbolInfo) -> Vec<(Order, Option<Fill>)> {
        if !self.reach(c.symbol).range(c) {
            self.last.insert(c.symbol, c.close);
            return Vec::new();
        }
        let done: Vec<(Order, Option<Fill>)> = self
            .take_resting(c.symbol, |o| bar_price(o, c))
            .into_iter()
            .map(|(mut o, price)| {
                let price =
                    if matches!(o.kind, OrderKind::StopMarket(_)) { self.slipped(o.side, price) } else { price };
                let fill = self.execute(&mut o, info, price, c.open_time_ms);
                (o, fill)
            })
            .collect();
        self.last.insert(c.symbol, c.close);
        done
    }

    /// Whether candle `c` would execute any working order in bar mode: a market order
    /// waiting for its open, or a stop or limit its range reaches (what
    /// [`PaperVenue::on_bar_open`] and [`PaperVenue::on_bar_range`] take).
    pub fn bar_touches(&mut self, c: &Candle) -> bool {
        let reach = self.reach(c.symbol);
        reach.market || reach.range(c)
    }

    /// How far a candle of `symbol` must go to reach one of its resting orders.
    fn reach(&mut self, symbol: SymbolId) -> Reach {
        if self.reach_stale {
            self.reach_stale = false;
            self.reach.fill(Reach::default());
            for o in &self.resting {
                let i = o.symbol.0 as usize;
                if i >= self.reach.len() {
                    self.reach.resize(i + 1, Reach::default());
                }
                let r = &mut self.reach[i];
                match (o.kind, o.side) {
                    (OrderKind::Market, _) => r.market = true,
                    (OrderKind::Limit(p), Side::Buy) | (OrderKind::StopMarket(p), Side::Sell) => {
                        if r.below.is_none_or(|b| price_cmp(&p, &b).is_gt()) {
                            r.below = Some(p);
                        }
                    }
                    (OrderKind::Limit(p), Side::Sell) | (OrderKind::StopMarket(p), Side::Buy) => {
                        if r.above.is_none_or(|a| price_cmp(&p, &a).is_lt()) {
                            r.above = Some(p);
                        }
                    }
                }
            }
        }
        self.reach.get(symbol.0 as usize).copied().unwrap_or_default()
    }

    /// Remove the resting orders of `symbol` that `price_of` prices, with their prices.
    fn take_resting(
        &mut self,
        symbol: SymbolId,
        price_of: impl Fn(&Order) -> Option<Decimal>,
    ) -> Vec<(Order, Decimal)> {
        // The callers found (by `reach`) that something is taken.
        self.reach_stale = true;
        let mut hit = Vec::new();
        let mut keep = Vec::with_capacity(self.resting.len());
        for o in std::mem::take(&mut self.resting) {
            match price_of(&o).filter(|_| o.symbol == symbol) {
                Some(p) => hit.push((o, p)),
                None => keep.push(o),
            }
        }
        self.resting = keep;
        hit
    }

    fn slipped(&self, side: Side, price: Decimal) -> Decimal {
        match side {
            Side::Buy => price * (Decimal::ONE + self.slippage),
            Side::Sell => price * (Decimal::ONE - self.slippage),
        }
    }

    /// Put back a working order loaded from the store.
    pub fn restore_order(&mut self, order: Order) {
        self.reach_stale = true;
        self.resting.push(order);
    }

    /// Execute an order now at `price`, whatever its kind (ending a backtest).
    pub fn execute_at(&mut self, order: &mut Order, info: &SymbolInfo, price: Decimal, time_ms: i64) -> Option<Fill> {
        self.execute(order, info, price, time_ms)
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
        let mut fill = Fill::of(order, price, qty, (price * qty * account.taker_fee).round_dp(8), time_ms);
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

/// The price at which a candle executes a resting stop or limit: its own price, or the
/// open when the candle opens beyond it; `None` when the range does not reach it.
fn bar_price(o: &Order, c: &Candle) -> Option<Decimal> {
    let le = |a: &Decimal, b: &Decimal| price_cmp(a, b).is_le();
    match (o.kind, o.side) {
        (OrderKind::StopMarket(s), Side::Sell) | (OrderKind::Limit(s), Side::Buy) if le(&c.open, &s) => Some(c.open),
        (OrderKind::StopMarket(s), Side::Sell) | (OrderKind::Limit(s), Side::Buy) if le(&c.low, &s) => Some(s),
        (OrderKind::StopMarket(s), Side::Buy) | (OrderKind::Limit(s), Side::Sell) if le(&s, &c.open) => Some(c.open),
        (OrderKind::StopMarket(s), Side::Buy) | (OrderKind::Limit(s), Side::Sell) if le(&s, &c.high) => Some(s),
        _ => None,
    }
}

/// `a.cmp(b)` for decimals, on 128-bit integers when one scale can be raised to the
/// other's without overflow (always, for prices), else `Decimal`'s own comparison. Every
/// resting order is checked against every candle, so this runs often.
#[inline]
fn price_cmp(a: &Decimal, b: &Decimal) -> std::cmp::Ordering {
    use crate::matching::units::POW10;
    // An i64 mantissa times at most 10^18 stays far inside i128 (one widening multiply).
    let raise = |m: i128, by: u32| -> Option<i128> {
        let p = *POW10.get(by as usize)?;
        Some(i128::from(i64::try_from(m).ok()?) * i128::from(p))
    };
    let (sa, sb) = (a.scale(), b.scale());
    let (ma, mb) = (a.mantissa(), b.mantissa());
    let exact = match sa.cmp(&sb) {
        std::cmp::Ordering::Equal => Some(ma.cmp(&mb)),
        std::cmp::Ordering::Less => raise(ma, sb - sa).map(|x| x.cmp(&mb)),
        std::cmp::Ordering::Greater => raise(mb, sa - sb).map(|x| ma.cmp(&x)),
    };
    exact.unwrap_or_else(|| a.cmp(b))
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
        if self.bar_mode && order.kind == OrderKind::Market {
            // Decided on a close: fills at the next candle's open.
            order.status = OrderStatus::New;
            self.reach_stale = true;
            self.resting.push(order.clone());
            return Vec::new();
        }
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
                self.reach_stale = true;
                self.resting.push(order.clone());
            }
        }
        Vec::new()
    }

    fn cancel(&mut self, order_id: u64) -> Option<Order> {
        let i = self.resting.iter().position(|o| o.id == order_id)?;
        let mut order = self.resting.remove(i);
        self.reach_stale = true;
        order.status = OrderStatus::Canceled;
        Some(order)
    }

    fn on_tick(&mut self, tick: &Tick, info: &SymbolInfo) -> Vec<(Order, Option<Fill>)> {
        self.last.insert(tick.symbol, tick.price);
        if self.resting.is_empty() {
            return Vec::new();
        }
        self.reach_stale = true;
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
