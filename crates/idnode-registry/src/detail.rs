//! An identifier's values as its reader sees them, each with what its template says about
//! it (item name, value type, kind): the detail view of the management API and of SNMS.

use idnode_core::{HandleValue, Identifier};
use idnode_resolver::ResolveError;

use crate::conform::named_version;
use crate::{Principal, Registry, RegistryError, Result};

/// What a template says about one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInfo {
    /// The item's display name (Chinese in SNMS).
    pub name: String,
    /// The item's value type (`idType`).
    pub id_type: String,
    /// The item's kind (`string`, `date`, `reference` …).
    pub kind: &'static str,
}

/// An identifier's visible values with their template items.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// The normalised handle.
    pub handle: String,
    /// The template version named at index 1001, if any.
    pub template_version: Option<String>,
    /// The visible values, by index, with the item each belongs to (none for values the
    /// template does not declare, or without a template).
    pub values: Vec<(HandleValue, Option<ItemInfo>)>,
}

impl Registry {
    /// The values of `handle` that `p` may read, each with its template item.
    pub async fn detail(&self, p: &Principal, handle: &str) -> Result<Detail> {
        let id = Identifier::parse(handle)?;
        let view = self.view_for(p, &id).await?;
        let entry = self
            .resolver
            .resolve(&id, view, false)
            .await
            .map_err(|e| match e {
                ResolveError::NotFound => RegistryError::HandleNotFound,
                ResolveError::NotResponsible(m) => RegistryError::NotResponsible(m),
                ResolveError::Store(s) => RegistryError::Store(s),
                other => RegistryError::BadRequest(other.to_string()),
            })?;
        let values = entry.values();
        let template_version = named_version(&values);
        let loaded = match &template_version {
            Some(version) => {
                let prefix = self.allocated_prefix(&id).await?;
                self.loaded(&prefix, version).await?
            }
            None => None,
        };
        let item_of = |v: &HandleValue| {
            let t = loaded.as_ref()?.compiled.template();
            let item = t.items.iter().find(|i| i.id_index == Some(v.index))?;
            Some(ItemInfo {
                name: item.name.clone(),
                id_type: item.id_type.clone(),
                kind: item.metadata.kind.name(),
            })
        };
        Ok(Detail {
            handle: entry.handle.to_string(),
            values: values
                .into_iter()
                .map(|v| {
                    let item = item_of(&v);
                    (v, item)
                })
                .collect(),
            template_version,
        })
    }
}
