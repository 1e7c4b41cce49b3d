//! What other instances sharing one database must hear of a committed write, so that their
//! caches drop what it made stale, and the text form the PostgreSQL backend sends it in
//! (`NOTIFY idnode_changes`, inside the writing transaction, so it arrives after the commit
//! and never for a rolled-back write).
//!
//! A notification is `<instance> <kind><items>`: the sending store's instance number in
//! hexadecimal (an instance ignores its own), one kind letter, and the items separated by
//! newlines (handles hold no control characters). Long lists are split into several
//! notifications, each under PostgreSQL's payload limit.

use crate::{Batch, Op, TemplateOp};

/// The PostgreSQL channel the changes are sent on.
pub const CHANNEL: &str = "idnode_changes";

/// Largest payload sent in one notification (PostgreSQL's limit is 8,000 bytes).
pub const MAX_PAYLOAD: usize = 7_900;

/// Created handles are named one by one up to this many per write; a larger write says
/// only that handles were created ([`Change::CreatedMany`]).
pub const MAX_CREATED_NAMED: usize = 100;

/// A change other instances must hear of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These handles' records (or their secrets) changed or were deleted.
    Handles(Vec<String>),
    /// These handles were created: "not found" answers for them are stale.
    Created(Vec<String>),
    /// More handles were created than are named: every "not found" answer may be stale.
    CreatedMany,
    /// Prefixes, enterprises or templates (defined, changed, deleted, first used) changed.
    Registry,
    /// A capture (by job id) stored EPCIS events: trace links may have changed.
    Captured(i64),
    /// Changes may have been missed (the listening connection was lost): everything
    /// cached may be stale.
    Resync,
}

impl Change {
    /// What `batch`, once committed, changed for other instances.
    pub fn of_batch(batch: &Batch) -> Vec<Self> {
        let (mut handles, mut created, mut registry) = (Vec::new(), Vec::new(), false);
        for op in &batch.ops {
            match op {
                Op::Create { handle, .. } => created.push(handle.as_str().to_owned()),
                Op::Update { handle, .. } | Op::Delete { handle, .. } => {
                    handles.push(handle.as_str().to_owned());
                }
                Op::PutSecret { handle, .. } | Op::DeleteSecret { handle, .. } => {
                    handles.push(handle.as_str().to_owned());
                }
                Op::CreatePrefix(_)
                | Op::SetPrefixPolicy { .. }
                | Op::SetPrefixStatus { .. }
                | Op::SetPrefixReview { .. }
                | Op::CreateEnterprise(_)
                | Op::SetEnterpriseStatus { .. }
                | Op::SetEnterpriseProfile { .. }
                | Op::SetEnterpriseUpstream { .. }
                | Op::Template(
                    TemplateOp::Create { .. }
                    | TemplateOp::Update { .. }
                    | TemplateOp::Delete { .. }
                    | TemplateOp::Use { .. },
                ) => registry = true,
                // Unique-value claims and releases change nothing an instance caches.
                _ => {}
            }
        }
        let mut out = Vec::new();
        if !handles.is_empty() {
            handles.sort_unstable();
            handles.dedup();
            out.push(Self::Handles(handles));
        }
        if created.len() > MAX_CREATED_NAMED {
            out.push(Self::CreatedMany);
        } else if !created.is_empty() {
            out.push(Self::Created(created));
        }
        if registry {
            out.push(Self::Registry);
        }
        out
    }

    /// The notification payloads of this change sent by `instance`, each at most
    /// [`MAX_PAYLOAD`] bytes (a handle too long for one is named by [`Self::CreatedMany`]
    /// or, changed, by [`Self::Resync`]: never dropped).
    pub fn payloads(&self, instance: u64) -> Vec<String> {
        let head = |kind: char| format!("{instance:x} {kind}");
        let (kind, items) = match self {
            Self::Handles(h) => ('h', h),
            Self::Created(h) => ('c', h),
            Self::CreatedMany => return vec![head('C')],
            Self::Registry => return vec![head('r')],
            Self::Captured(id) => return vec![format!("{} {id}", head('e'))],
            Self::Resync => return vec![head('R')],
        };
        let mut out = Vec::new();
        let mut cur = head(kind);
        let empty = cur.len();
        for item in items {
            if cur.len() + 1 + item.len() > MAX_PAYLOAD && cur.len() > empty {
                out.push(std::mem::replace(&mut cur, head(kind)));
            }
            if empty + item.len() > MAX_PAYLOAD {
                let whole = if kind == 'c' { 'C' } else { 'R' };
                out.push(head(whole));
                continue;
            }
            if cur.len() > empty {
                cur.push('\n');
            }
            cur.push_str(item);
        }
        if cur.len() > empty {
            out.push(cur);
        }
        out
    }

    /// Reads a notification payload: the sending instance and the change, or `None` when
    /// it is not one (a notification on the channel from something else is ignored).
    pub fn parse(payload: &str) -> Option<(u64, Self)> {
        let (instance, rest) = payload.split_once(' ')?;
        if instance.is_empty() || instance.len() > 16 {
            return None;
        }
        let instance = u64::from_str_radix(instance, 16).ok()?;
        let mut chars = rest.chars();
        let kind = chars.next()?;
        let items = chars.as_str();
        let list = || -> Option<Vec<String>> {
            let v: Vec<String> = items.split('\n').map(str::to_owned).collect();
            (!items.is_empty() && v.iter().all(|h| !h.is_empty())).then_some(v)
        };
        let only = |c: Self| items.is_empty().then_some(c);
        let change = match kind {
            'h' => Self::Handles(list()?),
            'c' => Self::Created(list()?),
            'C' => only(Self::CreatedMany)?,
            'r' => only(Self::Registry)?,
            'e' => Self::Captured(items.strip_prefix(' ')?.parse().ok()?),
            'R' => only(Self::Resync)?,
            _ => return None,
        };
        Some((instance, change))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: &Change) -> Vec<Change> {
        c.payloads(0xabc)
            .iter()
            .map(|p| {
                assert!(p.len() <= MAX_PAYLOAD, "{} bytes", p.len());
                let (i, c) = Change::parse(p).expect("parses");
                assert_eq!(i, 0xabc);
                c
            })
            .collect()
    }

    #[test]
    fn payloads_round_trip_and_split() {
        for c in [
            Change::CreatedMany,
            Change::Registry,
            Change::Captured(42),
            Change::Resync,
        ] {
            assert_eq!(round_trip(&c), vec![c.clone()]);
        }
        let few = Change::Handles(vec!["88.118.8/A".into(), "88.118.8/b c".into()]);
        assert_eq!(round_trip(&few), vec![few.clone()]);
        let many: Vec<String> = (0..2_000).map(|i| format!("88.118.8/GBX-{i:06}")).collect();
        let parts = round_trip(&Change::Created(many.clone()));
        assert!(parts.len() > 1);
        let joined: Vec<String> = parts
            .into_iter()
            .flat_map(|c| match c {
                Change::Created(h) => h,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(joined, many);
    }

    #[test]
    fn an_unsendable_handle_widens_the_change() {
        let long = format!("88.118.8/{}", "x".repeat(MAX_PAYLOAD));
        let parts = round_trip(&Change::Handles(vec!["88.118.8/a".into(), long.clone()]));
        assert_eq!(
            parts,
            vec![Change::Handles(vec!["88.118.8/a".into()]), Change::Resync]
        );
        assert_eq!(
            round_trip(&Change::Created(vec![long])),
            vec![Change::CreatedMany]
        );
    }

    #[test]
    fn a_batch_announces_what_other_instances_cache() {
        let id = |h: &str| idnode_core::Identifier::parse(h).unwrap();
        let batch = |ops| Batch {
            actor: "t".into(),
            ops,
            idempotency: None,
            origin: String::new(),
        };
        let claim = Op::Template(TemplateOp::Claim {
            prefix: "88.118.8".into(),
            index: 2,
            value: "SN-1".into(),
            handle: "88.118.8/B".into(),
        });
        let changes = Change::of_batch(&batch(vec![
            Op::Create {
                handle: id("88.118.8/A"),
                values: Vec::new(),
            },
            Op::Delete {
                handle: id("88.118.8/B"),
                expected_version: 1,
                before: Vec::new(),
            },
            Op::DeleteSecret {
                handle: "88.118.8/B".into(),
                index: None,
            },
            claim.clone(),
        ]));
        assert_eq!(
            changes,
            vec![
                Change::Handles(vec!["88.118.8/B".into()]),
                Change::Created(vec!["88.118.8/A".into()])
            ]
        );
        // A unique value claimed announces nothing; a template first used does.
        assert_eq!(Change::of_batch(&batch(vec![claim])), vec![]);
        let used = Op::Template(TemplateOp::Use {
            prefix: "88.118.8".into(),
            version: "v1".into(),
        });
        assert_eq!(Change::of_batch(&batch(vec![used])), vec![Change::Registry]);
    }

    #[test]
    fn foreign_or_malformed_payloads_are_ignored() {
        for p in [
            "",
            "x",
            "abc",
            "abc ",
            "zz h88.118.8/a",
            "abc h",
            "abc q",
            "abc Rx",
            "abc h\n",
            "abc ha\n\nb",
            "11112222333344445 r",
            "abc e",
            "abc e x",
            "abc e1",
        ] {
            assert_eq!(Change::parse(p), None, "{p:?}");
        }
    }
}
