//! Order id -> slot, direct-mapped: ids are a dense counter, so a page table indexed by
//! id beats hashing. Pages of 4096 ids are allocated on first use and freed once none of
//! their orders is open (the newest page is kept to avoid churn), so memory follows the
//! open orders, not every id ever issued.

use super::slab::NIL;
use super::types::OrderId;

const PAGE_BITS: u32 = 12;
const PAGE_LEN: usize = 1 << PAGE_BITS;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Page {
    slots: Box<[u32]>,
    live: u32,
}

/// Open order ids and their slots.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct IdMap {
    pages: Vec<Option<Page>>,
}

#[inline]
fn split(id: OrderId) -> (usize, usize) {
    ((id.0 >> PAGE_BITS) as usize, (id.0 as usize) & (PAGE_LEN - 1))
}

impl IdMap {
    /// Map an id to a slot.
    pub fn insert(&mut self, id: OrderId, slot: u32) {
        let (p, i) = split(id);
        if self.pages.len() <= p {
            self.pages.resize_with(p + 1, || None);
        }
        let page = self.pages[p].get_or_insert_with(|| Page { slots: vec![NIL; PAGE_LEN].into(), live: 0 });
        if page.slots[i] == NIL {
            page.live += 1;
        }
        page.slots[i] = slot;
    }

    /// The slot of an id.
    #[inline]
    pub fn get(&self, id: OrderId) -> Option<u32> {
        let (p, i) = split(id);
        let slot = self.pages.get(p)?.as_ref()?.slots[i];
        (slot != NIL).then_some(slot)
    }

    /// Forget an id.
    pub fn remove(&mut self, id: OrderId) {
        let (p, i) = split(id);
        let newest = self.pages.len().saturating_sub(1);
        let Some(Some(page)) = self.pages.get_mut(p) else { return };
        if page.slots[i] == NIL {
            return;
        }
        page.slots[i] = NIL;
        page.live -= 1;
        if page.live == 0 && p != newest {
            self.pages[p] = None;
        }
    }

    /// Every (id, slot), in id order.
    pub fn iter(&self) -> impl Iterator<Item = (OrderId, u32)> + '_ {
        self.pages.iter().enumerate().filter_map(|(p, page)| Some((p, page.as_ref()?))).flat_map(|(p, page)| {
            page.slots
                .iter()
                .enumerate()
                .filter(|(_, s)| **s != NIL)
                .map(move |(i, s)| (OrderId(((p as u64) << PAGE_BITS) | i as u64), *s))
        })
    }

    /// Allocated pages (for tests).
    #[cfg(test)]
    pub fn pages(&self) -> usize {
        self.pages.iter().filter(|p| p.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ids_and_frees_empty_pages() {
        let mut m = IdMap::default();
        for id in 1..10_000u64 {
            m.insert(OrderId(id), id as u32);
        }
        assert_eq!(m.get(OrderId(4097)), Some(4097));
        assert_eq!(m.get(OrderId(10_000)), None);
        assert_eq!(m.pages(), 3);
        for id in 1..9_000u64 {
            m.remove(OrderId(id));
        }
        // Pages 0 and 1 are empty and freed; page 2 (the newest) still holds orders.
        assert_eq!(m.pages(), 1);
        assert_eq!(m.get(OrderId(5)), None);
        assert_eq!(m.iter().map(|(id, _)| id.0).collect::<Vec<_>>(), (9_000..10_000).collect::<Vec<_>>());
        m.remove(OrderId(5));
        for id in 9_000..10_000u64 {
            m.remove(OrderId(id));
        }
        assert_eq!(m.pages(), 1, "the newest page is kept");
        assert_eq!(m.iter().count(), 0);
    }
}
