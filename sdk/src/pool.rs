//! The allocator guests built with the SDK use (feature `pool-alloc`, on by default).
//!
//! A strategy's event allocates and frees many small blocks (the candles and intents the
//! contract passes, the host's answers, the strategy's own vectors). The default wasm
//! allocator (dlmalloc) spends about 100 instructions on each malloc and each free, a third
//! of a typical strategy call's own work. This one keeps a free list per power-of-two size
//! class from 8 to 2,048 bytes: a small allocation pops a block (or carves one from a 64 KiB
//! chunk), a free pushes it back. Larger or over-aligned blocks go to the system allocator.
//! Blocks are never returned to the system: a guest's memory stays at its peak use of each
//! class, which for a strategy is small and steady.
//!
//! wasm32 guests are single-threaded (the host runs one call at a time per instance), which
//! is what makes the unsynchronised state sound; the allocator is only installed there.
//! A strategy that wants its own global allocator turns the feature off.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr::null_mut;

/// Size classes: 8, 16, 32, ..., 2,048 bytes.
const CLASSES: usize = 9;
/// The largest block served from the pools.
const MAX_SMALL: usize = 8 << (CLASSES - 1);
/// What is requested from the system allocator to carve blocks from.
const CHUNK: usize = 64 * 1024;
/// Alignment of every block of 16 bytes or more (and of chunks).
const ALIGN: usize = 16;

/// Per-class free lists and the chunk being carved.
struct Inner {
    /// Head of each class's free list; a free block holds the next block's address.
    free: [*mut u8; CLASSES],
    /// Next unused byte of the current chunk.
    bump: *mut u8,
    /// End of the current chunk.
    end: *mut u8,
}

/// The pool allocator. See the module documentation.
pub struct Pools {
    inner: UnsafeCell<Inner>,
}

// SAFETY: only where a program cannot have two threads (wasm32 without the atomics
// feature), so no two calls ever run at once. Elsewhere `Pools` is not `Sync` and cannot be
// a global allocator (the tests use local instances).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[allow(unsafe_code)]
unsafe impl Sync for Pools {}

impl Pools {
    /// Empty pools.
    pub const fn new() -> Pools {
        Pools { inner: UnsafeCell::new(Inner { free: [null_mut(); CLASSES], bump: null_mut(), end: null_mut() }) }
    }
}

impl Default for Pools {
    fn default() -> Self {
        Pools::new()
    }
}

/// The class serving `layout`, or `None` for the system allocator.
#[inline]
fn class(layout: &Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(8);
    if size > MAX_SMALL || layout.align() > ALIGN {
        return None;
    }
    Some((size.next_power_of_two().trailing_zeros() - 3) as usize)
}

#[allow(unsafe_code)]
impl Inner {
    /// A block of class `c` (`8 << c` bytes), or null when the system is out of memory.
    #[inline]
    unsafe fn take(&mut self, c: usize) -> *mut u8 {
        let head = self.free[c];
        if !head.is_null() {
            // SAFETY: a free block of this class holds the address of the next one.
            self.free[c] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = 8usize << c;
        // Blocks of 16 bytes or more start on a 16-byte boundary (chunks do, and every
        // block size is a multiple of 8).
        let mut start = self.bump as usize;
        if size >= ALIGN {
            start = start.next_multiple_of(ALIGN);
        }
        if self.bump.is_null() || start + size > self.end as usize {
            // SAFETY: a non-zero size and a valid power-of-two alignment.
            let chunk = unsafe { System.alloc(Layout::from_size_align_unchecked(CHUNK, ALIGN)) };
            if chunk.is_null() {
                return null_mut();
            }
            // The rest of the old chunk (less than the block asked for) is abandoned.
            self.bump = chunk;
            // SAFETY: one past the end of the chunk just allocated.
            self.end = unsafe { chunk.add(CHUNK) };
            start = chunk as usize;
        }
        // SAFETY: `start..start + size` lies inside the current chunk.
        let block = unsafe { self.bump.add(start - self.bump as usize) };
        self.bump = unsafe { block.add(size) };
        block
    }

    /// Return a block of class `c`.
    #[inline]
    unsafe fn give(&mut self, c: usize, block: *mut u8) {
        // SAFETY: the block is at least 8 bytes and 8-aligned, and no longer in use.
        unsafe { block.cast::<*mut u8>().write(self.free[c]) };
        self.free[c] = block;
    }
}

// SAFETY: blocks are handed out once until freed, are at least `layout.size()` bytes, and
// are aligned to `layout.align()` (at most 16, and every class of that size or more is
// 16-aligned); everything else is the system allocator's.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Pools {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class(&layout) {
            // SAFETY: single-threaded (see `Sync`), so no other reference to `inner` exists.
            Some(c) => unsafe { (*self.inner.get()).take(c) },
            None => unsafe { System.alloc(layout) },
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class(&layout) {
            Some(_) => {
                // SAFETY: as `alloc`; a non-null block holds at least `layout.size()` bytes.
                let p = unsafe { self.alloc(layout) };
                if !p.is_null() {
                    unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
                }
                p
            }
            // Fresh pages from the system are zero already: no second pass over them.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class(&layout) {
            // SAFETY: `ptr` came from `alloc` with the same layout, hence the same class.
            Some(c) => unsafe { (*self.inner.get()).give(c, ptr) },
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `layout` fits `ptr` and that the new layout is valid.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(&layout), class(&new)) {
            // Still fits its block.
            (Some(a), Some(b)) if a == b => ptr,
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                let fresh = unsafe { self.alloc(new) };
                if !fresh.is_null() {
                    // SAFETY: both blocks hold at least the smaller size and do not overlap.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                fresh
            }
        }
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_sizes_and_alignments() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class(&l(0, 1)), Some(0));
        assert_eq!(class(&l(8, 8)), Some(0));
        assert_eq!(class(&l(9, 1)), Some(1));
        assert_eq!(class(&l(1, 16)), Some(1));
        assert_eq!(class(&l(2048, 8)), Some(8));
        assert_eq!(class(&l(2049, 8)), None);
        assert_eq!(class(&l(8, 32)), None);
    }

    /// Many blocks of mixed sizes, alive at once, freed and reused in a scrambled order:
    /// each is aligned, none overlaps another, and each keeps what was written into it.
    #[test]
    fn blocks_are_aligned_disjoint_and_keep_their_contents() {
        let pools = Pools::new();
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000u32 {
            let r = next();
            if live.len() > 200 || (r % 3 == 0 && !live.is_empty()) {
                let (p, layout, tag) = live.swap_remove((r as usize / 3) % live.len());
                let bytes = unsafe { std::slice::from_raw_parts(p, layout.size()) };
                assert!(bytes.iter().all(|b| *b == tag), "a block was overwritten");
                unsafe { pools.dealloc(p, layout) };
                continue;
            }
            let size = [1, 7, 8, 12, 16, 24, 100, 500, 2048, 3000][(r >> 8) as usize % 10];
            let align = [1, 2, 4, 8, 16][(r >> 16) as usize % 5];
            let layout = Layout::from_size_align(size, align).unwrap();
            let p = unsafe { pools.alloc(layout) };
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0, "misaligned for {layout:?}");
            let tag = round as u8;
            unsafe { std::ptr::write_bytes(p, tag, size) };
            for (q, other, _) in &live {
                let (a, b) = (p as usize, *q as usize);
                assert!(a + size <= b || b + other.size() <= a, "blocks overlap");
            }
            live.push((p, layout, tag));
        }
        for (p, layout, _) in live {
            unsafe { pools.dealloc(p, layout) };
        }
    }

    #[test]
    fn realloc_keeps_contents_across_classes_and_the_system() {
        let pools = Pools::new();
        let layout = Layout::from_size_align(10, 8).unwrap();
        let mut p = unsafe { pools.alloc(layout) };
        unsafe { std::ptr::copy_nonoverlapping(b"0123456789".as_ptr(), p, 10) };
        let mut size = 10;
        for new_size in [12, 40, 2000, 5000, 100_000, 30, 10] {
            p = unsafe { pools.realloc(p, Layout::from_size_align(size, 8).unwrap(), new_size) };
            assert!(!p.is_null());
            size = new_size;
            let kept = unsafe { std::slice::from_raw_parts(p, 10) };
            assert_eq!(kept, b"0123456789");
        }
        unsafe { pools.dealloc(p, Layout::from_size_align(size, 8).unwrap()) };
    }
}
