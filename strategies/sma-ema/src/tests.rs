use super::*;
use tradehost_sdk::testing::{MockHost, flat_candle, init_context, market_orders};
use tradehost_sdk::{Intent, OrderKind};

fn ctx(params: &[(&str, &str)]) -> InitContext {
    init_context(&[(0, "BTCUSDT")], params)
}

fn candle(close: i64) -> Candle {
    flat_candle(0, Decimal::from(close), 0)
}

fn run(s: &mut SmaEma, host: &MockHost, close: i64) -> Vec<Intent> {
    let mut cx = Ctx::new(host);
    s.on_candle(&mut cx, &candle(close));
    cx.take_intents()
}

const PARAMS: &[(&str, &str)] =
    &[("sma_period", "3"), ("ema_period", "2"), ("stop_loss", "0.10"), ("qty.BTCUSDT", "0.001")];

#[test]
fn buys_on_upward_cross_and_sells_on_downward_cross() {
    let (mut s, _) = SmaEma::init(&ctx(PARAMS)).unwrap();
    let mut host = MockHost::default();
    // Falling prices: EMA below SMA, no cross, no order.
    for p in [100, 99, 98, 97] {
        assert!(market_orders(&run(&mut s, &host, p)).is_empty(), "no order while falling ({p})");
    }
    // A jump takes EMA above SMA: buy the configured size.
    let out = run(&mut s, &host, 110);
    assert_eq!(market_orders(&out), vec![(Side::Buy, Decimal::new(1, 3), "ema crossed above sma".into())]);
    assert!(out.iter().any(|i| matches!(i, Intent::Signal(sig) if sig.side == Side::Buy)));
    host.positions.insert(0, Decimal::new(1, 3));
    host.entry_prices.insert(0, Decimal::from(110));
    // Still above: hold.
    assert!(market_orders(&run(&mut s, &host, 111)).is_empty());
    // A drop takes EMA below SMA (but not 10 % below entry): sell the whole position.
    let out = market_orders(&run(&mut s, &host, 104));
    assert_eq!(out, vec![(Side::Sell, Decimal::new(1, 3), "ema crossed below sma".into())]);
}

#[test]
fn stop_loss_sells_even_without_a_cross() {
    let (mut s, _) = SmaEma::init(&ctx(PARAMS)).unwrap();
    let mut host = MockHost::default();
    host.positions.insert(0, Decimal::new(2, 3));
    host.entry_prices.insert(0, Decimal::from(100));
    assert!(market_orders(&run(&mut s, &host, 91)).is_empty(), "9 % down: inside a 10 % stop");
    let out = market_orders(&run(&mut s, &host, 90));
    assert_eq!(out, vec![(Side::Sell, Decimal::new(2, 3), "stop-loss".into())]);
}

#[test]
fn bad_params_are_named() {
    let err = SmaEma::init(&ctx(&[("qty.BTCUSDT", "0.001"), ("stop_loss", "1.5")])).unwrap_err();
    assert!(err.contains("stop_loss") && err.contains("fraction"), "{err}");
    let err = SmaEma::init(&ctx(&[])).unwrap_err();
    assert_eq!(err, "missing parameter `qty.BTCUSDT`");
}

#[test]
fn snapshot_restore_continues_identically() {
    let (mut a, _) = SmaEma::init(&ctx(PARAMS)).unwrap();
    let host = MockHost::default();
    for p in [100, 99, 98, 97] {
        run(&mut a, &host, p);
    }
    let (mut b, _) = SmaEma::init(&ctx(PARAMS)).unwrap();
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(run(&mut a, &host, 110), run(&mut b, &host, 110));
    assert_eq!(a.snapshot(), b.snapshot());
    assert!(b.restore(&[9]).is_err(), "an unknown snapshot version is refused");
}

#[test]
fn an_entry_fill_is_protected_by_a_resting_stop_which_a_cross_exit_cancels() {
    let (mut s, _) = SmaEma::init(&ctx(PARAMS)).unwrap();
    let mut host = MockHost::default();
    host.positions.insert(0, Decimal::new(1, 3));
    let fill = tradehost_sdk::Fill {
        symbol: 0,
        order_id: 1,
        side: Side::Buy,
        price: Decimal::from(100),
        qty: Decimal::new(1, 3),
        fee: Decimal::ZERO,
        time_ms: 0,
    };
    let mut cx = Ctx::new(&host);
    s.on_fill(&mut cx, &fill);
    let placed = cx.take_intents();
    assert_eq!(
        placed,
        vec![Intent::Place(tradehost_sdk::OrderRequest {
            symbol: 0,
            side: Side::Sell,
            kind: OrderKind::StopMarket(Decimal::from(90)),
            qty: Decimal::new(1, 3),
            tag: "stop-loss".into(),
        })],
        "10 % below the fill"
    );
    // With that stop resting, a downward cross cancels it and sells at market.
    host.entry_prices.insert(0, Decimal::from(100));
    host.open_orders.push(tradehost_sdk::OpenOrder {
        id: 9,
        symbol: 0,
        side: Side::Sell,
        kind: OrderKind::StopMarket(Decimal::from(90)),
        qty: Decimal::new(1, 3),
        filled: Decimal::ZERO,
    });
    for p in [100, 101, 102, 103] {
        run(&mut s, &host, p);
    }
    let out = run(&mut s, &host, 95);
    assert!(out.contains(&Intent::Cancel(9)), "{out:?}");
    assert_eq!(market_orders(&out), vec![(Side::Sell, Decimal::new(1, 3), "ema crossed below sma".into())]);
    // 9 % down but the resting stop is in charge: no market sell from the close check.
    let (mut s, _) = SmaEma::init(&ctx(PARAMS)).unwrap();
    assert!(market_orders(&run(&mut s, &host, 91)).is_empty());
}

fn resting_stop(id: u64, price: i64) -> tradehost_sdk::OpenOrder {
    tradehost_sdk::OpenOrder {
        id,
        symbol: 0,
        side: Side::Sell,
        kind: OrderKind::StopMarket(Decimal::from(price)),
        qty: Decimal::new(1, 3),
        filled: Decimal::ZERO,
    }
}

#[test]
fn a_stop_the_host_ended_without_a_fill_hands_back_to_the_close_check() {
    // The stop protecting a position can end without a fill (kill switch, DAY expiry, an
    // exchange that dropped it): the strategy is told nothing, but the next candle's
    // answers show it gone, and the close check sells. (A view kept across candles
    // would still see the stop and leave the position unprotected.)
    let (mut s, _) = SmaEma::init(&ctx(PARAMS)).unwrap();
    let mut host = MockHost::holding(0, Decimal::new(1, 3), Some(Decimal::from(100)));
    host.open_orders.push(resting_stop(9, 90));
    assert!(market_orders(&run(&mut s, &host, 95)).is_empty(), "the resting stop is in charge");
    host.open_orders.clear();
    let out = market_orders(&run(&mut s, &host, 89));
    assert_eq!(out, vec![(Side::Sell, Decimal::new(1, 3), "stop-loss".into())]);
}

#[test]
fn an_entry_that_ended_without_a_fill_does_not_block_the_strategy() {
    let (mut s, _) = SmaEma::init(&ctx(PARAMS)).unwrap();
    let mut host = MockHost::default();
    for p in [100, 99, 98, 97] {
        run(&mut s, &host, p);
    }
    assert_eq!(market_orders(&run(&mut s, &host, 110)).len(), 1, "buys on the cross");
    // The market entry is still working: wait.
    host.open_orders.push(tradehost_sdk::OpenOrder { kind: OrderKind::Market, side: Side::Buy, ..resting_stop(3, 0) });
    for p in [100, 99, 98] {
        assert!(market_orders(&run(&mut s, &host, p)).is_empty(), "busy while the entry works ({p})");
    }
    // The venue rejected it after all (no fill): the next upward cross trades again.
    host.open_orders.clear();
    let out = market_orders(&run(&mut s, &host, 120));
    assert_eq!(out, vec![(Side::Buy, Decimal::new(1, 3), "ema crossed above sma".into())]);
}
