//! Template use in the statistics: how many identifiers name each template version, and how
//! many writes were checked against it. The write step counts in memory; the node's usage
//! flush (every minute) adds the counts to the per-day usage counters (`usage` table), where
//! [`Registry::template_use`] sums them. Counting in memory keeps a hot counter row out of
//! every write's transaction; a crash loses at most the last minute's counts.

use std::collections::HashMap;
use std::sync::Mutex;

use idnode_store::Op;

use crate::conform::named_version;
use crate::{Principal, Registry, Result};

const IDENTIFIERS: &str = "template.identifiers:";
const WRITES: &str = "template.writes:";

/// The use of one template version, summed over every counted day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TemplateUse {
    /// Identifiers naming it now (created or switched to it, less those deleted or switched
    /// away).
    pub identifiers: i64,
    /// Creates and updates checked against it.
    pub writes: i64,
}

/// Counts not yet flushed, by metric name.
#[derive(Default)]
pub(crate) struct Pending(Mutex<HashMap<String, i64>>);

impl Pending {
    fn add(&self, counts: impl IntoIterator<Item = (String, i64)>) {
        let mut m = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (k, d) in counts {
            *m.entry(k).or_default() += d;
        }
    }
}

impl Registry {
    /// What `ops` change in template use (computed before the write, counted after it).
    pub(crate) async fn template_use_of(&self, ops: &[Op]) -> Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        for op in ops {
            let (handle, before, after) = match op {
                Op::Create { handle, values } => (handle, None, named_version(values)),
                Op::Update {
                    handle,
                    before,
                    values,
                    ..
                } => (handle, named_version(before), named_version(values)),
                Op::Delete { handle, before, .. } => (handle, named_version(before), None),
                _ => continue,
            };
            if before.is_none() && after.is_none() {
                continue;
            }
            let prefix = self.allocated_prefix(handle).await?;
            if let Some(v) = &after {
                out.push((format!("{WRITES}{prefix}/{v}"), 1));
            }
            if before != after {
                if let Some(v) = before {
                    out.push((format!("{IDENTIFIERS}{prefix}/{v}"), -1));
                }
                if let Some(v) = after {
                    out.push((format!("{IDENTIFIERS}{prefix}/{v}"), 1));
                }
            }
        }
        Ok(out)
    }

    /// Adds counts of a committed write.
    pub(crate) fn count_template_use(&self, counts: Vec<(String, i64)>) {
        self.template_use.add(counts);
    }

    /// Takes the counts not yet recorded (for the usage flush), as usage metric deltas.
    pub fn take_template_use(&self) -> Vec<(String, i64)> {
        let mut m = self
            .template_use
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.drain().filter(|(_, d)| *d != 0).collect()
    }

    /// Puts back counts [`Registry::take_template_use`] gave that could not be recorded.
    pub fn restore_template_use(&self, counts: Vec<(String, i64)>) {
        self.template_use.add(counts);
    }

    /// The recorded use of the template versions of `prefix`, by version (for those who may
    /// read its templates).
    pub async fn template_use(
        &self,
        p: &Principal,
        prefix: &str,
    ) -> Result<HashMap<String, TemplateUse>> {
        let prefix = self.readable_templates(p, prefix).await?;
        let mut out: HashMap<String, TemplateUse> = HashMap::new();
        for (_, metric, value) in self.store.usage("0000-00-00", "9999-99-99").await? {
            let (field, rest) = if let Some(r) = metric.strip_prefix(IDENTIFIERS) {
                (0, r)
            } else if let Some(r) = metric.strip_prefix(WRITES) {
                (1, r)
            } else {
                continue;
            };
            let Some(version) = rest
                .strip_prefix(prefix.as_str())
                .and_then(|r| r.strip_prefix('/'))
            else {
                continue;
            };
            let u = out.entry(version.to_owned()).or_default();
            if field == 0 {
                u.identifiers += value;
            } else {
                u.writes += value;
            }
        }
        Ok(out)
    }
}
