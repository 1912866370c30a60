//! Record mode for every exchange: `connectors::record` writes what each fake exchange's
//! WebSocket sends as `<recv_ts_ns> <frame>` lines, and the replay feed reads those files
//! back into exactly the trades the exchange made.

use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;
use tradehost::connectors::{Connector, ConnectorRegistry, ConnectorSettings, ExchangeId, Market, record};
use tradehost::market_data::feeds::{self, FeedEvent};
use tradehost_tests::fake::{self, FakeExchange, FakeKeys};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn connector(venue: ExchangeId, market: Market, fake: &FakeExchange) -> Arc<dyn Connector> {
    let mut s = ConnectorSettings::new(venue);
    s.market = market;
    s.rest_url = Some(fake.rest_url.clone());
    s.ws_url = Some(fake.ws_url.clone());
    s.ws_private_url = Some(fake.ws_url.clone());
    ConnectorRegistry::with_builtin().create(venue.as_str(), s).unwrap()
}

async fn round_trip(venue: ExchangeId, fake: FakeExchange, gz: bool) {
    round_trip_in(venue, Market::Spot, fake, gz).await
}

async fn round_trip_in(venue: ExchangeId, market: Market, fake: FakeExchange, gz: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(if gz { "rec.txt.gz" } else { "rec.txt" });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let c = connector(venue, market, &fake);
    let p = path.clone();
    let task = tokio::spawn(async move {
        record::record(c, &["BTCUSDT".to_string()], &p, None, async {
            let _ = stop_rx.await;
        })
        .await
    });
    // Wait for the subscription, then trade.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fake.state.ws_connections() == 0 {
        assert!(std::time::Instant::now() < deadline, "{venue}: the recorder never connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let prices = ["60000.5", "60001", "59999.25", "60002.75", "60000"];
    let mut pushed = Vec::new();
    for (i, p) in prices.iter().enumerate() {
        pushed.push(fake.state.push_trade("BTCUSDT", d(p), d("0.0") + Decimal::new(i as i64 + 1, 3), i % 2 == 0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_tx.send(()).unwrap();
    let stats = task.await.unwrap().unwrap();
    assert!(stats.frames >= prices.len() as u64, "{venue}: {stats:?}");

    let text = if gz {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()), &mut s)
            .unwrap();
        s
    } else {
        std::fs::read_to_string(&path).unwrap()
    };
    for line in text.lines() {
        let (ts, frame) = line.split_once(' ').expect("`<recv_ts_ns> <frame>`");
        assert!(ts.parse::<i64>().is_ok_and(|t| t > 1_600_000_000_000_000_000), "{venue}: receive time in ns: {line}");
        assert!(frame.starts_with('{'), "{venue}: {line}");
    }

    let symbols = feeds::shared_symbols();
    let mut feed = feeds::open_replay(&[path], symbols.clone()).unwrap();
    let mut got = Vec::new();
    while let Some(ev) = feed.next_event().unwrap() {
        if let FeedEvent::Trade(t) = ev {
            got.push((t.price, t.qty, t.buyer_maker, t.time_ms));
        }
    }
    let want: Vec<_> = pushed.iter().map(|t| (t.price, t.qty, t.buyer_maker, t.time_ms)).collect();
    assert_eq!(got, want, "{venue}: replayed trades");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binance() {
    round_trip(ExchangeId::Binance, fake::binance::start(FakeKeys::default()).await, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit() {
    round_trip(ExchangeId::Bybit, fake::bybit::start(FakeKeys::default()).await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateio() {
    round_trip(ExchangeId::Gateio, fake::gateio::start(FakeKeys::default()).await, true).await;
}

/// Gate futures frames count contracts (0.0001 BTC each): the recording carries the
/// contract sizes, so the replay gives the same BTC quantities as the exchange traded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateio_futures() {
    round_trip_in(ExchangeId::Gateio, Market::Futures, fake::gateio::start(FakeKeys::default()).await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kucoin() {
    round_trip(ExchangeId::Kucoin, fake::kucoin::start(FakeKeys::default()).await, false).await;
}
