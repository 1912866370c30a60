//! The behaviours every spot connector shares, run against its local fake exchange:
//! signed orders and their fills over the private stream, authentication failures,
//! stream reconnects with REST catch-up, 429/418 blocks, clock skew, idempotent order
//! submission and the market data calls. A venue's test file implements [`Venue`] and
//! stamps the tests out with [`spot_suite!`], then adds what only that venue does.

#![allow(dead_code)]

pub mod acked;

use rust_decimal::Decimal;
use std::time::Duration;
use tokio::time::timeout;
use tradehost::connectors::{
    Connector, ConnectorError, ConnectorSettings, Credentials, ExchangeId, ExchangeOrderStatus, OrderRef, OrderRequest,
    OrderType, StreamEvent, StreamHandle, Subscription, SymbolRules, TimeInForce,
};
use tradehost::execution::Side;
use tradehost_tests::fake::{FakeExchange, FakeKeys};

/// One venue's connector and fake.
pub trait Venue: Connector + Sized {
    /// Start the venue's fake exchange.
    fn start(keys: FakeKeys) -> impl std::future::Future<Output = FakeExchange> + Send;
    /// A connector to `fake`, with its keys (or a wrong `secret`).
    fn connect(fake: &FakeExchange, secret: Option<&str>) -> Self;
    /// The clock offset the connector measured, ms.
    fn clock_offset_ms(&self) -> i64;
    /// Whether recent trades can be read from a trade id (Binance's `fromId`).
    const TRADES_FROM_ID: bool;
    /// Check the spot trading rules the fake lists for BTCUSDT.
    fn check_rules(rules: &[SymbolRules]) {
        assert_eq!(rules[0].tick_size, d("0.01"));
    }
}

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Settings for venue `id` pointed at `fake` (REST, public and private WebSocket), with the
/// fake's keys or a wrong `secret`; the passphrase too where the venue has one (KuCoin).
pub fn settings(id: ExchangeId, fake: &FakeExchange, secret: Option<&str>) -> ConnectorSettings {
    let keys = &fake.state.keys;
    let mut s = ConnectorSettings::new(id);
    s.rest_url = Some(fake.rest_url.clone());
    s.ws_url = Some(fake.ws_url.clone());
    s.ws_private_url = Some(fake.ws_url.clone());
    let passphrase = (id == ExchangeId::Kucoin).then(|| keys.passphrase.clone());
    s.credentials =
        Some(Credentials::new(keys.api_key.clone(), secret.unwrap_or(&keys.secret).to_string(), passphrase));
    s
}

pub fn order(client: &str, side: Side, kind: OrderType, qty: &str, price: Option<&str>) -> OrderRequest {
    OrderRequest {
        symbol: "BTCUSDT".into(),
        side,
        order_type: kind,
        quantity: d(qty),
        price: price.map(d),
        time_in_force: TimeInForce::Gtc,
        client_order_id: client.into(),
        reduce_only: false,
    }
}

/// The next event matching `pick`, within 5 s; other events are skipped.
pub async fn next_where<T>(h: &mut StreamHandle, mut pick: impl FnMut(&StreamEvent) -> Option<T>) -> T {
    timeout(Duration::from_secs(5), async {
        loop {
            let ev = h.events.recv().await.expect("stream ended");
            if let Some(t) = pick(&ev) {
                return t;
            }
        }
    })
    .await
    .expect("timed out waiting for a stream event")
}

pub async fn connected(h: &mut StreamHandle) -> u32 {
    next_where(h, |e| match e {
        StreamEvent::Connected { attempt } => Some(*attempt),
        _ => None,
    })
    .await
}

pub fn trade_seq(e: &StreamEvent) -> Option<u64> {
    match e {
        StreamEvent::Trade(t) => Some(t.seq),
        _ => None,
    }
}

pub async fn orders_are_signed_filled_over_the_user_stream_and_agree_with_the_exchange<V: Venue>() {
    let fake = V::start(FakeKeys::default()).await;
    fake.state.push_trade("BTCUSDT", d("60000"), d("0.5"), false);
    let c = V::connect(&fake, None);
    let report = c.test_connection().await.unwrap();
    assert_eq!(report.authenticated, Some(true));
    let mut stream = c.stream(vec![Subscription::Orders], false).unwrap();
    assert_eq!(connected(&mut stream).await, 0);

    let placed = c.create_order(&order("buy-1", Side::Buy, OrderType::Market, "0.01", None)).await.unwrap();
    assert_eq!((placed.status, placed.filled_quantity), (ExchangeOrderStatus::Filled, d("0.01")));
    let update = next_where(&mut stream, |e| match e {
        StreamEvent::Order(u) if u.fill.is_some() => Some(u.clone()),
        _ => None,
    })
    .await;
    let fill = update.fill.unwrap();
    assert_eq!((update.order.client_order_id.as_str(), update.order.status), ("buy-1", ExchangeOrderStatus::Filled));
    assert_eq!(
        (fill.price, fill.quantity, fill.fee, fill.fee_asset.as_str()),
        (d("60000"), d("0.01"), d("0.00001"), "BTC")
    );

    let got = c.get_order("BTCUSDT", &OrderRef::Client("buy-1".into())).await.unwrap();
    assert_eq!(got.order_id, placed.order_id);
    assert_eq!(got.average_price(), Some(d("60000")));

    let resting = c.create_order(&order("sell-1", Side::Sell, OrderType::Limit, "0.2", Some("65000"))).await.unwrap();
    assert_eq!(resting.status, ExchangeOrderStatus::New);
    let open = c.open_orders(Some("BTCUSDT")).await.unwrap();
    assert_eq!(open.iter().map(|o| o.client_order_id.as_str()).collect::<Vec<_>>(), ["sell-1"]);
    assert_eq!(c.open_orders(None).await.unwrap().len(), 1);

    let balances = c.balances().await.unwrap();
    let fake_balances = fake.state.balances();
    for b in &balances {
        assert_eq!((b.free, b.locked), fake_balances[&b.asset], "{}", b.asset);
    }
    assert_eq!(balances.iter().find(|b| b.asset == "BTC").unwrap().locked, d("0.2"));

    let trades = c.my_trades("BTCUSDT", 50).await.unwrap();
    let fills = fake.state.fills(Some("BTCUSDT"));
    assert_eq!(trades.len(), fills.len());
    assert_eq!((trades[0].trade_id.clone(), trades[0].quantity), (fills[0].trade_id.to_string(), fills[0].qty));
    assert_eq!((trades[0].side, trades[0].is_maker), (Side::Buy, false));

    // One order's trades, asked by its id: a second buy's trade is not among them (the
    // fake, like the venue, filters by the order id the connector sends).
    let second = c.create_order(&order("buy-2", Side::Buy, OrderType::Market, "0.02", None)).await.unwrap();
    let first = c.order_trades("BTCUSDT", &placed.order_id).await.unwrap();
    assert_eq!(
        first.iter().map(|t| (t.order_id.as_str(), t.quantity)).collect::<Vec<_>>(),
        [(placed.order_id.as_str(), d("0.01"))]
    );
    assert!(!first[0].fee_asset.is_empty(), "with its fee: {first:?}");
    let of_second = c.order_trades("BTCUSDT", &second.order_id).await.unwrap();
    assert_eq!(of_second.iter().map(|t| t.quantity).sum::<Decimal>(), d("0.02"));

    let canceled = c.cancel_order("BTCUSDT", &OrderRef::Exchange(resting.order_id.clone())).await.unwrap();
    assert_eq!((canceled.status, canceled.client_order_id.as_str()), (ExchangeOrderStatus::Canceled, "sell-1"));
    let update = next_where(&mut stream, |e| match e {
        StreamEvent::Order(u) if u.order.status == ExchangeOrderStatus::Canceled => Some(u.clone()),
        _ => None,
    })
    .await;
    assert_eq!(update.order.client_order_id, "sell-1");
    assert!(c.open_orders(Some("BTCUSDT")).await.unwrap().is_empty());
    let err = c.cancel_order("BTCUSDT", &OrderRef::Client("no-such".into())).await.unwrap_err();
    assert_eq!(err, ConnectorError::OrderNotFound { exchange: c.exchange() });
    let err = c.get_order("BTCUSDT", &OrderRef::Client("no-such".into())).await.unwrap_err();
    assert_eq!(err, ConnectorError::OrderNotFound { exchange: c.exchange() });
    assert_eq!(fake.state.signature_failures(), 0);
}

pub async fn a_wrong_secret_is_an_auth_error<V: Venue>() {
    let fake = V::start(FakeKeys::default()).await;
    let c = V::connect(&fake, Some("not-the-secret"));
    let err = c.balances().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err}");
    assert!(!err.to_string().contains("not-the-secret"));
    assert_eq!(fake.state.signature_failures(), 1);
    assert_eq!(c.test_connection().await.unwrap().authenticated, Some(false));
    let err = c.create_order(&order("x", Side::Buy, OrderType::Market, "0.01", None)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err}");
    assert!(fake.state.orders().is_empty());
}

pub async fn the_stream_reconnects_and_delivers_every_trade_once_in_order<V: Venue>() {
    let fake = V::start(FakeKeys::default()).await;
    let s = &fake.state;
    let c = V::connect(&fake, None);
    let mut h = c
        .stream(vec![Subscription::Trades("BTCUSDT".into()), Subscription::Klines1m("BTCUSDT".into())], false)
        .unwrap();
    assert_eq!(connected(&mut h).await, 0);
    let mut pushed = Vec::new();
    for i in 0..3 {
        pushed.push(s.push_trade("BTCUSDT", d("60000") + Decimal::from(i), d("0.1"), i % 2 == 0).id);
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(next_where(&mut h, trade_seq).await);
    }
    s.drop_connections();
    for i in 0..4 {
        pushed.push(s.push_trade("BTCUSDT", d("60100") + Decimal::from(i), d("0.2"), false).id);
    }
    let mut reconnected = None;
    timeout(Duration::from_secs(5), async {
        while reconnected.is_none() || got.len() < 7 {
            match h.events.recv().await.expect("stream ended") {
                StreamEvent::Connected { attempt } => reconnected = Some(attempt),
                StreamEvent::Trade(t) => got.push(t.seq),
                _ => {}
            }
        }
    })
    .await
    .expect("reconnect and catch-up");
    assert!(reconnected.unwrap() > 0);
    assert!(s.ws_connections() >= 2, "resubscribed on a new connection");
    for i in 0..2 {
        pushed.push(s.push_trade("BTCUSDT", d("60200") + Decimal::from(i), d("0.3"), true).id);
    }
    while got.len() < 9 {
        got.push(next_where(&mut h, trade_seq).await);
    }
    assert_eq!(got, pushed, "every trade exactly once, in order");
    // Nothing extra arrives.
    assert!(timeout(Duration::from_millis(200), next_where(&mut h, trade_seq)).await.is_err());
}

pub async fn throttling_and_bans_block_requests_until_retry_after<V: Venue>() {
    let fake = V::start(FakeKeys::default()).await;
    let c = V::connect(&fake, None);
    fake.state.fail_next(429, Some(1));
    fake.state.fail_next(418, Some(2));
    let err = c.server_time().await.unwrap_err();
    assert_eq!(err, ConnectorError::RateLimited { exchange: c.exchange(), retry_after: Duration::from_secs(1) });
    let sent = fake.state.requests().len();
    let err = c.balances().await.unwrap_err();
    assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err}");
    assert_eq!(fake.state.requests().len(), sent, "nothing is sent during the block");
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let err = c.server_time().await.unwrap_err();
    assert_eq!(err, ConnectorError::Banned { exchange: c.exchange(), retry_after: Duration::from_secs(2) });
    let sent = fake.state.requests().len();
    let err = c.exchange_info().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Banned { retry_after, .. } if retry_after <= Duration::from_secs(2)),
        "{err}"
    );
    assert_eq!(fake.state.requests().len(), sent, "nothing is sent during the ban");
    tokio::time::sleep(Duration::from_millis(2050)).await;
    assert!(c.server_time().await.is_ok());
    V::check_rules(&c.exchange_info().await.unwrap());
}

pub async fn a_skewed_clock_is_measured_and_applied<V: Venue>() {
    for skew in [-8_000i64, 6_000, 10_000, -3_000] {
        let fake = V::start(FakeKeys::default()).await;
        fake.state.set_clock_skew(skew);
        // First signed call with no offset known: at most one -1021, then the connector
        // re-syncs and the retry is accepted.
        let c = V::connect(&fake, None);
        c.balances().await.unwrap_or_else(|e| panic!("skew {skew}: {e}"));
        assert!(fake.state.timestamp_rejections() <= 1, "skew {skew}");
        assert!((c.clock_offset_ms() - skew).abs() < 500, "skew {skew}: offset {}", c.clock_offset_ms());
        c.balances().await.unwrap();
        assert!(fake.state.timestamp_rejections() <= 1, "skew {skew}");
        // After server_time(), nothing is rejected at all.
        let before = fake.state.timestamp_rejections();
        let c = V::connect(&fake, None);
        c.server_time().await.unwrap();
        c.open_orders(None).await.unwrap();
        assert_eq!(fake.state.timestamp_rejections(), before, "skew {skew}");
    }
}

pub async fn a_retried_order_with_the_same_client_id_is_not_placed_twice<V: Venue>() {
    let fake = V::start(FakeKeys::default()).await;
    fake.state.push_trade("BTCUSDT", d("60000"), d("1"), false);
    let c = V::connect(&fake, None);
    let req = order("once-1", Side::Buy, OrderType::Limit, "0.01", Some("59000"));
    let first = c.create_order(&req).await.unwrap();
    let again = c.create_order(&req).await.unwrap();
    assert_eq!(again.order_id, first.order_id);
    assert_eq!(again.client_order_id, "once-1");
    assert_eq!(fake.state.orders().iter().filter(|o| o.client_id == "once-1").count(), 1);
    assert_eq!(fake.state.order_requests(), 2, "the second submit reached the exchange and was refused");
}

/// `klines_1m(start, limit)` is the `limit` minutes from `start` on, oldest first, on every
/// venue, whatever the venue answers a start-only request with (Bybit: the newest of the
/// range). The candle repair after lost trades reads old minutes this way.
pub async fn klines_are_the_minutes_from_the_start<C: Connector + ?Sized>(fake: &FakeExchange, conn: &C) {
    let now = fake.state.now_ms();
    let first = now - now.rem_euclid(60_000) - 30 * 60_000;
    for m in 0..30 {
        fake.state.push_trade_at(
            "SOLUSDT",
            d("150") + Decimal::from(m),
            d("1"),
            m % 2 == 0,
            first + m * 60_000 + 1_000,
        );
    }
    let k = conn.klines_1m("SOLUSDT", first + 5 * 60_000, 3).await.unwrap();
    let minutes: Vec<i64> = k.iter().map(|k| (k.open_time_ms - first) / 60_000).collect();
    assert_eq!(minutes, [5, 6, 7], "{k:?}");
    assert_eq!(k[0].close, d("155"));
}

pub async fn market_data_calls_read_the_fake_market<V: Venue>() {
    let fake = V::start(FakeKeys::default()).await;
    for i in 0..5 {
        fake.state.push_trade("ETHUSDT", d("3000") + Decimal::from(i), d("0.5"), i % 2 == 0);
    }
    let c = V::connect(&fake, None);
    let t = c.recent_trades("ETHUSDT", None, 3).await.unwrap();
    assert_eq!(t.iter().map(|t| t.price).collect::<Vec<_>>(), [d("3002"), d("3003"), d("3004")]);
    if V::TRADES_FROM_ID {
        let from = c.recent_trades("ETHUSDT", Some(t[0].seq - 1), 2).await.unwrap();
        assert_eq!(from.iter().map(|t| t.seq).collect::<Vec<_>>(), [t[0].seq - 1, t[0].seq]);
    }
    let tick = c.ticker("ETHUSDT").await.unwrap();
    assert_eq!((tick.last, tick.volume_24h), (d("3004"), Some(d("2.5"))));
    let k = c.klines_1m("ETHUSDT", fake.state.now_ms() - 9 * 60_000, 10).await.unwrap();
    assert_eq!(k.iter().map(|k| k.volume).sum::<Decimal>(), d("2.5"));
    klines_are_the_minutes_from_the_start(&fake, &c).await;
    let book = c.order_book("ETHUSDT", 5).await.unwrap();
    assert!(book.bids.is_empty() && book.asks.is_empty());
    assert_eq!(c.symbols().await.unwrap(), ["BTCUSDT", "ETHUSDT"]);
}

/// `#[tokio::test]` wrappers of every shared test for venue type `$v`.
#[macro_export]
macro_rules! spot_suite {
    ($v:ty) => {
        #[tokio::test]
        async fn orders_are_signed_filled_over_the_user_stream_and_agree_with_the_exchange() {
            suite::orders_are_signed_filled_over_the_user_stream_and_agree_with_the_exchange::<$v>().await
        }
        #[tokio::test]
        async fn a_wrong_secret_is_an_auth_error() {
            suite::a_wrong_secret_is_an_auth_error::<$v>().await
        }
        #[tokio::test]
        async fn the_stream_reconnects_and_delivers_every_trade_once_in_order() {
            suite::the_stream_reconnects_and_delivers_every_trade_once_in_order::<$v>().await
        }
        #[tokio::test]
        async fn throttling_and_bans_block_requests_until_retry_after() {
            suite::throttling_and_bans_block_requests_until_retry_after::<$v>().await
        }
        #[tokio::test]
        async fn a_skewed_clock_is_measured_and_applied() {
            suite::a_skewed_clock_is_measured_and_applied::<$v>().await
        }
        #[tokio::test]
        async fn a_retried_order_with_the_same_client_id_is_not_placed_twice() {
            suite::a_retried_order_with_the_same_client_id_is_not_placed_twice::<$v>().await
        }
        #[tokio::test]
        async fn market_data_calls_read_the_fake_market() {
            suite::market_data_calls_read_the_fake_market::<$v>().await
        }
    };
}
