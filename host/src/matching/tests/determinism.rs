//! Same commands, same events and state: applying a recorded stream twice, and
//! replaying it after a round trip through JSON (as the journal stores it).

use super::*;

/// A small deterministic generator (xorshift), so the stream needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A mixed stream over two pairs: every order type and time in force, cancels, market
/// trades, sweeps across midnight, deposits and withdrawals.
fn stream(seed: u64, n: usize) -> Vec<Command> {
    let mut rng = Rng(seed);
    let mut cmds = vec![
        Command::AddPair(PairConfig::new("BTC/USD", d("0.01"), d("0.001"))),
        Command::AddPair(PairConfig::new("ETHUSDT", d("0.1"), d("0.01"))),
    ];
    for a in 1..=4 {
        for (asset, amount) in [("USD", "1000000"), ("BTC", "50"), ("USDT", "1000000"), ("ETH", "500")] {
            cmds.push(Command::Deposit { account: AccountId(a), asset: asset.into(), amount: d(amount) });
        }
    }
    let mut t = T0;
    for _ in 0..n {
        t += rng.below(60_000) as i64;
        let account = AccountId(1 + rng.below(4));
        let pair = PairId(rng.below(2) as u32);
        let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
        let price =
            Decimal::new(9_900 + rng.below(200) as i64, 2) * if pair.0 == 0 { Decimal::ONE } else { Decimal::TEN };
        let qty = Decimal::new(1 + rng.below(30) as i64, if pair.0 == 0 { 3 } else { 2 });
        let tif = [
            TimeInForce::Gtc,
            TimeInForce::Ioc,
            TimeInForce::Fok,
            TimeInForce::Day,
            TimeInForce::Gtd { expire_ms: t + 3_600_000 },
        ][rng.below(5) as usize];
        let stp =
            [StpMode::None, StpMode::ExpireTaker, StpMode::ExpireMaker, StpMode::ExpireBoth][rng.below(4) as usize];
        let cmd = match rng.below(12) {
            0..=4 => Command::Place(NewOrder::limit(account, pair, side, price, qty, t).with_tif(tif).with_stp(stp)),
            5 => Command::Place(NewOrder::market(account, pair, side, qty, t).with_stp(stp)),
            6 => Command::Place(NewOrder::market_quote(account, pair, side, price / Decimal::from(100), t)),
            7 => {
                let k =
                    [OrderType::StopLoss, OrderType::TakeProfit, OrderType::StopLossLimit, OrderType::TakeProfitLimit]
                        [rng.below(4) as usize];
                let o = NewOrder::stop(account, pair, side, k, price, qty, t);
                Command::Place(if k.has_limit_price() { o.with_price(price) } else { o })
            }
            8 => Command::Place(NewOrder::iceberg(account, pair, side, price, qty * Decimal::from(5), qty, t)),
            9 => Command::Place(NewOrder::trailing(account, pair, side, qty, 10 + rng.below(300) as u32, None, t)),
            10 => Command::Cancel { account, order_id: OrderId(1 + rng.below(n as u64)), time_ms: t },
            _ if rng.below(4) == 0 => Command::Sweep { now_ms: t },
            _ => Command::MarketTrade { pair, price, time_ms: t },
        };
        cmds.push(cmd);
    }
    cmds
}

fn run(cmds: &[Command]) -> (Engine, Vec<Event>) {
    let mut e = Engine::new(EngineConfig::default()).unwrap();
    let mut events = Vec::new();
    for c in cmds {
        e.apply_into(c, &mut events);
        assert!(e.funds_conserved());
    }
    (e, events)
}

/// Everything observable about an engine.
fn state(e: &Engine) -> String {
    let mut s = format!("{:?}\n", e.open_orders(None, None));
    for p in e.pairs() {
        s += &format!("{:?}\n{:?}\n", p, e.depth(p.id, 1000));
    }
    for a in e.accounts() {
        s += &format!("{a}: {:?}\n", e.balances(a));
    }
    s + &format!("{:?} {:?} {:?}", e.recent_trades(None, 100), e.supply(), e.next_order_id())
}

#[test]
fn same_commands_same_events_and_state() {
    let cmds = stream(0x5eed, 20_000);
    let (a, ev_a) = run(&cmds);
    let (b, ev_b) = run(&cmds);
    assert_eq!(ev_a, ev_b);
    assert_eq!(state(&a), state(&b));
    // The stream exercises what it should.
    let count = |f: &dyn Fn(&Event) -> bool| ev_a.iter().filter(|e| f(e)).count();
    assert!(count(&|e| matches!(e, Event::Trade(_))) > 1000);
    assert!(count(&|e| matches!(e, Event::Triggered { .. })) > 10);
    for st in [OrderStatus::Expired, OrderStatus::Canceled, OrderStatus::ExpiredInMatch, OrderStatus::Filled] {
        assert!(count(&|e| matches!(e, Event::Order(u) if u.status == st)) > 10, "{st:?}");
    }
}

#[test]
fn replay_from_a_json_journal_is_bit_for_bit() {
    let cmds = stream(42, 5_000);
    let (live, live_events) = run(&cmds);
    let journal: Vec<String> = cmds.iter().map(|c| serde_json::to_string(c).unwrap()).collect();
    let replayed: Vec<Command> = journal.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(replayed, cmds);
    let (restored, replay_events) = run(&replayed);
    assert_eq!(replay_events, live_events);
    assert_eq!(state(&restored), state(&live));
    // Events serialise and come back equal too.
    let json = serde_json::to_string(&live_events).unwrap();
    let back: Vec<Event> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, live_events);
}

#[test]
fn a_restart_mid_stream_replays_to_the_same_state() {
    let cmds = stream(7, 4_000);
    let (full, _) = run(&cmds);
    // "Crash" after 2,500 commands: the journal holds them; replay, then go on.
    let (mut resumed, _) = run(&cmds[..2_500]);
    for c in &cmds[2_500..] {
        resumed.apply(c);
    }
    assert_eq!(state(&resumed), state(&full));
}
