//! The Binance connector against the local fake Binance (`tradehost_tests::fake::binance`):
//! the shared spot suite (`suite/mod.rs`: signed orders and their fills over the WebSocket
//! API, authentication failures, stream reconnects with REST catch-up, 429/418 blocks, clock
//! skew, idempotent order submission, market data) and trade-id gap backfill.

mod suite;

use rust_decimal::Decimal;
use std::time::Duration;
use suite::{Venue, connected, d, next_where, trade_seq};
use tokio::time::timeout;
use tradehost::connectors::binance::BinanceConnector;
use tradehost::connectors::{Connector, ExchangeId, StreamEvent, Subscription};
use tradehost_tests::fake::{FakeExchange, FakeKeys, binance};

impl Venue for BinanceConnector {
    const TRADES_FROM_ID: bool = true;

    async fn start(keys: FakeKeys) -> FakeExchange {
        binance::start(keys).await
    }

    fn connect(fake: &FakeExchange, secret: Option<&str>) -> Self {
        BinanceConnector::new(suite::settings(ExchangeId::Binance, fake, secret)).unwrap()
    }

    fn clock_offset_ms(&self) -> i64 {
        self.rest().clock_offset_ms()
    }
}

spot_suite!(BinanceConnector);

#[tokio::test]
async fn a_trade_id_gap_is_filled_over_rest_before_the_next_trade() {
    let fake = binance::start(FakeKeys::default()).await;
    let s = &fake.state;
    let c = BinanceConnector::connect(&fake, None);
    let mut h = c.stream(vec![Subscription::Trades("BTCUSDT".into())], false).unwrap();
    connected(&mut h).await;
    let first = s.push_trade("BTCUSDT", d("1"), d("1"), false).id;
    assert_eq!(next_where(&mut h, trade_seq).await, first);
    s.hide_next_trades(3);
    let ids: Vec<u64> = (0..4).map(|i| s.push_trade("BTCUSDT", d("2") + Decimal::from(i), d("1"), false).id).collect();
    let mut seen = Vec::new();
    let mut gap = None;
    timeout(Duration::from_secs(5), async {
        while seen.len() < 4 {
            match h.events.recv().await.expect("stream ended") {
                StreamEvent::Trade(t) => seen.push((t.seq, gap.is_some())),
                StreamEvent::GapFilled { symbol, from, to, recovered } => gap = Some((symbol, from, to, recovered)),
                _ => {}
            }
        }
    })
    .await
    .expect("gap filled");
    assert_eq!(gap, Some(("BTCUSDT".to_string(), ids[0], ids[2], 3)));
    assert_eq!(seen, vec![(ids[0], false), (ids[1], false), (ids[2], false), (ids[3], true)]);
}
