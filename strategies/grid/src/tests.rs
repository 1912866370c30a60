use super::book::Phase;
use super::*;
use tradehost_sdk::testing::{MockHost, d, flat_candle, init_context};
use tradehost_sdk::{Intent, OpenOrder, OrderKind, Side, SymbolId};

const BTC: SymbolId = 0;

fn ctx(params: &[(&str, &str)]) -> InitContext {
    init_context(&[(BTC, "BTCUSDT")], params)
}

const PARAMS: &[(&str, &str)] =
    &[("grid_size.BTCUSDT", "50"), ("grid_levels", "3"), ("investment_amount.BTCUSDT", "300")];

fn candle(close: &str) -> Candle {
    flat_candle(BTC, d(close), 0)
}

/// (limit orders placed as (side, price, qty), ids cancelled)
type Out = (Vec<(Side, Decimal, Decimal)>, Vec<u64>);

fn split(intents: Vec<Intent>) -> Out {
    let mut out = (Vec::new(), Vec::new());
    for i in intents {
        match i {
            Intent::Place(o) => match o.kind {
                OrderKind::Limit(p) => out.0.push((o.side, p, o.qty)),
                other => panic!("grid only rests limit orders, got {other:?}"),
            },
            Intent::Cancel(id) => out.1.push(id),
            Intent::Signal(_) => {}
        }
    }
    out
}

fn on_candle(g: &mut Grid, host: &MockHost, close: &str) -> Out {
    let mut cx = Ctx::new(host);
    g.on_candle(&mut cx, &candle(close));
    split(cx.take_intents())
}

fn on_fill(g: &mut Grid, host: &MockHost, id: u64, side: Side, price: &str, qty: &str) -> Out {
    let mut cx = Ctx::new(host);
    let f = Fill { symbol: BTC, order_id: id, side, price: d(price), qty: d(qty), fee: Decimal::ZERO, time_ms: 0 };
    g.on_fill(&mut cx, &f);
    split(cx.take_intents())
}

fn limit(id: u64, side: Side, price: &str, qty: &str) -> OpenOrder {
    OpenOrder { id, symbol: BTC, side, kind: OrderKind::Limit(d(price)), qty: d(qty), filled: Decimal::ZERO }
}

fn buy(price: &str, qty: &str) -> (Side, Decimal, Decimal) {
    (Side::Buy, d(price), d(qty))
}

/// The three resting buys of a grid built at 60037.5.
fn resting() -> Vec<OpenOrder> {
    vec![
        limit(1, Side::Buy, "59950", "0.00166"),
        limit(2, Side::Buy, "59900", "0.00166"),
        limit(3, Side::Buy, "59850", "0.00167"),
    ]
}

fn built() -> (Grid, MockHost) {
    let (mut g, _) = Grid::init(&ctx(PARAMS)).unwrap();
    let mut host = MockHost::default();
    on_candle(&mut g, &host, "60037.5");
    host.open_orders = resting();
    (g, host)
}

#[test]
fn builds_equal_value_buys_below_the_anchor() {
    let (mut g, _) = Grid::init(&ctx(PARAMS)).unwrap();
    let (placed, cancelled) = on_candle(&mut g, &MockHost::default(), "60037.5");
    // Anchor 60000; 100 USDT per level, rounded down to 5 decimals.
    assert_eq!(placed, vec![buy("59950", "0.00166"), buy("59900", "0.00166"), buy("59850", "0.00167")]);
    assert!(cancelled.is_empty());
}

#[test]
fn reconcile_table() {
    // (case, open orders, expected (placed, cancelled))
    let stranger = limit(9, Side::Sell, "12345", "1");
    let stop = OpenOrder { kind: OrderKind::StopMarket(d("50000")), ..limit(8, Side::Sell, "0", "1") };
    let duplicate = limit(4, Side::Buy, "59900", "0.00166");
    let cases: Vec<(&str, Vec<OpenOrder>, Out)> = vec![
        ("all resting: nothing to do", resting(), (vec![], vec![])),
        ("one lost: placed again", resting()[..2].to_vec(), (vec![buy("59850", "0.00167")], vec![])),
        ("a stranger limit: cancelled", [resting(), vec![stranger]].concat(), (vec![], vec![9])),
        ("a duplicate: cancelled", [resting(), vec![duplicate]].concat(), (vec![], vec![4])),
        ("stop orders are not the grid's business", [resting(), vec![stop]].concat(), (vec![], vec![])),
    ];
    for (name, open, want) in cases {
        let (mut g, mut host) = built();
        host.open_orders = open;
        assert_eq!(on_candle(&mut g, &host, "60010"), want, "{name}");
    }
}

#[test]
fn a_filled_buy_rests_a_sell_one_step_up_and_back() {
    let (mut g, host) = built();
    on_candle(&mut g, &host, "60010"); // learns the ids
    let (placed, _) = on_fill(&mut g, &host, 1, Side::Buy, "59950", "0.00166");
    assert_eq!(placed, vec![(Side::Sell, d("60000"), d("0.00166"))]);
    let (placed, _) = on_fill(&mut g, &host, 77, Side::Sell, "60000", "0.00166");
    assert_eq!(placed, vec![buy("59950", "0.00166")], "the buy is re-armed at its level");
    assert!(g.books[0].rungs.iter().all(|r| r.phase == Phase::Buying));
}

#[test]
fn fills_find_their_level() {
    // (case, learn ids first?, fill id, fill price, level that must flip)
    let cases = [
        ("by id, though marketable at a lower price", true, 2, "59000", "59900"),
        ("unknown id: nearest level at or above the price", false, 42, "59860", "59900"),
        ("unknown id, exact level", false, 42, "59850", "59850"),
    ];
    for (name, learn, id, price, level) in cases {
        let (mut g, host) = built();
        if learn {
            on_candle(&mut g, &host, "60010");
        }
        on_fill(&mut g, &host, id, Side::Buy, price, "0.00166");
        let flipped: Vec<Decimal> =
            g.books[0].rungs.iter().filter(|r| r.phase == Phase::Selling).map(|r| r.buy_price).collect();
        assert_eq!(flipped, vec![d(level)], "{name}");
    }
    let (mut g, host) = built();
    assert!(on_fill(&mut g, &host, 5, Side::Sell, "70000", "1").0.is_empty(), "a sell with no level is ignored");
    assert!(host.logs.borrow().iter().any(|(_, m)| m.contains("matches no grid level")));
}

#[test]
fn partial_fill_flips_the_level_and_cancels_the_rest() {
    let (mut g, mut host) = built();
    on_candle(&mut g, &host, "60010");
    let (placed, _) = on_fill(&mut g, &host, 1, Side::Buy, "59950", "0.001");
    assert_eq!(placed, vec![(Side::Sell, d("60000"), d("0.001"))]);
    host.open_orders =
        vec![OpenOrder { filled: d("0.001"), ..resting()[0].clone() }, resting()[1].clone(), resting()[2].clone()];
    host.open_orders.push(limit(5, Side::Sell, "60000", "0.001"));
    assert_eq!(on_candle(&mut g, &host, "59990"), (vec![], vec![1]));
}

#[test]
fn recenters_only_when_flat_and_well_above() {
    // (case, a level holds coins?, close, rebuilt?)
    let cases = [
        ("two steps up: stay", false, "60100", false),
        ("three steps up and flat: rebuild", false, "60150", true),
        ("three steps up holding coins: stay", true, "60150", false),
    ];
    for (name, holding, close, rebuilt) in cases {
        let (mut g, mut host) = built();
        on_candle(&mut g, &host, "60010");
        if holding {
            on_fill(&mut g, &host, 1, Side::Buy, "59950", "0.00166");
            host.open_orders[0] = limit(6, Side::Sell, "60000", "0.00166");
        }
        let (placed, cancelled) = on_candle(&mut g, &host, close);
        assert_eq!(g.books[0].anchor == Some(d(close)), rebuilt, "{name}");
        if rebuilt {
            assert_eq!(cancelled, vec![1, 2, 3], "{name}");
            assert_eq!(placed.iter().map(|p| p.1).collect::<Vec<_>>(), vec![d("60100"), d("60050"), d("60000")]);
        } else {
            assert_eq!((placed, cancelled), (vec![], vec![]), "{name}");
        }
    }
}

#[test]
fn bad_params_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("investment_amount", "300")], "missing parameter `grid_size.BTCUSDT`"),
        (&[("grid_size", "50")], "missing parameter `investment_amount.BTCUSDT`"),
        (&[("grid_size", "-5"), ("investment_amount", "300")], "grid_size.BTCUSDT"),
        (&[("grid_size", "50"), ("investment_amount", "300"), ("grid_levels", "0")], "grid_levels"),
        (&[("grid_size", "50"), ("investment_amount", "300"), ("qty_decimals", "9")], "qty_decimals.BTCUSDT"),
    ];
    for (params, want) in cases {
        let err = Grid::init(&ctx(params)).unwrap_err();
        assert!(err.contains(want), "{params:?}: {err}");
    }
}

#[test]
fn tiny_investment_warns_about_unusable_levels() {
    let (mut g, _) = Grid::init(&ctx(&[("grid_size", "50"), ("investment_amount", "0.1")])).unwrap();
    let host = MockHost::default();
    assert_eq!(on_candle(&mut g, &host, "60000"), (vec![], vec![]));
    assert!(host.logs.borrow().iter().any(|(_, m)| m.contains("0 of 5 levels usable")));
}

#[test]
fn snapshot_restore_keeps_the_grid_unless_params_changed() {
    let (mut a, host) = built();
    on_candle(&mut a, &host, "60010");
    on_fill(&mut a, &host, 2, Side::Buy, "59900", "0.00166");
    let (mut b, _) = Grid::init(&ctx(PARAMS)).unwrap();
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(b, a);
    let mut changed = PARAMS.to_vec();
    changed[0] = ("grid_size.BTCUSDT", "100");
    let (mut c, _) = Grid::init(&ctx(&changed)).unwrap();
    c.restore(&a.snapshot()).unwrap();
    assert_eq!(c.books[0].anchor, None, "a different grid starts afresh");
    assert!(c.restore(&[7]).is_err());
}
