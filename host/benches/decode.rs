//! Decode throughput (frames/s) of real Binance trade frames: every `btcusdt@trade`
//! frame of the recorded BTCUSDT session (`spot_btcusdt_2024080{8,9}.gz`, 19,904 frames),
//! from raw bytes to a `market_data::Tick`, through
//!
//! - `replay_parser`: the replay feed's `feeds::binance_ws::parse_frame`;
//! - `connector_parser`: the Binance connector's WebSocket parser
//!   (`connectors::binance::parse::market_frame`, giving a `PublicTrade`), then the symbol
//!   interned to make the same `Tick`.
//!
//! Goal: 1.5 M frames/s each. Run with `cargo bench -p tradehost --bench decode`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::read::GzDecoder;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::time::Instant;
use tradehost::connectors::StreamEvent;
use tradehost::connectors::binance::parse::market_frame;
use tradehost::market_data::Tick;
use tradehost::market_data::feeds::binance_ws::parse_frame;
use tradehost::market_data::feeds::{FeedEvent, SymbolCache, shared_symbols};

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/binance-spot-ws");
const GOAL_FRAMES_PER_SEC: f64 = 1.5e6;

/// The trade frames of the BTCUSDT recording, as received (bytes after the timestamp).
fn trade_frames() -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for name in ["spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz"] {
        let path = format!("{DATA_DIR}/{name}");
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for line in BufReader::new(GzDecoder::new(file)).lines() {
            let line = line.expect("gzip line");
            let frame = line.split_once(' ').map(|(_, f)| f).unwrap_or_default();
            if frame.starts_with(r#"{"stream":"btcusdt@trade""#) {
                frames.push(frame.as_bytes().to_vec());
            }
        }
    }
    assert_eq!(frames.len(), 19_904, "every trade of the recording");
    frames
}

fn replay_parser(frames: &[Vec<u8>], symbols: &mut SymbolCache) -> u64 {
    let mut sum = 0u64;
    for raw in frames {
        let text = std::str::from_utf8(raw).expect("UTF-8 frame");
        match parse_frame(text, symbols) {
            Ok(Some(FeedEvent::Trade(t))) => sum = sum.wrapping_add(t.trade_id),
            other => panic!("not a trade: {other:?}"),
        }
    }
    sum
}

fn connector_parser(frames: &[Vec<u8>], symbols: &mut SymbolCache, out: &mut Vec<StreamEvent>) -> u64 {
    let mut sum = 0u64;
    for raw in frames {
        let text = std::str::from_utf8(raw).expect("UTF-8 frame");
        out.clear();
        market_frame(text, out).expect("trade frame");
        let Some(StreamEvent::Trade(t)) = out.pop() else { panic!("not a trade") };
        let tick = Tick {
            symbol: symbols.resolve(&t.symbol).expect("symbol"),
            time_ms: t.time_ms,
            price: t.price,
            qty: t.quantity,
            trade_id: t.seq,
            buyer_maker: t.buyer_maker,
        };
        sum = sum.wrapping_add(black_box(tick).trade_id);
    }
    sum
}

/// A plain timing of `rounds` passes, printed so the number is visible without
/// criterion's report.
fn report(name: &str, frames: usize, rounds: usize, mut pass: impl FnMut() -> u64) {
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..rounds {
        sum = sum.wrapping_add(pass());
    }
    let per_sec = (frames * rounds) as f64 / start.elapsed().as_secs_f64();
    let verdict = if per_sec >= GOAL_FRAMES_PER_SEC { "meets" } else { "BELOW" };
    eprintln!("decode/{name}: {:.2} M frames/s ({verdict} the 1.5 M goal) [{sum}]", per_sec / 1e6);
}

fn decode(c: &mut Criterion) {
    let frames = trade_frames();
    let mut symbols = SymbolCache::new(shared_symbols());
    let mut out = Vec::with_capacity(4);
    // Both parsers agree on every frame.
    assert_eq!(replay_parser(&frames, &mut symbols), connector_parser(&frames, &mut symbols, &mut out));
    report("replay_parser", frames.len(), 50, || replay_parser(&frames, &mut symbols));
    report("connector_parser", frames.len(), 50, || connector_parser(&frames, &mut symbols, &mut out));

    let mut group = c.benchmark_group("decode_binance_trades");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("replay_parser", |b| b.iter(|| replay_parser(black_box(&frames), &mut symbols)));
    group.bench_function("connector_parser", |b| {
        b.iter(|| connector_parser(black_box(&frames), &mut symbols, &mut out))
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
