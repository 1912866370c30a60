//! Engine tests: scenarios per order type and time in force, filters, wallets,
//! determinism, and property tests against a plain reference book.

mod determinism;
mod filters;
mod lockstep;
mod reference;
mod scenarios;
mod stp_and_tif;
mod wallets;

use super::*;
use rust_decimal::Decimal;
use std::str::FromStr;

pub(crate) fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Accounts used in tests.
pub(crate) const ALICE: AccountId = AccountId(1);
pub(crate) const BOB: AccountId = AccountId(2);
pub(crate) const CAROL: AccountId = AccountId(3);
pub(crate) const BTC: PairId = PairId(0);
/// 2024-01-01 12:00:00 UTC.
pub(crate) const T0: i64 = 1_704_110_400_000;

/// An engine with BTC/USD (tick 0.01, step 0.001) and three funded accounts.
pub(crate) fn engine() -> Engine {
    engine_with(EngineConfig::default())
}

pub(crate) fn engine_with(cfg: EngineConfig) -> Engine {
    let mut e = Engine::new(cfg).unwrap();
    let events = e.apply(&Command::AddPair(PairConfig::new("BTC/USD", d("0.01"), d("0.001"))));
    assert!(matches!(events[..], [Event::PairAdded { .. }]), "{events:?}");
    for a in [ALICE, BOB, CAROL] {
        e.apply(&Command::Deposit { account: a, asset: "USD".into(), amount: d("1000000") });
        e.apply(&Command::Deposit { account: a, asset: "BTC".into(), amount: d("100") });
    }
    e
}

pub(crate) fn limit(a: AccountId, side: Side, price: &str, qty: &str) -> NewOrder {
    NewOrder::limit(a, BTC, side, d(price), d(qty), T0)
}

pub(crate) fn market(a: AccountId, side: Side, qty: &str) -> NewOrder {
    NewOrder::market(a, BTC, side, d(qty), T0)
}

/// Place and return the events.
pub(crate) fn place(e: &mut Engine, o: NewOrder) -> Vec<Event> {
    let events = e.apply(&Command::Place(o));
    assert!(e.funds_conserved(), "funds not conserved after {events:?}");
    events
}

/// Place, expect acceptance, return the id.
pub(crate) fn place_ok(e: &mut Engine, o: NewOrder) -> OrderId {
    let id = e.next_order_id();
    let events = place(e, o);
    assert!(rejection(&events).is_none(), "{events:?}");
    id
}

pub(crate) fn trade_at(e: &mut Engine, price: &str) -> Vec<Event> {
    e.apply(&Command::MarketTrade { pair: BTC, price: d(price), time_ms: T0 })
}

pub(crate) fn cancel(e: &mut Engine, a: AccountId, id: OrderId) -> Vec<Event> {
    e.apply(&Command::Cancel { account: a, order_id: id, time_ms: T0 })
}

/// (maker, taker, price, qty) of every trade.
pub(crate) fn fills(events: &[Event]) -> Vec<(OrderId, OrderId, Decimal, Decimal)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(t) => Some((t.maker_order, t.taker_order, t.price.normalize(), t.qty.normalize())),
            _ => None,
        })
        .collect()
}

/// The last status reported for an order.
pub(crate) fn status_of(events: &[Event], id: OrderId) -> Option<OrderStatus> {
    events.iter().rev().find_map(|e| match e {
        Event::Order(u) if u.order_id == id => Some(u.status),
        _ => None,
    })
}

pub(crate) fn rejection(events: &[Event]) -> Option<RejectReason> {
    events.iter().find_map(|e| match e {
        Event::Rejected { reason, .. } => Some((**reason).clone()),
        _ => None,
    })
}

/// (price, visible qty) levels, best first.
pub(crate) type Levels = Vec<(Decimal, Decimal)>;

/// The book as (bids, asks).
pub(crate) fn book(e: &Engine) -> (Levels, Levels) {
    let depth = e.depth(BTC, 100).unwrap();
    let side = |v: Vec<DepthLevel>| v.into_iter().map(|l| (l.price.normalize(), l.qty.normalize())).collect();
    (side(depth.bids), side(depth.asks))
}

pub(crate) fn available(e: &Engine, a: AccountId, asset: &str) -> Decimal {
    e.balance(a, asset).map(|b| b.available.normalize()).unwrap_or_default()
}

/// Every wallet lock equals the sum of its open orders' locks.
pub(crate) fn locks_consistent(e: &Engine) -> bool {
    let mut sums = std::collections::HashMap::new();
    for o in e.open_orders(None, None) {
        let pair = e.pair(o.pair).unwrap();
        let asset = if o.side == Side::Buy { pair.quote } else { pair.base };
        *sums.entry((o.account, asset)).or_insert(Decimal::ZERO) += o.locked;
    }
    e.accounts()
        .into_iter()
        .all(|a| e.balances(a).iter().all(|b| sums.get(&(a, b.asset.clone())).copied().unwrap_or_default() == b.locked))
}
