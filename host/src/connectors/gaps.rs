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

/// Last sequence seen per symbol.
#[derive(Debug, Default, Clone)]
pub struct TradeSequences {
    last: HashMap<String, u64>,
    contiguous: bool,
}

impl TradeSequences {
    /// `contiguous`: the venue numbers each symbol's trades 1, 2, 3... (gaps are
    /// detectable); otherwise only duplicates are.
    pub fn new(contiguous: bool) -> TradeSequences {
        TradeSequences { last: HashMap::new(), contiguous }
    }

    /// Classify `seq` without recording it.
    pub fn check(&self, symbol: &str, seq: u64) -> SeqCheck {
        match self.last.get(symbol) {
            None => SeqCheck::InOrder,
            Some(&last) if seq <= last => SeqCheck::Duplicate,
            Some(&last) if self.contiguous && seq > last + 1 => SeqCheck::Gap { from: last + 1, to: seq - 1 },
            Some(_) => SeqCheck::InOrder,
        }
    }

    /// Record `seq` as seen.
    pub fn record(&mut self, symbol: &str, seq: u64) {
        let e = self.last.entry(symbol.to_string()).or_insert(seq);
        *e = (*e).max(seq);
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
        self.last.get(symbol).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_gaps_and_duplicates() {
        let mut s = TradeSequences::new(true);
        assert_eq!(s.check("BTCUSDT", 10), SeqCheck::InOrder);
        s.record("BTCUSDT", 10);
        assert_eq!(s.check("BTCUSDT", 11), SeqCheck::InOrder);
        assert_eq!(s.check("BTCUSDT", 10), SeqCheck::Duplicate);
        assert_eq!(s.check("BTCUSDT", 15), SeqCheck::Gap { from: 11, to: 14 });
        assert_eq!(s.check("ETHUSDT", 3), SeqCheck::InOrder, "symbols are independent");
        let loose = TradeSequences { contiguous: false, ..s.clone() };
        assert_eq!(loose.check("BTCUSDT", 15), SeqCheck::InOrder, "non-contiguous venues only drop duplicates");
    }
}
