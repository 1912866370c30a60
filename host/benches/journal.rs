//! The paper exchange with its journal on: every command serialised and written to
//! SQLite (WAL) in batched transactions, against the engine alone on the same stream.
//! Goal: journaled throughput above 500 k commands/s.
//!
//! Run: `cargo bench -p tradehost --bench journal`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::time::{Duration, Instant};
use tradehost::core::exchange::JournalEntry;
use tradehost::market_data::Symbols;
use tradehost::matching::{AccountId, Command, Engine, EngineConfig, NewOrder, OrderId, PairConfig, PairId, Side};
use tradehost::store::{Batch, Store};

const COMMANDS: usize = 200_000;
const BATCH: usize = 4096;

/// Deposits, then a 60 % limit / 25 % cancel / 15 % market stream on one pair.
fn stream() -> Vec<Command> {
    let mut out = vec![Command::AddPair(PairConfig::new("BTCUSDT", Decimal::new(1, 2), Decimal::new(1, 5)))];
    for a in 2..12u64 {
        for (asset, amount) in [("BTC", 1_000_000i64), ("USDT", 100_000_000_000)] {
            out.push(Command::Deposit { account: AccountId(a), asset: asset.into(), amount: Decimal::from(amount) });
        }
    }
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut placed = 0u64;
    for i in 0..COMMANDS as i64 {
        let r = next();
        let account = AccountId(2 + r % 10);
        let side = if r & 1 == 0 { Side::Buy } else { Side::Sell };
        let qty = Decimal::new(1 + (r >> 8) as i64 % 100, 5);
        let roll = (r >> 20) % 100;
        let cmd = if roll < 60 {
            let offset = ((r >> 32) % 200) as i64;
            let price = if side == Side::Buy { 6_000_000 - offset } else { 6_000_001 + offset };
            placed += 1;
            Command::Place(NewOrder::limit(account, PairId(0), side, Decimal::new(price, 2), qty, i))
        } else if roll < 85 && placed > 0 {
            Command::Cancel { account, order_id: OrderId(1 + (r >> 24) % placed), time_ms: i }
        } else {
            Command::Place(NewOrder::market(account, PairId(0), side, qty, i))
        };
        out.push(cmd);
    }
    out
}

fn bench(c: &mut Criterion) {
    let commands = stream();
    let mut g = c.benchmark_group("journal");
    g.sample_size(10).measurement_time(Duration::from_secs(10)).throughput(Throughput::Elements(commands.len() as u64));
    g.bench_function("engine_only", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut engine = Engine::new(EngineConfig::default()).expect("default config");
                let mut events = Vec::new();
                let t = Instant::now();
                for cmd in &commands {
                    events.clear();
                    engine.apply_into(cmd, &mut events);
                }
                total += t.elapsed();
            }
            total
        })
    });
    g.bench_function("engine_with_sqlite_journal", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("temp dir");
                let mut store = Store::open(&dir.path().join("j.db")).expect("store");
                let symbols = Symbols::default();
                let mut engine = Engine::new(EngineConfig::default()).expect("default config");
                let mut events = Vec::new();
                let mut batch = Batch::default();
                let t = Instant::now();
                for cmd in &commands {
                    events.clear();
                    engine.apply_into(cmd, &mut events);
                    let entry = JournalEntry::Engine(cmd.clone());
                    batch.journal.push(serde_json::to_string(&entry).expect("serialisable"));
                    if batch.journal.len() >= BATCH {
                        store.write(&std::mem::take(&mut batch), &symbols).expect("write");
                    }
                }
                store.write(&batch, &symbols).expect("write");
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
