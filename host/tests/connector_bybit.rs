//! The Bybit v5 connector against the local fake Bybit (`tradehost_tests::fake::bybit`):
//! the shared spot suite (`suite/mod.rs`: signed orders and their fills over the private
//! stream, authentication failures, stream reconnects with REST catch-up, 429/418 blocks,
//! clock skew, idempotent order submission, market data) and the linear-only calls.

mod suite;

use suite::{Venue, d};
use tradehost::connectors::bybit::BybitConnector;
use tradehost::connectors::{
    Connector, ConnectorError, ConnectorSettings, Credentials, ExchangeId, Market, SymbolRules,
};
use tradehost_tests::fake::{FakeExchange, FakeKeys, bybit};

impl Venue for BybitConnector {
    /// Bybit's recent-trade endpoint has no "from id": catch-up reads the latest trades.
    const TRADES_FROM_ID: bool = false;

    async fn start(keys: FakeKeys) -> FakeExchange {
        bybit::start(keys).await
    }

    fn connect(fake: &FakeExchange, secret: Option<&str>) -> Self {
        BybitConnector::new(suite::settings(ExchangeId::Bybit, fake, secret)).unwrap()
    }

    fn clock_offset_ms(&self) -> i64 {
        self.rest().clock_offset_ms()
    }

    fn check_rules(rules: &[SymbolRules]) {
        assert_eq!((rules[0].tick_size, rules[0].lot_size, rules[0].min_notional), (d("0.01"), d("0.000001"), d("1")));
    }
}

spot_suite!(BybitConnector);

#[tokio::test]
async fn positions_and_leverage_are_linear_only() {
    let fake = bybit::start(FakeKeys::default()).await;
    let spot = BybitConnector::connect(&fake, None);
    assert!(matches!(spot.positions().await, Err(ConnectorError::Unsupported { .. })));
    let mut s = ConnectorSettings::new(ExchangeId::Bybit);
    s.market = Market::Futures;
    s.rest_url = Some(fake.rest_url.clone());
    s.credentials = Some(Credentials::new(fake.state.keys.api_key.clone(), fake.state.keys.secret.clone(), None));
    let linear = BybitConnector::new(s).unwrap();
    assert!(linear.positions().await.unwrap().is_empty());
    linear.set_leverage("BTCUSDT", d("5")).await.unwrap();
    let rules = linear.exchange_info().await.unwrap();
    assert_eq!((rules[0].tick_size, rules[0].lot_size, rules[0].min_notional), (d("0.1"), d("0.001"), d("5")));
    assert!(fake.state.requests().iter().any(|r| r == "POST /v5/position/set-leverage"));
    assert_eq!(fake.state.signature_failures(), 0);
}
