//! Whether the store answers, as the resolver's own reads last found it. While it does not,
//! answers past their `max_age` are served stale (up to `stale_if_down`), misses fail at
//! once, and one read at a time probes the store again, at most once a second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge};

/// How long after a failed read the store is left alone.
const PROBE_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Health {
    base: Instant,
    /// Milliseconds after `base` until which the store counts as down (0: up).
    down_until: AtomicU64,
    probing: AtomicBool,
    up: Gauge,
    pub(crate) stale: Counter,
}

impl Health {
    pub(crate) fn new() -> Self {
        let up = metrics::gauge!("idnode_database_up");
        up.set(1.0);
        Self {
            base: Instant::now(),
            down_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            up,
            stale: metrics::counter!("idnode_cache_stale_answers_total"),
        }
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// The store failed to answer a read (it is unreachable, not merely refusing).
    pub(crate) fn failed(&self) {
        self.down_until.store(
            self.now() + PROBE_EVERY.as_millis() as u64,
            Ordering::Release,
        );
        self.up.set(0.0);
    }

    /// A read of the store succeeded.
    pub(crate) fn answered(&self) {
        if self.down_until.swap(0, Ordering::AcqRel) != 0 {
            self.up.set(1.0);
        }
    }

    /// Whether the store counts as down (cached answers are served past their age).
    pub(crate) fn is_down(&self) -> bool {
        let until = self.down_until.load(Ordering::Acquire);
        until != 0 && (self.now() < until || self.probing.load(Ordering::Acquire))
    }

    /// Whether a read may try the store now: it is up, or this read is the one probe of a
    /// down store (end it with [`Health::probed`]).
    pub(crate) fn may_read(&self) -> Option<Probe<'_>> {
        let until = self.down_until.load(Ordering::Acquire);
        if until == 0 {
            return Some(Probe(None));
        }
        if self.now() < until {
            return None;
        }
        self.probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Probe(Some(&self.probing)))
    }
}

/// A permission to read the store; a probe's ends when dropped.
pub(crate) struct Probe<'a>(Option<&'a AtomicBool>);

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            p.store(false, Ordering::Release);
        }
    }
}
