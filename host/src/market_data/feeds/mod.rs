//! Feeds: sources of normalised market events (synthetic, recorded Binance WebSocket
//! frames, data.binance.vision CSVs) behind one pull-based [`Feed`] trait.
//!
//! Feeds intern symbol names into a [`SharedSymbols`] table given at construction and
//! keep a local [`SymbolCache`] so the per-event path takes no lock once a name has been
//! seen. [`open_replay`] picks the parser by content and merges several files in event
//! order; [`Pacer`] maps event time to wall time for real-time or sped-up replays.
//!
//! Aggregation hint: a recorded WebSocket session joins mid-minute, so build candles from
//! it with `CandleAggregator::new(true)` (skip the partial first minute); CSV files start
//! on a minute boundary, so use `false`. [`Feed::starts_on_minute_boundary`] says which.

pub mod binance_ws;
pub mod csv;
mod merge;
mod pacer;
mod replay;
pub mod synthetic;
#[cfg(test)]
mod tests_real_data;
mod time;
mod ws_replay;

use super::candle::Candle;
use super::tick::{BookTicker, SymbolId, Symbols, Tick};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

pub use pacer::Pacer;
pub use replay::{ReplayConfig, open_replay, open_replay_with};

/// The symbol table shared by every feed, connector and consumer of the host.
pub type SharedSymbols = Arc<RwLock<Symbols>>;

/// One normalised market event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEvent {
    /// A trade.
    Trade(Tick),
    /// A best bid/ask update.
    Book(BookTicker),
    /// Event time advanced to this many ms since the Unix epoch; lets candles close in a
    /// quiet market without waiting for the next trade.
    Clock(i64),
    /// A finished one-minute candle (from kline files).
    Candle(Candle),
}

impl FeedEvent {
    /// Event time in ms, if the event carries one (a candle is known at its close time;
    /// a book ticker carries no time on Binance).
    pub fn time_ms(&self) -> Option<i64> {
        match self {
            FeedEvent::Trade(t) => Some(t.time_ms),
            FeedEvent::Book(_) => None,
            FeedEvent::Clock(t) => Some(*t),
            FeedEvent::Candle(c) => Some(c.close_time_ms),
        }
    }
}

/// A pull-based source of market events.
pub trait Feed: Send {
    /// The next event; `Ok(None)` at the end of the feed.
    fn next_event(&mut self) -> Result<Option<FeedEvent>, FeedError>;

    /// True when the first event falls on a minute boundary, so the first candle built
    /// from this feed is complete (`CandleAggregator::new(!feed.starts_on_minute_boundary())`).
    fn starts_on_minute_boundary(&self) -> bool {
        false
    }
}

/// Errors of the feeds subsystem.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of a file could not be parsed.
    #[error("{}:{line}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// What was wrong.
        reason: String,
    },
    /// A single frame (not from a file) could not be parsed.
    #[error("bad frame: {reason}")]
    Frame {
        /// What was wrong.
        reason: String,
    },
    /// A file whose kind (WebSocket recording, trades, aggTrades, klines) is not recognised.
    #[error("{}: {reason}", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Why it was not recognised.
        reason: String,
    },
    /// Invalid feed configuration (e.g. a zero tick size for the synthetic feed).
    #[error("invalid feed configuration: {0}")]
    Config(String),
    /// `open_replay` was given no files.
    #[error("no replay files given")]
    NoInput,
}

impl FeedError {
    /// True for errors confined to one line or frame, which a caller may log and skip.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, FeedError::Parse { .. } | FeedError::Frame { .. })
    }

    /// A frame-level error with a reason.
    pub(crate) fn frame(reason: impl Into<String>) -> FeedError {
        FeedError::Frame { reason: reason.into() }
    }

    /// Attach a file and line to a frame-level error.
    pub(crate) fn at(self, path: &std::path::Path, line: u64) -> FeedError {
        match self {
            FeedError::Frame { reason } => FeedError::Parse { path: path.to_path_buf(), line, reason },
            other => other,
        }
    }
}

/// Above this many names the cache switches from a linear scan to a hash map.
const LINEAR_CACHE_MAX: usize = 16;

/// A per-feed cache of symbol ids over the [`SharedSymbols`] table: names already seen
/// resolve without locking; a new name takes the write lock once.
#[derive(Debug, Clone)]
pub struct SymbolCache {
    shared: SharedSymbols,
    few: Vec<(Box<str>, SymbolId)>,
    many: HashMap<Box<str>, SymbolId>,
}

impl SymbolCache {
    /// A cache over the shared table.
    pub fn new(shared: SharedSymbols) -> SymbolCache {
        SymbolCache { shared, few: Vec::new(), many: HashMap::new() }
    }

    /// The shared table this cache fills.
    pub fn shared(&self) -> &SharedSymbols {
        &self.shared
    }

    /// The id of a symbol name in any accepted spelling (`btcusdt`, `BTCUSDT`, ...),
    /// interning it on first sight.
    pub fn resolve(&mut self, raw: &str) -> Result<SymbolId, FeedError> {
        if let Some((_, id)) = self.few.iter().find(|(name, _)| &**name == raw) {
            return Ok(*id);
        }
        if let Some(id) = self.many.get(raw) {
            return Ok(*id);
        }
        // A poisoned table is still a valid table: interning never leaves it half-updated.
        let interned = self.shared.write().unwrap_or_else(PoisonError::into_inner).intern(raw);
        let id = interned.ok_or_else(|| FeedError::frame(format!("invalid symbol name {raw:?}")))?;
        if self.few.len() < LINEAR_CACHE_MAX {
            self.few.push((raw.into(), id));
        } else {
            self.many.insert(raw.into(), id);
        }
        Ok(id)
    }
}

/// A new empty shared symbol table.
pub fn shared_symbols() -> SharedSymbols {
    Arc::new(RwLock::new(Symbols::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_resolves_spellings_to_one_id_and_rejects_junk() {
        let shared = shared_symbols();
        let mut cache = SymbolCache::new(shared.clone());
        let a = cache.resolve("btcusdt").unwrap();
        assert_eq!(cache.resolve("BTCUSDT").unwrap(), a);
        assert_eq!(cache.resolve("btcusdt").unwrap(), a);
        let mut other = SymbolCache::new(shared.clone());
        assert_eq!(other.resolve("BTC/USDT").unwrap(), a, "ids are shared between caches");
        assert!(cache.resolve("not a symbol").is_err());
        for i in 0..40 {
            // Past the linear part the hash map takes over.
            let name = format!("T{i}USDT");
            let id = cache.resolve(&name).unwrap();
            assert_eq!(cache.resolve(&name).unwrap(), id);
            assert_eq!(shared.read().unwrap().name(id), name);
        }
    }

    #[test]
    fn event_times() {
        assert_eq!(FeedEvent::Clock(5).time_ms(), Some(5));
        let err = FeedError::frame("x").at(std::path::Path::new("f.gz"), 7);
        assert!(err.is_bad_input());
        assert_eq!(err.to_string(), "f.gz:7: x");
    }
}
