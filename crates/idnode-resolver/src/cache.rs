//! Positive and negative caches with write-safe filling.
//!
//! A miss that read the store before a concurrent write committed must not put its stale
//! answer back after the write invalidated the key. Each key hashes to one of a set of
//! epoch stripes; writers bump the stripe and then invalidate, readers note the stripe's
//! epoch before reading the store and after inserting: if it moved, they remove what they
//! inserted.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use moka::sync::Cache;

use crate::{CacheConfig, Entry, View};

const STRIPES: usize = 256;

pub(crate) struct Caches {
    public: Cache<Arc<str>, Arc<Entry>>,
    admin: Cache<Arc<str>, Arc<Entry>>,
    negative: Cache<String, ()>,
    epochs: Box<[AtomicU64]>,
    hasher: std::collections::hash_map::RandomState,
}

impl Caches {
    pub(crate) fn new(c: &CacheConfig) -> Self {
        let build = |bytes: u64| {
            Cache::builder()
                .max_capacity(bytes)
                .weigher(|_k: &Arc<str>, v: &Arc<Entry>| v.weight())
                // Kept past max_age for the store's outages (the resolver checks the age).
                .time_to_live(c.max_age + c.stale_if_down)
                .build()
        };
        Self {
            // Authorised reads are rare; they get an eighth of the budget.
            public: build(c.capacity_bytes - c.capacity_bytes / 8),
            admin: build(c.capacity_bytes / 8),
            negative: Cache::builder()
                .max_capacity(c.negative_capacity)
                .time_to_live(c.negative_ttl)
                .build(),
            epochs: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn cache(&self, view: View) -> &Cache<Arc<str>, Arc<Entry>> {
        match view {
            View::Public => &self.public,
            View::Admin => &self.admin,
        }
    }

    fn stripe(&self, key: &str) -> &AtomicU64 {
        &self.epochs[(self.hasher.hash_one(key) as usize) % STRIPES]
    }

    pub(crate) fn get(&self, key: &str, view: View) -> Option<Arc<Entry>> {
        self.cache(view).get(key)
    }

    pub(crate) fn is_negative(&self, key: &str) -> bool {
        self.negative.contains_key(key)
    }

    pub(crate) fn epoch(&self, key: &str) -> u64 {
        self.stripe(key).load(Ordering::Acquire)
    }

    /// Caches `e` under its handle for its view, unless the key was written since the
    /// entry's epoch (then, or if it is written meanwhile, nothing is kept).
    pub(crate) fn insert(&self, e: Arc<Entry>) {
        let (key, epoch, cache) = (e.handle.clone(), e.epoch, self.cache(e.view));
        if self.epoch(&key) != epoch {
            return;
        }
        cache.insert(key.clone(), e);
        if self.epoch(&key) != epoch {
            cache.invalidate(&key);
        }
    }

    pub(crate) fn insert_negative(&self, key: &str, epoch: u64) {
        if self.epoch(key) != epoch {
            return;
        }
        self.negative.insert(key.to_owned(), ());
        if self.epoch(key) != epoch {
            self.negative.invalidate(key);
        }
    }

    pub(crate) fn invalidate(&self, key: &str) {
        self.stripe(key).fetch_add(1, Ordering::AcqRel);
        self.public.invalidate(key);
        self.admin.invalidate(key);
        self.negative.invalidate(key);
    }

    /// Drops every "not found" answer; misses reading the store meanwhile keep nothing.
    pub(crate) fn forget_not_found(&self) {
        self.bump_all();
        self.negative.invalidate_all();
    }

    /// Drops every "not found" answer and keeps the others (the resolver counts them past
    /// their age); misses reading the store meanwhile keep nothing.
    pub(crate) fn age_all(&self) {
        self.bump_all();
        self.negative.invalidate_all();
    }

    fn bump_all(&self) {
        for e in self.epochs.iter() {
            e.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The public answers cached.
    pub(crate) fn public_entries(&self) -> Vec<Arc<Entry>> {
        self.public.iter().map(|(_, e)| e).collect()
    }

    pub(crate) fn usage(&self) -> (u64, u64) {
        self.public.run_pending_tasks();
        self.admin.run_pending_tasks();
        (
            self.public.entry_count() + self.admin.entry_count(),
            self.public.weighted_size() + self.admin.weighted_size(),
        )
    }
}
