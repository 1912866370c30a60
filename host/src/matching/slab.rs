//! Open orders in a slab: slots are reused through a free list, the book links them
//! into per-level doubly linked lists by slot index, and an id map finds a slot in O(1).
//! The fixed id hasher here serves the account map.

use super::idmap::IdMap;
use super::types::{AccountId, OrderId, OrderStatus, OrderType, Side, StpMode, TimeInForce};
use std::hash::{BuildHasherDefault, Hasher};

/// "No slot" in the intrusive links.
pub(crate) const NIL: u32 = u32::MAX;

/// A fast, deterministic hasher for integer ids (multiply-rotate, as in rustc's FxHash).
/// Ids are engine-assigned counters, never attacker-chosen, so no DoS resistance is needed,
/// and a fixed hasher keeps every map's behaviour identical across runs.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
}

/// Build hasher for id-keyed maps.
pub(crate) type IdBuild = BuildHasherDefault<IdHasher>;

/// Where an open order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Location {
    /// Matching now, not on the book.
    Taking,
    /// On the book, linked into a level.
    Resting,
    /// Waiting for its trigger.
    Pending,
}

/// Trailing-stop state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Trail {
    /// Delta in basis points.
    pub delta_bps: u32,
    /// Activation price in ticks, 0 if none.
    pub activation: i64,
    /// Highest (sell) or lowest (buy) trade since activation, 0 until the first one.
    pub extreme: i64,
    /// Whether it is trailing yet.
    pub active: bool,
}

/// An open order, integers only.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Slot {
    pub id: OrderId,
    pub account: AccountId,
    /// Wallet account index.
    pub acct: u32,
    /// Pair index.
    pub pair: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub tif: TimeInForce,
    pub stp: StpMode,
    pub status: OrderStatus,
    pub at: Location,
    /// Limit price in ticks; 0 for market-type orders.
    pub price: i64,
    /// Stop price in ticks; 0 if none.
    pub stop: i64,
    /// Ordered lots (0 for a market order by quote quantity).
    pub qty: i64,
    /// Executed lots.
    pub filled: i64,
    /// Visible lots while resting.
    pub visible: i64,
    /// Iceberg slice in lots, 0 for other orders.
    pub slice: i64,
    /// Quote budget (notional units) of a market order by quote quantity, else 0.
    pub quote_budget: i128,
    /// Executed notional (notional units).
    pub filled_notional: i128,
    /// Wallet units locked for this order: quote for a buy, base for a sell.
    pub locked: i128,
    pub trail: Trail,
    pub time_ms: i64,
    /// Expiry (DAY/GTD), `i64::MAX` if none.
    pub expire_ms: i64,
    pub prev: u32,
    pub next: u32,
    /// Level index while resting.
    pub level: u32,
}

impl Slot {
    /// Lots not yet executed.
    #[inline]
    pub fn remaining(&self) -> i64 {
        self.qty - self.filled
    }

    /// Lots resting but not shown (iceberg reserve).
    #[inline]
    pub fn hidden(&self) -> i64 {
        self.remaining() - self.visible
    }
}

/// The slab with its id index.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_id: IdMap,
}

impl Slab {
    /// Store an order; returns its slot. It is not findable by id until [`Slab::index`].
    pub fn alloc(&mut self, slot: Slot) -> u32 {
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = slot;
            i
        } else {
            self.slots.push(slot);
            (self.slots.len() - 1) as u32
        }
    }

    /// Make a slot findable by its order id (orders that rest or wait).
    pub fn index(&mut self, slot: u32) {
        let id = self.slots[slot as usize].id;
        self.by_id.insert(id, slot);
    }

    /// Release a slot (and its id entry).
    pub fn release(&mut self, slot: u32) {
        let id = self.slots[slot as usize].id;
        if self.by_id.get(id) == Some(slot) {
            self.by_id.remove(id);
        }
        self.free.push(slot);
    }

    /// The slot of an open order.
    #[inline]
    pub fn find(&self, id: OrderId) -> Option<u32> {
        self.by_id.get(id)
    }

    /// Open orders that are findable by id, in id order.
    pub fn open(&self) -> Vec<&Slot> {
        self.by_id.iter().map(|(_, i)| &self.slots[i as usize]).collect()
    }
}

impl std::ops::Index<u32> for Slab {
    type Output = Slot;
    #[inline]
    fn index(&self, i: u32) -> &Slot {
        &self.slots[i as usize]
    }
}

impl std::ops::IndexMut<u32> for Slab {
    #[inline]
    fn index_mut(&mut self, i: u32) -> &mut Slot {
        &mut self.slots[i as usize]
    }
}
