use super::*;
use tradehost_sdk::testing::{MockHost, d, flat_candle, init_context};
use tradehost_sdk::{Intent, OpenOrder, OrderKind, Side};

const ETH: SymbolId = 1;

fn ctx(params: &[(&str, &str)]) -> InitContext {
    init_context(&[(ETH, "ETHUSDT")], params)
}

const PARAMS: &[(&str, &str)] = &[("qty.ETHUSDT", "0.01"), ("spread", "0.002"), ("max_inventory", "0.03")];

fn candle(close: &str) -> Candle {
    flat_candle(ETH, d(close), 0)
}

/// (limit quotes placed as (side, price, qty), ids cancelled)
type Out = (Vec<(Side, Decimal, Decimal)>, Vec<u64>);

fn split(intents: Vec<Intent>) -> Out {
    let mut out = (Vec::new(), Vec::new());
    for i in intents {
        match i {
            Intent::Place(o) => match o.kind {
                OrderKind::Limit(p) => out.0.push((o.side, p, o.qty)),
                other => panic!("quotes are limit orders, got {other:?}"),
            },
            Intent::Cancel(id) => out.1.push(id),
            Intent::Signal(_) => {}
        }
    }
    out
}

fn on_candle(s: &mut MarketMaking, host: &MockHost, close: &str) -> Out {
    let mut cx = Ctx::new(host);
    s.on_candle(&mut cx, &candle(close));
    split(cx.take_intents())
}

fn host(position: &str) -> MockHost {
    MockHost::holding(ETH, d(position), None)
}

fn q(side: Side, price: &str, qty: &str) -> (Side, Decimal, Decimal) {
    (side, d(price), d(qty))
}

#[test]
fn quote_table() {
    // (case, mid, position, expected quotes)
    let cases = [
        ("flat: bid only (nothing to sell)", "2600", "0", vec![q(Side::Buy, "2597.4", "0.01")]),
        ("holding: both sides", "2600", "0.02", vec![q(Side::Buy, "2597.4", "0.01"), q(Side::Sell, "2602.6", "0.01")]),
        (
            "ask limited to what is held",
            "2600",
            "0.004",
            vec![q(Side::Buy, "2597.4", "0.01"), q(Side::Sell, "2602.6", "0.004")],
        ),
        (
            "bid cut to the inventory room",
            "2600",
            "0.025",
            vec![q(Side::Buy, "2597.4", "0.005"), q(Side::Sell, "2602.6", "0.01")],
        ),
        ("at the inventory limit: ask only", "2600", "0.03", vec![q(Side::Sell, "2602.6", "0.01")]),
        // 2600.005 * 0.999 = 2597.404995 -> down to 2597.40; * 1.001 = 2602.605005 -> up to 2602.61.
        (
            "bid rounds down, ask rounds up",
            "2600.005",
            "0.01",
            vec![q(Side::Buy, "2597.4", "0.01"), q(Side::Sell, "2602.61", "0.01")],
        ),
    ];
    for (name, mid, position, want) in cases {
        let (mut s, subs) = MarketMaking::init(&ctx(PARAMS)).unwrap();
        assert!(!subs.ticks);
        assert_eq!(on_candle(&mut s, &host(position), mid), (want, vec![]), "{name}");
    }
}

#[test]
fn requotes_each_candle_keeping_quotes_that_are_still_right() {
    let (mut s, _) = MarketMaking::init(&ctx(PARAMS)).unwrap();
    let mut h = host("0.02");
    let limit = |id, side, price: &str, qty: &str| OpenOrder {
        id,
        symbol: ETH,
        side,
        kind: OrderKind::Limit(d(price)),
        qty: d(qty),
        filled: Decimal::ZERO,
    };
    h.open_orders = vec![limit(1, Side::Buy, "2597.4", "0.01"), limit(2, Side::Sell, "2602.6", "0.01")];
    assert_eq!(on_candle(&mut s, &h, "2600"), (vec![], vec![]), "same mid: nothing to do");
    let moved = on_candle(&mut s, &h, "2610");
    assert_eq!(moved, (vec![q(Side::Buy, "2607.39", "0.01"), q(Side::Sell, "2612.61", "0.01")], vec![1, 2]));
    h.open_orders[1].filled = d("0.004");
    assert_eq!(
        on_candle(&mut s, &h, "2600"),
        (vec![q(Side::Sell, "2602.6", "0.01")], vec![2]),
        "a partly filled ask is replaced"
    );
}

#[test]
fn ticks_mode_requotes_on_half_spread_moves() {
    let (mut s, subs) = MarketMaking::init(&ctx(&[PARAMS, &[("ticks", "true")]].concat())).unwrap();
    assert!(subs.ticks);
    let mut h = host("0");
    let tick =
        |price: &str| Tick { symbol: ETH, time_ms: 1, price: d(price), qty: d("1"), trade_id: 1, buyer_maker: true };
    let mut cx = Ctx::new(&h);
    s.on_tick(&mut cx, &tick("2600"));
    assert!(cx.take_intents().is_empty(), "no quotes before the first candle");
    h.last_prices.insert(ETH, d("2605"));
    assert_eq!(on_candle(&mut s, &h, "2600").0, vec![q(Side::Buy, "2602.39", "0.01")], "mid from the last trade");
    let mut cx = Ctx::new(&h);
    s.on_tick(&mut cx, &tick("2607.6"));
    assert!(cx.take_intents().is_empty(), "2.6 away: under half a spread (2.605)");
    s.on_tick(&mut cx, &tick("2607.7"));
    assert_eq!(split(cx.take_intents()).0, vec![q(Side::Buy, "2605.09", "0.01")]);
}

#[test]
fn bad_params_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "missing parameter `qty.ETHUSDT`"),
        (&[("qty", "1"), ("spread", "0")], "spread"),
        (&[("qty", "1"), ("tick_size", "0")], "tick_size.ETHUSDT"),
        (&[("qty", "1"), ("max_inventory.ETHUSDT", "-1")], "max_inventory.ETHUSDT"),
        (&[("qty", "1"), ("ticks", "yes")], "ticks"),
    ];
    for (params, want) in cases {
        let err = MarketMaking::init(&ctx(params)).unwrap_err();
        assert!(err.contains(want), "{params:?}: {err}");
    }
}

#[test]
fn snapshot_restore_keeps_the_quoted_mid() {
    let (mut a, _) = MarketMaking::init(&ctx(PARAMS)).unwrap();
    on_candle(&mut a, &host("0"), "2600.5");
    let (mut b, _) = MarketMaking::init(&ctx(PARAMS)).unwrap();
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(b, a);
    assert!(b.restore(&[2, 0]).is_err());
}
