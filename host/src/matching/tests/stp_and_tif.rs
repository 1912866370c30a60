//! Time in force and self-trade prevention scenarios.

use super::*;
use OrderStatus::*;
use Side::*;

#[test]
fn time_in_force_outcomes() {
    // (time in force, buy quantity at 100 against 1 resting @ 100 and 1 @ 101) ->
    // (taker status, filled, what rests on the bid side)
    let cases = [
        (TimeInForce::Gtc, "1.5", PartiallyFilled, "1", Some("0.5")),
        (TimeInForce::Ioc, "1.5", Expired, "1", None),
        (TimeInForce::Ioc, "0.5", Filled, "0.5", None),
        (TimeInForce::Fok, "1.5", Expired, "0", None),
        (TimeInForce::Fok, "1", Filled, "1", None),
        (TimeInForce::Day, "1.5", PartiallyFilled, "1", Some("0.5")),
        (TimeInForce::Gtd { expire_ms: T0 + 1 }, "1.5", PartiallyFilled, "1", Some("0.5")),
    ];
    for (tif, qty, status, filled, rests) in cases {
        let mut e = engine();
        place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
        place_ok(&mut e, limit(ALICE, Sell, "101", "1"));
        let t = e.next_order_id();
        let ev = place(&mut e, limit(BOB, Buy, "100", qty).with_tif(tif));
        assert_eq!(status_of(&ev, t), Some(status), "{tif:?} {qty}");
        assert_eq!(e.order(t).unwrap().filled_qty.normalize(), d(filled), "{tif:?} {qty}");
        assert_eq!(book(&e).0, rests.map(|q| (d("100"), d(q))).into_iter().collect::<Vec<_>>(), "{tif:?} {qty}");
        if status == Expired && filled == "0" {
            assert!(fills(&ev).is_empty(), "FOK kill must not trade");
        }
        assert!(locks_consistent(&e));
    }
}

#[test]
fn fok_counts_iceberg_reserves() {
    let mut e = engine();
    place_ok(&mut e, NewOrder::iceberg(ALICE, BTC, Sell, d("100"), d("5"), d("1"), T0));
    let t = e.next_order_id();
    let ev = place(&mut e, limit(BOB, Buy, "100", "5").with_tif(TimeInForce::Fok));
    assert_eq!(status_of(&ev, t), Some(Filled));
}

#[test]
fn day_orders_expire_at_the_end_of_the_utc_day_by_sweep() {
    let mut e = engine();
    let day = place_ok(&mut e, limit(ALICE, Buy, "90", "1").with_tif(TimeInForce::Day));
    let gtd = place_ok(&mut e, limit(ALICE, Buy, "91", "1").with_tif(TimeInForce::Gtd { expire_ms: T0 + 3_600_000 }));
    let gtc = place_ok(&mut e, limit(ALICE, Buy, "89", "1"));
    let midnight = end_of_utc_day(T0);
    assert_eq!(midnight, 1_704_153_600_000);
    assert_eq!(e.order(day).unwrap().expire_ms, Some(midnight));
    // Nothing expires before its time.
    assert!(e.apply(&Command::Sweep { now_ms: T0 + 3_599_999 }).is_empty());
    let ev = e.apply(&Command::Sweep { now_ms: T0 + 3_600_000 });
    assert_eq!(status_of(&ev, gtd), Some(Expired));
    assert!(e.apply(&Command::Sweep { now_ms: midnight - 1 }).is_empty());
    let ev = e.apply(&Command::Sweep { now_ms: midnight });
    assert_eq!((status_of(&ev, day), status_of(&ev, gtc)), (Some(Expired), None));
    assert_eq!(book(&e).0, vec![(d("89"), d("1"))]);
    assert_eq!(available(&e, ALICE, "USD"), d("999911"));
}

#[test]
fn gtd_in_the_past_and_resting_only_types_with_ioc_are_rejected() {
    let mut e = engine();
    let ev = place(&mut e, limit(ALICE, Buy, "90", "1").with_tif(TimeInForce::Gtd { expire_ms: T0 }));
    assert_eq!(rejection(&ev), Some(RejectReason::ExpiryInPast { expire_ms: T0, time_ms: T0 }));
    let ev = place(&mut e, NewOrder::iceberg(ALICE, BTC, Buy, d("90"), d("2"), d("1"), T0).with_tif(TimeInForce::Ioc));
    let r = rejection(&ev).unwrap().to_string();
    assert!(r.contains("IOC") && r.contains("GTC, DAY, GTD"), "{r}");
}

#[test]
fn self_trade_prevention_modes() {
    // Alice rests 1 @ 100 and Carol 1 @ 100 behind her; Alice buys 2 @ 100.
    // (mode, fills (maker), taker status, Alice's resting order status, Carol's left)
    let cases = [
        (StpMode::None, vec!["alice", "carol"], Filled, Filled),
        (StpMode::ExpireTaker, vec![], ExpiredInMatch, New),
        (StpMode::ExpireMaker, vec!["carol"], PartiallyFilled, ExpiredInMatch),
        (StpMode::ExpireBoth, vec![], ExpiredInMatch, ExpiredInMatch),
    ];
    for (mode, makers, taker_status, maker_status) in cases {
        let mut e = engine();
        let mine = place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
        let carol = place_ok(&mut e, limit(CAROL, Sell, "100", "1"));
        let t = e.next_order_id();
        let ev = place(&mut e, limit(ALICE, Buy, "100", "2").with_stp(mode));
        let names: Vec<&str> = fills(&ev)
            .iter()
            .map(|f| {
                if f.0 == mine {
                    "alice"
                } else if f.0 == carol {
                    "carol"
                } else {
                    "?"
                }
            })
            .collect();
        assert_eq!(names, makers, "{mode:?}");
        assert_eq!(status_of(&ev, t), Some(taker_status), "{mode:?}");
        assert_eq!(e.order(mine).unwrap().status, maker_status, "{mode:?}");
        assert!(locks_consistent(&e), "{mode:?}");
    }
}

#[test]
fn stp_other_accounts_trade_normally() {
    let mut e = engine();
    let bob = place_ok(&mut e, limit(BOB, Sell, "100", "1"));
    let t = e.next_order_id();
    let ev = place(&mut e, limit(ALICE, Buy, "100", "1").with_stp(StpMode::ExpireBoth));
    assert_eq!(fills(&ev), vec![(bob, t, d("100"), d("1"))]);
}

#[test]
fn fok_with_stp_does_not_count_orders_it_would_expire() {
    let mut e = engine();
    place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
    place_ok(&mut e, limit(BOB, Sell, "100", "1"));
    let t = e.next_order_id();
    let o = limit(ALICE, Buy, "100", "2").with_tif(TimeInForce::Fok).with_stp(StpMode::ExpireMaker);
    let ev = place(&mut e, o);
    assert_eq!((status_of(&ev, t), fills(&ev).len()), (Some(Expired), 0));
    let t = e.next_order_id();
    let o = limit(ALICE, Buy, "100", "1").with_tif(TimeInForce::Fok).with_stp(StpMode::ExpireMaker);
    let ev = place(&mut e, o);
    assert_eq!((status_of(&ev, t), fills(&ev).len()), (Some(Filled), 1));
}
