//! Paper trading on the matching engine: when the paper exchange mirrors the market
//! (a live-like run: not a backtest, not candle-only data), orders of instances with
//! `venue = "paper"` execute in the engine against the market's own liquidity (the house
//! quotes) and anyone else's orders, with every order type, rule and journal of the
//! engine. Each instance has an engine account, `strategy:<id>`, funded with its paper
//! balances and exempt from engine fees: the instance's account (`execution::Account`,
//! positions and PnL) charges its configured fee on each fill, so both books agree.
//!
//! Backtests and candle-only replays keep the bar-convention venue (`execution::paper`):
//! a candle has no order book to match against.

use super::Core;
use super::exchange::JournalEntry;
use crate::execution::{Fill, Order, OrderKind, OrderStatus, Side, Venue};
use crate::matching::{self, Command, Event, NewOrder, OrderId};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// What one batch of engine events did to a host order: its fills, and its final status
/// with a reason, if it ended.
type Touched = (Vec<Fill>, Option<(OrderStatus, Option<String>)>);

impl Core {
    /// True when paper orders go to the matching engine.
    pub(super) fn engine_mode(&self) -> bool {
        self.settings.mirror_market && !self.settings.backtest && !self.venue.bar_mode()
    }

    /// An open order restored from the store: kept as an engine order if it was placed
    /// there (true), else left to the caller.
    pub(super) fn restore_engine_order(&mut self, order: &Order) -> bool {
        let on_engine = self.exchange.engine_order(order.id).is_some();
        if on_engine {
            self.engine_orders.insert(order.id, order.clone());
        }
        on_engine
    }

    /// Place a risk-checked paper order on the engine.
    pub(super) fn place_engine(&mut self, order: Order, depth: u8) {
        let Some(info) = self.info(order.symbol).cloned() else { return };
        let Some(pair) = self.exchange.ensure_pair(&info.name, &info.base, &info.quote) else {
            let mut order = order;
            order.status = OrderStatus::Rejected;
            order.reason = Some(format!("{} cannot be listed on the paper exchange", info.name));
            return self.record_order_result(order, Vec::new(), depth);
        };
        // Like an order leaving for an exchange: prices to the tick (towards the passive
        // side), the quantity down to the lot.
        let mut order = order;
        if let Some(cfg) = self.exchange.engine.pair(pair).map(|p| p.config) {
            use crate::connectors::filters::round_to_step;
            use rust_decimal::RoundingStrategy::{AwayFromZero, ToZero};
            let towards = if order.side == Side::Buy { ToZero } else { AwayFromZero };
            order.kind = match order.kind {
                OrderKind::Limit(p) => OrderKind::Limit(round_to_step(p, cfg.tick_size, towards)),
                OrderKind::StopMarket(p) => OrderKind::StopMarket(round_to_step(p, cfg.tick_size, towards)),
                k => k,
            };
            order.qty = round_to_step(order.qty, cfg.step_size, ToZero);
        }
        let balances = self.venue.account(&order.instance).map(|a| a.balances.clone()).unwrap_or_default();
        let account = self.exchange.strategy_account(&order.instance, &balances);
        let side = match order.side {
            Side::Buy => matching::Side::Buy,
            Side::Sell => matching::Side::Sell,
        };
        let now = self.now_ms;
        let new = match order.kind {
            OrderKind::Market => NewOrder::market(account, pair, side, order.qty, now),
            OrderKind::Limit(p) => NewOrder::limit(account, pair, side, p, order.qty, now),
            OrderKind::StopMarket(stop) => {
                NewOrder::stop(account, pair, side, matching::OrderType::StopLoss, stop, order.qty, now)
            }
        };
        let engine_order = self.exchange.engine.next_order_id();
        self.exchange.apply_entry(JournalEntry::Link { engine_order, host_order: order.id }, true);
        self.engine_orders.insert(order.id, order.clone());
        self.record_order_result(order, Vec::new(), depth);
        let outer = std::mem::replace(&mut self.engine_depth, depth);
        self.exchange.apply_entry(JournalEntry::Engine(Command::Place(new)), true);
        self.publish_exchange_events(now);
        self.engine_depth = outer;
    }

    /// Cancel an instance's engine order.
    pub(super) fn cancel_engine(&mut self, order_id: u64) -> bool {
        let (Some(order), Some(engine_order)) =
            (self.engine_orders.get(&order_id).cloned(), self.exchange.engine_order(order_id))
        else {
            return false;
        };
        let Some(account) = self.exchange.known_user(&format!("strategy:{}", order.instance)) else { return false };
        let now = self.now_ms;
        self.exchange
            .apply_entry(JournalEntry::Engine(Command::Cancel { account, order_id: engine_order, time_ms: now }), true);
        self.publish_exchange_events(now);
        true
    }

    /// What the engine did to strategy orders (called with every batch of engine events,
    /// before they are published): fills to the instances' accounts and strategies,
    /// status changes to the orders.
    pub(super) fn route_engine_events(&mut self, events: &[Event]) {
        if self.engine_orders.is_empty() {
            return;
        }
        let mut touched: BTreeMap<u64, Touched> = BTreeMap::new();
        for e in events {
            match e {
                Event::Trade(t) => {
                    for engine_order in [t.taker_order, t.maker_order] {
                        let Some(host) = self.linked_open(engine_order) else { continue };
                        if let Some(fill) = self.engine_fill(host, t.price, t.qty, t.time_ms) {
                            touched.entry(host).or_default().0.push(fill);
                        }
                    }
                }
                Event::Order(u) => {
                    let Some(host) = self.linked_open(u.order_id) else { continue };
                    let status = match u.status {
                        matching::OrderStatus::Filled => Some((OrderStatus::Filled, None)),
                        matching::OrderStatus::Canceled => Some((OrderStatus::Canceled, None)),
                        matching::OrderStatus::Expired | matching::OrderStatus::ExpiredInMatch => {
                            let why = if u.filled_qty.is_zero() {
                                "expired: not enough liquidity on the paper exchange"
                            } else {
                                "expired after a partial fill: not enough liquidity on the paper exchange"
                            };
                            Some((OrderStatus::Canceled, Some(why.to_string())))
                        }
                        _ => None,
                    };
                    if status.is_some() {
                        touched.entry(host).or_default().1 = status;
                    }
                }
                Event::Rejected { order_id: Some(id), reason, .. } => {
                    if let Some(host) = self.linked_open(*id) {
                        touched.entry(host).or_default().1 = Some((OrderStatus::Rejected, Some(reason.to_string())));
                    }
                }
                _ => {}
            }
        }
        for (host, (fills, status)) in touched {
            let Some(mut order) = self.engine_orders.get(&host).cloned() else { continue };
            for f in &fills {
                order.filled += f.qty;
            }
            if let Some((st, reason)) = status {
                order.status = st;
                if reason.is_some() {
                    order.reason = reason;
                }
            }
            if order.status == OrderStatus::New {
                self.engine_orders.insert(host, order.clone());
            } else {
                self.engine_orders.remove(&host);
            }
            self.record_order_result(order, fills, self.engine_depth);
        }
    }

    fn linked_open(&self, engine_order: OrderId) -> Option<u64> {
        self.exchange.host_order(engine_order).filter(|h| self.engine_orders.contains_key(h))
    }

    /// A fill of a host order: the instance's account pays its own fee rate and books it.
    fn engine_fill(&mut self, host: u64, price: Decimal, qty: Decimal, time_ms: i64) -> Option<Fill> {
        let order = self.engine_orders.get(&host)?.clone();
        let info = self.info(order.symbol)?.clone();
        let acc = self.venue.account_mut(&order.instance)?;
        let mut fill = Fill::of(&order, price, qty, (price * qty * acc.taker_fee).round_dp(8), time_ms);
        fill.realized_pnl = acc.apply(&info, &fill);
        Some(fill)
    }

    /// Cancel every engine order of the host's strategies (kill switch).
    pub(super) fn cancel_all_engine_orders(&mut self) -> usize {
        let ids: Vec<u64> = self.engine_orders.keys().copied().collect();
        ids.into_iter().filter(|id| self.cancel_engine(*id)).count()
    }
}
