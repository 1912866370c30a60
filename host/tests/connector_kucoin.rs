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
