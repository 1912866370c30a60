//! The shared tests of the venues whose WebSocket subscriptions are acknowledged
//! asynchronously (Gate.io, KuCoin): a test first pushes probe trades until one comes back
//! ("goes live"), then checks market data, orders and fills over REST and the private
//! channels, authentication failures, reconnects with REST catch-up, 429/418 blocks, clock
//! skew and idempotent submits. A venue's test file implements [`AckedVenue`] and stamps
//! the tests out with [`acked_suite!`].

use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;
use tradehost::connectors::{
    Connector, ConnectorError, ExchangeOrderStatus, OrderRef, OrderRequest, OrderType, OwnTrade, StreamEvent,
    StreamHandle, Subscription, SymbolRules, TimeInForce,
};
use tradehost::execution::Side;
use tradehost_tests::fake::{FakeExchange, FakeKeys, FakeState};

pub const SYM: &str = "BTCUSDT";

/// One venue's connector and fake.
pub trait AckedVenue: Connector + Sized + 'static {
    /// Start the venue's fake exchange.
    fn start(keys: FakeKeys) -> impl std::future::Future<Output = FakeExchange> + Send;
    /// A connector to `fake`, with its keys (or a wrong `secret`).
    fn connect(fake: &FakeExchange, secret: Option<&str>) -> Self;
    /// Check the trading rules the fake lists for BTCUSDT.
    fn check_rules(btc: &SymbolRules);
    /// Check the fee of the maker fill of 0.01 BTC at 59,000, as the private stream
    /// reports it and as the account's trades list it.
    fn check_fill_fee(streamed: &OwnTrade, listed: &OwnTrade);
}

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The venue's fake with a first trade at 60,000, and a connector to it.
pub async fn setup<V: AckedVenue>() -> (FakeExchange, Arc<dyn Connector>) {
    let fake = V::start(FakeKeys::default()).await;
    fake.state.push_trade(SYM, d("60000"), d("0.5"), false);
    let conn: Arc<dyn Connector> = Arc::new(V::connect(&fake, None));
    (fake, conn)
}

/// A trade stream on [`SYM`] that went live and then lost its connection while `missed`
/// trades happened; also the (id, time) of the last trade it had received.
pub async fn disconnected_during<V: AckedVenue>(
    missed: usize,
) -> (FakeExchange, Arc<dyn Connector>, StreamHandle, (u64, i64)) {
    let (fake, conn) = setup::<V>().await;
    let mut h = conn.stream(vec![Subscription::Trades(SYM.into())], false).unwrap();
    go_live(&fake.state, &mut h).await;
    // Let any trade still in flight arrive: the newest one is then the last seen.
    next_matching(&mut h, Duration::from_millis(200), |_| false).await;
    let last = {
        let t = &fake.state.trades(SYM, None, 1)[0];
        (t.id, t.time_ms)
    };
    fake.state.drop_connections();
    for i in 0..missed {
        fake.state.push_trade(SYM, d("61000") + Decimal::from(i % 50), d("0.01"), i % 2 == 0);
    }
    (fake, conn, h, last)
}

pub fn limit(client: &str, side: Side, qty: &str, price: &str) -> OrderRequest {
    OrderRequest {
        symbol: SYM.into(),
        side,
        order_type: OrderType::Limit,
        quantity: d(qty),
        price: Some(d(price)),
        time_in_force: TimeInForce::Gtc,
        client_order_id: client.into(),
        reduce_only: false,
    }
}

/// The next event matching `pred` within `within`.
pub async fn next_matching(
    h: &mut StreamHandle,
    within: Duration,
    mut pred: impl FnMut(&StreamEvent) -> bool,
) -> Option<StreamEvent> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, h.events.recv()).await {
            Ok(Some(ev)) if pred(&ev) => return Some(ev),
            Ok(Some(_)) => {}
            _ => return None,
        }
    }
}

/// Push probe trades until one comes back: every subscription sent before the trades
/// subscription (private channels first) has then been processed. Returns its sequence.
pub async fn go_live(state: &FakeState, h: &mut StreamHandle) -> u64 {
    go_live_in(state, h, SYM, "60000", "0.001").await
}

pub async fn go_live_in(state: &FakeState, h: &mut StreamHandle, symbol: &str, price: &str, qty: &str) -> u64 {
    for _ in 0..50 {
        state.push_trade(symbol, d(price), d(qty), true);
        if let Some(StreamEvent::Trade(t)) =
            next_matching(h, Duration::from_millis(100), |e| matches!(e, StreamEvent::Trade(_))).await
        {
            return t.seq;
        }
    }
    panic!("no trade arrived over the stream");
}

pub async fn public_market_data<V: AckedVenue>() {
    let (fake, conn) = setup::<V>().await;
    fake.state.push_trade(SYM, d("60010.5"), d("0.25"), true);
    let t = conn.server_time().await.unwrap();
    assert!((t - fake.state.now_ms()).abs() < 2_000);
    let rules = conn.exchange_info().await.unwrap();
    let btc = rules.iter().find(|r| r.symbol == SYM).unwrap();
    V::check_rules(btc);
    assert_eq!(conn.ticker(SYM).await.unwrap().last, d("60010.5"));
    let trades = conn.recent_trades(SYM, None, 10).await.unwrap();
    assert_eq!(trades.iter().map(|t| t.seq).collect::<Vec<_>>(), [1000, 1001]);
    assert!(trades[1].buyer_maker && trades[1].quantity == d("0.25"));
    let from = conn.recent_trades(SYM, Some(1001), 10).await.unwrap();
    assert_eq!(from.len(), 1);
    let klines = conn.klines_1m(SYM, fake.state.now_ms() - 120_000, 10).await.unwrap();
    assert_eq!(klines.last().unwrap().close, d("60010.5"));
    assert_eq!(klines.iter().map(|k| k.volume).sum::<Decimal>(), d("0.75"));
    super::klines_are_the_minutes_from_the_start(&fake, conn.as_ref()).await;
    conn.create_order(&limit("book-1", Side::Buy, "0.1", "59000")).await.unwrap();
    let book = conn.order_book(SYM, 5).await.unwrap();
    assert_eq!(book.bids, vec![(d("59000"), d("0.1"))]);
    assert_eq!(fake.state.signature_failures(), 0);
}

pub async fn orders_fill_over_the_private_stream_and_rest_agrees_with_the_fake<V: AckedVenue>() {
    let (fake, conn) = setup::<V>().await;
    let state = &fake.state;
    let mut h = conn.stream(vec![Subscription::Orders, Subscription::Trades(SYM.into())], false).unwrap();
    go_live(state, &mut h).await;

    let placed = conn.create_order(&limit("order-1", Side::Buy, "0.01", "59000")).await.unwrap();
    assert_eq!(placed.status, ExchangeOrderStatus::New);
    assert_eq!(placed.client_order_id, "order-1");
    assert_eq!(state.signature_failures(), 0, "the fake accepted the connector's signature");
    let open = conn.open_orders(Some(SYM)).await.unwrap();
    assert_eq!(open.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(), [placed.order_id.as_str()]);
    assert_eq!(state.open_orders(Some(SYM)).len(), 1);

    state.push_trade(SYM, d("59000"), d("1"), false);
    let ev = next_matching(
        &mut h,
        Duration::from_secs(5),
        |e| matches!(e, StreamEvent::Order(u) if u.fill.is_some() && u.order.order_id == placed.order_id),
    )
    .await
    .expect("the fill arrived over the private stream");
    let StreamEvent::Order(update) = ev else { unreachable!() };
    let fill = update.fill.unwrap();
    assert_eq!((fill.price, fill.quantity, fill.side), (d("59000"), d("0.01"), Side::Buy));
    assert_eq!(fill.client_order_id.as_deref(), Some("order-1"));
    assert!(fill.is_maker);

    let got = conn.get_order(SYM, &OrderRef::Exchange(placed.order_id.clone())).await.unwrap();
    assert_eq!(got.status, ExchangeOrderStatus::Filled);
    assert_eq!((got.filled_quantity, got.filled_quote), (d("0.01"), Some(d("590"))));
    let by_client = conn.get_order(SYM, &OrderRef::Client("order-1".into())).await.unwrap();
    assert_eq!(by_client.order_id, placed.order_id);
    assert!(conn.open_orders(None).await.unwrap().is_empty());

    let balances = conn.balances().await.unwrap();
    for (asset, (free, locked)) in state.balances() {
        let b = balances.iter().find(|b| b.asset == asset);
        if free.is_zero() && locked.is_zero() {
            assert!(b.is_none());
        } else {
            let b = b.unwrap_or_else(|| panic!("{asset} missing"));
            assert_eq!((b.free, b.locked), (free, locked), "{asset}");
        }
    }
    let mine = conn.my_trades(SYM, 50).await.unwrap();
    let fake_fills = state.fills(Some(SYM));
    assert_eq!(mine.len(), fake_fills.len());
    assert_eq!(mine[0].trade_id, fake_fills[0].trade_id.to_string());
    assert_eq!((mine[0].price, mine[0].quantity), (d("59000"), d("0.01")));
    V::check_fill_fee(&fill, &mine[0]);

    // One order's trades, asked by its id: another order's trade is not among them (the
    // fake, like the venue, filters by the order id the connector sends).
    let other = conn.create_order(&limit("order-3", Side::Buy, "0.02", "60000")).await.unwrap();
    state.push_trade(SYM, d("59500"), d("1"), false);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while state.fills(Some(SYM)).len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let first = conn.order_trades(SYM, &placed.order_id).await.unwrap();
    assert_eq!(first.iter().map(|t| t.quantity).collect::<Vec<_>>(), [d("0.01")], "{first:?}");
    let second = conn.order_trades(SYM, &other.order_id).await.unwrap();
    assert_eq!(
        second.iter().map(|t| (t.order_id.clone(), t.quantity)).collect::<Vec<_>>(),
        [(other.order_id.clone(), d("0.02"))]
    );

    let err = conn.cancel_order(SYM, &OrderRef::Exchange(placed.order_id)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::OrderNotFound { .. }), "{err:?}");
    let resting = conn.create_order(&limit("order-2", Side::Sell, "0.5", "70000")).await.unwrap();
    let canceled = conn.cancel_order(SYM, &OrderRef::Client("order-2".into())).await.unwrap();
    assert_eq!((canceled.order_id, canceled.status), (resting.order_id, ExchangeOrderStatus::Canceled));
    assert_eq!(state.signature_failures(), 0);
}

pub async fn a_wrong_secret_is_an_auth_error<V: AckedVenue>() {
    let fake = V::start(FakeKeys::default()).await;
    let conn = V::connect(&fake, Some("not-the-secret"));
    let err = conn.balances().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    assert!(!err.to_string().contains("not-the-secret"));
    assert_eq!(fake.state.signature_failures(), 1);
    let err = conn.create_order(&limit("x-1", Side::Buy, "0.01", "1")).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    assert_eq!(fake.state.orders().len(), 0);
}

pub async fn the_stream_reconnects_resubscribes_and_delivers_every_trade_once<V: AckedVenue>() {
    let (fake, conn) = setup::<V>().await;
    let state = &fake.state;
    let mut h = conn.stream(vec![Subscription::Trades(SYM.into())], false).unwrap();
    let first = go_live(state, &mut h).await;
    let mut seen = vec![first];
    let mut reconnected = false;
    let mut collect = |ev: &StreamEvent, seen: &mut Vec<u64>| {
        match ev {
            StreamEvent::Trade(t) => seen.push(t.seq),
            StreamEvent::Connected { attempt } if *attempt > 0 => reconnected = true,
            _ => {}
        }
        false
    };
    for i in 0..5 {
        state.push_trade(SYM, d("60000") + Decimal::from(i), d("0.1"), false);
    }
    next_matching(&mut h, Duration::from_millis(500), |e| collect(e, &mut seen)).await;

    state.drop_connections();
    for i in 0..4 {
        state.push_trade(SYM, d("61000") + Decimal::from(i), d("0.2"), true);
    }
    let ev = next_matching(&mut h, Duration::from_secs(5), |e| {
        collect(e, &mut seen);
        matches!(e, StreamEvent::Connected { attempt } if *attempt > 0)
    })
    .await;
    assert!(ev.is_some(), "reconnected");
    // The trades pushed while disconnected come from the REST catch-up.
    let gap_end = state.trades(SYM, None, 1)[0].id;
    next_matching(&mut h, Duration::from_secs(5), |e| {
        collect(e, &mut seen);
        matches!(e, StreamEvent::Trade(t) if t.seq == gap_end)
    })
    .await;
    // Live again after the resubscribe.
    let probe = go_live(state, &mut h).await;
    seen.push(probe);
    for i in 0..3 {
        state.push_trade(SYM, d("62000") + Decimal::from(i), d("0.3"), false);
    }
    let last = state.trades(SYM, None, 1)[0].id;
    next_matching(&mut h, Duration::from_secs(5), |e| {
        collect(e, &mut seen);
        matches!(e, StreamEvent::Trade(t) if t.seq == last)
    })
    .await;
    assert!(reconnected);
    assert!(state.ws_connections() >= 2);
    let expected: Vec<u64> = (first..=last).collect();
    assert_eq!(seen, expected, "every trade exactly once, in order");
}

pub async fn rate_limits_and_bans_block_without_sending<V: AckedVenue>() {
    let (fake, conn) = setup::<V>().await;
    let state = &fake.state;
    state.fail_next(429, Some(1));
    state.fail_next(418, Some(2));
    let before = state.requests().len();
    let err = conn.server_time().await.unwrap_err();
    assert!(matches!(err, ConnectorError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(1)));
    let err = conn.ticker(SYM).await.unwrap_err();
    assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err:?}");
    assert_eq!(state.requests().len(), before + 1, "nothing was sent during the block");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = conn.server_time().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Banned { retry_after, .. } if retry_after == Duration::from_secs(2)));
    let err = conn.balances().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Banned { .. }), "{err:?}");
    assert_eq!(state.requests().len(), before + 2, "nothing was sent during the ban");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    conn.server_time().await.unwrap();
    conn.balances().await.unwrap();
    assert_eq!(state.requests().len(), before + 4);
}

pub async fn a_skewed_clock_is_measured_and_applied<V: AckedVenue>() {
    let (fake, conn) = setup::<V>().await;
    let state = &fake.state;
    // The server runs 5 s behind: the host's timestamps look 5 s in the future.
    state.set_clock_skew(-5_000);
    conn.balances().await.unwrap();
    assert_eq!(state.timestamp_rejections(), 1, "one stale-timestamp answer, then a successful retry");
    conn.create_order(&limit("skew-1", Side::Buy, "0.01", "50000")).await.unwrap();
    conn.open_orders(None).await.unwrap();
    assert_eq!(state.timestamp_rejections(), 1, "the offset stays applied");
    let report = conn.test_connection().await.unwrap();
    assert!((report.clock_offset_ms + 5_000).abs() < 1_000, "{}", report.clock_offset_ms);
    assert_eq!(report.authenticated, Some(true));
    assert_eq!(state.signature_failures(), 0);
}

pub async fn a_retried_submit_returns_the_same_order_once<V: AckedVenue>() {
    let (fake, conn) = setup::<V>().await;
    let order = limit("idem-1", Side::Buy, "0.02", "58000");
    let a = conn.create_order(&order).await.unwrap();
    let b = conn.create_order(&order).await.unwrap();
    assert_eq!(a.order_id, b.order_id);
    assert_eq!(b.client_order_id, "idem-1");
    assert_eq!(fake.state.orders().iter().filter(|o| o.client_id == "idem-1").count(), 1);
    assert_eq!(fake.state.order_requests(), 2, "the second submit reached the fake and was refused as a duplicate");
}

/// `#[tokio::test]` wrappers of every shared test for venue type `$v`.
#[macro_export]
macro_rules! acked_suite {
    ($v:ty) => {
        #[tokio::test]
        async fn public_market_data() {
            suite::acked::public_market_data::<$v>().await
        }
        #[tokio::test]
        async fn orders_fill_over_the_private_stream_and_rest_agrees_with_the_fake() {
            suite::acked::orders_fill_over_the_private_stream_and_rest_agrees_with_the_fake::<$v>().await
        }
        #[tokio::test]
        async fn a_wrong_secret_is_an_auth_error() {
            suite::acked::a_wrong_secret_is_an_auth_error::<$v>().await
        }
        #[tokio::test]
        async fn the_stream_reconnects_resubscribes_and_delivers_every_trade_once() {
            suite::acked::the_stream_reconnects_resubscribes_and_delivers_every_trade_once::<$v>().await
        }
        #[tokio::test]
        async fn rate_limits_and_bans_block_without_sending() {
            suite::acked::rate_limits_and_bans_block_without_sending::<$v>().await
        }
        #[tokio::test]
        async fn a_skewed_clock_is_measured_and_applied() {
            suite::acked::a_skewed_clock_is_measured_and_applied::<$v>().await
        }
        #[tokio::test]
        async fn a_retried_submit_returns_the_same_order_once() {
            suite::acked::a_retried_submit_returns_the_same_order_once::<$v>().await
        }
    };
}
