use super::*;
use crate::execution::Position;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn batch_round_trips_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut symbols = Symbols::default();
    let btc = symbols.intern("BTCUSDT").unwrap();
    let order = Order {
        id: 7,
        instance: "a".into(),
        symbol: btc,
        side: Side::Buy,
        kind: OrderKind::Limit(d("59000.5")),
        qty: d("0.001"),
        filled: d("0"),
        status: OrderStatus::New,
        reason: None,
        tag: "x".into(),
        time_ms: 42,
    };
    let mut acc = Account::default();
    acc.balances.insert("USDT".into(), d("9940.0001"));
    acc.positions
        .insert(btc, Position { qty: d("0.001"), avg_price: d("60000"), realized_pnl: d("1.5"), fees: d("0.06") });
    let fill = Fill {
        order_id: 7,
        instance: "a".into(),
        symbol: btc,
        side: Side::Buy,
        price: d("60000"),
        qty: d("0.001"),
        fee: d("0.06"),
        fee_base: d("0"),
        fee_outside: false,
        realized_pnl: d("0"),
        time_ms: 43,
    };
    let batch = Batch {
        orders: vec![order.clone()],
        fills: vec![fill],
        accounts: vec![("a".into(), acc.clone())],
        snapshots: vec![("a".into(), "h".into(), vec![1, 2, 3])],
        journal: vec!["[1,\"a\"]".into(), "[2,\"b\"]".into()],
        cursor_ms: Some(43),
        ..Default::default()
    };
    Store::open(&path).unwrap().write(&batch, &symbols).unwrap();

    let store = Store::open(&path).unwrap();
    let mut fresh = Symbols::default();
    assert_eq!(store.cursor().unwrap(), Some(43));
    assert_eq!(store.max_order_id().unwrap(), 7);
    assert_eq!(store.snapshots().unwrap()["a"], vec![1, 2, 3]);
    let accounts = store.accounts(&mut fresh).unwrap();
    assert_eq!(accounts["a"].balances, acc.balances);
    assert_eq!(accounts["a"].positions[&fresh.get("BTCUSDT").unwrap()], acc.positions[&btc]);
    let open = store.open_orders(&mut fresh).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id, open[0].kind, open[0].qty), (7, OrderKind::Limit(d("59000.5")), d("0.001")));
    let trades = store.trades(Some("a"), None, 10).unwrap();
    assert_eq!((trades[0].price, trades[0].fee, trades[0].order_id), (d("60000"), d("0.06"), 7));
    assert!(store.trades(Some("b"), None, 10).unwrap().is_empty());
    let journal: Vec<(u32, String)> = store.journal().unwrap();
    assert_eq!(journal, vec![(1, "a".to_string()), (2, "b".to_string())], "journal replays in order");
}
