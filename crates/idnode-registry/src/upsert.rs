//! `idnode import`'s write: handles made to hold exactly the given values, in one
//! transaction, leaving those that already do alone.

use std::collections::{HashMap, HashSet};

use idnode_core::{validate_record, HandleValue, Identifier};
use idnode_store::{Op, StoreError};

use crate::batch::{problem, store_problems};
use crate::handles::with_default_admin;
use crate::pipeline::WriteFailure;
use crate::{Principal, Registry, RegistryError, Result};

/// Counts of an [`Registry::upsert`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertReport {
    /// Handles created.
    pub created: usize,
    /// Handles whose values changed.
    pub updated: usize,
    /// Handles already holding exactly these values.
    pub unchanged: usize,
}

fn comparable(values: &[HandleValue]) -> Vec<HandleValue> {
    let mut v: Vec<HandleValue> = values
        .iter()
        .cloned()
        .map(|mut v| {
            v.timestamp = 0;
            v
        })
        .collect();
    v.sort_by_key(|v| v.index);
    v
}

impl Registry {
    /// Creates or replaces handles so that each holds exactly the given values, in one
    /// transaction. Handles already holding them are left alone, so re-running an import
    /// changes nothing. Problems carry the item's position in `items`.
    pub async fn upsert(
        &self,
        p: &Principal,
        items: Vec<(String, Vec<HandleValue>)>,
    ) -> Result<UpsertReport> {
        let mut problems = Vec::new();
        let mut parsed = Vec::with_capacity(items.len());
        let mut seen = HashSet::new();
        for (k, (text, values)) in items.into_iter().enumerate() {
            let checked = async {
                let id = Identifier::parse(&text)?;
                if !seen.insert(id.as_str().to_owned()) {
                    return Err(RegistryError::BadRequest(format!("{id} appears twice")));
                }
                let info = self.write_scope(p, &id).await?;
                if values.iter().any(|v| v.is_secret() && v.data.is_empty()) {
                    return Err(RegistryError::InvalidValue(
                        "an HS_SECKEY value needs the secret as its data".into(),
                    ));
                }
                let mut values = values;
                // The limit counts the values sent, not the HS_ADMIN added for them.
                validate_record(&values)?;
                with_default_admin(&info, &mut values);
                Ok((id, values))
            }
            .await;
            match checked {
                Ok(x) => parsed.push((k, x.0, x.1)),
                Err(e) => problems.push(problem(k, &text, &e)),
            }
        }
        if !problems.is_empty() {
            return Err(RegistryError::Batch(problems));
        }
        for attempt in 0..3 {
            let names: Vec<String> = parsed
                .iter()
                .map(|(_, id, _)| id.as_str().to_owned())
                .collect();
            let current: HashMap<String, _> = self
                .store
                .get_handles(&names)
                .await?
                .into_iter()
                .map(|r| (r.handle.clone(), r))
                .collect();
            let mut report = UpsertReport::default();
            let mut ops = Vec::new();
            let mut secrets = Vec::new();
            for (_, id, values) in &parsed {
                let mut values = values.clone();
                match current.get(id.as_str()) {
                    Some(rec) if comparable(&rec.values) == comparable(&values) => {
                        report.unchanged += 1;
                    }
                    Some(rec) => {
                        secrets.push(Op::DeleteSecret {
                            handle: id.as_str().to_owned(),
                            index: None,
                        });
                        self.prepare(id, &mut values, &mut secrets);
                        ops.push(Op::Update {
                            handle: id.clone(),
                            expected_version: rec.version,
                            before: rec.values.clone(),
                            values,
                        });
                        report.updated += 1;
                    }
                    None => {
                        self.prepare(id, &mut values, &mut secrets);
                        ops.push(Op::Create {
                            handle: id.clone(),
                            values,
                        });
                        report.created += 1;
                    }
                }
            }
            if ops.is_empty() {
                return Ok(report);
            }
            ops.extend(secrets);
            match self.commit(p, ops).await {
                Ok(()) => return Ok(report),
                Err(e) if attempt < 2 && e.is_version_conflict() => {}
                Err(WriteFailure::Store(StoreError::Batch(items))) => {
                    let pos = parsed.iter().map(|(k, id, _)| (id.as_str(), *k)).collect();
                    return Err(RegistryError::Batch(store_problems(&items, &pos)));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RegistryError::Conflict(
            "the handles kept changing concurrently; retry".into(),
        ))
    }
}
