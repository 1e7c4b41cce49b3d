//! Single-handle writes (the Handle.Net REST semantics) and listing.

use std::collections::BTreeMap;

use idnode_core::{validate_record, AdminRef, HandleValue, Identifier, Permissions, ADMIN_INDEX};
use idnode_store::{HandleRecord, ItemErrorKind, Op, StoreError};

use crate::pipeline::WriteFailure;
use crate::scope::PrefixInfo;
use crate::{Principal, Registry, RegistryError, Result};

/// How a PUT treats the existing record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutMode {
    /// Create the handle, or replace all its values (`overwrite` false refuses an existing one).
    Replace {
        /// Replace an existing handle.
        overwrite: bool,
    },
    /// Add or modify the given values of an existing handle (`index=` in REST).
    Values {
        /// Only these indexes of the body (`None`: all, `index=various`).
        indexes: Option<Vec<u32>>,
        /// Modify values that exist (false: refuse with "value exists").
        overwrite: bool,
    },
    /// Replace values that exist; any index not present fails with "values not found"
    /// (the Handle protocol's MODIFY_VALUE).
    Modify,
    /// Add or replace the given values and remove the values at `remove`, in one change
    /// (the web console's edit form); values not named are kept, secret keys included.
    Edit {
        /// Indexes to remove.
        remove: Vec<u32>,
    },
}

/// What a merge of values does.
struct Merge<'a> {
    indexes: Option<&'a [u32]>,
    overwrite: bool,
    remove: &'a [u32],
}

/// The result of a PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// The handle written (the minted one when a suffix was minted).
    pub handle: String,
    /// True when the handle was created.
    pub created: bool,
}

const RETRIES: usize = 3;

pub(crate) fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().min(u64::from(u32::MAX)) as u32)
}

impl Registry {
    /// Stamps values with the time, and turns `HS_SECKEY` data into stored secrets: the
    /// value keeps no data and is readable by nobody.
    pub(crate) fn prepare(
        &self,
        handle: &Identifier,
        values: &mut [HandleValue],
        ops: &mut Vec<Op>,
    ) {
        let now = now_secs();
        for v in values.iter_mut() {
            v.timestamp = now;
            if v.is_secret() {
                ops.push(self.secret_op(handle.as_str(), v.index, &v.data));
                v.data.clear();
                v.permissions = Permissions::SECRET;
            }
        }
    }
}

impl Registry {
    /// Readies the values of a whole record (created or replaced): stamped, secrets
    /// stored apart, checked, and given the default `HS_ADMIN` when they have none.
    fn whole_record(
        &self,
        id: &Identifier,
        info: &PrefixInfo,
        values: &mut Vec<HandleValue>,
        ops: &mut Vec<Op>,
    ) -> Result<()> {
        self.prepare(id, values, ops);
        // The limit counts the values sent, not the HS_ADMIN added for them.
        validate_record(values)?;
        with_default_admin(info, values);
        Ok(())
    }
}

/// Adds the default `HS_ADMIN` (the prefix owner's identity) when a whole record (created
/// or replaced) has none, so no handle is left without an administrator.
pub(crate) fn with_default_admin(info: &PrefixInfo, values: &mut Vec<HandleValue>) {
    if values.iter().any(|v| v.type_name == "HS_ADMIN") {
        return;
    }
    let index = if values.iter().any(|v| v.index == ADMIN_INDEX) {
        (ADMIN_INDEX..)
            .find(|i| values.iter().all(|v| v.index != *i))
            .unwrap_or(ADMIN_INDEX)
    } else {
        ADMIN_INDEX
    };
    let mut admin = HandleValue::admin(index, &AdminRef::new(info.admin_handle.as_str(), 300));
    admin.timestamp = now_secs();
    values.push(admin);
}

pub(crate) fn item_error(handle: &str, kind: &ItemErrorKind) -> RegistryError {
    match kind {
        ItemErrorKind::Exists => RegistryError::HandleExists(format!("handle {handle} exists")),
        ItemErrorKind::CaseConflict { existing } => RegistryError::HandleExists(format!(
            "handle {handle} differs only by case from existing handle {existing}"
        )),
        ItemErrorKind::NotFound => RegistryError::HandleNotFound,
        _ => RegistryError::Conflict(format!("handle {handle} changed concurrently")),
    }
}

impl Registry {
    /// Creates, replaces or amends one handle (REST `PUT /api/handles/{handle}`).
    ///
    /// With `mint`, a random UUID is appended to `handle` to form a new handle.
    pub async fn put_handle(
        &self,
        p: &Principal,
        handle: &str,
        values: Vec<HandleValue>,
        mode: PutMode,
        mint: bool,
    ) -> Result<PutOutcome> {
        let text = if mint {
            format!("{handle}{}", uuid::Uuid::new_v4())
        } else {
            handle.to_owned()
        };
        let id = Identifier::parse(&text)?;
        let info = self.write_scope(p, &id).await?;
        for v in &values {
            v.validate()?;
        }
        for attempt in 0.. {
            let existing = self.store.get_handle(id.as_str()).await?;
            let mut ops = Vec::new();
            let mut new_values = values.clone();
            let created = existing.is_none();
            match (&mode, existing) {
                (PutMode::Replace { .. }, None) => {
                    self.whole_record(&id, &info, &mut new_values, &mut ops)?;
                    ops.insert(
                        0,
                        Op::Create {
                            handle: id.clone(),
                            values: new_values,
                        },
                    );
                }
                (PutMode::Replace { overwrite: false }, Some(_)) => {
                    return Err(RegistryError::HandleExists(format!("handle {id} exists")));
                }
                (PutMode::Replace { overwrite: true }, Some(rec)) => {
                    ops.push(Op::DeleteSecret {
                        handle: id.as_str().to_owned(),
                        index: None,
                    });
                    self.whole_record(&id, &info, &mut new_values, &mut ops)?;
                    ops.insert(
                        0,
                        Op::Update {
                            handle: id.clone(),
                            expected_version: rec.version,
                            before: rec.values,
                            values: new_values,
                        },
                    );
                }
                (PutMode::Values { .. } | PutMode::Modify | PutMode::Edit { .. }, None) => {
                    return Err(RegistryError::HandleNotFound)
                }
                (PutMode::Modify, Some(rec))
                    if new_values
                        .iter()
                        .any(|v| rec.values.iter().all(|o| o.index != v.index)) =>
                {
                    return Err(RegistryError::ValuesNotFound);
                }
                (
                    m @ (PutMode::Values { .. } | PutMode::Modify | PutMode::Edit { .. }),
                    Some(rec),
                ) => {
                    let (indexes, overwrite, remove) = match m {
                        PutMode::Values { indexes, overwrite } => {
                            (indexes.as_deref(), *overwrite, &[][..])
                        }
                        PutMode::Edit { remove } => (None, true, remove.as_slice()),
                        _ => (None, true, &[][..]),
                    };
                    let merge = Merge {
                        indexes,
                        overwrite,
                        remove,
                    };
                    self.merge_values(&id, rec, new_values, &merge, &mut ops)?;
                }
            }
            match self.commit(p, ops).await {
                Ok(()) => {
                    return Ok(PutOutcome {
                        handle: id.into_string(),
                        created,
                    });
                }
                Err(e) if e.is_version_conflict() && attempt + 1 < RETRIES => continue,
                Err(WriteFailure::Store(StoreError::Batch(items))) => {
                    return Err(item_error(id.as_str(), &items[0].kind));
                }
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!("the loop returns")
    }

    /// Merges `new_values` (those at `m.indexes`, when given) into the record `rec` and
    /// removes the values at `m.remove`: an update op first in `ops`, secret rows dropped
    /// for secrets replaced by plain values or removed. Without `m.overwrite`, an existing
    /// index is refused.
    fn merge_values(
        &self,
        id: &Identifier,
        rec: HandleRecord,
        mut new_values: Vec<HandleValue>,
        m: &Merge<'_>,
        ops: &mut Vec<Op>,
    ) -> Result<()> {
        let (indexes, overwrite) = (m.indexes, m.overwrite);
        let mut merged: BTreeMap<u32, HandleValue> =
            rec.values.iter().map(|v| (v.index, v.clone())).collect();
        new_values.retain(|v| indexes.is_none_or(|l| l.contains(&v.index)));
        for index in m.remove {
            if merged.remove(index).is_some_and(|old| old.is_secret()) {
                ops.push(Op::DeleteSecret {
                    handle: id.as_str().to_owned(),
                    index: Some(*index),
                });
            }
        }
        if new_values.is_empty() && m.remove.is_empty() {
            return Err(RegistryError::InvalidValue(
                "no value in the body matches the given indexes".into(),
            ));
        }
        self.prepare(id, &mut new_values, ops);
        for v in new_values {
            if let Some(old) = merged.get(&v.index) {
                if !overwrite {
                    return Err(RegistryError::ValueExists(v.index));
                }
                if old.is_secret() && !v.is_secret() {
                    ops.push(Op::DeleteSecret {
                        handle: id.as_str().to_owned(),
                        index: Some(v.index),
                    });
                }
            }
            merged.insert(v.index, v);
        }
        let all: Vec<HandleValue> = merged.into_values().collect();
        validate_record(&all)?;
        ops.insert(
            0,
            Op::Update {
                handle: id.clone(),
                expected_version: rec.version,
                before: rec.values,
                values: all,
            },
        );
        Ok(())
    }

    /// Deletes a handle, or only the values at `indexes` (REST `DELETE`).
    pub async fn delete_handle(
        &self,
        p: &Principal,
        handle: &str,
        indexes: Option<Vec<u32>>,
    ) -> Result<()> {
        let id = Identifier::parse(handle)?;
        self.write_scope(p, &id).await?;
        for attempt in 0.. {
            let rec = self
                .store
                .get_handle(id.as_str())
                .await?
                .ok_or(RegistryError::HandleNotFound)?;
            let ops = match &indexes {
                None => vec![
                    Op::Delete {
                        handle: id.clone(),
                        expected_version: rec.version,
                        before: rec.values,
                    },
                    Op::DeleteSecret {
                        handle: id.as_str().to_owned(),
                        index: None,
                    },
                ],
                Some(list) => {
                    let (removed, kept): (Vec<_>, Vec<_>) = rec
                        .values
                        .iter()
                        .cloned()
                        .partition(|v| list.contains(&v.index));
                    if removed.is_empty() {
                        return Err(RegistryError::ValuesNotFound);
                    }
                    let mut ops = vec![Op::Update {
                        handle: id.clone(),
                        expected_version: rec.version,
                        before: rec.values,
                        values: kept,
                    }];
                    ops.extend(removed.iter().filter(|v| v.is_secret()).map(|v| {
                        Op::DeleteSecret {
                            handle: id.as_str().to_owned(),
                            index: Some(v.index),
                        }
                    }));
                    ops
                }
            };
            match self.commit(p, ops).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_version_conflict() && attempt + 1 < RETRIES => continue,
                Err(WriteFailure::Store(StoreError::Batch(items))) => {
                    return Err(item_error(id.as_str(), &items[0].kind));
                }
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!("the loop returns")
    }

    /// `prefix` normalised, when `p` may list (and export) what is under it: the same rights
    /// as writing under it (`0.NA`: the operator only).
    async fn listable(&self, p: &Principal, prefix: &str) -> Result<String> {
        let prefix = idnode_core::normalize_prefix(prefix)?;
        if prefix == idnode_core::NA_PREFIX {
            Self::require_operator(p)?;
        } else {
            self.prefix_scope(p, &prefix, false).await?;
        }
        Ok(prefix)
    }

    /// Total and one page of the handles under `prefix` (operator, or the owning enterprise).
    pub async fn list_handles(
        &self,
        p: &Principal,
        prefix: &str,
        page: u64,
        page_size: u64,
    ) -> Result<(u64, Vec<String>)> {
        let prefix = self.listable(p, prefix).await?;
        Ok(self
            .store
            .list_handles(&prefix, page.saturating_mul(page_size), page_size)
            .await?)
    }
}

impl Registry {
    /// Up to `limit` handles under `prefix` after `after` (in handle order), with their
    /// values, secret keys left out: one page of an export (operator, or the owning
    /// enterprise).
    pub async fn export_page(
        &self,
        p: &Principal,
        prefix: &str,
        after: &str,
        limit: u64,
    ) -> Result<Vec<(String, Vec<HandleValue>)>> {
        let prefix = self.listable(p, prefix).await?;
        Ok(self
            .store
            .scan_handles(Some(&prefix), after, limit)
            .await?
            .into_iter()
            .map(|r| {
                let values = r.values.into_iter().filter(|v| !v.is_secret()).collect();
                (r.handle, values)
            })
            .collect())
    }

    /// Identifiers under `prefix` holding a text value that contains `text` (ignoring case),
    /// at most `limit` of them, looking at no more than `max_scan` identifiers in handle
    /// order: (matches, identifiers looked at, whether the whole prefix was looked at).
    /// There is no index of values: this reads the prefix's records, so it is bounded.
    pub async fn find_by_value(
        &self,
        p: &Principal,
        prefix: &str,
        text: &str,
        limit: usize,
        max_scan: u64,
    ) -> Result<(Vec<String>, u64, bool)> {
        let needle = text.to_lowercase();
        let (mut found, mut scanned, mut after) = (Vec::new(), 0u64, String::new());
        while scanned < max_scan && found.len() < limit {
            let page = self
                .export_page(p, prefix, &after, (max_scan - scanned).min(5_000))
                .await?;
            let Some((last, _)) = page.last() else {
                return Ok((found, scanned, true));
            };
            after.clone_from(last);
            scanned += page.len() as u64;
            for (handle, values) in page {
                let hit = values.iter().any(|v| {
                    std::str::from_utf8(&v.data).is_ok_and(|d| d.to_lowercase().contains(&needle))
                });
                if hit && found.len() < limit {
                    found.push(handle);
                }
            }
        }
        Ok((found, scanned, false))
    }

    /// Change history of a handle, newest first (operator or the owning enterprise).
    pub async fn history(
        &self,
        p: &Principal,
        handle: &str,
        limit: u64,
    ) -> Result<Vec<idnode_store::HistoryRecord>> {
        let id = Identifier::parse(handle)?;
        match (p, self.view_for(p, &id).await?) {
            (Principal::Anonymous, _) => Err(RegistryError::AuthenticationNeeded),
            (_, idnode_resolver::View::Admin) => Ok(self.store.history(id.as_str(), limit).await?),
            _ => Err(RegistryError::Forbidden(
                "only the handle's administrators may read its history".into(),
            )),
        }
    }
}
