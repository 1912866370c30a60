//! The bounded store of recent trades: one ring buffer per symbol, indexed by the dense
//! symbol id so a push is an index and a copy, never a lookup.

use super::tick::{SymbolId, Tick};
use std::collections::VecDeque;

/// The most recent trades of every symbol, at most `capacity_per_symbol` each; the
/// oldest trade of a symbol is dropped when its ring is full.
#[derive(Debug, Clone)]
pub struct TickStore {
    capacity: usize,
    rings: Vec<VecDeque<Tick>>,
}

impl TickStore {
    /// A store keeping up to `capacity_per_symbol` trades per symbol (at least one).
    pub fn new(capacity_per_symbol: usize) -> TickStore {
        TickStore { capacity: capacity_per_symbol.max(1), rings: Vec::new() }
    }

    /// Record a trade, dropping the symbol's oldest when full.
    pub fn push(&mut self, tick: Tick) {
        let index = tick.symbol.0 as usize;
        if index >= self.rings.len() {
            self.rings.resize_with(index + 1, VecDeque::new);
        }
        let ring = &mut self.rings[index];
        if ring.capacity() == 0 {
            ring.reserve_exact(self.capacity);
        }
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(tick);
    }

    /// Up to `n` of the symbol's most recent trades, oldest first (newest last).
    pub fn latest(&self, symbol: SymbolId, n: usize) -> Vec<Tick> {
        let Some(ring) = self.ring(symbol) else { return Vec::new() };
        ring.range(ring.len().saturating_sub(n)..).copied().collect()
    }

    /// The symbol's most recent trade.
    pub fn last(&self, symbol: SymbolId) -> Option<&Tick> {
        self.ring(symbol)?.back()
    }

    /// How many trades of the symbol are held.
    pub fn len(&self, symbol: SymbolId) -> usize {
        self.ring(symbol).map_or(0, VecDeque::len)
    }

    /// True when no trade of the symbol is held.
    pub fn is_empty(&self, symbol: SymbolId) -> bool {
        self.len(symbol) == 0
    }

    /// The most trades held per symbol.
    pub fn capacity_per_symbol(&self) -> usize {
        self.capacity
    }

    fn ring(&self, symbol: SymbolId) -> Option<&VecDeque<Tick>> {
        self.rings.get(symbol.0 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn tick(symbol: u32, trade_id: u64) -> Tick {
        Tick {
            symbol: SymbolId(symbol),
            time_ms: trade_id as i64,
            price: Decimal::ONE,
            qty: Decimal::ONE,
            trade_id,
            buyer_maker: false,
        }
    }

    fn ids(ticks: &[Tick]) -> Vec<u64> {
        ticks.iter().map(|t| t.trade_id).collect()
    }

    #[test]
    fn keeps_the_newest_per_symbol() {
        let mut store = TickStore::new(3);
        for id in 1..=5 {
            store.push(tick(2, id));
        }
        store.push(tick(0, 100));
        let cases = [
            // symbol, n, expected ids (newest last)
            (2, 10, vec![3, 4, 5]),
            (2, 2, vec![4, 5]),
            (2, 0, vec![]),
            (0, 5, vec![100]),
            (1, 5, vec![]),
            (9, 5, vec![]),
        ];
        for (symbol, n, want) in cases {
            assert_eq!(ids(&store.latest(SymbolId(symbol), n)), want, "symbol {symbol} n {n}");
        }
        assert_eq!(store.last(SymbolId(2)).map(|t| t.trade_id), Some(5));
        assert_eq!(store.last(SymbolId(1)), None);
        assert_eq!((store.len(SymbolId(2)), store.len(SymbolId(0)), store.len(SymbolId(7))), (3, 1, 0));
        assert!(store.is_empty(SymbolId(1)));
    }

    #[test]
    fn zero_capacity_still_keeps_the_last_trade() {
        let mut store = TickStore::new(0);
        store.push(tick(0, 1));
        store.push(tick(0, 2));
        assert_eq!(ids(&store.latest(SymbolId(0), 5)), vec![2]);
        assert_eq!(store.capacity_per_symbol(), 1);
    }
}
