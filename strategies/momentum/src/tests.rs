use super::*;
use tradehost_sdk::testing::{MockHost, d, flat_candle, init_context, market_orders};

const BTC: SymbolId = 0;

fn ctx(params: &[(&str, &str)]) -> InitContext {
    init_context(&[(BTC, "BTCUSDT")], params)
}

fn candle(close: &str) -> Candle {
    flat_candle(BTC, d(close), 0)
}

fn run(s: &mut Momentum, host: &MockHost, close: &str) -> Vec<(Side, Decimal, String)> {
    let mut cx = Ctx::new(host);
    s.on_candle(&mut cx, &candle(close));
    market_orders(&cx.take_intents())
}

fn host(position: &str, entry: Option<&str>) -> MockHost {
    MockHost::holding(BTC, d(position), entry.map(d))
}

fn params(stop_loss: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![("qty.BTCUSDT", "0.001"), ("trend_period", "3"), ("momentum_threshold", "0.05"), ("stop_loss", stop_loss)]
}

type Orders = Vec<(Side, Decimal, String)>;

/// (position held, entry price, close, expected orders)
type Step<'a> = (&'a str, Option<&'a str>, &'a str, Orders);

/// Runs steps through one strategy.
fn steps(s: &mut Momentum, steps: &[Step]) {
    for (i, (position, entry, close, want)) in steps.iter().enumerate() {
        assert_eq!(&run(s, &host(position, *entry), close), want, "step {i}: close {close}");
    }
}

fn buy() -> Orders {
    vec![(Side::Buy, d("0.001"), "momentum entry".into())]
}

fn sell() -> Orders {
    vec![(Side::Sell, d("0.001"), "momentum exit".into())]
}

#[test]
fn enters_on_momentum_and_trails_the_peak() {
    let (mut s, _) = Momentum::init(&ctx(&params("0.1"))).unwrap();
    steps(
        &mut s,
        &[
            ("0", None, "100", vec![]),
            ("0", None, "100", vec![]),
            ("0", None, "100", vec![]),
            ("0", None, "103", vec![]), // roc 3 % < 5 %
            ("0", None, "110", buy()),  // roc 10 %, ema 105.75 < 110
            ("0.001", Some("110"), "120", vec![]),
            ("0.001", Some("110"), "109", vec![]), // 9.2 % off the 120 peak
            ("0.001", Some("110"), "108", sell()), // 10 % off the peak
        ],
    );
    assert!(s.legs[0].peak.is_some());
    run(&mut s, &host("0", None), "108");
    assert_eq!(s.legs[0].peak, None, "flat again: the peak is forgotten");
}

#[test]
fn momentum_alone_is_not_enough_below_the_trend() {
    let (mut s, _) = Momentum::init(&ctx(&params("0.1"))).unwrap();
    // roc over 3 candles is +6 % but the close sits below the EMA after a spike.
    steps(
        &mut s,
        &[
            ("0", None, "100", vec![]),
            ("0", None, "130", vec![]),
            ("0", None, "130", vec![]),
            ("0", None, "106", vec![]), // roc vs 100 = 6 %, but ema = 113 > 106
        ],
    );
}

#[test]
fn exits_when_momentum_reverses_above_the_stop() {
    let (mut s, _) = Momentum::init(&ctx(&params("0.5"))).unwrap();
    steps(
        &mut s,
        &[
            ("0", None, "100", vec![]),
            ("0", None, "100", vec![]),
            ("0", None, "100", vec![]),
            ("0", None, "110", buy()),
            ("0.001", Some("110"), "112", vec![]),
            ("0.001", Some("110"), "108", vec![]), // roc vs 100 = +8 %
            ("0.001", Some("110"), "104", sell()), // roc vs 110 = -5.5 %
        ],
    );
}

#[test]
fn an_inherited_position_trails_from_its_entry() {
    let (mut s, _) = Momentum::init(&ctx(&params("0.1"))).unwrap();
    assert_eq!(run(&mut s, &host("0.001", Some("200")), "181"), vec![]);
    assert_eq!(run(&mut s, &host("0.001", Some("200")), "180"), sell());
}

#[test]
fn bad_params_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "missing parameter `qty.BTCUSDT`"),
        (&[("qty", "1"), ("trend_period", "1")], "trend_period"),
        (&[("qty", "1"), ("momentum_threshold", "0")], "momentum_threshold"),
        (&[("qty", "1"), ("stop_loss", "1")], "stop_loss"),
    ];
    for (params, want) in cases {
        let err = Momentum::init(&ctx(params)).unwrap_err();
        assert!(err.contains(want), "{params:?}: {err}");
    }
}

#[test]
fn snapshot_restore_continues_identically() {
    let (mut a, _) = Momentum::init(&ctx(&params("0.1"))).unwrap();
    for c in ["100", "100", "100", "103", "110"] {
        run(&mut a, &host("0", None), c);
    }
    assert_eq!(a.legs[0].peak, Some(d("110")));
    let (mut b, _) = Momentum::init(&ctx(&params("0.1"))).unwrap();
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(b, a);
    let long = host("0.001", Some("110"));
    assert_eq!(run(&mut a, &long, "120"), run(&mut b, &long, "120"));
    assert!(b.restore(&[0]).is_err());
}
