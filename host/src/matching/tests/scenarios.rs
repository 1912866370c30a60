//! One scenario per order type, with Binance's worked examples.

use super::*;
use OrderStatus::*;
use Side::*;

#[test]
fn limit_rests_crosses_at_maker_price_and_partially_fills() {
    let mut e = engine();
    let a = place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
    let b = place_ok(&mut e, limit(ALICE, Sell, "101", "1"));
    assert_eq!(book(&e).1, vec![(d("100"), d("1")), (d("101"), d("1"))]);
    // A buy at 101 for 1.5: takes 1 @ 100 (the maker's price), 0.5 @ 101.
    let c = e.next_order_id();
    let ev = place(&mut e, limit(BOB, Buy, "101", "1.5"));
    assert_eq!(fills(&ev), vec![(a, c, d("100"), d("1")), (b, c, d("101"), d("0.5"))]);
    assert_eq!(
        (status_of(&ev, a), status_of(&ev, b), status_of(&ev, c)),
        (Some(Filled), Some(PartiallyFilled), Some(Filled))
    );
    assert_eq!(book(&e).1, vec![(d("101"), d("0.5"))]);
    // A bigger buy rests its remainder PARTIALLY_FILLED.
    let f = e.next_order_id();
    let ev = place(&mut e, limit(BOB, Buy, "101", "2"));
    assert_eq!(status_of(&ev, f), Some(PartiallyFilled));
    assert_eq!(book(&e).0, vec![(d("101"), d("1.5"))]);
    assert_eq!(e.order(f).unwrap().filled_qty.normalize(), d("0.5"));
    assert_eq!(e.last_price(BTC), Some(d("101")));
    assert!(locks_consistent(&e));
}

#[test]
fn price_time_priority_within_a_level() {
    let mut e = engine();
    let first = place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
    let second = place_ok(&mut e, limit(CAROL, Sell, "100", "1"));
    let better = place_ok(&mut e, limit(CAROL, Sell, "99.99", "1"));
    let t = e.next_order_id();
    let ev = place(&mut e, market(BOB, Buy, "2.5"));
    assert_eq!(
        fills(&ev),
        vec![(better, t, d("99.99"), d("1")), (first, t, d("100"), d("1")), (second, t, d("100"), d("0.5"))]
    );
}

#[test]
fn market_by_quantity_fills_partly_then_expires() {
    let mut e = engine();
    let a = place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
    let t = e.next_order_id();
    let ev = place(&mut e, market(BOB, Buy, "3"));
    assert_eq!(fills(&ev), vec![(a, t, d("100"), d("1"))]);
    assert_eq!(status_of(&ev, t), Some(Expired));
    let o = e.order(t).unwrap();
    assert_eq!((o.status, o.filled_qty.normalize()), (Expired, d("1")));
    // Nothing stays locked for the expired market order.
    assert_eq!(available(&e, BOB, "USD"), d("999900"));
    // Against an empty book: EXPIRED with no fill.
    let t = e.next_order_id();
    let ev = place(&mut e, market(BOB, Buy, "1"));
    assert_eq!((fills(&ev).len(), status_of(&ev, t)), (0, Some(Expired)));
}

#[test]
fn market_by_quote_quantity_spends_at_most_the_budget() {
    let mut e = engine();
    place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
    place_ok(&mut e, limit(ALICE, Sell, "200", "1"));
    let t = e.next_order_id();
    // 150 USD buys 1 @ 100 and 0.25 @ 200.
    let ev = place(&mut e, NewOrder::market_quote(BOB, BTC, Buy, d("150"), T0));
    let f = fills(&ev);
    assert_eq!(f.iter().map(|x| (x.2, x.3)).collect::<Vec<_>>(), vec![(d("100"), d("1")), (d("200"), d("0.25"))]);
    assert_eq!(status_of(&ev, t), Some(Filled));
    assert_eq!(available(&e, BOB, "USD"), d("999850"));
    // A sell by quote quantity stops at the budget too.
    place_ok(&mut e, limit(CAROL, Buy, "50", "10"));
    let ev = place(&mut e, NewOrder::market_quote(BOB, BTC, Sell, d("25.5"), T0));
    assert_eq!(fills(&ev).iter().map(|x| x.3).collect::<Vec<_>>(), vec![d("0.51")]);
}

#[test]
fn limit_maker_rests_or_is_rejected_if_it_would_take() {
    let mut e = engine();
    place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
    let ok = place_ok(&mut e, limit(BOB, Buy, "99.99", "1").with_type(OrderType::LimitMaker));
    assert_eq!(e.order(ok).unwrap().status, New);
    let ev = place(&mut e, limit(BOB, Buy, "100", "1").with_type(OrderType::LimitMaker));
    let r = rejection(&ev).unwrap();
    assert!(r.to_string().starts_with("Order would immediately match and take."), "{r}");
    assert!(fills(&ev).is_empty());
}

#[test]
fn stop_that_would_trigger_immediately_is_rejected() {
    // Binance: last price 100; a SELL STOP_LOSS at 101 (>= last) would trigger at once.
    let mut e = engine();
    trade_at(&mut e, "100");
    let cases = [
        (Sell, OrderType::StopLoss, "101", true),
        (Sell, OrderType::StopLoss, "100", true),
        (Sell, OrderType::StopLoss, "99", false),
        (Buy, OrderType::StopLoss, "99", true),
        (Buy, OrderType::StopLoss, "101", false),
        (Sell, OrderType::TakeProfit, "99", true),
        (Sell, OrderType::TakeProfit, "101", false),
        (Buy, OrderType::TakeProfit, "101", true),
        (Buy, OrderType::TakeProfit, "99", false),
        (Sell, OrderType::StopLossLimit, "100.5", true),
    ];
    for (side, t, stop, rejected) in cases {
        let mut o = NewOrder::stop(ALICE, BTC, side, t, d(stop), d("1"), T0);
        if t == OrderType::StopLossLimit {
            o = o.with_price(d(stop));
        }
        let ev = place(&mut e, o);
        let r = rejection(&ev);
        assert_eq!(r.is_some(), rejected, "{side:?} {t} {stop}: {ev:?}");
        if let Some(r) = r {
            assert!(r.to_string().starts_with("Order would trigger immediately."), "{r}");
        }
    }
}

#[test]
fn stop_loss_fires_on_market_trades_and_executes_as_market() {
    let mut e = engine();
    trade_at(&mut e, "100");
    place_ok(&mut e, limit(BOB, Buy, "95", "1"));
    let s = place_ok(&mut e, NewOrder::stop(ALICE, BTC, Sell, OrderType::StopLoss, d("96"), d("2"), T0));
    assert!(e.order(s).unwrap().waiting_for_trigger);
    assert!(fills(&trade_at(&mut e, "96.01")).is_empty());
    let ev = trade_at(&mut e, "96");
    assert!(matches!(ev[0], Event::Triggered { order_id, .. } if order_id == s));
    assert_eq!(fills(&ev).iter().map(|f| (f.2, f.3)).collect::<Vec<_>>(), vec![(d("95"), d("1"))]);
    assert_eq!(status_of(&ev, s), Some(Expired));
    assert_eq!(e.last_price(BTC), Some(d("95")));
}

#[test]
fn stop_limit_and_take_profit_limit_rest_as_limits_once_fired() {
    let mut e = engine();
    trade_at(&mut e, "100");
    let sl = place_ok(
        &mut e,
        NewOrder::stop(ALICE, BTC, Sell, OrderType::StopLossLimit, d("98"), d("1"), T0).with_price(d("97.5")),
    );
    let tp = place_ok(
        &mut e,
        NewOrder::stop(BOB, BTC, Sell, OrderType::TakeProfitLimit, d("102"), d("1"), T0).with_price(d("103")),
    );
    trade_at(&mut e, "97");
    let o = e.order(sl).unwrap();
    assert_eq!((o.status, o.waiting_for_trigger), (New, false));
    assert_eq!(book(&e).1, vec![(d("97.5"), d("1"))]);
    trade_at(&mut e, "102.5");
    assert_eq!(book(&e).1, vec![(d("97.5"), d("1")), (d("103"), d("1"))]);
    assert_eq!(e.order(tp).unwrap().status, New);
}

#[test]
fn take_profit_market_fires_when_price_rises() {
    let mut e = engine();
    trade_at(&mut e, "100");
    place_ok(&mut e, limit(BOB, Buy, "104", "1"));
    let tp = place_ok(&mut e, NewOrder::stop(ALICE, BTC, Sell, OrderType::TakeProfit, d("105"), d("1"), T0));
    assert!(fills(&trade_at(&mut e, "104.99")).is_empty());
    let ev = trade_at(&mut e, "105");
    assert_eq!(fills(&ev).len(), 1);
    assert_eq!(status_of(&ev, tp), Some(Filled));
}

#[test]
fn stops_fire_on_the_engines_own_trades_and_cascade() {
    let mut e = engine();
    trade_at(&mut e, "100");
    place_ok(&mut e, limit(BOB, Buy, "99", "1"));
    place_ok(&mut e, limit(BOB, Buy, "98", "1"));
    let s1 = place_ok(&mut e, NewOrder::stop(ALICE, BTC, Sell, OrderType::StopLoss, d("99"), d("1"), T0));
    let s2 = place_ok(&mut e, NewOrder::stop(CAROL, BTC, Sell, OrderType::StopLoss, d("98.5"), d("1"), T0));
    // Carol's market sell trades at 99: s1 fires, sells at 98, which fires s2 (no bids left).
    let ev = place(&mut e, market(CAROL, Sell, "1"));
    let fired: Vec<OrderId> = ev
        .iter()
        .filter_map(|e| if let Event::Triggered { order_id, .. } = e { Some(*order_id) } else { None })
        .collect();
    assert_eq!(fired, vec![s1, s2]);
    assert_eq!(status_of(&ev, s1), Some(Filled));
    assert_eq!(status_of(&ev, s2), Some(Expired));
}

#[test]
fn iceberg_refill_loses_priority() {
    // Binance: an iceberg shows its slice; when the slice is consumed, the refilled slice
    // joins the back of the queue at that price.
    let mut e = engine();
    let ice = place_ok(&mut e, NewOrder::iceberg(ALICE, BTC, Sell, d("100"), d("10"), d("2"), T0));
    let plain = place_ok(&mut e, limit(CAROL, Sell, "100", "5"));
    assert_eq!(book(&e).1, vec![(d("100"), d("7"))]);
    let t = e.next_order_id();
    let ev = place(&mut e, market(BOB, Buy, "3"));
    assert_eq!(fills(&ev), vec![(ice, t, d("100"), d("2")), (plain, t, d("100"), d("1"))]);
    let o = e.order(ice).unwrap();
    assert_eq!((o.status, o.visible_qty.normalize(), o.filled_qty.normalize()), (PartiallyFilled, d("2"), d("2")));
    // Next buyer: Carol's order is now first.
    let t2 = e.next_order_id();
    let ev = place(&mut e, market(BOB, Buy, "5"));
    assert_eq!(fills(&ev), vec![(plain, t2, d("100"), d("4")), (ice, t2, d("100"), d("1"))]);
    // An iceberg alone keeps refilling within one taker.
    let ev = place(&mut e, market(BOB, Buy, "7"));
    assert_eq!(fills(&ev).iter().map(|f| f.3).collect::<Vec<_>>(), vec![d("1"), d("2"), d("2"), d("2")]);
    assert_eq!(status_of(&ev, ice), Some(Filled));
}

#[test]
fn iceberg_taker_uses_its_whole_quantity_then_shows_a_slice() {
    let mut e = engine();
    place_ok(&mut e, limit(ALICE, Sell, "100", "3"));
    let ice = place_ok(&mut e, NewOrder::iceberg(BOB, BTC, Buy, d("100"), d("10"), d("2"), T0));
    assert_eq!(book(&e).0, vec![(d("100"), d("2"))]);
    assert_eq!(e.order(ice).unwrap().filled_qty.normalize(), d("3"));
}

#[test]
fn trailing_stop_activation_then_trail() {
    // Sell, 5% (500 bps), activation 110, last 100: trades below 110 do nothing; at 110 it
    // starts trailing; the high moves to 115; it fires at 109.25 = 115 * 0.95.
    let mut e = engine();
    trade_at(&mut e, "100");
    place_ok(&mut e, limit(BOB, Buy, "50", "10"));
    let ts = place_ok(&mut e, NewOrder::trailing(ALICE, BTC, Sell, d("1"), 500, Some(d("110")), T0));
    for (price, fires) in
        [("105", false), ("95", false), ("110", false), ("115", false), ("109.26", false), ("109.25", true)]
    {
        let ev = trade_at(&mut e, price);
        let fired = ev.iter().any(|e| matches!(e, Event::Triggered { order_id, .. } if *order_id == ts));
        assert_eq!(fired, fires, "at {price}");
    }
    assert_eq!(e.order(ts).unwrap().status, Filled);
}

#[test]
fn trailing_buy_without_activation_trails_from_placement() {
    let mut e = engine();
    trade_at(&mut e, "100");
    place_ok(&mut e, limit(BOB, Sell, "200", "10"));
    let ts = place_ok(&mut e, NewOrder::trailing(ALICE, BTC, Buy, d("1"), 1000, None, T0));
    for (price, fires) in [("90", false), ("80", false), ("87.99", false), ("88", true)] {
        let ev = trade_at(&mut e, price);
        assert_eq!(ev.iter().any(|e| matches!(e, Event::Triggered { .. })), fires, "at {price}");
    }
    assert_eq!(e.order(ts).unwrap().status, Filled);
}

#[test]
fn cancel_removes_resting_and_waiting_orders_and_releases_funds() {
    let mut e = engine();
    trade_at(&mut e, "100");
    let a = place_ok(&mut e, limit(ALICE, Buy, "90", "2"));
    let s = place_ok(&mut e, NewOrder::stop(ALICE, BTC, Sell, OrderType::StopLoss, d("95"), d("1"), T0));
    assert_eq!(available(&e, ALICE, "USD"), d("999820"));
    assert_eq!(available(&e, ALICE, "BTC"), d("99"));
    let ev = cancel(&mut e, BOB, a);
    assert_eq!(rejection(&ev), Some(RejectReason::UnknownOrder { order_id: a }));
    for id in [a, s] {
        let ev = cancel(&mut e, ALICE, id);
        assert_eq!(status_of(&ev, id), Some(Canceled));
    }
    assert_eq!((available(&e, ALICE, "USD"), available(&e, ALICE, "BTC")), (d("1000000"), d("100")));
    assert_eq!(rejection(&cancel(&mut e, ALICE, a)), Some(RejectReason::UnknownOrder { order_id: a }));
    assert!(fills(&trade_at(&mut e, "90")).is_empty());
    assert!(book(&e).0.is_empty());
}
