use super::*;
use tradehost_sdk::OrderKind;
use tradehost_sdk::testing::{MockHost, d, flat_candle, init_context, market_orders};

const BTC: SymbolId = 0;

fn ctx(params: &[(&str, &str)]) -> InitContext {
    init_context(&[(BTC, "BTCUSDT")], params)
}

const PARAMS: &[(&str, &str)] =
    &[("position_size.BTCUSDT", "0.01"), ("lookback_period", "4"), ("deviation_threshold", "1.5")];

fn candle(close: &str) -> Candle {
    flat_candle(BTC, d(close), 0)
}

fn run(s: &mut MeanReversion, host: &MockHost, close: &str) -> Vec<(Side, Decimal, String)> {
    let mut cx = Ctx::new(host);
    s.on_candle(&mut cx, &candle(close));
    market_orders(&cx.take_intents())
}

fn host(position: &str) -> MockHost {
    MockHost::holding(BTC, d(position), None)
}

#[test]
fn action_table() {
    let (s, _) = MeanReversion::init(&ctx(PARAMS)).unwrap();
    // (long?, z, expected)
    let cases = [
        (false, None, None),
        (false, Some(-1.5), Some(Side::Buy)),
        (false, Some(-1.49), None),
        (false, Some(3.0), None),
        (true, Some(-0.01), None),
        (true, Some(0.0), Some(Side::Sell)),
        (true, Some(-3.0), None),
        (true, None, None),
    ];
    for (long, z, want) in cases {
        assert_eq!(s.action(long, z), want, "long={long} z={z:?}");
    }
}

#[test]
fn buys_below_the_lower_band_and_sells_at_the_mean() {
    let (mut s, _) = MeanReversion::init(&ctx(PARAMS)).unwrap();
    let buy = vec![(Side::Buy, d("0.01"), "mean reversion entry".to_string())];
    let sell = |q: &str| vec![(Side::Sell, d(q), "mean reversion exit".to_string())];
    // (position held, close, expected); z worked by hand over the 4-close window.
    let steps = [
        ("0", "100", vec![]),
        ("0", "100", vec![]),
        ("0", "100", vec![]),
        ("0", "100", vec![]),         // flat window: no z-score, no trade
        ("0", "101", vec![]),         // z = +1.73
        ("0", "95", buy),             // [100,100,101,95]: mean 99, std 2.345, z = -1.71
        ("0.01", "97", vec![]),       // z = -0.52: not reverted yet
        ("0.01", "99", sell("0.01")), // [101,95,97,99]: z = +0.45
    ];
    for (i, (position, close, want)) in steps.into_iter().enumerate() {
        assert_eq!(run(&mut s, &host(position), close), want, "step {i}: close {close}");
    }
}

#[test]
fn waits_while_an_order_works() {
    let (mut s, _) = MeanReversion::init(&ctx(PARAMS)).unwrap();
    let mut h = host("0");
    h.open_orders.push(tradehost_sdk::OpenOrder {
        id: 1,
        symbol: BTC,
        side: Side::Buy,
        kind: OrderKind::Limit(d("90")),
        qty: d("1"),
        filled: Decimal::ZERO,
    });
    for close in ["100", "100", "100", "101", "95"] {
        assert!(run(&mut s, &h, close).is_empty());
    }
}

#[test]
fn bad_params_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "missing parameter `position_size.BTCUSDT`"),
        (&[("position_size", "1"), ("lookback_period", "1")], "lookback_period"),
        (&[("position_size", "1"), ("deviation_threshold", "0")], "deviation_threshold"),
        (&[("position_size", "1"), ("exit_zscore", "-2.5")], "exit_zscore"),
        (&[("position_size", "-1")], "position_size.BTCUSDT"),
    ];
    for (params, want) in cases {
        let err = MeanReversion::init(&ctx(params)).unwrap_err();
        assert!(err.contains(want), "{params:?}: {err}");
    }
}

#[test]
fn snapshot_restore_continues_identically() {
    let (mut a, _) = MeanReversion::init(&ctx(PARAMS)).unwrap();
    let flat = host("0");
    for p in ["100", "100", "101"] {
        run(&mut a, &flat, p);
    }
    let (mut b, _) = MeanReversion::init(&ctx(PARAMS)).unwrap();
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(b, a);
    assert_eq!(run(&mut a, &flat, "95"), run(&mut b, &flat, "95"));
    // A new threshold keeps the window but uses the new band width.
    let mut wider = PARAMS.to_vec();
    wider[2] = ("deviation_threshold", "3");
    let (mut c, _) = MeanReversion::init(&ctx(&wider)).unwrap();
    c.restore(&a.snapshot()).unwrap();
    assert_eq!(c.legs[0].bands.multipliers(), (3.0, 3.0));
    assert!(c.legs[0].bands.value().is_some(), "history kept");
    assert!(c.restore(&[]).is_err());
}
