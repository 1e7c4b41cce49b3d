//! Batches whose items succeed or fail each on its own (the SNMS batch semantics), built on
//! the all-or-nothing write: the whole batch is tried at once; the items it refuses are set
//! aside with their reasons and the rest is tried again, until what remains is written.

use idnode_core::ResponseCode;

use crate::batch::{Change, Checked};
use crate::{ItemProblem, Principal, Registry, RegistryError, Result, MAX_BATCH};

/// The problem of an item refused for `e`.
fn refused(c: &Checked, e: &RegistryError) -> ItemProblem {
    ItemProblem {
        position: c.position(),
        handle: c.id.as_str().to_owned(),
        code: e.response_code().code(),
        message: e.to_string(),
    }
}

impl Registry {
    /// Applies each item on its own: every item that can be written is, in as few
    /// transactions as the failures allow (one when none fails). Returns the problems of the
    /// items not written, by position; an empty list means all were.
    pub async fn write_each(
        &self,
        p: &Principal,
        items: Vec<(String, Result<Change>)>,
    ) -> Result<Vec<ItemProblem>> {
        if matches!(p, Principal::Anonymous) {
            return Err(RegistryError::AuthenticationNeeded);
        }
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(RegistryError::BadRequest(format!(
                "a batch holds 1 to {MAX_BATCH} operations, not {}",
                items.len()
            )));
        }
        let (mut live, mut failed) = self.check_items(p, items).await;
        while !live.is_empty() {
            let Err(e) = self.run(p, &mut live, None, false).await else {
                break;
            };
            let before = live.len();
            match &e {
                RegistryError::Batch(problems) => {
                    live.retain(|c| !problems.iter().any(|pr| pr.position == c.position()));
                    failed.extend(problems.iter().cloned());
                }
                RegistryError::Template(problems) => {
                    let (out, keep): (Vec<_>, Vec<_>) = live
                        .into_iter()
                        .partition(|c| problems.iter().any(|pr| pr.handle == c.id.as_str()));
                    live = keep;
                    for c in &out {
                        let violations = problems
                            .iter()
                            .filter(|pr| pr.handle == c.id.as_str())
                            .flat_map(|pr| pr.violations.iter().map(ToString::to_string))
                            .collect::<Vec<_>>()
                            .join("; ");
                        failed.push(ItemProblem {
                            code: ResponseCode::InvalidValue.code(),
                            message: violations,
                            ..refused(c, &e)
                        });
                    }
                }
                _ => {}
            }
            if live.len() == before {
                // A failure naming no item (over quota, the store down): it is every item's.
                failed.extend(live.iter().map(|c| refused(c, &e)));
                live.clear();
            }
        }
        failed.sort_by_key(|p| p.position);
        Ok(failed)
    }
}
