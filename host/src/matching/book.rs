//! One pair's order book: price levels with FIFO queues (price-time priority).
//!
//! Each side is a ladder: a vector of `(key, level)` sorted ascending with the best level
//! last (key = price for bids, -price for asks), so the best price is `last()`, and the
//! levels that churn most (near the touch) sit at the end where inserting or removing
//! moves few entries. Levels live in their own slab with stable indices; orders are linked
//! into their level's queue through the order slab, so unlinking an order is O(1) and only
//! an emptied level costs a binary search in the ladder.

use super::slab::{NIL, Slab};
use super::types::Side;

/// One price level.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Level {
    pub price: i64,
    /// First order in time priority.
    pub head: u32,
    pub tail: u32,
    /// Sum of visible lots.
    pub visible: i64,
    /// Sum of hidden (iceberg reserve) lots.
    pub hidden: i64,
    /// Number of orders.
    pub orders: u32,
}

/// A pair's book.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct OrderBook {
    bids: Vec<(i64, u32)>,
    asks: Vec<(i64, u32)>,
    levels: Vec<Level>,
    free_levels: Vec<u32>,
}

#[inline]
fn key(side: Side, price: i64) -> i64 {
    match side {
        Side::Buy => price,
        Side::Sell => -price,
    }
}

impl OrderBook {
    #[inline]
    fn ladder(&self, side: Side) -> &Vec<(i64, u32)> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    #[inline]
    fn ladder_mut(&mut self, side: Side) -> &mut Vec<(i64, u32)> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The best level of a side.
    #[inline]
    pub fn best(&self, side: Side) -> Option<u32> {
        self.ladder(side).last().map(|&(_, l)| l)
    }

    /// The best price of a side.
    #[inline]
    pub fn best_price(&self, side: Side) -> Option<i64> {
        self.best(side).map(|l| self.levels[l as usize].price)
    }

    /// A level by index.
    #[inline]
    pub fn level(&self, l: u32) -> &Level {
        &self.levels[l as usize]
    }

    /// Levels of a side, best first.
    pub fn levels(&self, side: Side) -> impl Iterator<Item = &Level> + '_ {
        self.ladder(side).iter().rev().map(|&(_, l)| &self.levels[l as usize])
    }

    /// Append a resting order to the back of its level (creating the level).
    pub fn push_back(&mut self, slab: &mut Slab, slot: u32) {
        let (side, price, visible, hidden) = {
            let s = &slab[slot];
            (s.side, s.price, s.visible, s.hidden())
        };
        let l = self.level_for(side, price);
        let level = &mut self.levels[l as usize];
        let tail = level.tail;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        }
        level.visible += visible;
        level.hidden += hidden;
        level.orders += 1;
        if tail != NIL {
            slab[tail].next = slot;
        }
        let s = &mut slab[slot];
        s.prev = tail;
        s.next = NIL;
        s.level = l;
    }

    fn level_for(&mut self, side: Side, price: i64) -> u32 {
        let k = key(side, price);
        let ladder = self.ladder(side);
        if let Some(&(bk, l)) = ladder.last()
            && bk == k
        {
            return l;
        }
        match ladder.binary_search_by_key(&k, |&(k, _)| k) {
            Ok(i) => ladder[i].1,
            Err(i) => {
                let level = Level { price, head: NIL, tail: NIL, visible: 0, hidden: 0, orders: 0 };
                let l = match self.free_levels.pop() {
                    Some(l) => {
                        self.levels[l as usize] = level;
                        l
                    }
                    None => {
                        self.levels.push(level);
                        (self.levels.len() - 1) as u32
                    }
                };
                self.ladder_mut(side).insert(i, (k, l));
                l
            }
        }
    }

    /// Take a resting order off the book (its visible and hidden lots leave the level).
    pub fn unlink(&mut self, slab: &mut Slab, slot: u32) {
        let (side, l, prev, next, visible, hidden) = {
            let s = &slab[slot];
            (s.side, s.level, s.prev, s.next, s.visible, s.hidden())
        };
        if prev != NIL {
            slab[prev].next = next;
        }
        if next != NIL {
            slab[next].prev = prev;
        }
        let level = &mut self.levels[l as usize];
        if prev == NIL {
            level.head = next;
        }
        if next == NIL {
            level.tail = prev;
        }
        level.visible -= visible;
        level.hidden -= hidden;
        level.orders -= 1;
        if level.orders == 0 {
            let k = key(side, level.price);
            self.remove_level(side, k, l);
        }
    }

    fn remove_level(&mut self, side: Side, k: i64, l: u32) {
        let ladder = self.ladder_mut(side);
        if ladder.last().is_some_and(|&(bk, _)| bk == k) {
            ladder.pop();
        } else if let Ok(i) = ladder.binary_search_by_key(&k, |&(k, _)| k) {
            ladder.remove(i);
        }
        self.free_levels.push(l);
    }

    /// Record that a resting order executed `lots` of its visible quantity.
    #[inline]
    pub fn executed(&mut self, l: u32, lots: i64) {
        self.levels[l as usize].visible -= lots;
    }

    /// An iceberg's visible slice ran out and `refill` lots were revealed: it goes to the
    /// back of its level's queue, losing time priority.
    pub fn requeue(&mut self, slab: &mut Slab, slot: u32, refill: i64) {
        let l = slab[slot].level;
        {
            let level = &mut self.levels[l as usize];
            level.visible += refill;
            level.hidden -= refill;
        }
        if self.levels[l as usize].tail == slot {
            return;
        }
        let (prev, next) = (slab[slot].prev, slab[slot].next);
        if prev != NIL {
            slab[prev].next = next;
        } else {
            self.levels[l as usize].head = next;
        }
        if next != NIL {
            slab[next].prev = prev;
        }
        let tail = self.levels[l as usize].tail;
        slab[tail].next = slot;
        let s = &mut slab[slot];
        s.prev = tail;
        s.next = NIL;
        self.levels[l as usize].tail = slot;
    }

    /// The slots of a side in matching priority.
    #[cfg(test)]
    pub fn queue(&self, slab: &Slab, side: Side) -> Vec<u32> {
        let mut out = Vec::new();
        for level in self.levels(side) {
            let mut i = level.head;
            while i != NIL {
                out.push(i);
                i = slab[i].next;
            }
        }
        out
    }
}
