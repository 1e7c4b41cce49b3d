use thiserror::Error;

/// Why a storage call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The addressed record does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule was broken outside of handle items (prefix, enterprise name, key).
    #[error("conflict: {0}")]
    Conflict(String),
    /// One or more items of a batch failed; nothing was written.
    #[error("{} item(s) of the batch failed", .0.len())]
    Batch(Vec<ItemError>),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database could not be reached in time (stopped, unreachable, no free connection
    /// within the acquire timeout). Nothing was written; the call may be retried.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database has no space left (full disk or tablespace). Nothing of the write was
    /// stored; it may be retried once space is freed.
    #[error("the database has no space left: {0}")]
    Full(String),
    /// The database failed (connection, I/O, SQL).
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// What a client may be told about this failure: never the database's own text, which
    /// can name tables, hosts or file paths (that goes to the log).
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "the database is unavailable; retry shortly",
            Self::Full(_) => "the node's storage is full; nothing was written",
            _ => "storage failure",
        }
    }
}

/// Whether the database has room for writes. Both backends record here every write that
/// ran out of space; from then on readiness fails until a probe write of a good size (more
/// than a typical batch) commits, so a nearly full disk that still takes small writes but
/// refuses batches is not reported ready. Probes run at most once a second.
#[derive(Debug, Default)]
pub struct SpaceState {
    full: std::sync::atomic::AtomicBool,
    last_probe: std::sync::Mutex<Option<std::time::Instant>>,
}

impl SpaceState {
    /// Records the outcome of a write: running out of space sets the state.
    pub fn observe<T>(&self, outcome: &Result<T, StoreError>) {
        if let Err(StoreError::Full(_)) = outcome {
            self.full.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Whether a probe write is due: the state is set and no probe ran in the last second.
    pub fn probe_due(&self) -> bool {
        if !self.is_full() {
            return false;
        }
        let mut last = self.last_probe.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < std::time::Duration::from_secs(1)) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// Records a probe write's outcome: clears the state when it committed.
    pub fn probed(&self, outcome: &Result<(), StoreError>) {
        if outcome.is_ok() {
            self.full.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// True from a write that ran out of space until a probe write commits.
    pub fn is_full(&self) -> bool {
        self.full.load(std::sync::atomic::Ordering::Relaxed)
    }
}
/// One failing item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// Position of the operation in the batch.
    pub position: usize,
    /// The handle it addressed.
    pub handle: String,
    /// What went wrong.
    pub kind: ItemErrorKind,
}

/// The kinds of per-item failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemErrorKind {
    /// The handle exists already.
    Exists,
    /// A handle differing only by case exists.
    CaseConflict {
        /// The existing handle.
        existing: String,
    },
    /// The handle does not exist.
    NotFound,
    /// The handle changed since it was read (optimistic concurrency).
    VersionConflict,
}
