//! Read replicas for resolution misses (`[database] replicas`), with their lag handled: a
//! miss reads a replica only when the replica has replayed what the primary held
//! `max_lag` ago or later, and the handle was not written within `max_lag` (by this
//! instance, or by another one it heard of), so a writer reads its own writes and nobody
//! reads a write's previous state after hearing of it.
//!
//! The lag is measured, not assumed: every round ([`Replicas::measure`], ten a second from
//! the binary) notes the primary's WAL position and each replica's replayed position; a
//! replica covers the primary as of the latest noted moment whose position it has
//! replayed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use idnode_store::Store;

/// The replicas of one resolver.
pub(crate) struct Replicas {
    stores: Vec<Arc<dyn Store>>,
    /// Per replica: the noted moment (ms after `base`) it covers; 0: not usable.
    covers: Vec<AtomicU64>,
    /// Handles written within `max_lag`: read from the primary.
    recent: moka::sync::Cache<String, ()>,
    /// Until when (ms after `base`) every read goes to the primary.
    all_recent_until: AtomicU64,
    max_lag: Duration,
    base: Instant,
    /// The primary's positions, noted with their moments (ms after `base`), oldest first.
    noted: Mutex<VecDeque<(u64, u64)>>,
    next: AtomicUsize,
    reads: metrics::Counter,
}

impl Replicas {
    pub(crate) fn new(stores: Vec<Arc<dyn Store>>, max_lag: Duration) -> Self {
        Self {
            covers: stores.iter().map(|_| AtomicU64::new(0)).collect(),
            stores,
            recent: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(max_lag)
                .build(),
            all_recent_until: AtomicU64::new(0),
            max_lag,
            base: Instant::now(),
            noted: Mutex::new(VecDeque::new()),
            next: AtomicUsize::new(0),
            reads: metrics::counter!("idnode_replica_reads_total"),
        }
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// A replica to read `key` from, if one may answer for it now.
    pub(crate) fn pick(&self, key: &str) -> Option<&Arc<dyn Store>> {
        if self.stores.is_empty()
            || self.now() < self.all_recent_until.load(Ordering::Acquire)
            || self.recent.contains_key(key)
        {
            return None;
        }
        let fresh_from = self.now().saturating_sub(self.max_lag.as_millis() as u64);
        let n = self.stores.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|i| (start + i) % n).find_map(|i| {
            let covers = self.covers[i].load(Ordering::Acquire);
            (covers != 0 && covers > fresh_from).then(|| {
                self.reads.increment(1);
                &self.stores[i]
            })
        })
    }

    /// `key` was written (or changed elsewhere): read it from the primary for a while.
    pub(crate) fn wrote(&self, key: &str) {
        if !self.stores.is_empty() {
            self.recent.insert(key.to_owned(), ());
        }
    }

    /// Anything may have been written: every read goes to the primary for a while.
    pub(crate) fn wrote_all(&self) {
        let until = self.now() + self.max_lag.as_millis() as u64;
        self.all_recent_until.fetch_max(until, Ordering::AcqRel);
    }

    /// One round of lag measurement: the primary's position, then each replica's.
    pub(crate) async fn measure(&self, primary: &dyn Store) {
        if self.stores.is_empty() {
            return;
        }
        let now = self.now().max(1);
        let Ok(Some(position)) = primary.wal_position().await else {
            // The primary unknown: nothing can be said of the replicas.
            for c in &self.covers {
                c.store(0, Ordering::Release);
            }
            return;
        };
        let keep_from = now.saturating_sub(2 * self.max_lag.as_millis() as u64 + 1000);
        let noted: Vec<(u64, u64)> = {
            let mut noted = self.noted.lock().unwrap_or_else(PoisonError::into_inner);
            noted.push_back((now, position));
            while noted.front().is_some_and(|(at, _)| *at < keep_from) {
                noted.pop_front();
            }
            noted.iter().copied().collect()
        };
        for (i, replica) in self.stores.iter().enumerate() {
            let covers = match replica.wal_position().await {
                Ok(Some(replayed)) => noted
                    .iter()
                    .rev()
                    .find(|(_, pos)| *pos <= replayed)
                    .map_or(0, |(at, _)| *at),
                _ => 0,
            };
            self.covers[i].store(covers, Ordering::Release);
            let lag = if covers == 0 {
                f64::INFINITY
            } else {
                (now - covers) as f64 / 1000.0
            };
            metrics::gauge!("idnode_replica_lag_seconds", "replica" => i.to_string()).set(lag);
        }
    }
}
