//! Property tests: random command streams against the reference exchange in lock-step
//! (same fills, same book, same waiting stops after every command), and conservation of
//! funds after every command, with plenty of funds and with scarce ones.

use super::reference::{RefExchange, RefStop, Taker};
use super::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Limit { account: u64, buy: bool, price: i64, qty: i64, tif: u8, stp: u8 },
    Maker { account: u64, buy: bool, price: i64, qty: i64 },
    Iceberg { account: u64, buy: bool, price: i64, qty: i64, slice: i64 },
    Market { account: u64, buy: bool, qty: i64, stp: u8 },
    Cancel { pick: usize },
    Stop { account: u64, buy: bool, kind: u8, stop: i64, offset: i64, qty: i64 },
    Trade { price: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    let account = 1u64..=3;
    let price = 9_950i64..10_050;
    prop_oneof![
        6 => (account.clone(), any::<bool>(), price.clone(), 1i64..20, 0u8..3, 0u8..4)
            .prop_map(|(account, buy, price, qty, tif, stp)| Op::Limit { account, buy, price, qty, tif, stp }),
        1 => (account.clone(), any::<bool>(), price.clone(), 1i64..20)
            .prop_map(|(account, buy, price, qty)| Op::Maker { account, buy, price, qty }),
        1 => (account.clone(), any::<bool>(), price.clone(), 3i64..30, 1i64..3)
            .prop_map(|(account, buy, price, qty, slice)| Op::Iceberg { account, buy, price, qty, slice }),
        2 => (account.clone(), any::<bool>(), 1i64..40, 0u8..4)
            .prop_map(|(account, buy, qty, stp)| Op::Market { account, buy, qty, stp }),
        3 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        2 => (account, any::<bool>(), 0u8..4, price.clone(), -20i64..20, 1i64..20)
            .prop_map(|(account, buy, kind, stop, offset, qty)| Op::Stop { account, buy, kind, stop, offset, qty }),
        1 => price.prop_map(|price| Op::Trade { price }),
    ]
}

fn px(t: i64) -> Decimal {
    Decimal::new(t, 2)
}
fn lots(q: i64) -> Decimal {
    Decimal::new(q, 3)
}
fn side(buy: bool) -> Side {
    if buy { Side::Buy } else { Side::Sell }
}
fn stp(n: u8) -> StpMode {
    [StpMode::None, StpMode::ExpireTaker, StpMode::ExpireMaker, StpMode::ExpireBoth][n as usize % 4]
}
const KINDS: [OrderType; 4] =
    [OrderType::StopLoss, OrderType::StopLossLimit, OrderType::TakeProfit, OrderType::TakeProfitLimit];

fn taker(id: u64, account: u64, s: Side, limit: i64, qty: i64) -> Taker {
    Taker { id, account, side: s, limit, qty, slice: 0, fok: false, rests: true, stp: StpMode::None }
}

/// Apply one op to both; returns the engine command.
fn step(r: &mut RefExchange, ids: &mut Vec<(u64, u64)>, op: &Op) -> (Command, Option<&'static str>, bool) {
    let id = r.next_id;
    let placed = |account: u64, ids: &mut Vec<(u64, u64)>| {
        ids.push((id, account));
    };
    match *op {
        Op::Limit { account, buy, price, qty, tif, stp: m } => {
            placed(account, ids);
            r.next_id += 1;
            let tif_v = [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok][tif as usize % 3];
            let mut t = taker(id, account, side(buy), price, qty);
            (t.fok, t.rests, t.stp) = (tif == 2, tif == 0, stp(m));
            let o = NewOrder::limit(AccountId(account), BTC, side(buy), px(price), lots(qty), T0).with_tif(tif_v);
            let outcome = r.take(t);
            r.settle();
            (Command::Place(o.with_stp(stp(m))), Some(outcome), false)
        }
        Op::Maker { account, buy, price, qty } => {
            placed(account, ids);
            r.next_id += 1;
            let o = NewOrder::limit(AccountId(account), BTC, side(buy), px(price), lots(qty), T0)
                .with_type(OrderType::LimitMaker);
            let book = if buy { &r.asks } else { &r.bids };
            let crosses = book.first().is_some_and(|b| if buy { b.price <= price } else { b.price >= price });
            let outcome = (!crosses).then(|| r.take(taker(id, account, side(buy), price, qty)));
            r.settle();
            (Command::Place(o), outcome, crosses)
        }
        Op::Iceberg { account, buy, price, qty, slice } => {
            placed(account, ids);
            r.next_id += 1;
            let mut t = taker(id, account, side(buy), price, qty);
            t.slice = slice;
            let o = NewOrder::iceberg(AccountId(account), BTC, side(buy), px(price), lots(qty), lots(slice), T0);
            let outcome = r.take(t);
            r.settle();
            (Command::Place(o), Some(outcome), false)
        }
        Op::Market { account, buy, qty, stp: m } => {
            r.next_id += 1;
            let mut t = taker(id, account, side(buy), 0, qty);
            t.stp = stp(m);
            let o = NewOrder::market(AccountId(account), BTC, side(buy), lots(qty), T0).with_stp(stp(m));
            let outcome = r.take(t);
            r.settle();
            (Command::Place(o), Some(outcome), false)
        }
        Op::Cancel { pick } => {
            let (target, account) = if ids.is_empty() { (999_999, 1) } else { ids[pick % ids.len()] };
            let ok = r.cancel(target);
            let cmd = Command::Cancel { account: AccountId(account), order_id: OrderId(target), time_ms: T0 };
            (cmd, None, !ok)
        }
        Op::Stop { account, buy, kind, stop, offset, qty } => {
            placed(account, ids);
            r.next_id += 1;
            let k = KINDS[kind as usize % 4];
            let limit = if k.has_limit_price() { stop + offset } else { 0 };
            let s = RefStop { id, account, side: side(buy), kind: k, stop, limit, qty };
            let mut o = NewOrder::stop(AccountId(account), BTC, side(buy), k, px(stop), lots(qty), T0);
            if limit > 0 {
                o = o.with_price(px(limit));
            }
            let rejected = r.would_fire(&s);
            if !rejected {
                r.stops.push(s);
            }
            (Command::Place(o), None, rejected)
        }
        Op::Trade { price } => {
            r.market_trade(price);
            (Command::MarketTrade { pair: BTC, price: px(price), time_ms: T0 }, None, false)
        }
    }
}

fn engine_book(e: &Engine, s: Side) -> Vec<(u64, i64, i64, i64)> {
    let p = &e.pairs[0];
    p.book
        .queue(&e.slab, s)
        .into_iter()
        .map(|i| e.slab[i].clone())
        .map(|o| (o.id.0, o.price, o.visible, o.hidden()))
        .collect()
}

fn ref_book(v: &[super::reference::RefOrder]) -> Vec<(u64, i64, i64, i64)> {
    v.iter().map(|o| (o.id, o.price, o.visible, o.remaining - o.visible)).collect()
}

/// The first status reported for an order: a taker's own outcome (later ones are its
/// fills as a maker, against orders its trades triggered).
fn first_status_of(events: &[Event], id: OrderId) -> Option<OrderStatus> {
    events.iter().find_map(|e| match e {
        Event::Order(u) if u.order_id == id => Some(u.status),
        _ => None,
    })
}

fn expected_status(outcome: &str, filled: bool) -> OrderStatus {
    match outcome {
        "filled" => OrderStatus::Filled,
        "stp" => OrderStatus::ExpiredInMatch,
        "rested" if filled => OrderStatus::PartiallyFilled,
        "rested" => OrderStatus::New,
        _ => OrderStatus::Expired,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lockstep_with_reference(ops in proptest::collection::vec(op(), 1..150)) {
        let mut e = engine();
        let mut r = RefExchange::new();
        let mut ids = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            let id = r.next_id;
            r.fills.clear();
            let (cmd, outcome, rejected) = step(&mut r, &mut ids, op);
            let ev = e.apply(&cmd);
            let got: Vec<_> = fills(&ev).into_iter().map(|f| (f.0.0, f.1.0, f.2, f.3)).collect();
            let want: Vec<_> = r.fills.iter().map(|&(m, t, p, q)| (m, t, px(p).normalize(), lots(q).normalize())).collect();
            prop_assert_eq!(got, want, "fills differ at op {} {:?}", n, op);
            prop_assert_eq!(rejection(&ev).is_some(), rejected, "rejection differs at op {} {:?}: {:?}", n, op, ev);
            if let Some(outcome) = outcome {
                let filled = r.fills.iter().any(|f| f.1 == id);
                prop_assert_eq!(first_status_of(&ev, OrderId(id)), Some(expected_status(outcome, filled)), "status at op {} {:?}", n, op);
            }
            prop_assert_eq!(engine_book(&e, Side::Buy), ref_book(&r.bids), "bids differ at op {} {:?}", n, op);
            prop_assert_eq!(engine_book(&e, Side::Sell), ref_book(&r.asks), "asks differ at op {} {:?}", n, op);
            let mut waiting: Vec<u64> = e.open_orders(None, None).iter().filter(|o| o.waiting_for_trigger).map(|o| o.id.0).collect();
            let mut want_waiting: Vec<u64> = r.stops.iter().map(|s| s.id).collect();
            waiting.sort_unstable();
            want_waiting.sort_unstable();
            prop_assert_eq!(waiting, want_waiting, "stops differ at op {} {:?}", n, op);
            let last = e.last_price(BTC).map(|p| p.normalize());
            prop_assert_eq!(last, (r.last > 0).then(|| px(r.last).normalize()));
            prop_assert!(e.funds_conserved(), "funds at op {}", n);
            prop_assert!(locks_consistent(&e), "locks at op {}", n);
        }
    }

    /// Scarce, uneven funds: rejections for insufficient balance and market orders cut
    /// short by their funds; funds stay conserved and every lock belongs to an order.
    #[test]
    fn funds_conserved_with_scarce_balances(
        deposits in proptest::collection::vec((1u64..=3, any::<bool>(), 1i64..5_000), 1..6),
        ops in proptest::collection::vec(op(), 1..150),
    ) {
        let mut e = Engine::new(EngineConfig::default()).unwrap();
        e.apply(&Command::AddPair(PairConfig::new("BTC/USD", d("0.01"), d("0.001"))));
        for (a, usd, amount) in deposits {
            let asset = if usd { "USD" } else { "BTC" };
            let amount = if usd { Decimal::new(amount, 1) } else { Decimal::new(amount, 4) };
            e.apply(&Command::Deposit { account: AccountId(a), asset: asset.into(), amount });
        }
        let mut r = RefExchange::new();
        let mut ids = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            let (cmd, _, _) = step(&mut r, &mut ids, op);
            e.apply(&cmd);
            prop_assert!(e.funds_conserved(), "funds at op {} {:?}", n, op);
            prop_assert!(locks_consistent(&e), "locks at op {} {:?}", n, op);
            for a in e.accounts() {
                for b in e.balances(a) {
                    prop_assert!(b.available >= Decimal::ZERO && b.locked >= Decimal::ZERO, "{:?} {:?}", a, b);
                }
            }
        }
    }
}
