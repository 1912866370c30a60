use super::*;
use tradehost_sdk::testing::MockHost;
use tradehost_sdk::{Intent, OrderKind};

const USDT: SymbolId = 0;
const USDC: SymbolId = 1;

fn info(id: SymbolId, name: &str, base: &str, quote: &str) -> SymbolInfo {
    SymbolInfo { id, name: name.into(), base: base.into(), quote: quote.into() }
}

fn ctx(params: &[(&str, &str)]) -> InitContext {
    InitContext {
        instance: "t".into(),
        symbols: vec![
            info(USDT, "BTCUSDT", "BTC", "USDT"),
            info(USDC, "BTCUSDC", "BTC", "USDC"),
            info(2, "ETHUSDT", "ETH", "USDT"),
        ],
        params: Params::new(params.iter().copied()),
    }
}

const PARAMS: &[(&str, &str)] = &[("leg_a", "BTCUSDT"), ("leg_b", "BTCUSDC"), ("qty", "0.01")];

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn candle(symbol: SymbolId, minute: i64, close: &str) -> Candle {
    let c = d(close);
    Candle {
        symbol,
        open_time_ms: minute * 60_000,
        close_time_ms: minute * 60_000 + 59_999,
        open: c,
        high: c,
        low: c,
        close: c,
        volume: Decimal::ONE,
        quote_volume: c,
        trades: 1,
        taker_buy_base: Decimal::ZERO,
        taker_buy_quote: Decimal::ZERO,
    }
}

fn funded() -> MockHost {
    let mut h = MockHost::default();
    h.balances.insert("USDT".into(), d("10000"));
    h.balances.insert("USDC".into(), d("10000"));
    h
}

/// Market orders as (symbol, side, qty, tag).
type Orders = Vec<(SymbolId, Side, Decimal, String)>;

fn orders(intents: &[Intent]) -> Orders {
    intents
        .iter()
        .filter_map(|i| match i {
            Intent::Place(o) if o.kind == OrderKind::Market => Some((o.symbol, o.side, o.qty, o.tag.clone())),
            _ => None,
        })
        .collect()
}

fn pair(s: &mut Arbitrage, host: &MockHost, minute: i64, a: &str, b: &str) -> Orders {
    let mut cx = Ctx::new(host);
    s.on_candle(&mut cx, &candle(USDT, minute, a));
    assert!(cx.take_intents().is_empty(), "nothing until the other leg closes the minute");
    s.on_candle(&mut cx, &candle(USDC, minute, b));
    orders(&cx.take_intents())
}

#[test]
fn chance_table() {
    // Fees 0.1 % a leg: a gap must beat 0.2 % + price_threshold (0.1 %) = 0.3 %.
    let buy = |sym: SymbolId| -> Orders { vec![(sym, Side::Buy, d("0.01"), "arbitrage buy".to_string())] };
    // (case, extra params, close of leg a, close of leg b, expected orders)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str, Orders);
    let cases: &[Case] = &[
        ("equal prices", &[], "20000", "20000", vec![]),
        ("0.29 %: not enough after fees", &[], "20000", "20058", vec![]),
        ("0.3 %: USDT leg cheap", &[], "20000", "20060", buy(USDT)),
        ("0.3 %: USDC leg cheap", &[], "20060", "20000", buy(USDC)),
        ("min_profit 1.5 > expected 1.2006", &[("min_profit", "1.5")], "20000", "20060", vec![]),
        (
            "no fees, no threshold: any gap",
            &[("fee_rate", "0"), ("price_threshold", "0")],
            "20000",
            "20000.01",
            buy(USDT),
        ),
    ];
    for (name, extra, a, b, want) in cases {
        let params = [PARAMS, extra].concat();
        let (mut s, _) = Arbitrage::init(&ctx(&params)).unwrap();
        assert_eq!(pair(&mut s, &funded(), 7, a, b), *want, "{name}");
    }
}

#[test]
fn sells_the_rich_leg_once_the_buy_fills() {
    let (mut s, _) = Arbitrage::init(&ctx(PARAMS)).unwrap();
    let host = funded();
    assert_eq!(pair(&mut s, &host, 1, "20000", "20100").len(), 1);
    let mut cx = Ctx::new(&host);
    let fill = Fill {
        symbol: USDT,
        order_id: 3,
        side: Side::Buy,
        price: d("20001"),
        qty: d("0.01"),
        fee: d("0.2"),
        time_ms: 0,
    };
    s.on_fill(&mut cx, &fill);
    assert_eq!(orders(&cx.take_intents()), vec![(USDC, Side::Sell, d("0.01"), "arbitrage sell".into())]);
    s.on_fill(&mut cx, &fill);
    assert!(cx.take_intents().is_empty(), "one sell per buy");
}

#[test]
fn a_rejected_buy_never_sells_and_is_forgotten_next_minute() {
    let (mut s, _) = Arbitrage::init(&ctx(PARAMS)).unwrap();
    let host = funded();
    assert_eq!(pair(&mut s, &host, 1, "20000", "20100").len(), 1);
    // No fill came (rejected). The same minute again must not double up...
    let mut cx = Ctx::new(&host);
    s.on_candle(&mut cx, &candle(USDC, 1, "20100"));
    assert!(cx.take_intents().is_empty());
    // ...but the next minute trades again.
    assert_eq!(pair(&mut s, &host, 2, "20000", "20100").len(), 1);
}

#[test]
fn different_minutes_do_not_pair_and_busy_legs_wait() {
    let (mut s, _) = Arbitrage::init(&ctx(PARAMS)).unwrap();
    let mut host = funded();
    let mut cx = Ctx::new(&host);
    s.on_candle(&mut cx, &candle(USDT, 1, "20000"));
    s.on_candle(&mut cx, &candle(USDC, 2, "20100"));
    assert!(cx.take_intents().is_empty(), "minute 1 against minute 2 is no arbitrage");
    host.open_orders.push(tradehost_sdk::OpenOrder {
        id: 1,
        symbol: USDC,
        side: Side::Sell,
        kind: OrderKind::Limit(d("30000")),
        qty: d("1"),
        filled: Decimal::ZERO,
    });
    assert!(pair(&mut s, &host, 3, "20000", "20100").is_empty());
}

#[test]
fn skips_what_the_account_cannot_pay() {
    let (mut s, _) = Arbitrage::init(&ctx(PARAMS)).unwrap();
    let mut host = funded();
    host.balances.insert("USDC".into(), d("50"));
    assert!(pair(&mut s, &host, 1, "20100", "20000").is_empty(), "USDC leg is cheap but there is no USDC");
    assert!(host.logs.borrow().iter().any(|(l, m)| *l == Level::Warn && m.contains("needs 200.2 USDC, have 50")));
    assert_eq!(pair(&mut s, &host, 2, "20000", "20100").len(), 1, "the other direction is funded");
}

#[test]
fn bad_params_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("leg_b", "BTCUSDC"), ("qty", "1")], "missing parameter `leg_a`"),
        (&[("leg_a", "BTCUSDT"), ("leg_b", "BTCBUSD"), ("qty", "1")], "`leg_b` = `BTCBUSD`: not one of"),
        (&[("leg_a", "BTCUSDT"), ("leg_b", "btcusdt"), ("qty", "1")], "both `BTCUSDT`"),
        (&[("leg_a", "BTCUSDT"), ("leg_b", "ETHUSDT"), ("qty", "1")], "need the same base asset"),
        (&[("leg_a", "BTCUSDT"), ("leg_b", "BTCUSDC")], "missing parameter `qty`"),
        (&[("leg_a", "BTCUSDT"), ("leg_b", "BTCUSDC"), ("qty", "1"), ("fee_rate", "1")], "fee_rate"),
    ];
    for (params, want) in cases {
        let err = Arbitrage::init(&ctx(params)).unwrap_err();
        assert!(err.contains(want), "{params:?}: {err}");
    }
}

#[test]
fn snapshot_keeps_a_pending_buy() {
    let (mut a, _) = Arbitrage::init(&ctx(PARAMS)).unwrap();
    pair(&mut a, &funded(), 4, "20000", "20100");
    assert!(a.pending.is_some());
    let (mut b, _) = Arbitrage::init(&ctx(PARAMS)).unwrap();
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(b.pending, a.pending);
    assert!(b.restore(&[3]).is_err());
}

#[test]
fn one_pair_on_two_venues_buys_where_it_is_cheap_and_sells_where_it_is_rich() {
    let (binance, bybit) = (5, 6);
    let ctx = InitContext {
        instance: "t".into(),
        symbols: vec![
            tradehost_sdk::testing::symbol(binance, "binance:BTCUSDT"),
            tradehost_sdk::testing::symbol(bybit, "bybit:BTCUSDT"),
        ],
        params: Params::new([("leg_a", "Binance:BTCUSDT"), ("leg_b", "bybit:BTCUSDT"), ("qty", "0.01")]),
    };
    assert_eq!(
        (ctx.symbols[1].base.as_str(), ctx.symbols[1].pair(), ctx.symbols[1].venue()),
        ("BTC", "BTCUSDT", Some("bybit"))
    );
    let (mut s, _) = Arbitrage::init(&ctx).expect("venue names match in any case");
    let host = funded();
    let mut cx = Ctx::new(&host);
    s.on_candle(&mut cx, &candle(binance, 3, "60300"));
    s.on_candle(&mut cx, &candle(bybit, 3, "60000"));
    assert_eq!(orders(&cx.take_intents()), vec![(bybit, Side::Buy, d("0.01"), "arbitrage buy".to_string())]);
    let fill = Fill {
        symbol: bybit,
        order_id: 1,
        side: Side::Buy,
        price: d("60000"),
        qty: d("0.01"),
        fee: d("0"),
        time_ms: 0,
    };
    s.on_fill(&mut cx, &fill);
    assert_eq!(orders(&cx.take_intents()), vec![(binance, Side::Sell, d("0.01"), "arbitrage sell".to_string())]);
}
