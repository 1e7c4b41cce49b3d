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
    /// The database failed (connection, I/O, SQL).
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
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
