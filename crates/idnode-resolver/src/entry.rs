//! What the cache holds per handle and view: the visible values, packed.

use std::sync::Arc;
use std::time::Duration;

use idnode_core::json::render_record;
use idnode_core::HandleValue;

use crate::View;

/// A resolved handle as one view sees it. It keeps only the visible values in their storage
/// encoding ([`idnode_core::packed`]): each front end renders its answer from them (REST
/// JSON, Handle wire, DNS TXT), so that a cached identifier costs less memory than its
/// answer (`loadtest/cache.sh` measures it).
#[derive(Debug)]
pub struct Entry {
    /// The normalised handle (shared with the cache's key).
    pub handle: Arc<str>,
    /// The visible values, by index, packed.
    pub(crate) packed: Box<[u8]>,
    /// The record holds values this view leaves out that administrators may read (a
    /// reader who asks for more than public values is challenged).
    pub restricted: bool,
    pub(crate) view: View,
    /// When it was read from the store (or restored), its age then in milliseconds (not 0
    /// only for answers restored from a snapshot), and the cache's epoch of its key before
    /// that.
    pub(crate) born: std::time::Instant,
    pub(crate) aged_ms: u32,
    pub(crate) epoch: u64,
}

impl Entry {
    /// The entry of `handle` for `view`: the values of `all` the view admits, by index.
    pub fn build(handle: &str, all: &[HandleValue], view: View) -> Self {
        Self::read(handle.into(), all, view, 0)
    }

    pub(crate) fn read(handle: Arc<str>, all: &[HandleValue], view: View, epoch: u64) -> Self {
        let mut values: Vec<&HandleValue> = all.iter().filter(|v| view.admits(v)).collect();
        values.sort_by_key(|v| v.index);
        // Copied to an allocation of its exact size (the encoder's buffer grows by doubling).
        let packed = idnode_core::packed::pack(values.iter().copied())
            .as_slice()
            .into();
        let restricted = all.iter().any(|v| View::Admin.admits(v) && !view.admits(v));
        Self {
            handle,
            packed,
            restricted,
            view,
            born: std::time::Instant::now(),
            aged_ms: 0,
            epoch,
        }
    }

    /// Time since the answer was read from the store.
    pub(crate) fn age(&self) -> Duration {
        self.born.elapsed() + Duration::from_millis(u64::from(self.aged_ms))
    }

    /// The REST response body for the whole visible record.
    pub fn body(&self) -> Vec<u8> {
        render_record(&self.handle, &self.values())
    }

    /// The visible values, by index (decoded from the entry's packed form).
    pub fn values(&self) -> Vec<HandleValue> {
        // The entry packed them itself: decoding cannot fail but on a bug, which shows
        // as a record without values rather than a crash.
        idnode_core::packed::unpack(&self.packed).unwrap_or_default()
    }

    /// The values a resolution request asks for: those at `indexes` (all when empty) whose
    /// type matches one of `types` (all when empty; `URL.` matches subtypes).
    pub fn select(&self, indexes: &[u32], types: &[String]) -> Vec<HandleValue> {
        let mut values = self.values();
        values.retain(|v| {
            (indexes.is_empty() || indexes.contains(&v.index))
                && (types.is_empty() || types.iter().any(|t| v.type_matches(t)))
        });
        values
    }

    /// The memory the entry holds with its place in the cache, for the cache's weigher:
    /// its allocations (rounded up to the allocator's size classes) and what the cache
    /// keeps for each entry (measured: `loadtest/cache.sh`).
    pub(crate) fn weight(&self) -> u32 {
        let bytes = PER_ENTRY + alloc_size(self.handle.len() + 16) + alloc_size(self.packed.len());
        bytes.min(u32::MAX as usize) as u32
    }
}

/// What the cache holds per entry besides the entry's allocations: the `Entry` and its
/// `Arc`, moka's own records of the key (hash table slots, entry info, access and write
/// order nodes) and what the allocator keeps around them. Calibrated by
/// `loadtest/cache.sh`: with 400 here a full cache of 64 MiB held 93 MB more resident
/// memory than an empty one (1,052 B per entry against 664 weighed).
const PER_ENTRY: usize = 850;

/// The block an allocation of `n` bytes takes: size classes step by an eighth of a power
/// of two (as mimalloc's and jemalloc's do).
fn alloc_size(n: usize) -> usize {
    if n <= 64 {
        return n.next_multiple_of(8).max(8);
    }
    let step = (n.next_power_of_two() / 8).max(8);
    n.next_multiple_of(step)
}
