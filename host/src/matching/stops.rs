//! Conditional orders: stops and take-profits waiting for the last traded price, and
//! trailing stops following it.
//!
//! Rules (Binance spot): a sell STOP_LOSS fires when last <= stop, a buy when last >= stop;
//! TAKE_PROFIT is mirrored. A trailing sell fires once the price has fallen
//! `delta_bps` from the highest trade since it started trailing (placement, or the first
//! trade at or above its activation price); a buy once it has risen from the lowest.
//!
//! Order of events: after a command's own matching, its trade prices are replayed in
//! order against the waiting orders; all that fired run one after another in order id
//! (placement) order, each as a market or limit taker; their trades then fire further
//! orders, round by round, until none fires.

use super::engine::Engine;
use super::event::Event;
use super::slab::{Location, Slab, Slot, Trail};
use super::types::{OrderId, OrderType, Side};

/// Which way the price must move to fire a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Dir {
    /// Fires when last >= stop.
    Up,
    /// Fires when last <= stop.
    Down,
}

/// The direction of a stop-type order (`None` for other types).
pub(crate) fn direction(side: Side, t: OrderType) -> Option<Dir> {
    match (t, side) {
        (OrderType::StopLoss | OrderType::StopLossLimit, Side::Sell) => Some(Dir::Down),
        (OrderType::StopLoss | OrderType::StopLossLimit, Side::Buy) => Some(Dir::Up),
        (OrderType::TakeProfit | OrderType::TakeProfitLimit, Side::Sell) => Some(Dir::Up),
        (OrderType::TakeProfit | OrderType::TakeProfitLimit, Side::Buy) => Some(Dir::Down),
        _ => None,
    }
}

/// Whether a stop is already satisfied by `last` (0 = no trade yet).
pub(crate) fn would_trigger(dir: Dir, stop: i64, last: i64) -> bool {
    last > 0
        && match dir {
            Dir::Up => last >= stop,
            Dir::Down => last <= stop,
        }
}

/// Feed one trade price to a trailing stop; `true` if it fires.
pub(crate) fn observe(trail: &mut Trail, side: Side, price: i64) -> bool {
    if !trail.active {
        let activates = trail.activation == 0
            || match side {
                Side::Sell => price >= trail.activation,
                Side::Buy => price <= trail.activation,
            };
        if activates {
            trail.active = true;
            trail.extreme = price;
        }
        return false;
    }
    let (p, x, d) = (i128::from(price), i128::from(trail.extreme), i128::from(trail.delta_bps));
    match side {
        Side::Sell if price > trail.extreme => {
            trail.extreme = price;
            false
        }
        Side::Sell => p * 10_000 <= x * (10_000 - d),
        Side::Buy if price < trail.extreme => {
            trail.extreme = price;
            false
        }
        Side::Buy => p * 10_000 >= x * (10_000 + d),
    }
}

/// A pair's waiting orders.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Stops {
    /// Fire when last >= stop, sorted by (stop, id).
    up: Vec<(i64, OrderId, u32)>,
    /// Fire when last <= stop, sorted by (stop, id).
    down: Vec<(i64, OrderId, u32)>,
    /// Trailing stops, in id order.
    trailing: Vec<(OrderId, u32)>,
}

impl Stops {
    /// Whether nothing waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.up.is_empty() && self.down.is_empty() && self.trailing.is_empty()
    }

    /// Add a waiting order.
    pub fn insert(&mut self, s: &Slot, slot: u32) {
        let entry = (s.stop, s.id, slot);
        let list = match direction(s.side, s.order_type) {
            Some(Dir::Up) => &mut self.up,
            Some(Dir::Down) => &mut self.down,
            None => {
                let i = self.trailing.partition_point(|e| e.0 < s.id);
                return self.trailing.insert(i, (s.id, slot));
            }
        };
        let i = list.partition_point(|e| (e.0, e.1) < (s.stop, s.id));
        list.insert(i, entry);
    }

    /// Remove a waiting order.
    pub fn remove(&mut self, s: &Slot) {
        let list = match direction(s.side, s.order_type) {
            Some(Dir::Up) => &mut self.up,
            Some(Dir::Down) => &mut self.down,
            None => {
                if let Ok(i) = self.trailing.binary_search_by_key(&s.id, |e| e.0) {
                    self.trailing.remove(i);
                }
                return;
            }
        };
        if let Ok(i) = list.binary_search_by_key(&(s.stop, s.id), |e| (e.0, e.1)) {
            list.remove(i);
        }
    }

    /// Take out every order a trade at `price` fires, as (id, slot, price).
    pub fn collect(&mut self, slab: &mut Slab, price: i64, fired: &mut Vec<(OrderId, u32, i64)>) {
        let k = self.up.partition_point(|e| e.0 <= price);
        fired.extend(self.up.drain(..k).map(|(_, id, slot)| (id, slot, price)));
        let k = self.down.partition_point(|e| e.0 < price);
        fired.extend(self.down.drain(k..).map(|(_, id, slot)| (id, slot, price)));
        self.trailing.retain(|&(id, slot)| {
            let s = &mut slab[slot];
            let side = s.side;
            if observe(&mut s.trail, side, price) {
                fired.push((id, slot, price));
                false
            } else {
                true
            }
        });
    }
}

impl Engine {
    /// Put a conditional order in the waiting lists.
    pub(crate) fn park(&mut self, p: usize, slot: u32, out: &mut Vec<Event>) {
        let last = self.pairs[p].last;
        let s = &mut self.slab[slot];
        s.at = Location::Pending;
        if s.order_type == OrderType::TrailingStop && last > 0 {
            let side = s.side;
            observe(&mut s.trail, side, last);
        }
        self.pairs[p].stops.insert(&self.slab[slot], slot);
        self.slab.index(slot);
        if self.slab[slot].expire_ms != i64::MAX {
            self.schedule_expiry(slot);
        }
        self.report(slot, super::types::OrderStatus::New, self.now_ms, out);
    }

    /// Replay the tape against the waiting orders and run what fires, until quiet.
    pub(crate) fn run_triggers(&mut self, p: usize, out: &mut Vec<Event>) {
        let mut fired = Vec::new();
        while let Some(&last) = self.tape.last() {
            self.pairs[p].last = last;
            if self.pairs[p].stops.is_empty() {
                self.tape.clear();
                return;
            }
            let prices = std::mem::take(&mut self.tape);
            for &price in &prices {
                self.pairs[p].stops.collect(&mut self.slab, price, &mut fired);
            }
            self.tape = prices;
            self.tape.clear();
            fired.sort_unstable_by_key(|f| f.0);
            for (id, slot, price) in fired.drain(..) {
                self.trigger(p, id, slot, price, out);
            }
        }
    }

    /// A waiting order fired: it becomes a market or limit taker.
    fn trigger(&mut self, p: usize, id: OrderId, slot: u32, price: i64, out: &mut Vec<Event>) {
        let pair = self.pairs[p].pair;
        out.push(Event::Triggered { order_id: id, pair: pair.id, last_price: pair.price(price), time_ms: self.now_ms });
        let s = &mut self.slab[slot];
        s.at = Location::Taking;
        if self.cfg.check_funds && s.side == Side::Buy && s.price == 0 {
            // A market-type buy locks nothing while waiting: it takes the buyer's whole
            // available quote now, spends what it needs, and releases the rest.
            let available = self.wallets.available(s.acct, pair.quote_asset).max(0);
            if self.wallets.lock(s.acct, pair.quote_asset, available).is_ok() {
                s.locked += available;
            }
        }
        self.run_taker(p, slot, out);
    }
}
