//! Every filter rejection names the filter and the allowed value.

use super::*;
use Side::*;

fn strict_engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    let cfg = PairConfig {
        min_qty: d("0.01"),
        max_qty: Some(d("50")),
        min_notional: d("10"),
        max_notional: Some(d("1000000")),
        max_iceberg_parts: 10,
        ..PairConfig::new("BTCUSDT", d("0.01"), d("0.001"))
    };
    e.apply(&Command::AddPair(cfg));
    e.apply(&Command::Deposit { account: ALICE, asset: "USDT".into(), amount: d("100000000") });
    e.apply(&Command::Deposit { account: ALICE, asset: "BTC".into(), amount: d("1000") });
    e
}

#[test]
fn each_filter_names_itself_and_the_allowed_value() {
    let o = |price: &str, qty: &str| NewOrder::limit(ALICE, BTC, Buy, d(price), d(qty), T0);
    let cases: Vec<(NewOrder, &str, &str)> = vec![
        (o("100.005", "1"), "PRICE_FILTER", "price 100.005 is not a multiple of tick size 0.01"),
        (o("0", "1"), "PRICE_FILTER", "must be above 0"),
        (o("100", "1.0005"), "LOT_SIZE", "quantity 1.0005 is not a multiple of step size 0.001"),
        (o("100", "0.005"), "LOT_SIZE", "below the minimum quantity 0.01"),
        (o("100", "51"), "LOT_SIZE", "above the maximum quantity 50"),
        (o("100", "0.05"), "MIN_NOTIONAL", "below the minimum notional 10"),
        (o("30000", "40"), "MAX_ORDER_SIZE", "above the maximum order size 1000000"),
        (
            NewOrder::iceberg(ALICE, BTC, Buy, d("100"), d("10"), d("0.5"), T0),
            "ICEBERG_PARTS",
            "makes 20 parts; allowed 2..=10",
        ),
        (
            NewOrder::iceberg(ALICE, BTC, Buy, d("100"), d("10"), d("10"), T0),
            "ICEBERG_PARTS",
            "makes 1 parts; allowed 2..=10",
        ),
        (
            NewOrder::trailing(ALICE, BTC, Sell, d("1"), 5, None, T0),
            "TRAILING_DELTA",
            "5 bps is outside the allowed 10..=2000 bps",
        ),
        (
            NewOrder::stop(ALICE, BTC, Sell, OrderType::StopLoss, d("99.999"), d("1"), T0),
            "PRICE_FILTER",
            "stop_price 99.999 is not a multiple of tick size 0.01",
        ),
        (
            NewOrder::market_quote(ALICE, BTC, Buy, d("5"), T0),
            "MIN_NOTIONAL",
            "notional 5 is below the minimum notional 10",
        ),
    ];
    let mut e = strict_engine();
    for (order, filter, text) in cases {
        let ev = place(&mut e, order.clone());
        let r = rejection(&ev).unwrap_or_else(|| panic!("accepted: {order:?}"));
        assert_eq!(r.filter(), Some(filter), "{r}");
        let msg = r.to_string();
        assert!(msg.starts_with(filter), "{msg}");
        assert!(msg.contains(text), "{msg} does not contain {text}");
    }
    assert!(e.open_orders(None, None).is_empty());
}

#[test]
fn required_and_unexpected_fields() {
    let mut e = strict_engine();
    let mut no_price = NewOrder::limit(ALICE, BTC, Buy, d("100"), d("1"), T0);
    no_price.price = None;
    let mut stray = NewOrder::market(ALICE, BTC, Buy, d("1"), T0);
    stray.stop_price = Some(d("100"));
    let mut both = NewOrder::market(ALICE, BTC, Buy, d("1"), T0);
    both.quote_quantity = Some(d("100"));
    let cases = [
        (no_price, "LIMIT orders require price"),
        (stray, "MARKET orders do not take stop_price"),
        (both, "MARKET orders do not take quote_quantity (with quantity)"),
        (NewOrder::limit(ALICE, PairId(9), Buy, d("1"), d("1"), T0), "unknown trading pair 9"),
    ];
    for (o, text) in cases {
        let r = rejection(&place(&mut e, o)).unwrap();
        assert_eq!(r.to_string(), text);
        assert_eq!(r.filter(), None);
    }
}

#[test]
fn pair_configs_are_validated_and_symbols_accept_both_spellings() {
    let mut e = strict_engine();
    assert_eq!(e.pair_id("BTC/USDT"), Some(BTC));
    assert_eq!(e.pair_id("btcusdt"), Some(BTC));
    assert_eq!(e.pair_id("ETH/USDT"), None);
    let bad = [
        PairConfig::new("BTC/USDT", d("0.01"), d("0.001")),
        PairConfig::new("NOPE", d("0.01"), d("0.001")),
        PairConfig::new("ETH/USDT", d("0"), d("0.001")),
        PairConfig::new("ETH/USDT", d("0.0000001"), d("0.0000001")),
        PairConfig { min_qty: d("0.0015"), ..PairConfig::new("ETH/USDT", d("0.01"), d("0.001")) },
    ];
    for cfg in bad {
        let ev = e.apply(&Command::AddPair(cfg.clone()));
        assert!(matches!(rejection(&ev), Some(RejectReason::InvalidPair { .. })), "{cfg:?}: {ev:?}");
    }
    let ev = e.apply(&Command::AddPair(PairConfig::new("ETH-USDT", d("0.01"), d("0.0001"))));
    assert!(matches!(&ev[..], [Event::PairAdded { pair: PairId(1), symbol, .. }] if symbol == "ETHUSDT"), "{ev:?}");
}

#[test]
fn market_trades_off_the_tick_grid_are_rejected() {
    let mut e = strict_engine();
    let ev = trade_at(&mut e, "100.001");
    assert_eq!(rejection(&ev).and_then(|r| r.filter()), Some("PRICE_FILTER"));
    assert_eq!(e.last_price(BTC), None);
}
