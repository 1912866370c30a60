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
