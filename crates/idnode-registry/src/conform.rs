//! The template step of the write pipeline: every identifier a write creates or changes that
//! names a template version (value 1001) is checked against it, all violations of all
//! identifiers are reported at once, and the write gains the operations that keep templates
//! honest in the same transaction: the version marked used, unique values claimed, and the
//! values of changed or deleted identifiers released.

use std::collections::{BTreeSet, HashMap, HashSet};

use idnode_core::{HandleValue, Identifier};
use idnode_store::{Op, TemplateOp};
use idnode_template::{Lookup, LookupKind, Rule, Violation, TEMPLATE_INDEX};

use crate::{Registry, RegistryError, Result};

/// Every violation of one identifier's values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateProblem {
    /// The identifier.
    pub handle: String,
    /// What is wrong, item by item.
    pub violations: Vec<Violation>,
}

/// What the template step adds to a write.
#[derive(Default)]
pub(crate) struct Conformed {
    /// Operations to apply with the write (releases, then uses, then claims).
    pub(crate) extra: Vec<Op>,
    /// Versions this write marks used (their cached state must be dropped after it).
    pub(crate) used: Vec<(String, String)>,
}

/// The template version an identifier's values name, if any.
pub(crate) fn named_version(values: &[HandleValue]) -> Option<String> {
    values
        .iter()
        .find(|v| v.index == TEMPLATE_INDEX)
        .map(|v| String::from_utf8_lossy(&v.data).into_owned())
}

/// A violation of the template version an identifier names at index 1001.
fn template_violation(value: String, message: String) -> Violation {
    Violation {
        item: idnode_template::TEMPLATE_TYPE.into(),
        index: TEMPLATE_INDEX,
        rule: Rule::Template,
        value,
        message,
    }
}

/// Violations and lookups gathered over a write, per identifier in order of appearance.
#[derive(Default)]
struct Findings {
    problems: Vec<TemplateProblem>,
    at: HashMap<String, usize>,
    refs: Vec<(String, Lookup)>,
    unique: Vec<(String, String, Lookup)>,
    /// Prefixes looked up for their policy in this write: the prefix as allocated when it
    /// requires a template version (one look-up per prefix, not per identifier).
    policies: HashMap<String, Option<String>>,
}

impl Findings {
    fn add(&mut self, handle: &str, v: Violation) {
        let n = *self.at.entry(handle.to_owned()).or_insert_with(|| {
            self.problems.push(TemplateProblem {
                handle: handle.to_owned(),
                violations: Vec::new(),
            });
            self.problems.len() - 1
        });
        self.problems[n].violations.push(v);
    }
}

impl Registry {
    /// The template step (module docs). `Err(RegistryError::Template)` lists every problem.
    pub(crate) async fn conform(&self, ops: &[Op]) -> Result<Conformed> {
        let mut found = Findings::default();
        let mut releases = Vec::new();
        let mut uses = BTreeSet::new();
        let mut created = HashSet::with_capacity(ops.len());
        for op in ops {
            let (handle, values, before) = match op {
                Op::Create { handle, values } => (handle, Some(values), None),
                Op::Update {
                    handle,
                    before,
                    values,
                    ..
                } => (handle, Some(values), Some(before)),
                Op::Delete { handle, before, .. } => (handle, None, Some(before)),
                _ => continue,
            };
            if before.is_some_and(|b| named_version(b).is_some()) {
                releases.push(Op::Template(TemplateOp::Release {
                    handle: handle.as_str().to_owned(),
                }));
            }
            let Some(values) = values else { continue };
            created.insert(handle.folded());
            let Some(version) = named_version(values) else {
                self.check_policy(handle, &mut found).await?;
                continue;
            };
            self.check_one(handle, &version, values, &mut found, &mut uses)
                .await?;
        }
        self.check_references(&mut found, &created).await?;
        let claims = self.check_unique(&mut found).await?;
        if !found.problems.is_empty() {
            metrics::counter!("idnode_template_refusals_total")
                .increment(found.problems.len() as u64);
            return Err(RegistryError::Template(found.problems));
        }
        let mut extra = releases;
        extra.extend(uses.iter().map(|(prefix, version)| {
            Op::Template(TemplateOp::Use {
                prefix: prefix.clone(),
                version: version.clone(),
            })
        }));
        extra.extend(claims);
        Ok(Conformed {
            extra,
            used: uses.into_iter().collect(),
        })
    }

    /// The prefix `handle` is under, spelled as allocated (templates are stored under it).
    pub(crate) async fn allocated_prefix(&self, handle: &Identifier) -> Result<String> {
        Ok(match self.prefixes.get(handle.prefix()).await? {
            Some(info) => info.record.prefix.clone(),
            None => handle.prefix().to_owned(),
        })
    }

    /// An identifier naming no template version breaks its prefix's policy if that
    /// requires one.
    async fn check_policy(&self, handle: &Identifier, found: &mut Findings) -> Result<()> {
        if handle.is_prefix_handle() {
            return Ok(());
        }
        let required = match found.policies.get(handle.prefix()) {
            Some(required) => required.clone(),
            None => {
                let info = self.prefixes.get(handle.prefix()).await?;
                let required = info
                    .filter(|i| i.record.template_required)
                    .map(|i| i.record.prefix.clone());
                found
                    .policies
                    .insert(handle.prefix().to_owned(), required.clone());
                required
            }
        };
        if let Some(prefix) = required {
            let message =
                format!("prefix {prefix} requires a template version at index 1001 (TEMPLATE)");
            found.add(handle.as_str(), template_violation(String::new(), message));
        }
        Ok(())
    }

    async fn check_one(
        &self,
        handle: &Identifier,
        version: &str,
        values: &[HandleValue],
        found: &mut Findings,
        uses: &mut BTreeSet<(String, String)>,
    ) -> Result<()> {
        let prefix = self.allocated_prefix(handle).await?;
        let Some(loaded) = self.loaded(&prefix, version).await? else {
            let message = format!("expected a template version defined under {prefix}");
            let value = version.chars().take(200).collect();
            found.add(handle.as_str(), template_violation(value, message));
            return Ok(());
        };
        if !loaded.used {
            uses.insert((prefix.clone(), version.to_owned()));
        }
        let checked = loaded.compiled.check(values);
        for v in checked.violations {
            found.add(handle.as_str(), v);
        }
        for l in checked.lookups {
            match l.kind {
                LookupKind::Exists => found.refs.push((handle.as_str().to_owned(), l)),
                LookupKind::Unique => {
                    found
                        .unique
                        .push((handle.as_str().to_owned(), prefix.clone(), l));
                }
            }
        }
        Ok(())
    }

    /// Referenced identifiers must be registered, or be created by the same write.
    async fn check_references(
        &self,
        found: &mut Findings,
        created: &HashSet<String>,
    ) -> Result<()> {
        if found.refs.is_empty() {
            return Ok(());
        }
        let wanted: Vec<String> = found.refs.iter().map(|(_, l)| l.value.clone()).collect();
        let existing: HashSet<String> = self
            .store
            .get_handles(&wanted)
            .await?
            .into_iter()
            .map(|r| r.handle.to_lowercase())
            .collect();
        for (handle, l) in std::mem::take(&mut found.refs) {
            let folded = l.value.to_lowercase();
            if !existing.contains(&folded) && !created.contains(&folded) {
                found.add(&handle, l.violation());
            }
        }
        Ok(())
    }

    /// Unique values may appear once in the write and must not be held by another
    /// identifier; returns the claims to apply.
    async fn check_unique(&self, found: &mut Findings) -> Result<Vec<Op>> {
        let unique = std::mem::take(&mut found.unique);
        let mut groups: HashMap<(String, u32), Vec<(String, Lookup)>> = HashMap::new();
        for (handle, prefix, l) in unique {
            groups
                .entry((prefix, l.index))
                .or_default()
                .push((handle, l));
        }
        let mut claims = Vec::new();
        for ((prefix, index), items) in groups {
            let values: Vec<String> = items.iter().map(|(_, l)| l.value.clone()).collect();
            let holders: HashMap<String, String> = self
                .store
                .unique_holders(&prefix, index, &values)
                .await?
                .into_iter()
                .collect();
            let mut seen = HashSet::new();
            for (handle, l) in items {
                let held_elsewhere = holders.get(&l.value).is_some_and(|h| *h != handle);
                if held_elsewhere || !seen.insert(l.value.clone()) {
                    found.add(&handle, l.violation());
                    continue;
                }
                claims.push(Op::Template(TemplateOp::Claim {
                    prefix: prefix.clone(),
                    index,
                    value: l.value,
                    handle,
                }));
            }
        }
        Ok(claims)
    }
}
