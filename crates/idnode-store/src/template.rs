//! Stored metadata templates, their history, and the holders of unique item values.

/// A template version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRecord {
    /// Owning prefix.
    pub prefix: String,
    /// Version name.
    pub version: String,
    /// The definition (`idnode-template` JSON).
    pub body: String,
    /// Identifiers have been written against it: it can no longer change or be deleted.
    pub used: bool,
    /// Creation time, unix ms.
    pub created_at: i64,
    /// Last change, unix ms.
    pub updated_at: i64,
}

/// One change of a template version: who did what when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateChange {
    /// Owning prefix.
    pub prefix: String,
    /// Version name.
    pub version: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// Who made the change.
    pub actor: String,
    /// When, unix ms.
    pub at: i64,
    /// The definition after the change (none for a delete).
    pub body: Option<String>,
}

/// A write to templates or unique values, applied inside a batch ([`crate::Op::Template`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOp {
    /// Creates a version; fails if it exists.
    Create {
        /// Owning prefix.
        prefix: String,
        /// Version name.
        version: String,
        /// The definition.
        body: String,
    },
    /// Replaces the definition of a version no identifier has used.
    Update {
        /// Owning prefix.
        prefix: String,
        /// Version name.
        version: String,
        /// The new definition.
        body: String,
    },
    /// Deletes a version no identifier has used.
    Delete {
        /// Owning prefix.
        prefix: String,
        /// Version name.
        version: String,
    },
    /// Marks a version used by identifiers (it must exist): from now on it is immutable.
    Use {
        /// Owning prefix.
        prefix: String,
        /// Version name.
        version: String,
    },
    /// Records `handle` as the one holder of `value` at `index` under `prefix`; fails if
    /// another handle holds it.
    Claim {
        /// The prefix within which the value is unique.
        prefix: String,
        /// The value index.
        index: u32,
        /// The value.
        value: String,
        /// The holder.
        handle: String,
    },
    /// Releases every unique value `handle` holds (before claiming anew, or on delete).
    Release {
        /// The holder.
        handle: String,
    },
}
