//! The Gate.io connector against the local fake Gate.io (`tradehost_tests::fake::gateio`):
//! signed REST accepted by the fake's own signature check, orders and fills over REST and
//! the private WebSocket channels, reconnect with REST catch-up, 429/418 blocks, clock
//! skew and idempotent order submits. Loopback only.

mod suite;

use std::sync::Arc;
use std::time::Duration;
use suite::acked::{AckedVenue, d, go_live_in, limit, next_matching};
use tradehost::connectors::gateio::GateioConnector;
use tradehost::connectors::{
    Connector, ConnectorError, ExchangeId, ExchangeOrderStatus, Market, OrderRef, OrderRequest, OrderType, OwnTrade,
    StreamEvent, Subscription, SymbolRules,
};
use tradehost::execution::Side;
use tradehost_tests::fake::{FakeExchange, FakeKeys, gateio};

impl AckedVenue for GateioConnector {
    async fn start(keys: FakeKeys) -> FakeExchange {
        gateio::start(keys).await
    }

    fn connect(fake: &FakeExchange, secret: Option<&str>) -> Self {
        GateioConnector::new(suite::settings(ExchangeId::Gateio, fake, secret)).unwrap()
    }

    fn check_rules(btc: &SymbolRules) {
        assert_eq!((btc.venue_symbol.as_str(), btc.tick_size, btc.lot_size), ("BTC_USDT", d("0.01"), d("0.00001")));
        assert_eq!((btc.min_qty, btc.min_notional), (d("0.00001"), d("3")));
    }

    fn check_fill_fee(streamed: &OwnTrade, listed: &OwnTrade) {
        assert_eq!((streamed.fee, streamed.fee_asset.as_str()), (d("0.00001"), "BTC"));
        assert_eq!(listed.fee, d("0.00001"));
    }
}

acked_suite!(GateioConnector);

/// Gate sizes futures in contracts (0.01 ETH each for `ETH_USDT`, as the fake's contract
/// list says); the host speaks ETH: rules, orders, fills, positions, trades and fees all
/// come out in base units, and an order's ETH goes out as whole contracts.
#[tokio::test]
async fn usdt_futures_orders_fills_positions_and_leverage() {
    const ETH: &str = "ETHUSDT";
    let fake = gateio::start(FakeKeys::default()).await;
    let state = &fake.state;
    state.push_trade(ETH, d("3000"), d("5"), false);
    let mut s = suite::settings(ExchangeId::Gateio, &fake, None);
    s.market = Market::Futures;
    let conn: Arc<dyn Connector> = Arc::new(GateioConnector::new(s).unwrap());
    let rules = conn.exchange_info().await.unwrap();
    let eth = rules.iter().find(|r| r.symbol == ETH).unwrap();
    assert_eq!(
        (eth.venue_symbol.as_str(), eth.tick_size, eth.lot_size, eth.min_qty),
        ("ETH_USDT", d("0.1"), d("0.01"), d("0.01")),
        "the lot is one contract of 0.01 ETH"
    );
    assert_eq!(eth.max_qty, Some(d("10000")), "1,000,000 contracts");
    assert_eq!(conn.ticker(ETH).await.unwrap().last, d("3000"));

    let mut h = conn.stream(vec![Subscription::Orders, Subscription::Trades(ETH.into())], false).unwrap();
    go_live_in(state, &mut h, ETH, "3000", "1").await;

    let mut order = limit("fut-1", Side::Buy, "2", "2990");
    order.symbol = ETH.into();
    let half = OrderRequest { quantity: d("1.005"), ..order.clone() };
    let err = conn.create_order(&half).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Filter { filter: "LOT_SIZE", .. }), "half a contract: {err:?}");
    let placed = conn.create_order(&order).await.unwrap();
    assert_eq!((placed.status, placed.side, placed.quantity), (ExchangeOrderStatus::New, Side::Buy, d("2")));
    // The fake books what the wire said: 200 contracts are 2 ETH (2 contracts would be 0.02).
    assert_eq!(state.open_orders(Some(ETH))[0].qty, d("2"), "2 ETH went out as 200 contracts");
    assert_eq!(placed.client_order_id, "fut-1");
    assert_eq!(conn.open_orders(Some(ETH)).await.unwrap().len(), 1);
    conn.set_leverage(ETH, d("10")).await.unwrap();
    assert!(state.requests().iter().any(|r| r == "POST /api/v4/futures/usdt/positions/ETH_USDT/leverage"));

    state.push_trade(ETH, d("2990"), d("3"), true);
    let ev = next_matching(
        &mut h,
        Duration::from_secs(5),
        |e| matches!(e, StreamEvent::Order(u) if u.fill.is_some() && u.order.order_id == placed.order_id),
    )
    .await
    .expect("the fill arrived over futures.usertrades");
    let StreamEvent::Order(update) = ev else { unreachable!() };
    let fill = update.fill.unwrap();
    assert_eq!((fill.price, fill.quantity, fill.side), (d("2990"), d("2"), Side::Buy));
    assert_eq!(fill.fee, d("5.98"), "a JSON-number fee in USDT, parsed exactly");
    assert_eq!(fill.fee_asset, "USDT");

    let got = conn.get_order(ETH, &OrderRef::Client("fut-1".into())).await.unwrap();
    assert_eq!(
        (got.status, got.filled_quantity, got.filled_quote),
        (ExchangeOrderStatus::Filled, d("2"), Some(d("5980")))
    );
    let positions = conn.positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    assert_eq!((positions[0].symbol.as_str(), positions[0].size, positions[0].entry_price), (ETH, d("2"), d("2990")));
    assert_eq!(positions[0].leverage, d("10"));
    let mine = conn.my_trades(ETH, 10).await.unwrap();
    assert_eq!((mine.len(), mine[0].quantity, mine[0].fee), (1, d("2"), d("5.98")));

    // A market sell of 0.5 ETH goes out as -50 contracts and fills at the last price.
    let sell = OrderRequest {
        client_order_id: "fut-2".into(),
        side: Side::Sell,
        order_type: OrderType::Market,
        quantity: d("0.5"),
        price: None,
        ..order.clone()
    };
    let sold = conn.create_order(&sell).await.unwrap();
    assert_eq!((sold.side, sold.quantity, sold.filled_quantity), (Side::Sell, d("0.5"), d("0.5")));
    let last = state.fills(None).into_iter().last().unwrap();
    assert_eq!((last.side.as_str(), last.qty), ("SELL", d("0.5")), "the fake booked 50 contracts as 0.5 ETH");
    assert_eq!(conn.positions().await.unwrap()[0].size, d("1.5"));
    let balances = conn.balances().await.unwrap();
    assert_eq!(balances[0].asset, "USDT");
    assert_eq!(balances[0].free, state.balances()["USDT"].0);
    let trades = conn.recent_trades(ETH, None, 10).await.unwrap();
    let last = trades.last().unwrap();
    assert_eq!((last.price, last.quantity, last.buyer_maker), (d("2990"), d("3"), true));
    assert_eq!(state.signature_failures(), 0);
}

/// A client id Gate does not know answers `CLIENT_ID_NOT_FOUND`: taken as "not found"
/// (after a look among the finished orders), so a submit whose answer was lost and which
/// never arrived is sent again, and a restart calls such an order never placed.
#[tokio::test]
async fn an_unknown_client_id_is_not_found() {
    use tradehost::connectors::{ConnectorError, OrderRef};
    let (_fake, conn) = suite::acked::setup::<GateioConnector>().await;
    let never = conn.get_order("BTCUSDT", &OrderRef::Client("never-sent".into())).await;
    assert!(matches!(never, Err(ConnectorError::OrderNotFound { .. })), "{never:?}");
    let placed = conn.create_order(&limit("lim-1", Side::Buy, "0.01", "50000")).await.unwrap();
    let found = conn.get_order("BTCUSDT", &OrderRef::Client("lim-1".into())).await.unwrap();
    assert_eq!(found.order_id, placed.order_id);
}

/// Gate finds an order by `text` only for an hour after it ended: later, the connector
/// finds it among the pair's finished orders (a restart's reconciliation must not call a
/// filled or canceled order never placed).
#[tokio::test]
async fn an_order_that_ended_over_an_hour_ago_is_found_among_finished_orders() {
    use tradehost::connectors::{ExchangeOrderStatus, OrderRef};
    let (fake, conn) = suite::acked::setup::<GateioConnector>().await;
    let placed = conn.create_order(&limit("old-1", Side::Buy, "0.01", "50000")).await.unwrap();
    conn.cancel_order("BTCUSDT", &OrderRef::Client("old-1".into())).await.unwrap();
    let open = conn.create_order(&limit("open-1", Side::Buy, "0.01", "49000")).await.unwrap();
    // Two hours later on the exchange's clock (the connector re-measures its offset).
    fake.state.set_clock_skew(7_200_000);
    let found = conn.get_order("BTCUSDT", &OrderRef::Client("old-1".into())).await.unwrap();
    assert_eq!((found.order_id, found.status), (placed.order_id, ExchangeOrderStatus::Canceled));
    let still = conn.get_order("BTCUSDT", &OrderRef::Client("open-1".into())).await.unwrap();
    assert_eq!((still.order_id, still.status), (open.order_id, ExchangeOrderStatus::New));
}

/// A long disconnect on a busy market: more trades than one page of Gate's history
/// (1,000) happened meanwhile. The catch-up pages on from the last one fetched
/// (`last_id`), so every trade arrives once, in order.
#[tokio::test]
async fn a_catch_up_longer_than_a_page_fetches_every_trade() {
    use suite::acked::SYM;
    let (fake, _conn, mut h, (last_seen, _)) = suite::acked::disconnected_during::<GateioConnector>(2_500).await;
    let state = &fake.state;
    let missed: Vec<u64> = state.trades(SYM, Some(last_seen + 1), usize::MAX).iter().map(|t| t.id).collect();
    assert_eq!(missed.len(), 2_500);
    let newest = *missed.last().unwrap();
    let mut got = Vec::new();
    let end = next_matching(&mut h, Duration::from_secs(10), |e| {
        if let StreamEvent::Trade(t) = e {
            got.push(t.seq);
        }
        matches!(e, StreamEvent::Trade(t) if t.seq == newest)
    })
    .await;
    assert!(end.is_some(), "the newest trade arrived (got {} trades)", got.len());
    assert_eq!(got, missed, "every missed trade exactly once, in order");
}

/// A disconnect longer than the backfill's page limit (20 pages of 1,000): the missed
/// trades those pages hold arrive, then the session reports that what followed them may be
/// lost (no end known) instead of passing the hole off as a complete stream.
#[tokio::test]
async fn a_catch_up_past_the_page_limit_reports_the_rest_missed() {
    use suite::acked::SYM;
    let (fake, _conn, mut h, (last_seen, _)) = suite::acked::disconnected_during::<GateioConnector>(20_500).await;
    let state = &fake.state;
    // Gate's sequence is not contiguous, so the catch-up asks from the last trade seen on
    // (it comes back and is dropped as a duplicate): 20 pages hold 19,999 new trades.
    let fetched = state.trades(SYM, Some(last_seen), 20_000);
    let (last_fetched, last_fetched_ms) = (fetched[19_999].id, fetched[19_999].time_ms);
    let mut got = 0usize;
    let ev = next_matching(&mut h, Duration::from_secs(20), |e| {
        got += usize::from(matches!(e, StreamEvent::Trade(_)));
        matches!(e, StreamEvent::TradesMissed { .. })
    })
    .await;
    let Some(StreamEvent::TradesMissed { after_seq, after_ms, before_seq, before_ms, .. }) = ev else {
        panic!("no TradesMissed after {got} caught-up trades")
    };
    assert_eq!(got, 19_999, "the pages the backfill fetched");
    assert_eq!((after_seq, after_ms, before_seq, before_ms), (last_fetched, last_fetched_ms, None, None));
}
