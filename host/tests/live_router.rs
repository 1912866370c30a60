//! The live router (`execution::live::Router`) with the Binance connector against the
//! fake Binance, whose order placements and cancels can be held as on a slow exchange:
//! requests go out side by side, a cancel of an order still being placed waits for its
//! answer, a new order waits for the cancels on its symbol, and an order canceled before
//! it was sent is withdrawn; the kill switch reaches an order still being placed, and a
//! reconciliation leaves such an order to its answer; a cancel asked twice goes out once;
//! an order's trades are listed with their fees, or reported incomplete.

mod suite;

use std::sync::Arc;
use std::time::{Duration, Instant};
use suite::d;
use tokio::sync::mpsc;
use tradehost::connectors::binance::BinanceConnector;
use tradehost::connectors::{Connector, ExchangeId, ExchangeOrderStatus, OrderRequest, OrderType, TimeInForce};
use tradehost::execution::Side;
use tradehost::execution::live::{LiveCommand, LiveEvent, Router, Sink};
use tradehost_tests::fake::{FakeExchange, FakeKeys, binance};

const PREFIX: &str = "th1-";

struct Live {
    fake: FakeExchange,
    commands: mpsc::UnboundedSender<LiveCommand>,
    events: mpsc::UnboundedReceiver<LiveEvent>,
}

/// A router on the fake Binance, reconciled and ready, with a last price on both pairs.
async fn start() -> Live {
    let fake = binance::start(FakeKeys::default()).await;
    fake.state.push_trade("BTCUSDT", d("60000"), d("1"), false);
    fake.state.push_trade("ETHUSDT", d("3000"), d("1"), false);
    let connector: Arc<dyn Connector> =
        Arc::new(BinanceConnector::new(suite::settings(ExchangeId::Binance, &fake, None)).unwrap());
    let (ev_tx, mut events) = mpsc::unbounded_channel();
    let sink: Sink = Arc::new(move |ev| ev_tx.send(ev).is_ok());
    let (commands, cmd_rx) = mpsc::unbounded_channel();
    tokio::spawn(Router::new(connector, PREFIX.into(), sink).run(cmd_rx));
    next(&mut events, |e| matches!(e, LiveEvent::Ready { up: true, .. })).await;
    Live { fake, commands, events }
}

/// A router as [`start`] gives, with a limit buy of BTCUSDT (order 1) held at the
/// exchange: its placement is on its way and unanswered.
async fn start_holding_one() -> Live {
    let live = start().await;
    live.fake.state.hold_orders(true);
    live.commands.send(limit_buy(1, "BTCUSDT", "50000", "0.001")).unwrap();
    assert_eq!(held(&live, 1).await, 1);
    live
}

/// The next event `want` accepts (others are skipped), within 10 s.
async fn next(events: &mut mpsc::UnboundedReceiver<LiveEvent>, want: impl Fn(&LiveEvent) -> bool) -> LiveEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let ev = events.recv().await.expect("router gone");
            if want(&ev) {
                return ev;
            }
        }
    })
    .await
    .expect("event in time")
}

fn accepted(id: u64) -> impl Fn(&LiveEvent) -> bool {
    move |e| matches!(e, LiveEvent::Accepted { order_id, .. } if *order_id == id)
}

/// Wait until every order in `ids` is accepted, in any order.
async fn all_accepted(events: &mut mpsc::UnboundedReceiver<LiveEvent>, ids: &[u64]) {
    let mut left = ids.to_vec();
    while !left.is_empty() {
        if let LiveEvent::Accepted { order_id, .. } =
            next(events, |e| matches!(e, LiveEvent::Accepted { order_id, .. } if ids.contains(order_id))).await
        {
            left.retain(|id| *id != order_id);
        }
    }
}

fn limit_buy(id: u64, symbol: &str, price: &str, qty: &str) -> LiveCommand {
    LiveCommand::Place {
        order_id: id,
        request: OrderRequest {
            symbol: symbol.into(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            quantity: d(qty),
            price: Some(d(price)),
            time_in_force: TimeInForce::Gtc,
            client_order_id: client(id),
            reduce_only: false,
        },
    }
}

fn client(id: u64) -> String {
    format!("{PREFIX}{id}")
}

fn cancel(id: u64, symbol: &str) -> LiveCommand {
    LiveCommand::Cancel { order_id: id, symbol: symbol.into(), client_id: client(id) }
}

/// Wait (up to 5 s) until `n` order requests are held at the fake; the count then.
async fn held(live: &Live, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    while live.fake.state.orders_held() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    live.fake.state.orders_held()
}

/// The order requests (`POST` / `DELETE /api/v3/order`) the fake received, in order.
fn order_requests(live: &Live) -> Vec<String> {
    live.fake.state.requests().into_iter().filter(|r| r.ends_with(" /api/v3/order") && !r.starts_with("GET")).collect()
}

#[tokio::test]
async fn orders_to_one_venue_go_out_side_by_side() {
    let mut live = start().await;
    live.fake.state.hold_orders(true);
    live.commands.send(limit_buy(1, "BTCUSDT", "50000", "0.001")).unwrap();
    live.commands.send(limit_buy(2, "ETHUSDT", "2000", "0.01")).unwrap();
    live.commands.send(limit_buy(3, "BTCUSDT", "49000", "0.001")).unwrap();
    // One at a time, the second would reach the exchange only after the first's answer.
    assert_eq!(held(&live, 3).await, 3, "all three placements are on their way at once");
    live.fake.state.hold_orders(false);
    all_accepted(&mut live.events, &[1, 2, 3]).await;
    assert_eq!(live.fake.state.open_orders(None).len(), 3);
}

#[tokio::test]
async fn a_cancel_of_an_order_being_placed_goes_out_once_it_is_answered() {
    let mut live = start_holding_one().await;
    live.commands.send(cancel(1, "BTCUSDT")).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(order_requests(&live), ["POST /api/v3/order"], "the exchange does not know the order yet");
    live.fake.state.hold_orders(false);
    next(&mut live.events, accepted(1)).await;
    next(&mut live.events, |e| {
        matches!(e, LiveEvent::Update { update, .. }
            if update.order.client_order_id == "th1-1" && update.order.status == ExchangeOrderStatus::Canceled)
    })
    .await;
    assert_eq!(order_requests(&live), ["POST /api/v3/order", "DELETE /api/v3/order"]);
    assert!(live.fake.state.open_orders(None).is_empty());
}

#[tokio::test]
async fn a_new_order_waits_for_the_cancels_on_its_symbol_and_one_canceled_unsent_is_withdrawn() {
    let mut live = start().await;
    live.commands.send(limit_buy(1, "BTCUSDT", "50000", "0.001")).unwrap();
    next(&mut live.events, accepted(1)).await;
    live.fake.state.hold_orders(true);
    live.commands.send(cancel(1, "BTCUSDT")).unwrap();
    assert_eq!(held(&live, 1).await, 1, "the cancel is at the exchange");
    // Same symbol: waits for the cancel (it frees the balance the new order may need);
    // another symbol: goes at once.
    live.commands.send(limit_buy(2, "BTCUSDT", "50100", "0.001")).unwrap();
    live.commands.send(limit_buy(3, "ETHUSDT", "2000", "0.01")).unwrap();
    assert_eq!(held(&live, 2).await, 2);
    // Canceled while it waits: never sent.
    live.commands.send(limit_buy(4, "BTCUSDT", "50200", "0.001")).unwrap();
    live.commands.send(cancel(4, "BTCUSDT")).unwrap();
    next(&mut live.events, |e| matches!(e, LiveEvent::Withdrawn { order_id: 4, .. })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(live.fake.state.orders_held(), 2, "order 2 waits in the host, not at the exchange");
    live.fake.state.hold_orders(false);
    all_accepted(&mut live.events, &[2, 3]).await;
    let requests = order_requests(&live);
    assert_eq!(requests.iter().filter(|r| r.starts_with("POST")).count(), 3, "orders 1, 2 and 3: {requests:?}");
    let sent = |id: u64| live.fake.state.find(None, Some(&client(id))).is_some();
    assert!(sent(2) && sent(3) && !sent(4));
    let open: Vec<String> = live.fake.state.open_orders(None).into_iter().map(|o| o.client_id).collect();
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open.contains(&client(2)) && open.contains(&client(3)));
}

#[tokio::test]
async fn the_kill_switch_cancels_an_order_still_being_placed_once_it_is_answered() {
    let mut live = start().await;
    live.commands.send(limit_buy(1, "BTCUSDT", "50000", "0.001")).unwrap();
    next(&mut live.events, accepted(1)).await;
    live.fake.state.hold_orders(true);
    live.commands.send(limit_buy(2, "ETHUSDT", "2000", "0.01")).unwrap();
    assert_eq!(held(&live, 1).await, 1);
    live.commands.send(LiveCommand::CancelAll).unwrap();
    // Order 1 is canceled at once (its cancel waits at the exchange's gate too).
    assert_eq!(held(&live, 2).await, 2);
    live.fake.state.hold_orders(false);
    next(&mut live.events, accepted(2)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !live.fake.state.open_orders(None).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(live.fake.state.open_orders(None).is_empty(), "nothing left working");
    let requests = order_requests(&live);
    assert_eq!(requests.iter().filter(|r| r.starts_with("DELETE")).count(), 2, "{requests:?}");
}

#[tokio::test]
async fn a_reconciliation_leaves_an_order_being_placed_to_its_answer() {
    let mut live = start_holding_one().await;
    // The private stream drops and comes back: the router reconciles while the
    // placement is unanswered (the exchange does not know the order yet).
    live.fake.state.drop_connections();
    let mut seen = Vec::new();
    let mut reconciled = false;
    while !reconciled {
        let ev = next(&mut live.events, |_| true).await;
        reconciled = matches!(ev, LiveEvent::Ready { up: true, .. });
        seen.push(ev);
    }
    live.fake.state.hold_orders(false);
    seen.push(next(&mut live.events, accepted(1)).await);
    let refused = seen.iter().find(|e| matches!(e, LiveEvent::Refused { order_id: 1, .. }));
    assert!(refused.is_none(), "reported never placed while its placement was unanswered: {refused:?}");
    assert_eq!(live.fake.state.open_orders(None).len(), 1);
}

#[tokio::test]
async fn a_cancel_asked_twice_does_not_hold_up_its_symbol() {
    let mut live = start_holding_one().await;
    // A strategy cancels again while the placement is unanswered, and the kill switch
    // cancels it too: one cancel goes out, and the symbol is free after it.
    live.commands.send(cancel(1, "BTCUSDT")).unwrap();
    live.commands.send(cancel(1, "BTCUSDT")).unwrap();
    live.fake.state.hold_orders(false);
    next(&mut live.events, |e| {
        matches!(e, LiveEvent::Update { update, .. }
            if update.order.client_order_id == "th1-1" && update.order.status == ExchangeOrderStatus::Canceled)
    })
    .await;
    live.commands.send(limit_buy(2, "BTCUSDT", "50100", "0.001")).unwrap();
    next(&mut live.events, accepted(2)).await;
    let requests = order_requests(&live);
    assert_eq!(requests.iter().filter(|r| r.starts_with("DELETE")).count(), 1, "{requests:?}");
}

#[tokio::test]
async fn an_orders_trades_are_listed_with_their_fees_or_reported_missing() {
    let mut live = start().await;
    let buy = LiveCommand::Place {
        order_id: 1,
        request: OrderRequest {
            symbol: "BTCUSDT".into(),
            side: Side::Buy,
            order_type: OrderType::Market,
            quantity: d("0.01"),
            price: None,
            time_in_force: TimeInForce::Gtc,
            client_order_id: client(1),
            reduce_only: false,
        },
    };
    live.commands.send(buy).unwrap();
    let LiveEvent::Accepted { order, .. } = next(&mut live.events, accepted(1)).await else { unreachable!() };
    assert_eq!(order.filled_quantity, d("0.01"));
    let fetch = |seq: u64, filled: &str| LiveCommand::FetchTrades {
        seq,
        symbol: "BTCUSDT".into(),
        client_id: client(1),
        exchange_order_id: order.order_id.clone(),
        filled: d(filled),
        after_ms: 0,
    };
    live.commands.send(fetch(7, "0.01")).unwrap();
    let LiveEvent::Listed { client_id, fills, seq, complete, .. } =
        next(&mut live.events, |e| matches!(e, LiveEvent::Listed { .. })).await
    else {
        unreachable!()
    };
    assert_eq!((seq, complete), (7, true), "the answer to ask 7, complete");
    let ex = live.fake.state.fills(Some("BTCUSDT"));
    assert_eq!(client_id, client(1));
    assert_eq!(fills.len(), 1);
    assert_eq!((fills[0].quantity, fills[0].fee, fills[0].fee_asset.as_str()), (d("0.01"), ex[0].fee, "BTC"));
    // More than the exchange lists (it lags, or the trades are out of reach): after a few
    // tries, what there is, marked incomplete.
    live.commands.send(fetch(8, "0.02")).unwrap();
    let listed = next(&mut live.events, |e| matches!(e, LiveEvent::Listed { .. })).await;
    assert!(
        matches!(&listed, LiveEvent::Listed { seq: 8, fills, complete: false, .. } if fills.len() == 1),
        "{listed:?}"
    );
}

/// The price of an asset fees are paid in comes from the venue's ticker of
/// `<asset><quote>` when asked for, and again every minute after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_price_of_an_asset_fees_are_paid_in_is_read_from_the_venue() {
    let mut live = start().await;
    live.fake.state.push_trade("BNBUSDT", d("612.5"), d("1"), false);
    live.commands.send(LiveCommand::PriceAsset { asset: "BNB".into(), quote: "USDT".into() }).unwrap();
    let ev = next(&mut live.events, |e| matches!(e, LiveEvent::AssetPrice { .. })).await;
    let LiveEvent::AssetPrice { venue, asset, quote, price } = ev else { unreachable!() };
    assert_eq!((venue, asset.as_str(), quote.as_str(), price), (ExchangeId::Binance, "BNB", "USDT", d("612.5")));
    assert!(
        live.fake.state.requests().iter().any(|r| r.contains("/api/v3/ticker")),
        "{:?}",
        live.fake.state.requests()
    );
}

/// A price read the venue throttles is tried again a few seconds later, not a minute:
/// fees paid meanwhile wait for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_price_read_is_tried_again_soon() {
    let mut live = start().await;
    live.fake.state.push_trade("BNBUSDT", d("612.5"), d("1"), false);
    live.fake.state.fail_next(429, Some(1));
    let asked = Instant::now();
    live.commands.send(LiveCommand::PriceAsset { asset: "BNB".into(), quote: "USDT".into() }).unwrap();
    let ev = next(&mut live.events, |e| matches!(e, LiveEvent::AssetPrice { .. })).await;
    assert!(matches!(ev, LiveEvent::AssetPrice { price, .. } if price == d("612.5")));
    let reads = live.fake.state.requests().iter().filter(|r| r.contains("/api/v3/ticker")).count();
    assert_eq!(reads, 2, "refused once, then read");
    assert!(asked.elapsed() < Duration::from_secs(9), "tried again within seconds: {:?}", asked.elapsed());
}
