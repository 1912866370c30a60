use super::*;
use tradehost_sdk::testing::{MockHost, d, flat_candle, init_context, market_orders};
use tradehost_sdk::{OpenOrder, OrderKind};

const BTC: SymbolId = 0;
const DAY: i64 = 86_400_000;

fn ctx(params: &[(&str, &str)]) -> InitContext {
    init_context(&[(BTC, "BTCUSDT")], params)
}

fn candle(close: &str, close_time_ms: i64) -> Candle {
    flat_candle(BTC, d(close), close_time_ms - 59_999)
}

fn fill(order_id: u64, side: Side, price: &str, qty: &str, fee: &str, time_ms: i64) -> Fill {
    Fill { symbol: BTC, order_id, side, price: d(price), qty: d(qty), fee: d(fee), time_ms }
}

fn on_candle(s: &mut Spread, host: &MockHost, close: &str, t: i64) -> Vec<(Side, Decimal, String)> {
    let mut cx = Ctx::new(host);
    s.on_candle(&mut cx, &candle(close, t));
    market_orders(&cx.take_intents())
}

fn host(position: &str, entry: Option<&str>) -> MockHost {
    MockHost::holding(BTC, d(position), entry.map(d))
}

const PARAMS: &[(&str, &str)] = &[("qty.BTCUSDT", "0.001"), ("max_trades", "3")];

#[test]
fn decision_table() {
    let buy = |q: &str| vec![(Side::Buy, d(q), "spread entry".to_string())];
    let sell = |q: &str| vec![(Side::Sell, d(q), "spread take-profit".to_string())];
    // (case, extra params, position, entry, close, trades already made, expected orders)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, &[(&str, &str)], &str, Option<&str>, &str, u32, Vec<(Side, Decimal, String)>)> = vec![
        ("flat: buy qty", &[], "0", None, "20000", 0, buy("0.001")),
        ("spread exactly 0.05 %: sell all", &[], "0.002", Some("20000"), "20010", 0, sell("0.002")),
        ("just under the spread: hold", &[], "0.001", Some("20000"), "20009.99", 0, vec![]),
        ("far below entry: no stop loss, hold", &[], "0.001", Some("20000"), "15000", 0, vec![]),
        ("max_trades reached: no entry", &[], "0", None, "20000", 3, vec![]),
        ("max_trades reached: exits still allowed", &[], "0.001", Some("20000"), "20100", 3, sell("0.001")),
        (
            "custom threshold 1 %: 0.5 % is not enough",
            &[("spread_threshold", "0.01")],
            "0.001",
            Some("100"),
            "100.5",
            0,
            vec![],
        ),
        ("buy cut to max_position", &[("max_position.BTCUSDT", "0.0004")], "0", None, "20000", 0, buy("0.0004")),
        ("symbol-less qty applies too", &[("qty.BTCUSDT", "0.005")], "0", None, "20000", 0, buy("0.005")),
    ];
    for (name, extra, position, entry, close, trades, want) in cases {
        let mut params: Vec<(&str, &str)> = PARAMS.to_vec();
        params.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        params.extend_from_slice(extra);
        let (mut s, subs) = Spread::init(&ctx(&params)).unwrap();
        assert!(!subs.ticks, "{name}: candles by default");
        s.trades = trades;
        assert_eq!(on_candle(&mut s, &host(position, entry), close, 60_000), want, "{name}");
    }
}

#[test]
fn waits_while_an_order_is_working_or_pending() {
    let (mut s, _) = Spread::init(&ctx(PARAMS)).unwrap();
    let mut h = host("0", None);
    h.open_orders.push(OpenOrder {
        id: 9,
        symbol: BTC,
        side: Side::Buy,
        kind: OrderKind::Limit(d("19000")),
        qty: d("0.001"),
        filled: Decimal::ZERO,
    });
    assert!(on_candle(&mut s, &h, "20000", 60_000).is_empty(), "a working order blocks decisions");
    h.open_orders.clear();
    assert_eq!(on_candle(&mut s, &h, "20000", 120_000).len(), 1, "then it buys");
    // The buy was rejected (no fill came back): the next decision waits out the timeout.
    let mut cx = Ctx::new(&h);
    s.decide(&mut cx, BTC, d("20000"), 150_000);
    assert!(cx.take_intents().is_empty(), "30 s later: still pending");
    assert_eq!(on_candle(&mut s, &h, "20000", 180_000).len(), 1, "60 s later: tries again");
}

#[test]
fn daily_loss_stops_entries_until_the_next_utc_day() {
    let (mut s, _) = Spread::init(&ctx(&[("qty.BTCUSDT", "0.1"), ("max_daily_loss", "5")])).unwrap();
    let h = host("0", None);
    let mut cx = Ctx::new(&h);
    let t = 3 * DAY + 1_000;
    // Buy 0.1 at 20000 (fee 2), sell at 19990 (fee 2): 1999 - 2000 - 2 - 2 = -5 net.
    s.on_fill(&mut cx, &fill(1, Side::Buy, "20000", "0.1", "2", t));
    assert_eq!(s.trades, 1);
    s.on_fill(&mut cx, &fill(2, Side::Sell, "19990", "0.1", "2", t + 60_000));
    assert_eq!(s.day_pnl, d("-5"));
    assert!(h.logs.borrow().iter().any(|(l, m)| *l == Level::Warn && m.contains("daily loss limit")));
    assert!(on_candle(&mut s, &h, "20000", t + 120_000).is_empty(), "no entry for the rest of the day");
    assert!(on_candle(&mut s, &h, "20000", 4 * DAY - 1).is_empty(), "the day's last millisecond");
    assert_eq!(on_candle(&mut s, &h, "20000", 4 * DAY + 59_999).len(), 1, "a new UTC day trades again");
    assert_eq!(s.day_pnl, Decimal::ZERO);
}

#[test]
fn a_fee_taken_in_the_base_asset_counts_against_the_day() {
    // Bought 0.01 at 60,000; the venue kept 0.00001 BTC (worth 0.6) as its fee, so the
    // position is 0.00999, and selling all of it leaves the strategy flat.
    let (mut s, _) = Spread::init(&ctx(&[("qty.BTCUSDT", "0.01")])).unwrap();
    let h = host("0.00999", Some("60000"));
    s.on_fill(&mut Ctx::new(&h), &fill(1, Side::Buy, "60000", "0.01", "0.6", 1));
    let flat = host("0", None);
    s.on_fill(&mut Ctx::new(&flat), &fill(2, Side::Sell, "60120", "0.00999", "0.6006", 2));
    // 0.00999 * 60,120 = 600.5988 received for 600 + 0.6 paid, less the sell's 0.6006.
    assert_eq!(s.day_pnl, d("-0.6018"));
    assert_eq!(s.legs[0].held, Decimal::ZERO);
}

#[test]
fn profits_offset_losses_within_the_day() {
    let (mut s, _) = Spread::init(&ctx(&[("qty.BTCUSDT", "1"), ("max_daily_loss", "10")])).unwrap();
    let h = host("0", None);
    let mut cx = Ctx::new(&h);
    s.on_fill(&mut cx, &fill(1, Side::Buy, "100", "1", "0", 1));
    s.on_fill(&mut cx, &fill(2, Side::Sell, "120", "1", "0", 2));
    s.on_fill(&mut cx, &fill(3, Side::Buy, "100", "1", "0", 3));
    s.on_fill(&mut cx, &fill(4, Side::Sell, "85", "1", "0", 4));
    assert_eq!(s.day_pnl, d("5"), "+20 then -15");
    assert!(!s.loss_limit_hit());
}

#[test]
fn max_trades_counts_each_filled_entry_once() {
    let (mut s, _) = Spread::init(&ctx(&[("qty.BTCUSDT", "0.002"), ("max_trades", "2")])).unwrap();
    let h = host("0", None);
    let mut cx = Ctx::new(&h);
    s.on_fill(&mut cx, &fill(1, Side::Buy, "100", "0.001", "0", 1));
    s.on_fill(&mut cx, &fill(1, Side::Buy, "100", "0.001", "0", 2));
    assert_eq!(s.trades, 1, "two partial fills of one order are one entry");
    s.on_fill(&mut cx, &fill(2, Side::Sell, "101", "0.002", "0", 3));
    s.on_fill(&mut cx, &fill(3, Side::Buy, "100", "0.002", "0", 4));
    assert_eq!(s.trades, 2);
    assert!(h.logs.borrow().iter().any(|(_, m)| m.contains("max_trades (2) reached")));
    assert!(on_candle(&mut s, &h, "100", 60_000).is_empty());
}

#[test]
fn ticks_mode_decides_on_trades() {
    let (mut s, subs) = Spread::init(&ctx(&[("qty.BTCUSDT", "0.001"), ("ticks", "true")])).unwrap();
    assert!(subs.ticks);
    let h = host("0", None);
    assert!(on_candle(&mut s, &h, "20000", 60_000).is_empty(), "candles only roll the day");
    let mut cx = Ctx::new(&h);
    let tick = Tick { symbol: BTC, time_ms: 61_000, price: d("20001"), qty: d("0.1"), trade_id: 1, buyer_maker: false };
    s.on_tick(&mut cx, &tick);
    assert_eq!(market_orders(&cx.take_intents()), vec![(Side::Buy, d("0.001"), "spread entry".into())]);
    s.on_fill(&mut cx, &fill(5, Side::Buy, "20001", "0.001", "0", 61_000));
    assert_eq!(s.legs[0].pending_since, None, "a fill ends the wait");
}

#[test]
fn bad_params_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "missing parameter `qty.BTCUSDT`"),
        (&[("qty.BTCUSDT", "0")], "qty.BTCUSDT"),
        (&[("qty.BTCUSDT", "1"), ("spread_threshold", "-0.1")], "spread_threshold"),
        (&[("qty.BTCUSDT", "1"), ("max_trades", "ten")], "max_trades"),
        (&[("qty.BTCUSDT", "1"), ("max_daily_loss", "0")], "max_daily_loss"),
        (&[("qty.BTCUSDT", "1"), ("max_position.BTCUSDT", "-1")], "max_position.BTCUSDT"),
    ];
    for (params, want) in cases {
        let err = Spread::init(&ctx(params)).unwrap_err();
        assert!(err.contains(want), "{params:?}: {err}");
    }
}

#[test]
fn snapshot_restore_keeps_the_session_limits() {
    let (mut a, _) = Spread::init(&ctx(PARAMS)).unwrap();
    let h = host("0", None);
    let mut cx = Ctx::new(&h);
    a.on_fill(&mut cx, &fill(7, Side::Buy, "20000", "0.001", "0.02", DAY + 5));
    a.on_fill(&mut cx, &fill(8, Side::Sell, "19000", "0.0005", "0.01", DAY + 6));
    let (mut b, _) = Spread::init(&ctx(PARAMS)).unwrap();
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(b, a);
    assert_eq!(b.snapshot(), a.snapshot());
    assert!(b.restore(&[9]).is_err(), "an unknown snapshot version is refused");
    assert!(b.restore(&a.snapshot()[..10]).is_err(), "a truncated snapshot is refused");
}
