//! Market data: normalised ticks, the bounded tick store, the one-minute candle
//! aggregator and the feeds (synthetic, replay) that produce events.

pub mod aggregator;
pub mod candle;
pub mod feeds;
pub mod tick;
pub mod tick_store;

pub use aggregator::CandleAggregator;
pub use candle::{Candle, MINUTE_MS};
pub use tick::{BookTicker, SymbolId, SymbolInfo, Symbols, Tick};
pub use tick_store::TickStore;
