//! The KuCoin connector against the local fake KuCoin (`tradehost_tests::fake::kucoin`):
//! signed REST (key version 2) accepted by the fake's own signature check, the bullet
//! token handshake, orders and fills over REST and `/spotMarket/tradeOrdersV2`,
//! reconnect with REST catch-up, 429/418 blocks, clock skew and idempotent order
//! submits. Loopback only.

mod suite;

use suite::acked::{AckedVenue, d};
use tradehost::connectors::kucoin::KucoinConnector;
use tradehost::connectors::{ExchangeId, OwnTrade, SymbolRules};
use tradehost_tests::fake::{FakeExchange, FakeKeys, kucoin};

impl AckedVenue for KucoinConnector {
    async fn start(keys: FakeKeys) -> FakeExchange {
        kucoin::start(keys).await
    }

    fn connect(fake: &FakeExchange, secret: Option<&str>) -> Self {
        KucoinConnector::new(suite::settings(ExchangeId::Kucoin, fake, secret)).unwrap()
    }

    fn check_rules(btc: &SymbolRules) {
        assert_eq!((btc.venue_symbol.as_str(), btc.tick_size, btc.lot_size), ("BTC-USDT", d("0.1"), d("0.00000001")));
        assert_eq!((btc.min_qty, btc.min_notional), (d("0.00001"), d("0.1")));
    }

    fn check_fill_fee(streamed: &OwnTrade, listed: &OwnTrade) {
        // tradeOrdersV2 reports no fee; the account's trades have it.
        assert_eq!((streamed.fee, streamed.fee_asset.as_str()), (rust_decimal::Decimal::ZERO, ""));
        assert_eq!((listed.fee, listed.fee_asset.as_str(), listed.is_maker), (d("0.00001"), "BTC", true));
    }
}

acked_suite!(KucoinConnector);

/// KuCoin finds an order by client id only while it is active: a filled or canceled one
/// answers "order does not exist". The connector then looks among the done orders, so a
/// market order whose answer was lost is not taken for never placed (and sent again),
/// and a restart's reconciliation keeps the fills of orders that finished meanwhile.
#[tokio::test]
async fn done_orders_are_found_by_client_id() {
    use tradehost::connectors::{ConnectorError, ExchangeOrderStatus, OrderRef, OrderType, TimeInForce};
    use tradehost::execution::Side;
    let (fake, conn) = suite::acked::setup::<KucoinConnector>().await;
    let market = tradehost::connectors::OrderRequest {
        order_type: OrderType::Market,
        price: None,
        time_in_force: TimeInForce::Ioc,
        ..suite::acked::limit("mkt-1", Side::Buy, "0.01", "1")
    };
    let placed = conn.create_order(&market).await.unwrap();
    assert_eq!(placed.status, ExchangeOrderStatus::Filled);
    let found = conn.get_order("BTCUSDT", &OrderRef::Client("mkt-1".into())).await.unwrap();
    assert_eq!((found.order_id.as_str(), found.status), (placed.order_id.as_str(), ExchangeOrderStatus::Filled));
    assert_eq!(found.filled_quantity, d("0.01"));

    let resting = conn.create_order(&suite::acked::limit("lim-1", Side::Buy, "0.01", "50000")).await.unwrap();
    conn.cancel_order("BTCUSDT", &OrderRef::Client("lim-1".into())).await.unwrap();
    let found = conn.get_order("BTCUSDT", &OrderRef::Client("lim-1".into())).await.unwrap();
    assert_eq!((found.order_id, found.status), (resting.order_id, ExchangeOrderStatus::Canceled));

    let never = conn.get_order("BTCUSDT", &OrderRef::Client("never-sent".into())).await;
    assert!(matches!(never, Err(ConnectorError::OrderNotFound { .. })), "{never:?}");
    assert_eq!(fake.state.orders().len(), 2);
}

/// KuCoin's recent trades are its last 100 and cannot be paged: after a disconnect during
/// which more trades happened, the catch-up cannot reach back to the last trade seen. The
/// session says so (which sequences and times are affected) before delivering what it
/// could fetch, instead of passing the hole off as a complete stream.
#[tokio::test]
async fn a_catch_up_that_cannot_reach_back_reports_the_missed_trades() {
    use std::time::Duration;
    use suite::acked::{SYM, next_matching};
    use tradehost::connectors::StreamEvent;
    let (fake, _conn, mut h, (last_seen, last_ms)) = suite::acked::disconnected_during::<KucoinConnector>(150).await;
    let state = &fake.state;
    let kept = state.trades(SYM, None, 100);
    let (oldest, newest) = (&kept[0], &kept[99]);
    let mut missed = None;
    let mut trades = Vec::new();
    let end = next_matching(&mut h, Duration::from_secs(5), |e| {
        match e {
            StreamEvent::TradesMissed { .. } => missed = Some(e.clone()),
            StreamEvent::Trade(t) => trades.push(t.seq),
            _ => {}
        }
        matches!(e, StreamEvent::Trade(t) if t.seq == newest.id)
    })
    .await;
    assert!(end.is_some(), "the catch-up delivered the newest trade");
    let Some(StreamEvent::TradesMissed { symbol, after_seq, after_ms, before_seq, before_ms }) = missed else {
        panic!("no TradesMissed before the caught-up trades")
    };
    assert_eq!((symbol.as_str(), after_seq, before_seq), (SYM, last_seen, Some(oldest.id)));
    assert_eq!((after_ms, before_ms), (last_ms, Some(oldest.time_ms)));
    // What the venue still had arrives once, in order.
    assert_eq!(trades, kept.iter().map(|t| t.id).collect::<Vec<_>>());
}

/// A short disconnect loses nothing: the window still holds the last trade seen, so no
/// loss is reported and the missed trades arrive.
#[tokio::test]
async fn a_catch_up_that_reaches_back_reports_nothing_missed() {
    use std::time::Duration;
    use suite::acked::{SYM, next_matching};
    use tradehost::connectors::StreamEvent;
    let (fake, _conn, mut h, _) = suite::acked::disconnected_during::<KucoinConnector>(20).await;
    let state = &fake.state;
    let newest = state.trades(SYM, None, 1)[0].id;
    let mut missed = false;
    let end = next_matching(&mut h, Duration::from_secs(5), |e| {
        missed |= matches!(e, StreamEvent::TradesMissed { .. });
        matches!(e, StreamEvent::Trade(t) if t.seq == newest)
    })
    .await;
    assert!(end.is_some(), "the catch-up delivered the newest trade");
    assert!(!missed, "nothing was lost");
}
