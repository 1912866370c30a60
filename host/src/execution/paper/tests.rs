use super::*;
use std::collections::BTreeMap;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn info() -> SymbolInfo {
    SymbolInfo::parse("BTCUSDT").unwrap()
}

fn tick(price: &str, t: i64) -> Tick {
    Tick { symbol: SymbolId(0), time_ms: t, price: d(price), qty: d("1"), trade_id: t as u64, buyer_maker: false }
}

fn order(id: u64, side: Side, kind: OrderKind, qty: &str) -> Order {
    Order {
        id,
        instance: "a".into(),
        symbol: SymbolId(0),
        side,
        kind,
        qty: d(qty),
        filled: Decimal::ZERO,
        status: OrderStatus::New,
        reason: None,
        tag: String::new(),
        time_ms: 5,
    }
}

fn venue() -> PaperVenue {
    let mut v = PaperVenue::default();
    v.open_account("a", Account::new(BTreeMap::from([("USDT".into(), d("10000"))]), d("0.001")));
    v
}

#[test]
fn market_order_fills_at_last_trade_with_taker_fee() {
    let mut v = venue();
    let mut o = order(1, Side::Buy, OrderKind::Market, "0.1");
    assert!(v.submit(&mut o, &info()).is_empty());
    assert_eq!(o.status, OrderStatus::Rejected);
    assert_eq!(o.reason.as_deref(), Some("no market price yet for BTCUSDT"));

    v.on_tick(&tick("60000.5", 1), &info());
    let mut o = order(2, Side::Buy, OrderKind::Market, "0.1");
    let fills = v.submit(&mut o, &info());
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(fills.len(), 1);
    assert_eq!((fills[0].price, fills[0].qty, fills[0].fee), (d("60000.5"), d("0.1"), d("6.00005")));
    let acc = v.account("a").unwrap();
    assert_eq!(acc.balance("USDT"), d("10000") - d("6000.05") - d("6.00005"));
    assert_eq!(acc.balance("BTC"), d("0.1"));
}

#[test]
fn insufficient_balance_is_rejected_with_amounts() {
    let mut v = venue();
    v.on_tick(&tick("60000", 1), &info());
    let mut o = order(1, Side::Buy, OrderKind::Market, "1");
    v.submit(&mut o, &info());
    assert_eq!(o.reason.as_deref(), Some("insufficient USDT balance: need 60060, have 10000"));
    let mut o = order(2, Side::Sell, OrderKind::Market, "0.1");
    v.submit(&mut o, &info());
    assert_eq!(o.reason.as_deref(), Some("insufficient BTC balance: need 0.1, have 0"));
}

#[test]
fn resting_limit_and_stop_orders_fill_when_reached() {
    let mut v = venue();
    v.on_tick(&tick("100", 1), &info());
    let mut buy = order(1, Side::Buy, OrderKind::Limit(d("95")), "1");
    assert!(v.submit(&mut buy, &info()).is_empty());
    assert_eq!(buy.status, OrderStatus::New);
    let mut stop = order(2, Side::Sell, OrderKind::StopMarket(d("101")), "1");
    v.submit(&mut stop, &info());
    assert_eq!(stop.reason.as_deref(), Some("stop 101 would trigger immediately (last price 100)"));
    assert!(v.on_tick(&tick("96", 2), &info()).is_empty(), "96 does not reach a 95 limit");
    let done = v.on_tick(&tick("94", 3), &info());
    assert_eq!(done.len(), 1);
    let (o, fill) = &done[0];
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(
        fill.as_ref().map(|f| (f.price, f.time_ms)),
        Some((d("95"), 3)),
        "fills at its limit, at the tick's time"
    );
    let mut stop = order(3, Side::Sell, OrderKind::StopMarket(d("90")), "1");
    v.submit(&mut stop, &info());
    assert_eq!(v.open_orders().len(), 1);
    let done = v.on_tick(&tick("89.5", 4), &info());
    assert_eq!(done[0].1.as_ref().map(|f| f.price), Some(d("89.5")), "a stop fills at the trade that triggered it");
    assert!(v.open_orders().is_empty());
    assert_eq!(v.cancel(3), None);
}

fn bar(open: &str, high: &str, low: &str, close: &str, minute: i64) -> crate::market_data::Candle {
    crate::market_data::Candle {
        symbol: SymbolId(0),
        open_time_ms: minute * 60_000,
        close_time_ms: minute * 60_000 + 59_999,
        open: d(open),
        high: d(high),
        low: d(low),
        close: d(close),
        volume: d("1"),
        quote_volume: d(close),
        trades: 1,
        taker_buy_base: Decimal::ZERO,
        taker_buy_quote: Decimal::ZERO,
    }
}

#[test]
fn bar_mode_fills_at_next_open_and_stops_against_the_range() {
    let mut v = venue();
    v.set_bar_mode(true);
    assert!(v.on_bar_range(&bar("100", "101", "99", "100", 0), &info()).is_empty());
    // Decided on the close of bar 0: waits for bar 1's open.
    let mut buy = order(1, Side::Buy, OrderKind::Market, "1");
    assert!(v.submit(&mut buy, &info()).is_empty());
    assert_eq!(buy.status, OrderStatus::New);
    let done = v.on_bar_open(&bar("102", "103", "95", "96", 1), &info());
    assert_eq!(done[0].1.as_ref().map(|f| (f.price, f.time_ms)), Some((d("102"), 60_000)), "next open");
    // A stop placed after the entry meets the same candle's range: low 95 <= 97.
    let mut stop = order(2, Side::Sell, OrderKind::StopMarket(d("97")), "1");
    v.submit(&mut stop, &info());
    let done = v.on_bar_range(&bar("102", "103", "95", "96", 1), &info());
    assert_eq!(done[0].1.as_ref().map(|f| f.price), Some(d("97")), "fills at the stop price");
    // A candle that opens beyond the stop fills at its open.
    v.on_bar_open(&bar("100", "100", "100", "100", 2), &info());
    let mut buy = order(3, Side::Buy, OrderKind::Market, "1");
    v.submit(&mut buy, &info());
    v.on_bar_open(&bar("100", "101", "99", "100", 3), &info());
    let mut stop = order(4, Side::Sell, OrderKind::StopMarket(d("90")), "1");
    v.submit(&mut stop, &info());
    assert!(v.on_bar_range(&bar("100", "101", "91", "95", 3), &info()).is_empty(), "91 stays above 90");
    let done = v.on_bar_range(&bar("85", "88", "80", "86", 4), &info());
    assert_eq!(done[0].1.as_ref().map(|f| f.price), Some(d("85")), "gap below the stop: fills at the open");
}

/// The integer comparison agrees with `Decimal`'s on every pair: equal and different
/// scales, signs, trailing zeros, and mantissas too large to rescale.
#[test]
fn price_comparison_agrees_with_decimal() {
    let values = [
        "0",
        "-0",
        "1",
        "1.0",
        "1.00000",
        "0.99999",
        "42027.6",
        "42027.60",
        "42027.61",
        "35723.4600",
        "35723.46",
        "-3.5",
        "-3.50",
        "-3.49",
        "79228162514264337593543950335",
        "7922816251426433759354395033.5",
        "0.0000000000000000000000000001",
        "100000000000000000000",
        "99999999999999999999.99",
    ];
    let ds: Vec<Decimal> = values.iter().map(|v| v.parse().unwrap()).collect();
    for a in &ds {
        for b in &ds {
            assert_eq!(super::price_cmp(a, b), a.cmp(b), "{a} vs {b}");
        }
    }
}

proptest::proptest! {
    /// The per-symbol bounds (`Reach`) say a candle touches a working order exactly when
    /// one of them, checked one by one, would execute; through placements, cancels and
    /// the bars that fill orders, on two symbols, with an open outside the range in some.
    #[test]
    fn bar_touches_agrees_with_every_order_checked(
        steps in proptest::collection::vec((0u8..6, 0u32..2, 90u32..111, 0u32..8, 0u32..8, 0u32..20), 1..60),
    ) {
        let mut v = venue();
        let (a, b) = (SymbolId(0), SymbolId(1));
        v.set_bar_mode(true);
        v.last.insert(a, d("100"));
        v.last.insert(b, d("100"));
        let mut next_id = 1;
        // Bad data too: an open outside the candle's low-high range (`off` > 14).
        for (op, sym, price, up, down, off) in steps {
            let symbol = if sym == 0 { a } else { b };
            let p = Decimal::from(price);
            let candle = crate::market_data::Candle {
                symbol,
                open: if off > 14 { p + Decimal::from(off) - Decimal::from(17) } else { p },
                high: p + Decimal::from(up),
                low: p - Decimal::from(down),
                close: p,
                ..bar("1", "1", "1", "1", next_id as i64)
            };
            let expected = v.open_orders().iter().any(|o| {
                o.symbol == symbol && (matches!(o.kind, OrderKind::Market) || super::bar_price(o, &candle).is_some())
            });
            proptest::prop_assert_eq!(v.bar_touches(&candle), expected);
            let kind = match op {
                0 => OrderKind::Limit(p),
                1 => OrderKind::StopMarket(p),
                2 => OrderKind::Market,
                _ => OrderKind::Limit(p + Decimal::from(up)),
            };
            match op {
                0..=3 => {
                    let side = if (price + up) % 2 == 0 { Side::Buy } else { Side::Sell };
                    let mut o = Order { symbol, ..order(next_id, side, kind, "0.01") };
                    next_id += 1;
                    v.submit(&mut o, &info());
                }
                4 => {
                    if let Some(id) = v.open_orders().get(price as usize % 3).map(|o| o.id) {
                        v.cancel(id);
                    }
                }
                _ => {
                    v.on_bar_open(&candle, &info());
                    v.on_bar_range(&candle, &info());
                    let left = v.open_orders().iter().any(|o| {
                        o.symbol == symbol && (matches!(o.kind, OrderKind::Market) || super::bar_price(o, &candle).is_some())
                    });
                    proptest::prop_assert!(!left, "a bar leaves no order it reaches");
                }
            }
        }
    }
}
