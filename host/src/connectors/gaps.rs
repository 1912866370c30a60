//! Trade-sequence bookkeeping per symbol: drops trades already seen (a reconnect or a
//! backfill overlaps) and reports the missing range when a venue that numbers trades
//! contiguously (Binance) skips ids, so the session can fetch them over REST before any
//! candle is built from a partial minute.

use std::collections::HashMap;

/// What a new trade sequence means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// The next trade (or the first one seen).
    InOrder,
    /// Already seen: drop it.
    Duplicate,
    /// `from..=to` are missing before this one.
    Gap {
        /// First missing.
        from: u64,
        /// Last missing.
        to: u64,
    },
}

/// Last sequence seen per symbol, and the trade ids seen at it (venues whose sequence is
/// not per trade, like Bybit's cross sequence, give several trades of one match the same
/// number: those are told apart by id, not dropped).
#[derive(Debug, Default, Clone)]
pub struct TradeSequences {
    last: HashMap<String, (u64, Vec<String>)>,
    contiguous: bool,
}

impl TradeSequences {
    /// `contiguous`: the venue numbers each symbol's trades 1, 2, 3... (gaps are
    /// detectable); otherwise only duplicates are.
    pub fn new(contiguous: bool) -> TradeSequences {
        TradeSequences { last: HashMap::new(), contiguous }
    }

    /// Classify trade `id` with sequence `seq` without recording it.
    pub fn check(&self, symbol: &str, seq: u64, id: &str) -> SeqCheck {
        match self.last.get(symbol) {
            None => SeqCheck::InOrder,
            Some((last, ids)) if seq == *last && !self.contiguous && !ids.iter().any(|i| i == id) => SeqCheck::InOrder,
            Some((last, _)) if seq <= *last => SeqCheck::Duplicate,
            Some((last, _)) if self.contiguous && seq > last + 1 => SeqCheck::Gap { from: last + 1, to: seq - 1 },
            Some(_) => SeqCheck::InOrder,
        }
    }

    /// Record trade `id` with sequence `seq` as seen.
    pub fn record(&mut self, symbol: &str, seq: u64, id: &str) {
        let e = self.last.entry(symbol.to_string()).or_insert_with(|| (seq, Vec::new()));
        if seq > e.0 {
            *e = (seq, Vec::new());
        }
        if seq == e.0 && !self.contiguous {
            e.1.push(id.to_string());
        }
    }

    /// True when gaps are detectable.
    pub fn contiguous(&self) -> bool {
        self.contiguous
    }

    /// Every symbol seen so far.
    pub fn symbols(&self) -> Vec<String> {
        let mut v: Vec<String> = self.last.keys().cloned().collect();
        v.sort();
        v
    }

    /// The last sequence seen of a symbol.
    pub fn last(&self, symbol: &str) -> Option<u64> {
        self.last.get(symbol).map(|(s, _)| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_gaps_and_duplicates() {
        let mut s = TradeSequences::new(true);
        assert_eq!(s.check("BTCUSDT", 10, "10"), SeqCheck::InOrder);
        s.record("BTCUSDT", 10, "10");
        assert_eq!(s.check("BTCUSDT", 11, "11"), SeqCheck::InOrder);
        assert_eq!(s.check("BTCUSDT", 10, "10"), SeqCheck::Duplicate);
        assert_eq!(s.check("BTCUSDT", 15, "15"), SeqCheck::Gap { from: 11, to: 14 });
        assert_eq!(s.check("ETHUSDT", 3, "3"), SeqCheck::InOrder, "symbols are independent");
        let loose = TradeSequences { contiguous: false, ..s.clone() };
        assert_eq!(loose.check("BTCUSDT", 15, "15"), SeqCheck::InOrder, "non-contiguous venues only drop duplicates");
    }

    #[test]
    fn trades_of_one_match_share_a_sequence_and_are_all_kept() {
        let mut s = TradeSequences::new(false);
        for id in ["a", "b", "c"] {
            assert_eq!(s.check("BTCUSDT", 7, id), SeqCheck::InOrder, "{id}");
            s.record("BTCUSDT", 7, id);
        }
        assert_eq!(s.check("BTCUSDT", 7, "b"), SeqCheck::Duplicate, "the same trade again");
        assert_eq!(s.check("BTCUSDT", 6, "z"), SeqCheck::Duplicate, "older than the last match");
        s.record("BTCUSDT", 8, "d");
        assert_eq!(s.check("BTCUSDT", 7, "e"), SeqCheck::Duplicate);
        assert_eq!(s.last("BTCUSDT"), Some(8));
    }
}
