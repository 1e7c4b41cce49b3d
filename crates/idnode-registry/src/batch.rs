//! All-or-nothing batches of up to [`MAX_BATCH`] creates, updates and deletes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use idnode_core::json::ValueIn;
use idnode_core::{validate_record, validate_record_shape, HandleValue, Identifier};
use idnode_store::{HandleRecord, Idempotency, Op, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::handles::{item_error, with_default_admin};
use crate::pipeline::WriteFailure;
use crate::scope::PrefixInfo;
use crate::{ItemProblem, Principal, Registry, RegistryError, Result, MAX_BATCH};

/// A batch as clients send it, borrowing from the request body. Read it with
/// [`BatchRequest::from_slice`].
#[derive(Debug)]
pub struct BatchRequest<'a> {
    /// The operations, applied in order, all or none.
    pub operations: Vec<BatchItem<'a>>,
}

/// One operation of a batch.
#[derive(Debug)]
pub struct BatchItem<'a> {
    /// `create`, `update` (replace all values) or `delete`.
    pub op: Cow<'a, str>,
    /// The handle.
    pub handle: Cow<'a, str>,
    /// Values (create, update), each read from the REST form and checked, or why one could
    /// not be.
    pub values: Option<Result<Vec<HandleValue>>>,
}

/// An operation as sent, its values read as `V`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemIn<'a, V> {
    #[serde(borrow)]
    op: Cow<'a, str>,
    #[serde(borrow)]
    handle: Cow<'a, str>,
    #[serde(default = "no_values")]
    values: Option<Vec<V>>,
}

fn no_values<V>() -> Option<Vec<V>> {
    None
}

/// A batch as sent.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "V: Deserialize<'de>, 'de: 'a")
)]
struct RequestIn<'a, V> {
    #[serde(borrow)]
    operations: Vec<ItemIn<'a, V>>,
}

/// A value read from the REST form and checked in one go: one that does not convert fails
/// the whole one-pass read (and the item-by-item read then names its item).
struct Converted(HandleValue);

impl<'de> Deserialize<'de> for Converted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        ValueIn::deserialize(d)?
            .into_value()
            .map(Converted)
            .map_err(serde::de::Error::custom)
    }
}

/// A raw value read and checked on its own.
fn convert(raw: &RawValue) -> Result<HandleValue> {
    serde_json::from_str::<ValueIn>(raw.get())
        .map_err(|e| RegistryError::InvalidValue(e.to_string()))?
        .into_value()
        .map_err(RegistryError::from)
}

impl<'a> BatchRequest<'a> {
    /// Reads a request body: in one pass, values and all, when every value is well-formed
    /// and valid (the usual case); otherwise again with each item's values kept raw and
    /// read item by item, so that the problems name their items. (Reading every value raw
    /// first and parsing it again cost a sixth of the read.)
    pub fn from_slice(body: &'a [u8]) -> std::result::Result<Self, serde_json::Error> {
        // UTF-8 checked once, not string by string (a tenth of the read's time).
        let body = std::str::from_utf8(body).map_err(|e| {
            serde::de::Error::custom(format!(
                "the body is not UTF-8 (at byte {})",
                e.valid_up_to()
            ))
        })?;
        if let Ok(parsed) = serde_json::from_str::<RequestIn<'a, Converted>>(body) {
            let operations = parsed.operations.into_iter().map(|i| BatchItem {
                op: i.op,
                handle: i.handle,
                values: i
                    .values
                    .map(|vs| Ok(vs.into_iter().map(|Converted(v)| v).collect())),
            });
            return Ok(Self {
                operations: operations.collect(),
            });
        }
        let raw = serde_json::from_str::<RequestIn<'a, &'a RawValue>>(body)?;
        let operations = raw.operations.into_iter().map(|i| BatchItem {
            op: i.op,
            handle: i.handle,
            values: i
                .values
                .map(|vs| vs.iter().map(|v| convert(v)).collect::<Result<Vec<_>>>()),
        });
        Ok(Self {
            operations: operations.collect(),
        })
    }
}

/// Summary of an applied batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// Always 1.
    #[serde(rename = "responseCode")]
    pub response_code: u32,
    /// Handles created.
    pub created: usize,
    /// Handles updated.
    pub updated: usize,
    /// Handles deleted.
    pub deleted: usize,
    /// The normalised handles, in request order.
    pub handles: Vec<String>,
}

/// The reply to a batch: fresh, or replayed for a repeated `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReply {
    /// What the batch did.
    pub outcome: BatchOutcome,
    /// True when this is the recorded reply of an earlier identical request.
    pub replayed: bool,
}

/// The code an idempotency record of an applied batch carries (only applied batches are
/// recorded).
const APPLIED: u16 = 200;

/// What one item of a batch does.
#[derive(Debug, Clone)]
pub enum Change {
    /// Creates the handle with these values.
    Create(Vec<HandleValue>),
    /// Replaces all values of an existing handle.
    Update(Vec<HandleValue>),
    /// Replaces an existing handle's template data (the values at 1001, `TEMPLATE`, and from
    /// 2000 up), keeping the rest (`HS_ADMIN`, keys, other values): the SNMS update.
    ReplaceData(Vec<HandleValue>),
    /// Deletes an existing handle.
    Delete,
}

pub(crate) struct Checked {
    /// Position in the request.
    position: usize,
    pub(crate) id: Identifier,
    kind: Change,
    info: Arc<PrefixInfo>,
}

impl Checked {
    /// Position in the request.
    pub(crate) fn position(&self) -> usize {
        self.position
    }
}

/// Whether a value is template data (replaced by [`Change::ReplaceData`]).
fn is_template_data(v: &HandleValue) -> bool {
    v.index == idnode_template::TEMPLATE_INDEX || v.index >= idnode_template::FIRST_ITEM_INDEX
}

/// Store item errors as problems, positioned by request item (store positions count ops).
pub(crate) fn store_problems(
    items: &[idnode_store::ItemError],
    position_of: &HashMap<&str, usize>,
) -> Vec<ItemProblem> {
    items
        .iter()
        .map(|i| {
            let e = item_error(&i.handle, &i.kind);
            let position = position_of.get(i.handle.as_str()).copied().unwrap_or(0);
            problem(position, &i.handle, &e)
        })
        .collect()
}

pub(crate) fn problem(position: usize, handle: &str, e: &RegistryError) -> ItemProblem {
    ItemProblem {
        position,
        handle: handle.to_owned(),
        code: e.response_code().code(),
        message: e.to_string(),
    }
}

/// The change a REST batch item asks for (`op`, `values`).
fn parse_kind(op: &str, values: Option<Result<Vec<HandleValue>>>) -> Result<Change> {
    let present = values.is_some();
    let values = || -> Result<Vec<HandleValue>> {
        let vs = values.unwrap_or(Ok(Vec::new()))?;
        // Each value was checked as it was read.
        validate_record_shape(&vs)?;
        Ok(vs)
    };
    match op {
        "create" => values().map(Change::Create),
        "update" => values().map(Change::Update),
        "delete" if present => Err(RegistryError::BadRequest(
            "a delete carries no values".into(),
        )),
        "delete" => Ok(Change::Delete),
        other => Err(RegistryError::BadRequest(format!(
            "unknown op '{other}' (create, update, delete)"
        ))),
    }
}

impl Registry {
    /// Applies a batch atomically. `idempotency` is `(key, hash of the request)`.
    pub async fn batch(
        &self,
        p: &Principal,
        req: BatchRequest<'_>,
        idempotency: Option<(String, String)>,
    ) -> Result<BatchReply> {
        if matches!(p, Principal::Anonymous) {
            return Err(RegistryError::AuthenticationNeeded);
        }
        if req.operations.is_empty() || req.operations.len() > MAX_BATCH {
            return Err(RegistryError::BadRequest(format!(
                "a batch holds 1 to {MAX_BATCH} operations, not {}",
                req.operations.len()
            )));
        }
        if let Some((key, hash)) = &idempotency {
            if let Some(rec) = self.store.get_idempotency(p.actor(), key).await? {
                if &rec.request_hash != hash {
                    return Err(RegistryError::Conflict(
                        "Idempotency-Key was already used for a different request".into(),
                    ));
                }
                let outcome = serde_json::from_str(&rec.body).map_err(|e| {
                    StoreError::Corrupt(format!("recorded batch reply of {key}: {e}"))
                })?;
                return Ok(BatchReply {
                    outcome,
                    replayed: true,
                });
            }
        }
        let items = req
            .operations
            .into_iter()
            .map(|item| {
                let kind = parse_kind(&item.op, item.values);
                (item.handle.into_owned(), kind)
            })
            .collect();
        let (mut checked, problems) = self.check_items(p, items).await;
        if !problems.is_empty() {
            return Err(RegistryError::Batch(problems));
        }
        let outcome = self
            .run(p, &mut checked, idempotency.as_ref(), true)
            .await?;
        Ok(BatchReply {
            outcome,
            replayed: false,
        })
    }

    /// Plans and commits checked items, re-planning on a concurrent change (three tries);
    /// `idempotency` records the outcome under its key in the same transaction. With
    /// `consume`, the values of creates are moved into the last plan instead of copied (the
    /// items cannot be run again): a batch of creates only is planned once.
    pub(crate) async fn run(
        &self,
        p: &Principal,
        checked: &mut [Checked],
        idempotency: Option<&(String, String)>,
        consume: bool,
    ) -> Result<BatchOutcome> {
        let creates_only = checked.iter().all(|c| matches!(c.kind, Change::Create(_)));
        for attempt in 0..3 {
            let take = consume && (creates_only || attempt == 2);
            let (ops, outcome) = self.plan(checked, take).await?;
            let record = idempotency.map(|(key, hash)| Idempotency {
                actor: p.actor().to_owned(),
                key: key.clone(),
                request_hash: hash.clone(),
                status: APPLIED,
                body: serde_json::to_string(&outcome).expect("plain data serialises"),
            });
            match self.commit_with(p, ops, record).await {
                Ok(()) => return Ok(outcome),
                Err(e) if attempt < 2 && !take && e.is_version_conflict() => continue,
                Err(WriteFailure::Store(StoreError::Batch(items))) => {
                    // Store positions count ops; map them back to request items by handle.
                    let pos = checked
                        .iter()
                        .map(|c| (c.id.as_str(), c.position))
                        .collect();
                    let mut problems = store_problems(&items, &pos);
                    problems.sort_by_key(|p| p.position);
                    return Err(RegistryError::Batch(problems));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RegistryError::Conflict(
            "the handles kept changing concurrently; retry".into(),
        ))
    }

    /// Parses and authorises every item: the items that pass, and a problem for each other.
    pub(crate) async fn check_items(
        &self,
        p: &Principal,
        items: Vec<(String, Result<Change>)>,
    ) -> (Vec<Checked>, Vec<ItemProblem>) {
        let mut problems = Vec::new();
        let mut out = Vec::with_capacity(items.len());
        let mut scopes: HashMap<String, Result<Arc<PrefixInfo>, ItemProblem>> = HashMap::new();
        let mut touched = HashSet::with_capacity(items.len());
        for (k, (handle, kind)) in items.into_iter().enumerate() {
            let id = match Identifier::parse(&handle) {
                Ok(id) => id,
                Err(e) => {
                    problems.push(problem(k, &handle, &e.into()));
                    continue;
                }
            };
            let governing = if id.is_prefix_handle() {
                id.suffix()
            } else {
                id.prefix()
            };
            let scope = match scopes.get(governing) {
                Some(s) => s.clone(),
                None => {
                    let s = self
                        .write_scope(p, &id)
                        .await
                        .map_err(|e| problem(k, &handle, &e));
                    scopes.insert(governing.to_owned(), s.clone());
                    s
                }
            };
            let info = match scope {
                Ok(info) => info,
                Err(mut pr) => {
                    pr.position = k;
                    pr.handle = handle.clone();
                    problems.push(pr);
                    continue;
                }
            };
            let kind = match kind {
                Ok(kind) => kind,
                Err(e) => {
                    problems.push(problem(k, &handle, &e));
                    continue;
                }
            };
            if !matches!(kind, Change::Create(_)) && !touched.insert(id.as_str().to_owned()) {
                let e = RegistryError::BadRequest(format!("{id} is updated or deleted twice"));
                problems.push(problem(k, &handle, &e));
                continue;
            }
            out.push(Checked {
                position: k,
                id,
                kind,
                info,
            });
        }
        (out, problems)
    }

    /// Reads the records that updates and deletes address and builds the store operations;
    /// `take` moves the values of creates out of `checked`.
    async fn plan(&self, checked: &mut [Checked], take: bool) -> Result<(Vec<Op>, BatchOutcome)> {
        let addressed: Vec<String> = checked
            .iter()
            .filter(|c| !matches!(c.kind, Change::Create(_)))
            .map(|c| c.id.as_str().to_owned())
            .collect();
        let current: HashMap<String, _> = if addressed.is_empty() {
            HashMap::new()
        } else {
            self.store
                .get_handles(&addressed)
                .await?
                .into_iter()
                .map(|r| (r.handle.clone(), r))
                .collect()
        };
        let mut ops = Vec::with_capacity(checked.len());
        let mut secrets = Vec::new();
        let mut problems = Vec::new();
        let mut outcome = BatchOutcome {
            response_code: 1,
            created: 0,
            updated: 0,
            deleted: 0,
            handles: Vec::with_capacity(checked.len()),
        };
        for c in checked {
            outcome.handles.push(c.id.as_str().to_owned());
            match self.op_for(c, current.get(c.id.as_str()), &mut secrets, take) {
                Ok(op) => {
                    match &op {
                        Op::Create { .. } => outcome.created += 1,
                        Op::Update { .. } => outcome.updated += 1,
                        _ => outcome.deleted += 1,
                    }
                    ops.push(op);
                }
                Err(e) => problems.push(problem(c.position, c.id.as_str(), &e)),
            }
        }
        if !problems.is_empty() {
            return Err(RegistryError::Batch(problems));
        }
        ops.extend(secrets);
        Ok((ops, outcome))
    }

    /// The store operation of one checked item, given the record it addresses; secrets it
    /// sets or drops go to `secrets`; `take` moves a create's values out of `c`.
    fn op_for(
        &self,
        c: &mut Checked,
        current: Option<&HandleRecord>,
        secrets: &mut Vec<Op>,
        take: bool,
    ) -> Result<Op> {
        if let Change::Create(values) = &mut c.kind {
            let mut values = if take {
                std::mem::take(values)
            } else {
                values.clone()
            };
            let sealed = secrets.len();
            self.prepare(&c.id, &mut values, secrets);
            // Checked when parsed; again only if secrets were taken out.
            if secrets.len() != sealed {
                validate_record(&values)?;
            }
            // The limit counts the values sent, not the HS_ADMIN added for them.
            with_default_admin(&c.info, &mut values);
            return Ok(Op::Create {
                handle: c.id.clone(),
                values,
            });
        }
        let rec = current.ok_or(RegistryError::HandleNotFound)?;
        let handle = c.id.as_str().to_owned();
        let mut values = match &c.kind {
            Change::ReplaceData(values) => {
                let (replaced, kept): (Vec<_>, Vec<_>) =
                    rec.values.iter().cloned().partition(is_template_data);
                secrets.extend(replaced.iter().filter(|v| v.is_secret()).map(|v| {
                    Op::DeleteSecret {
                        handle: handle.clone(),
                        index: Some(v.index),
                    }
                }));
                kept.into_iter().chain(values.iter().cloned()).collect()
            }
            Change::Update(values) => {
                secrets.push(Op::DeleteSecret {
                    handle,
                    index: None,
                });
                values.clone()
            }
            _ => {
                secrets.push(Op::DeleteSecret {
                    handle,
                    index: None,
                });
                return Ok(Op::Delete {
                    handle: c.id.clone(),
                    expected_version: rec.version,
                    before: rec.values.clone(),
                });
            }
        };
        self.prepare(&c.id, &mut values, secrets);
        validate_record(&values)?;
        Ok(Op::Update {
            handle: c.id.clone(),
            expected_version: rec.version,
            before: rec.values.clone(),
            values,
        })
    }
}
