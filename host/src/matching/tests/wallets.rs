//! Locks, fees, settlement and conservation of funds.

use super::*;
use Side::*;

fn fresh() -> Engine {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    e.apply(&Command::AddPair(PairConfig::new("BTC/USD", d("0.01"), d("0.001"))));
    e
}

fn deposit(e: &mut Engine, a: AccountId, asset: &str, amount: &str) {
    let ev = e.apply(&Command::Deposit { account: a, asset: asset.into(), amount: d(amount) });
    assert!(matches!(ev[..], [Event::Deposited { .. }]), "{ev:?}");
}

#[test]
fn insufficient_balance_names_asset_needed_and_available() {
    let mut e = fresh();
    deposit(&mut e, ALICE, "USD", "100");
    deposit(&mut e, BOB, "BTC", "0.5");
    let cases = [
        (limit(ALICE, Buy, "45000", "0.01"), "insufficient balance: USD needed 450, available 100"),
        (limit(BOB, Sell, "45000", "1"), "insufficient balance: BTC needed 1, available 0.5"),
        (limit(CAROL, Sell, "45000", "1"), "insufficient balance: BTC needed 1, available 0"),
        (
            NewOrder::market_quote(ALICE, BTC, Buy, d("100.01"), T0),
            "insufficient balance: USD needed 100.01, available 100",
        ),
    ];
    for (o, text) in cases {
        let r = rejection(&place(&mut e, o)).unwrap();
        assert_eq!(r.to_string(), text);
    }
    // A market buy by quantity needs at least one lot at the best ask.
    place_ok(&mut e, limit(BOB, Sell, "200000", "0.5"));
    let r = rejection(&place(&mut e, market(ALICE, Buy, "0.1"))).unwrap();
    assert_eq!(r.to_string(), "insufficient balance: USD needed 200, available 100");
    let ev = e.apply(&Command::Withdraw { account: ALICE, asset: "usd".into(), amount: d("100.5") });
    assert_eq!(rejection(&ev).unwrap().to_string(), "insufficient balance: USD needed 100.5, available 100");
}

#[test]
fn fees_are_charged_in_the_asset_received_and_credited_to_the_fee_account() {
    let mut e = fresh();
    deposit(&mut e, ALICE, "BTC", "1");
    deposit(&mut e, BOB, "USD", "100000");
    place_ok(&mut e, limit(ALICE, Sell, "45000", "0.5"));
    let ev = place(&mut e, limit(BOB, Buy, "45000", "0.5"));
    let Some(Event::Trade(t)) = ev.iter().find(|e| matches!(e, Event::Trade(_))) else { panic!("{ev:?}") };
    // Maker (seller) pays 0.1% of 22500 USD; taker (buyer) 0.2% of 0.5 BTC.
    assert_eq!((t.maker_fee, t.taker_fee), (d("22.5"), d("0.001")));
    assert_eq!(t.quote_qty.normalize(), d("22500"));
    assert_eq!(available(&e, ALICE, "USD"), d("22477.5"));
    assert_eq!(available(&e, ALICE, "BTC"), d("0.5"));
    assert_eq!(available(&e, BOB, "BTC"), d("0.499"));
    assert_eq!(available(&e, BOB, "USD"), d("77500"));
    assert_eq!(available(&e, AccountId(0), "USD"), d("22.5"));
    assert_eq!(available(&e, AccountId(0), "BTC"), d("0.001"));
    assert!(e.funds_conserved());
    for s in e.supply() {
        assert_eq!(s.held, s.net_deposits, "{s:?}");
    }
}

#[test]
fn an_account_with_its_own_fee_schedule_pays_its_own_rates() {
    let mut e = fresh();
    deposit(&mut e, ALICE, "BTC", "1");
    deposit(&mut e, BOB, "USD", "100000");
    let set = e.apply(&Command::SetFees { account: BOB, maker_rate: d("0"), taker_rate: d("0") });
    assert!(set.is_empty(), "{set:?}");
    let bad = e.apply(&Command::SetFees { account: ALICE, maker_rate: d("1.5"), taker_rate: d("0") });
    assert!(matches!(&bad[..], [Event::Rejected { .. }]), "{bad:?}");
    place_ok(&mut e, limit(ALICE, Sell, "45000", "0.5"));
    let ev = place(&mut e, limit(BOB, Buy, "45000", "0.5"));
    let Some(Event::Trade(t)) = ev.iter().find(|e| matches!(e, Event::Trade(_))) else { panic!("{ev:?}") };
    // Bob (taker) pays nothing; Alice (maker) keeps the default 0.1 %.
    assert_eq!((t.maker_fee, t.taker_fee), (d("22.5"), d("0")));
    assert_eq!(available(&e, BOB, "BTC"), d("0.5"));
    assert_eq!(available(&e, ALICE, "USD"), d("22477.5"));
    assert!(e.funds_conserved());
}

#[test]
fn minimum_fee_and_custom_rates() {
    let fees = FeeConfig { maker_rate: d("0"), taker_rate: d("0.001"), min_fee: d("0.01"), ..FeeConfig::default() };
    let mut e = engine_with(EngineConfig { fees, ..EngineConfig::default() });
    place_ok(&mut e, limit(ALICE, Sell, "100", "0.001"));
    let ev = place(&mut e, market(BOB, Buy, "0.001"));
    let Some(Event::Trade(t)) = ev.iter().find(|e| matches!(e, Event::Trade(_))) else { panic!("{ev:?}") };
    // Taker receives 0.001 BTC: 0.1% is 0.000001, below the minimum 0.01, capped at 0.001.
    assert_eq!((t.maker_fee, t.taker_fee.normalize()), (d("0"), d("0.001")));
}

#[test]
fn a_limit_buy_filled_at_a_better_price_releases_the_difference() {
    let mut e = engine();
    place_ok(&mut e, limit(ALICE, Sell, "90", "1"));
    let b = place_ok(&mut e, limit(BOB, Buy, "100", "2"));
    // Paid 90 for 1; 100 stays locked for the resting 1.
    assert_eq!(available(&e, BOB, "USD"), d("999810"));
    assert_eq!(e.order(b).unwrap().locked.normalize(), d("100"));
    cancel(&mut e, BOB, b);
    assert_eq!(available(&e, BOB, "USD"), d("999910"));
    assert!(locks_consistent(&e));
}

#[test]
fn a_market_buy_stops_at_the_first_lot_it_cannot_pay_for() {
    let mut e = fresh();
    deposit(&mut e, ALICE, "BTC", "10");
    deposit(&mut e, BOB, "USD", "250");
    place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
    place_ok(&mut e, limit(ALICE, Sell, "200", "5"));
    let t = e.next_order_id();
    let ev = place(&mut e, market(BOB, Buy, "3"));
    // 100 for the first, then 150 buys 0.75 at 200; the rest expires.
    assert_eq!(fills(&ev).iter().map(|f| f.3).collect::<Vec<_>>(), vec![d("1"), d("0.75")]);
    assert_eq!(status_of(&ev, t), Some(OrderStatus::Expired));
    assert_eq!(available(&e, BOB, "USD"), d("0"));
    assert!(e.funds_conserved());
}

#[test]
fn triggered_market_buy_uses_the_available_balance_then() {
    let mut e = fresh();
    deposit(&mut e, ALICE, "BTC", "10");
    deposit(&mut e, BOB, "USD", "150");
    e.apply(&Command::MarketTrade { pair: BTC, price: d("90"), time_ms: T0 });
    place_ok(&mut e, limit(ALICE, Sell, "100", "5"));
    let s = place_ok(&mut e, NewOrder::stop(BOB, BTC, Buy, OrderType::StopLoss, d("95"), d("2"), T0));
    assert_eq!(available(&e, BOB, "USD"), d("150"));
    let ev = e.apply(&Command::MarketTrade { pair: BTC, price: d("95"), time_ms: T0 });
    assert_eq!(fills(&ev).iter().map(|f| f.3).collect::<Vec<_>>(), vec![d("1.5")]);
    assert_eq!(status_of(&ev, s), Some(OrderStatus::Expired));
    assert!(e.funds_conserved() && locks_consistent(&e));
}

#[test]
fn deposits_and_withdrawals_move_net_deposits() {
    let mut e = fresh();
    deposit(&mut e, ALICE, "usd", "10.5");
    let ev = e.apply(&Command::Withdraw { account: ALICE, asset: "USD".into(), amount: d("0.5") });
    assert!(matches!(&ev[..], [Event::Withdrawn { asset, .. }] if asset == "USD"), "{ev:?}");
    let usd = e.supply().into_iter().find(|s| s.asset == "USD").unwrap();
    assert_eq!((usd.held, usd.net_deposits), (d("10"), d("10")));
    let ev = e.apply(&Command::Deposit { account: ALICE, asset: "USD".into(), amount: d("0.0000000000001") });
    assert!(matches!(rejection(&ev), Some(RejectReason::InvalidAmount { .. })));
    let ev = e.apply(&Command::Deposit { account: ALICE, asset: "USD".into(), amount: d("-1") });
    assert!(matches!(rejection(&ev), Some(RejectReason::InvalidAmount { .. })));
}

#[test]
fn raw_book_mode_matches_without_wallets() {
    let mut e = Engine::new(EngineConfig { check_funds: false, ..EngineConfig::default() }).unwrap();
    e.apply(&Command::AddPair(PairConfig::new("BTC/USD", d("0.01"), d("0.001"))));
    let a = place_ok(&mut e, limit(ALICE, Sell, "100", "1"));
    let t = e.next_order_id();
    let ev = place(&mut e, market(BOB, Buy, "1"));
    assert_eq!(fills(&ev), vec![(a, t, d("100"), d("1"))]);
    assert!(e.balances(BOB).is_empty());
}
