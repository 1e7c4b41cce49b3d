//! The resolution hot path shared by every front end (HTTP, Handle, DNS).
//!
//! A hit costs one concurrent hash-map look-up and returns an [`Entry`] that already holds
//! the serialised REST body. Misses read the store, build the entry for the requested
//! [`View`] and cache it; unknown handles go to a short-lived negative cache. Every write
//! calls [`Resolver::invalidate`] after its commit, so a read after a write sees it.

mod cache;
mod coalesce;
mod entry;
mod health;
mod meter;
mod prefixes;
mod replicas;
mod snapshot;
mod tally;

pub use entry::Entry;
pub use meter::{Meter, Outcome, FRONTENDS};
pub use snapshot::{entries as snapshot_entries, header as snapshot_header, SnapshotHeader};
pub use tally::{merge_counts, PrefixCounts, Tally, MAX_PREFIXES, OTHER};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idnode_core::{is_under, HandleValue, Identifier, ResponseCode};
use idnode_store::{fold, Store, StoreError};
use metrics::Counter;

use crate::cache::Caches;

/// Resolution failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// No such handle on this node.
    #[error("handle not found")]
    NotFound,
    /// The handle's prefix is not served by this node.
    #[error("this node is not responsible for prefix {0}")]
    NotResponsible(String),
    /// The store failed (the message is [`StoreError::public_message`]).
    #[error("{}", .0.public_message())]
    Store(#[from] StoreError),
    /// A cache snapshot could not be used (why).
    #[error("{0}")]
    Snapshot(String),
}

impl ResolveError {
    /// The Handle response code for this failure.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            Self::NotFound => ResponseCode::HandleNotFound,
            Self::NotResponsible(_) => ResponseCode::ServerNotResponsible,
            Self::Store(_) | Self::Snapshot(_) => ResponseCode::Error,
        }
    }
}

/// Which values a reader may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    /// Anonymous readers: values with public read permission.
    Public,
    /// Administrators of the handle: also values with admin read permission.
    Admin,
}

impl View {
    fn admits(self, v: &HandleValue) -> bool {
        !v.is_secret()
            && match self {
                Self::Public => v.permissions.public_read(),
                Self::Admin => v.permissions.public_read() || v.permissions.admin_read(),
            }
    }
}

/// What a node ready for resolution traffic answers from ([`Resolver::serving`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// The store answers reads.
    Store,
    /// The store does not answer; this many cached answers are served meanwhile.
    Cache(u64),
}

/// Cache sizing.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// Total bytes for cached entries (both views).
    pub capacity_bytes: u64,
    /// Longest life of a cached answer (bounds staleness from writes made elsewhere).
    pub max_age: Duration,
    /// How long "not found" answers are cached.
    pub negative_ttl: Duration,
    /// Most "not found" answers kept.
    pub negative_capacity: u64,
    /// How long past `max_age` an answer is still served while the store is unreachable.
    pub stale_if_down: Duration,
    /// Reads of misses in flight at once, each holding a database connection (misses
    /// arriving meanwhile are read together by the next free one).
    pub miss_reads: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            capacity_bytes: 256 * 1024 * 1024,
            max_age: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(5),
            negative_capacity: 100_000,
            stale_if_down: Duration::from_secs(3600),
            miss_reads: 4,
        }
    }
}

struct Meters {
    hit: Counter,
    miss: Counter,
    negative_hit: Counter,
}

/// The resolver. Cheap to share behind an `Arc`.
pub struct Resolver {
    store: Arc<dyn Store>,
    served: Vec<String>,
    caches: Caches,
    misses: coalesce::Coalescer,
    replicas: replicas::Replicas,
    max_age: Duration,
    /// The oldest an answer may be and still be served (stale, while the store is away).
    oldest: Duration,
    /// Answers read before this moment (nanoseconds after `base`; 0: none) count as past
    /// their age ([`Resolver::clear`]).
    aged_before: AtomicU64,
    base: std::time::Instant,
    health: health::Health,
    meters: Meters,
    /// Folded handle → the stored handle (None: no such handle), for case-insensitive
    /// front ends (DNS); kept as long as negative answers.
    canonical: moka::sync::Cache<String, Option<Arc<str>>>,
    prefix_names: prefixes::PrefixSet,
    tally: Tally,
}

impl Resolver {
    /// The resolutions counted per prefix since the statistics last took them.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The prefixes this node serves.
    pub fn served(&self) -> &[String] {
        &self.served
    }

    /// A resolver for the handles under `served` prefixes (and their `0.NA/` prefix handles).
    pub fn new(store: Arc<dyn Store>, served: Vec<String>, config: &CacheConfig) -> Self {
        Self {
            store,
            served,
            caches: Caches::new(config),
            misses: coalesce::Coalescer::new(config.miss_reads),
            replicas: replicas::Replicas::new(Vec::new(), Duration::ZERO),
            max_age: config.max_age,
            oldest: config.max_age + config.stale_if_down,
            aged_before: AtomicU64::new(0),
            base: std::time::Instant::now(),
            health: health::Health::new(),
            canonical: moka::sync::Cache::builder()
                .expire_after(CanonicalExpiry {
                    found: config.max_age + config.stale_if_down,
                    missing: config.negative_ttl.max(Duration::from_secs(1)),
                })
                .max_capacity(1_000_000)
                .build(),
            prefix_names: prefixes::PrefixSet::default(),
            tally: Tally::default(),
            meters: Meters {
                hit: metrics::counter!("idnode_cache_lookups_total", "result" => "hit"),
                miss: metrics::counter!("idnode_cache_lookups_total", "result" => "miss"),
                negative_hit: metrics::counter!("idnode_cache_lookups_total", "result" => "negative_hit"),
            },
        }
    }

    /// Reads misses from `replicas` (read-only stores of the same database) whose measured
    /// lag is under `max_lag`, except handles written within `max_lag` (see
    /// `replicas.rs`); [`Resolver::measure_replicas`] must run about ten times a second.
    #[must_use]
    pub fn with_replicas(mut self, replicas: Vec<Arc<dyn Store>>, max_lag: Duration) -> Self {
        self.replicas = replicas::Replicas::new(replicas, max_lag);
        self
    }

    /// One round of the replicas' lag measurement.
    pub async fn measure_replicas(&self) {
        self.replicas.measure(self.store.as_ref()).await;
    }

    /// The cached entry of `id` in any letter case (the stored handle differs from `id` at
    /// most by case, which the registry keeps unambiguous): `None` when the caches do not
    /// know, `Some(None)` when it is known not to exist.
    pub fn cached_any_case(&self, id: &Identifier, view: View) -> Option<Option<Arc<Entry>>> {
        if let Some(e) = self.cached(id, view) {
            return Some(Some(e));
        }
        match self.canonical.get(&id.folded())? {
            None => Some(None),
            Some(h) => Some(Some(self.cached(&Identifier::parse(&h).ok()?, view)?)),
        }
    }

    /// Whether prefix `p` names something here (allocated or served, or above one such
    /// as `88`), if the prefix names read in the last few seconds say.
    pub fn prefix_name_known(&self, p: &str) -> Option<bool> {
        Some(self.prefix_names.fresh()?.contains(p))
    }

    /// Whether prefix `p` names something here, reading the prefixes again when stale.
    pub async fn prefix_name_exists(&self, p: &str) -> Result<bool, StoreError> {
        if let Some(b) = self.prefix_name_known(p) {
            return Ok(b);
        }
        match self.read(|| self.prefix_names.refresh(self)).await {
            Ok(set) => Ok(set.contains(p)),
            // The names last read, while the store is away (prefixes rarely change).
            Err(StoreError::Unavailable(_)) if self.prefix_names.last().is_some() => {
                Ok(self.prefix_names.last().is_some_and(|set| set.contains(p)))
            }
            Err(e) => Err(e),
        }
    }

    /// [`Resolver::resolve`] for `id` in any letter case.
    pub async fn resolve_any_case(
        &self,
        id: &Identifier,
        view: View,
    ) -> Result<Arc<Entry>, ResolveError> {
        if let Some(e) = self.cached(id, view) {
            return Ok(e);
        }
        let folded = id.folded();
        let handle = match self.canonical.get(&folded) {
            Some(h) => h,
            None => match self.read(|| self.store.find_folded(&folded)).await {
                Ok(found) => {
                    let h: Option<Arc<str>> = found.map(Arc::from);
                    self.canonical.insert(folded, h.clone());
                    h
                }
                Err(e @ StoreError::Unavailable(_)) => {
                    // The answer cached under the name as asked, past its age, if any.
                    return self.stale(id.as_str(), view).ok_or(e.into());
                }
                Err(e) => return Err(e.into()),
            },
        };
        let id = handle
            .and_then(|h| Identifier::parse(&h).ok())
            .ok_or(ResolveError::NotFound)?;
        self.resolve(&id, view, false).await
    }

    /// Whether the store answers and takes writes (readiness; see [`Store::ready`]).
    pub async fn ready(&self) -> Result<(), StoreError> {
        let out = self.store.ready().await;
        match &out {
            Ok(()) => self.health.answered(),
            Err(StoreError::Unavailable(_)) => self.health.failed(),
            Err(_) => {}
        }
        out
    }

    /// Readiness for resolution traffic, what a load balancer routes by: the store answers
    /// reads (a full disk, refusing writes only, counts), or it does not and cached answers
    /// are served meanwhile (stale, within `stale_if_down`). A database outage thus keeps
    /// every instance in rotation while it has answers to give; [`Resolver::ready`] (writes
    /// too) is for alerts and write traffic.
    pub async fn serving(&self) -> Result<Serving, StoreError> {
        let err = match self.ready().await {
            Ok(()) | Err(StoreError::Full(_)) => return Ok(Serving::Store),
            Err(e) => e,
        };
        match self.caches.usage().0 {
            0 => Err(err),
            n => Ok(Serving::Cache(n)),
        }
    }

    /// True when this node serves the handle's prefix.
    pub fn serves(&self, id: &Identifier) -> bool {
        let prefix = if id.is_prefix_handle() {
            id.suffix()
        } else {
            id.prefix()
        };
        self.served.iter().any(|p| is_under(prefix, p))
    }

    /// Resolves a handle for a view. `fresh` bypasses the cache (still refreshing it).
    pub async fn resolve(
        &self,
        id: &Identifier,
        view: View,
        fresh: bool,
    ) -> Result<Arc<Entry>, ResolveError> {
        let key = id.as_str();
        if !fresh {
            if let Some(e) = self.cached(id, view) {
                return Ok(e);
            }
            if self.caches.is_negative(key) {
                self.meters.negative_hit.increment(1);
                return Err(ResolveError::NotFound);
            }
        }
        if !self.serves(id) {
            return Err(ResolveError::NotResponsible(id.prefix().to_owned()));
        }
        self.meters.miss.increment(1);
        let epoch = self.caches.epoch(key);
        let miss = self.misses.load(key, |keys| self.read_handles(keys));
        let read = match self.read(|| miss).await {
            Ok(r) => r,
            Err(e @ StoreError::Unavailable(_)) => {
                // An answer past its age is better than none while the store is away.
                let kept = if fresh { None } else { self.stale(key, view) };
                return kept.ok_or(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        match read {
            Some(rec) => {
                let entry = Arc::new(Entry::read(key.into(), &rec.values, view, epoch));
                self.caches.insert(entry.clone());
                Ok(entry)
            }
            None => {
                self.caches.insert_negative(key, epoch);
                Err(ResolveError::NotFound)
            }
        }
    }

    /// The cached answer for a view, if any: the synchronous part of [`Resolver::resolve`]
    /// (front ends on a packet loop can answer hits without an async round). An answer
    /// older than `max_age` is given only while the store is unreachable (counted in
    /// `idnode_cache_stale_answers_total`).
    pub fn cached(&self, id: &Identifier, view: View) -> Option<Arc<Entry>> {
        let e = self.caches.get(id.as_str(), view)?;
        if self.past_age(&e) {
            if !self.health.is_down() || e.age() >= self.oldest {
                return None;
            }
            self.health.stale.increment(1);
        }
        self.meters.hit.increment(1);
        Some(e)
    }

    /// The cached answer of `key` for a view, whatever its age within `stale_if_down`
    /// (counted as stale): for a store that did not answer.
    fn stale(&self, key: &str, view: View) -> Option<Arc<Entry>> {
        let e = self
            .caches
            .get(key, view)
            .filter(|e| e.age() < self.oldest)?;
        self.health.stale.increment(1);
        Some(e)
    }

    /// Whether `e` is older than `max_age`, or was read before the last [`Resolver::clear`].
    fn past_age(&self, e: &Entry) -> bool {
        if e.age() >= self.max_age {
            return true;
        }
        let aged = self.aged_before.load(Ordering::Acquire);
        aged != 0 && (e.born.saturating_duration_since(self.base).as_nanos() as u64) < aged
    }

    /// The records of `keys` (missing ones left out): from a replica those it may answer
    /// for, the others (and all, when the replica fails) from the primary.
    async fn read_handles(
        &self,
        keys: Vec<String>,
    ) -> Result<Vec<idnode_store::HandleRecord>, StoreError> {
        let mut replica = None;
        let (far, near): (Vec<String>, Vec<String>) = keys.into_iter().partition(|k| {
            let pick = self.replicas.pick(k);
            replica = replica.or(pick);
            pick.is_some()
        });
        let mut found = match replica {
            Some(r) if !far.is_empty() => r.get_handles(&far).await.ok(),
            _ => None,
        };
        let from_primary = match found {
            Some(_) => near,
            None => [near, far].concat(),
        };
        let mut out = match from_primary.as_slice() {
            [] => Vec::new(),
            [one] => self.store.get_handle(one).await?.into_iter().collect(),
            many => self.store.get_handles(many).await?,
        };
        out.extend(found.take().into_iter().flatten());
        Ok(out)
    }

    /// One read of the store, unless it is known to be unreachable (then it fails at once,
    /// but for one probe a second); what the read finds is remembered.
    async fn read<T, F>(&self, read: impl FnOnce() -> F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, StoreError>>,
    {
        let Some(_probe) = self.health.may_read() else {
            return Err(StoreError::Unavailable(
                "the database did not answer a moment ago".into(),
            ));
        };
        let out = read().await;
        match &out {
            Err(StoreError::Unavailable(_)) => self.health.failed(),
            Ok(_) => self.health.answered(),
            Err(_) => {}
        }
        out
    }

    /// Tells the resolver the store just answered (a write committed): reads try it again
    /// at once if it counted as down.
    pub fn store_answered(&self) {
        self.health.answered();
    }

    /// Drops every cached answer for a handle. Call after the write has committed.
    pub fn invalidate(&self, handle: &str) {
        self.replicas.wrote(handle);
        self.caches.invalidate(handle);
        self.canonical.invalidate(&fold(handle));
    }

    /// Drops every "not found" answer (handles were created that are not named).
    pub fn forget_not_found(&self) {
        self.replicas.wrote_all();
        self.caches.forget_not_found();
        self.canonical.invalidate_all();
    }

    /// Forgets which prefix names exist (prefixes were allocated or changed).
    pub fn forget_prefixes(&self) {
        self.prefix_names.expire();
    }

    /// Changes may have been missed: every cached answer counts as past its age from now
    /// on (read again before it is given, or given stale when the store does not answer,
    /// so a reconnection after an outage costs no answer), "not found" answers and case
    /// look-ups are dropped, and misses reading the store meanwhile keep nothing.
    pub fn clear(&self) {
        self.replicas.wrote_all();
        let now = self.base.elapsed().as_nanos().max(1) as u64;
        self.aged_before.fetch_max(now, Ordering::AcqRel);
        self.caches.age_all();
        self.canonical.invalidate_all();
        self.prefix_names.expire();
    }

    /// Number of cached entries and their weighted size in bytes.
    pub fn cache_usage(&self) -> (u64, u64) {
        self.caches.usage()
    }

    /// A warm-start snapshot of the public answers cached (see `snapshot.rs`) for the node
    /// of `node_prefix`, taken at unix time `now_ms`.
    pub fn snapshot(&self, node_prefix: &str, now_ms: u64) -> Vec<u8> {
        let entries = self.caches.public_entries();
        let kept = entries.iter().filter(|e| e.age() < self.oldest);
        snapshot::encode(node_prefix, now_ms, kept.map(|e| e.saved()))
    }

    /// Caches the answers of a snapshot `bytes` of this node (`node_prefix`) at unix time
    /// `now_ms`, each as old as it was when written plus the time since, those older than
    /// `max_age` + `stale_if_down` left out: they are served only while the store does not
    /// answer (like any answer past its age). A damaged snapshot or one of another node
    /// is refused whole. Returns how many answers it restored.
    pub fn restore(
        &self,
        bytes: &[u8],
        node_prefix: &str,
        now_ms: u64,
    ) -> Result<usize, ResolveError> {
        let entries = snapshot::decode(bytes, node_prefix, now_ms, self.oldest)?;
        let n = entries.len();
        for mut e in entries {
            e.epoch = self.caches.epoch(&e.handle);
            self.caches.insert(Arc::new(e));
        }
        // Every answer restored counts as past its age: what changed meanwhile is unknown.
        self.clear();
        Ok(n)
    }
}

/// Case look-ups that found a handle live as long as answers; those that did not, as
/// long as "not found" answers.
struct CanonicalExpiry {
    found: Duration,
    missing: Duration,
}

impl moka::Expiry<String, Option<Arc<str>>> for CanonicalExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Option<Arc<str>>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(if value.is_some() {
            self.found
        } else {
            self.missing
        })
    }
}

#[cfg(test)]
mod tests;
