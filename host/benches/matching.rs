//! Throughput and latency of the matching engine (`tradehost::matching`) against the
//! `lobster` crate on the same stream: a 10,000-order prefill, then 1,000,000 commands,
//! 60 % limit / 25 % cancel / 15 % market, generated deterministically (xorshift, fixed
//! seed). Both books see the same order ids, prices (ticks) and quantities (lots); the
//! engine takes them as `Decimal` commands, as the host sends them, and converts at the
//! edge.
//!
//! Variants: `engine_wallets` (the engine as the host runs it: funds locked and settled,
//! fees charged) and `engine_raw_book` (`check_funds = false`: matching only, the mode
//! comparable to lobster, which has no wallets). After criterion, a second pass prints
//! throughput for all three from interleaved runs (best and median) with the ratio to
//! lobster, then per-command latency percentiles over the whole stream, three passes per
//! mode (each command timed alone with `Instant`, which adds ~20-30 ns; batches of 32
//! timed as a whole are printed too). The runs also check that both books produce the
//! same number of trades on the stream.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tradehost::matching::{
    AccountId, Command, Engine, EngineConfig, Event, NewOrder, OrderId, PairConfig, PairId, Side,
};

const PREFILL: usize = 10_000;
const COMMANDS: usize = 1_000_000;
const ACCOUNTS: u64 = 16;
/// Mid price 10,000.00 in ticks of 0.01.
const MID: i64 = 1_000_000;
const T0: i64 = 1_704_110_400_000;
const ROUNDS: usize = 7;
const LATENCY_PASSES: usize = 3;

/// One generated operation, in integers.
#[derive(Debug, Clone, Copy)]
enum Op {
    Limit { id: u64, account: u64, buy: bool, price: i64, qty: i64 },
    Market { id: u64, account: u64, buy: bool, qty: i64 },
    Cancel { id: u64, account: u64 },
}

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

/// The prefill (resting, non-crossing) and the measured stream.
fn generate() -> (Vec<Op>, Vec<Op>) {
    let mut rng = Rng(0x00c0_ffee_d00d);
    let mut next_id = 1u64;
    let mut placed: Vec<(u64, u64)> = Vec::with_capacity(PREFILL + COMMANDS);
    let limit = |rng: &mut Rng, placed: &mut Vec<(u64, u64)>, next_id: &mut u64, crossing: bool| {
        let (id, account, buy) = (*next_id, 1 + rng.below(ACCOUNTS), rng.below(2) == 0);
        *next_id += 1;
        // Passive side: 1..500 ticks away from mid; in the stream, 5 % of limits cross.
        let offset = if crossing && rng.below(20) == 0 { -(rng.below(50) as i64) } else { 1 + rng.below(500) as i64 };
        let price = if buy { MID - offset } else { MID + offset };
        placed.push((id, account));
        Op::Limit { id, account, buy, price, qty: 1 + rng.below(100) as i64 }
    };
    let prefill: Vec<Op> = (0..PREFILL).map(|_| limit(&mut rng, &mut placed, &mut next_id, false)).collect();
    let mut stream = Vec::with_capacity(COMMANDS);
    for _ in 0..COMMANDS {
        let roll = rng.below(100);
        let op = if roll < 60 {
            limit(&mut rng, &mut placed, &mut next_id, true)
        } else if roll < 85 {
            // Mostly recent orders (as real cancels are), sometimes any earlier one.
            let n = placed.len() as u64;
            let back = if rng.below(4) == 0 { rng.below(n) } else { rng.below(n.min(2_000)) };
            let (id, account) = placed[(n - 1 - back) as usize];
            Op::Cancel { id, account }
        } else {
            let id = next_id;
            next_id += 1;
            Op::Market { id, account: 1 + rng.below(ACCOUNTS), buy: rng.below(2) == 0, qty: 1 + rng.below(300) as i64 }
        };
        stream.push(op);
    }
    (prefill, stream)
}

fn side(buy: bool) -> Side {
    if buy { Side::Buy } else { Side::Sell }
}

fn to_command(op: &Op) -> Command {
    let pair = PairId(0);
    match *op {
        Op::Limit { account, buy, price, qty, .. } => Command::Place(NewOrder::limit(
            AccountId(account),
            pair,
            side(buy),
            Decimal::new(price, 2),
            Decimal::new(qty, 3),
            T0,
        )),
        Op::Market { account, buy, qty, .. } => {
            Command::Place(NewOrder::market(AccountId(account), pair, side(buy), Decimal::new(qty, 3), T0))
        }
        Op::Cancel { id, account } => {
            Command::Cancel { account: AccountId(account), order_id: OrderId(id), time_ms: T0 }
        }
    }
}

fn to_lobster(op: &Op) -> lobster::OrderType {
    let ls = |buy: bool| if buy { lobster::Side::Bid } else { lobster::Side::Ask };
    match *op {
        Op::Limit { id, buy, price, qty, .. } => {
            lobster::OrderType::Limit { id: u128::from(id), side: ls(buy), qty: qty as u64, price: price as u64 }
        }
        Op::Market { id, buy, qty, .. } => {
            lobster::OrderType::Market { id: u128::from(id), side: ls(buy), qty: qty as u64 }
        }
        Op::Cancel { id, .. } => lobster::OrderType::Cancel { id: u128::from(id) },
    }
}

/// An engine with the pair, funded accounts and the prefill applied.
fn prefilled_engine(prefill: &[Command], check_funds: bool) -> Engine {
    let cfg = EngineConfig { check_funds, closed_orders_kept: 10_000, ..EngineConfig::default() };
    let Ok(mut e) = Engine::new(cfg) else { panic!("default config is valid") };
    let mut setup = vec![Command::AddPair(PairConfig::new("BTC/USD", Decimal::new(1, 2), Decimal::new(1, 3)))];
    for a in 1..=ACCOUNTS {
        for asset in ["BTC", "USD"] {
            setup.push(Command::Deposit {
                account: AccountId(a),
                asset: asset.into(),
                amount: Decimal::new(1_000_000_000_000, 0),
            });
        }
    }
    for c in setup.iter().chain(prefill) {
        let events = e.apply(c);
        assert!(!events.iter().any(|e| matches!(e, Event::Rejected { .. })), "{events:?}");
    }
    e
}

fn prefilled_lobster(prefill: &[lobster::OrderType]) -> lobster::OrderBook {
    let mut book = lobster::OrderBook::new(PREFILL * 2, 16, false);
    for op in prefill {
        book.execute(*op);
    }
    book
}

/// Run the stream; returns the number of trades.
fn run_engine(e: &mut Engine, cmds: &[Command], out: &mut Vec<Event>) -> usize {
    let mut trades = 0;
    for c in cmds {
        out.clear();
        e.apply_into(c, out);
        trades += out.iter().filter(|e| matches!(e, Event::Trade(_))).count();
    }
    trades
}

fn run_lobster(book: &mut lobster::OrderBook, ops: &[lobster::OrderType]) -> usize {
    let mut trades = 0;
    for op in ops {
        trades += match book.execute(*op) {
            lobster::OrderEvent::Filled { fills, .. } | lobster::OrderEvent::PartiallyFilled { fills, .. } => {
                fills.len()
            }
            _ => 0,
        };
    }
    trades
}

struct Inputs {
    prefill_cmds: Vec<Command>,
    cmds: Vec<Command>,
    prefill_lob: Vec<lobster::OrderType>,
    lob: Vec<lobster::OrderType>,
}

fn inputs() -> Inputs {
    let (prefill, stream) = generate();
    Inputs {
        prefill_cmds: prefill.iter().map(to_command).collect(),
        cmds: stream.iter().map(to_command).collect(),
        prefill_lob: prefill.iter().map(to_lobster).collect(),
        lob: stream.iter().map(to_lobster).collect(),
    }
}

fn matching(c: &mut Criterion) {
    let input = inputs();
    // `MATCHING_PROFILE=wallets|raw|lobster`: one pass of that mode and nothing else, for
    // an instruction profiler (`valgrind --tool=callgrind`).
    if let Ok(mode) = std::env::var("MATCHING_PROFILE") {
        let trades = match mode.as_str() {
            "lobster" => run_lobster(&mut prefilled_lobster(&input.prefill_lob), &input.lob),
            m => run_engine(&mut prefilled_engine(&input.prefill_cmds, m != "raw"), &input.cmds, &mut Vec::new()),
        };
        println!("{mode}: {trades} trades");
        return;
    }
    let mut group = c.benchmark_group("matching");
    group.throughput(Throughput::Elements(COMMANDS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (name, funds) in [("engine_wallets", true), ("engine_raw_book", false)] {
        let base = prefilled_engine(&input.prefill_cmds, funds);
        let mut out = Vec::with_capacity(256);
        group.bench_function(BenchmarkId::new(name, COMMANDS), |b| {
            b.iter_batched(
                || base.clone(),
                |mut e| {
                    black_box(run_engine(&mut e, &input.cmds, &mut out));
                    e
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.bench_function(BenchmarkId::new("lobster", COMMANDS), |b| {
        b.iter_batched(
            || prefilled_lobster(&input.prefill_lob),
            |mut book| {
                black_box(run_lobster(&mut book, &input.lob));
                book
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    summary(&input);
}

/// Wall time of one run of `f` on fresh state (`setup` not timed).
fn time_once<S>(setup: impl FnOnce() -> S, f: impl FnOnce(&mut S)) -> f64 {
    let mut s = setup();
    let start = Instant::now();
    f(&mut s);
    let t = start.elapsed().as_secs_f64();
    drop(black_box(s));
    t
}

/// (best, median) of a list of times.
fn best_median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2])
}

fn percentiles(mut ns: Vec<u64>) -> String {
    ns.sort_unstable();
    let p = |q: f64| ns[((ns.len() as f64 - 1.0) * q) as usize];
    format!("p50 {} ns, p90 {} ns, p99 {} ns, p99.9 {} ns, max {} ns", p(0.5), p(0.9), p(0.99), p(0.999), p(1.0))
}

/// Throughput ratio and latency percentiles, printed after criterion's own report.
fn summary(input: &Inputs) {
    let mut out = Vec::with_capacity(256);
    let wallets = prefilled_engine(&input.prefill_cmds, true);
    let raw = prefilled_engine(&input.prefill_cmds, false);
    let trades_engine = run_engine(&mut wallets.clone(), &input.cmds, &mut out);
    let trades_raw = run_engine(&mut raw.clone(), &input.cmds, &mut out);
    let trades_lobster = run_lobster(&mut prefilled_lobster(&input.prefill_lob), &input.lob);
    println!("\nsame stream, same trades: engine {trades_engine}, raw book {trades_raw}, lobster {trades_lobster}");
    assert_eq!((trades_engine, trades_raw), (trades_lobster, trades_lobster), "books disagree");

    // Interleaved rounds, so load from other processes on this shared machine hits all
    // three alike; best-of is the least disturbed run, the median is printed too.
    let n = COMMANDS as f64;
    let (mut lob, mut with_wallets, mut raw_book) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        lob.push(time_once(
            || prefilled_lobster(&input.prefill_lob),
            |b| {
                black_box(run_lobster(b, &input.lob));
            },
        ));
        with_wallets.push(time_once(
            || wallets.clone(),
            |e| {
                black_box(run_engine(e, &input.cmds, &mut out));
            },
        ));
        raw_book.push(time_once(
            || raw.clone(),
            |e| {
                black_box(run_engine(e, &input.cmds, &mut out));
            },
        ));
    }
    let (lob_best, lob_median) = best_median(lob);
    println!("throughput, best / median of {ROUNDS} interleaved runs of {COMMANDS} commands:");
    println!("  lobster 0.7:       {:>5.2} / {:>5.2} M commands/s", n / lob_best / 1e6, n / lob_median / 1e6);
    for (name, times) in [("engine (wallets): ", with_wallets), ("engine (raw book):", raw_book)] {
        let (best, median) = best_median(times);
        println!(
            "  {name} {:>5.2} / {:>5.2} M commands/s = {:.2}x / {:.2}x lobster",
            n / best / 1e6,
            n / median / 1e6,
            lob_best / best,
            lob_median / median
        );
    }

    for (name, base) in [("engine (wallets)", &wallets), ("engine (raw book)", &raw)] {
        for pass in 1..=LATENCY_PASSES {
            latency(&format!("{name}, pass {pass}"), base, &input.cmds);
        }
    }
    let mut empty = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let start = Instant::now();
        empty.push(black_box(start.elapsed()).as_nanos() as u64);
    }
    println!("timer overhead (empty Instant pair): {}", percentiles(empty));
}

/// Per-command latency percentiles over the whole stream, timed one by one and in
/// batches of 32.
fn latency(name: &str, base: &Engine, cmds: &[Command]) {
    let mut out = Vec::with_capacity(256);
    let mut e = base.clone();
    let mut single = Vec::with_capacity(COMMANDS);
    for c in cmds {
        out.clear();
        let start = Instant::now();
        e.apply_into(c, &mut out);
        single.push(start.elapsed().as_nanos() as u64);
    }
    let mut e = base.clone();
    let mut batched = Vec::with_capacity(COMMANDS / 32);
    for chunk in cmds.chunks(32) {
        let start = Instant::now();
        for c in chunk {
            out.clear();
            e.apply_into(c, &mut out);
        }
        batched.push(start.elapsed().as_nanos() as u64 / chunk.len() as u64);
    }
    println!("{name}: latency per command: {}", percentiles(single));
    println!("{name}: mean per batch of 32: {}", percentiles(batched));
}

criterion_group!(benches, matching);
criterion_main!(benches);
