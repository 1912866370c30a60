use super::*;
use tradehost_sdk::testing::{MockHost, d, flat_candle, init_context, market_orders};

const BTC: SymbolId = 0;

fn ctx(params: &[(&str, &str)]) -> InitContext {
    init_context(&[(BTC, "BTCUSDT")], params)
}

fn candle(close: &str) -> Candle {
    flat_candle(BTC, d(close), 0)
}

fn run(s: &mut Scalping, host: &MockHost, close: &str) -> Vec<(Side, Decimal, String)> {
    let mut cx = Ctx::new(host);
    s.on_candle(&mut cx, &candle(close));
    market_orders(&cx.take_intents())
}

fn host(position: &str, entry: Option<&str>) -> MockHost {
    MockHost::holding(BTC, d(position), entry.map(d))
}

const PARAMS: &[(&str, &str)] =
    &[("qty.BTCUSDT", "0.001"), ("max_position_size.BTCUSDT", "0.0025"), ("rsi_period", "2"), ("rsi_entry", "30")];

#[test]
fn buys_each_fresh_dip_up_to_the_position_cap() {
    // Wide exits so only entries happen here.
    let mut params = PARAMS.to_vec();
    params.extend([("profit_target", "0.5"), ("stop_loss", "0.5")]);
    let (mut s, _) = Scalping::init(&ctx(&params)).unwrap();
    let buy = |q: &str| vec![(Side::Buy, d(q), "rsi dip".to_string())];
    // (position held, close, RSI(2) after it, expected orders)
    let steps = [
        ("0", "100", None, vec![]),
        ("0", "101", None, vec![]),
        ("0", "102", Some(100.0), vec![]),
        // Avg gain 0.5, avg loss 6: a fresh cross below 30.
        ("0", "90", Some(7.69), buy("0.001")),
        // Still below 30: not a new dip.
        ("0.001", "89.9", Some(7.58), vec![]),
        ("0.002", "100", Some(77.24), vec![]),
        // A second dip adds, cut to the 0.0025 cap.
        ("0.002", "85", Some(23.85), buy("0.0005")),
        ("0.0025", "100", Some(68.04), vec![]),
        // A third dip at the cap buys nothing.
        ("0.0025", "80", Some(26.71), vec![]),
    ];
    for (position, close, rsi, want) in steps {
        let got = run(&mut s, &host(position, Some("90")), close);
        let have = s.legs[0].prev_rsi;
        assert!(
            matches!((have, rsi), (None, None)) || (have.unwrap() - rsi.unwrap()).abs() < 0.01,
            "{close}: rsi {have:?}"
        );
        assert_eq!(got, want, "close {close}");
    }
}

#[test]
fn exit_table() {
    // (position, average entry, close, expected)
    let sell = |q: &str, why: &str| vec![(Side::Sell, d(q), why.to_string())];
    let cases = [
        ("0.003", "100", "100.5", sell("0.003", "profit target")),
        ("0.001", "100", "100.49", vec![]),
        ("0.001", "100", "99.8", sell("0.001", "stop loss")),
        ("0.001", "100", "99.81", vec![]),
        ("0", "100", "50", vec![]),
    ];
    for (position, entry, close, want) in cases {
        let (mut s, _) = Scalping::init(&ctx(PARAMS)).unwrap();
        assert_eq!(run(&mut s, &host(position, Some(entry)), close), want, "{position} @ {entry} -> {close}");
    }
}

#[test]
fn custom_targets_are_fractions() {
    let mut params = PARAMS.to_vec();
    params.extend([("profit_target", "0.02"), ("stop_loss", "0.01")]);
    let (s, _) = Scalping::init(&ctx(&params)).unwrap();
    assert_eq!(s.exit_reason(d("100"), d("101.99")), None);
    assert_eq!(s.exit_reason(d("100"), d("102")), Some("profit target"));
    assert_eq!(s.exit_reason(d("100"), d("99")), Some("stop loss"));
}

#[test]
fn bad_params_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "missing parameter `qty.BTCUSDT`"),
        (&[("qty.BTCUSDT", "1"), ("profit_target", "0.5%")], "profit_target"),
        (&[("qty.BTCUSDT", "1"), ("stop_loss", "1.2")], "stop_loss"),
        (&[("qty.BTCUSDT", "1"), ("rsi_period", "1")], "rsi_period"),
        (&[("qty.BTCUSDT", "1"), ("rsi_entry", "100")], "rsi_entry"),
        (&[("qty.BTCUSDT", "1"), ("max_position_size", "0")], "max_position_size.BTCUSDT"),
    ];
    for (params, want) in cases {
        let err = Scalping::init(&ctx(params)).unwrap_err();
        assert!(err.contains(want), "{params:?}: {err}");
    }
}

#[test]
fn snapshot_restore_continues_identically() {
    let (mut a, _) = Scalping::init(&ctx(PARAMS)).unwrap();
    let flat = host("0", None);
    for p in ["100", "101", "102"] {
        run(&mut a, &flat, p);
    }
    let (mut b, _) = Scalping::init(&ctx(PARAMS)).unwrap();
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(b, a);
    assert_eq!(run(&mut a, &flat, "90"), run(&mut b, &flat, "90"));
    // A different period starts the indicator afresh instead of mixing states.
    let mut params = PARAMS.to_vec();
    params.retain(|(k, _)| *k != "rsi_period");
    let (mut c, _) = Scalping::init(&ctx(&params)).unwrap();
    c.restore(&a.snapshot()).unwrap();
    assert_eq!(c.legs[0].rsi.value(), None);
    assert!(c.restore(&[2]).is_err());
}
