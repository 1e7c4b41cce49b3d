//! Metadata templates: who may define them, their versions, and the compiled templates the
//! write pipeline checks values against ([`crate::conform`]).

use std::sync::Arc;
use std::time::Duration;

use idnode_store::{Op, TemplateChange, TemplateOp, TemplateRecord};
use idnode_template::{Compiled, Template, TemplateError};
use moka::sync::Cache;

use crate::{Principal, Registry, RegistryError, Result};

/// A compiled template and whether identifiers use it yet.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) compiled: Compiled,
    pub(crate) used: bool,
}

/// Compiled templates by (prefix, version); `None`: known not to exist. Dropped on every
/// change made here, and on changes other instances announce ([`Registry::heard`]).
pub(crate) struct TemplateCache {
    cache: Cache<(String, String), Option<Arc<Loaded>>>,
}

impl TemplateCache {
    pub(crate) fn new() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(30))
                .build(),
        }
    }

    pub(crate) fn forget(&self, prefix: &str, version: &str) {
        self.cache
            .invalidate(&(prefix.to_owned(), version.to_owned()));
    }

    pub(crate) fn clear(&self) {
        self.cache.invalidate_all();
    }
}

impl From<TemplateError> for RegistryError {
    fn from(e: TemplateError) -> Self {
        match e {
            TemplateError::Invalid(problems) => Self::InvalidTemplate(problems),
            other => Self::BadRequest(other.to_string()),
        }
    }
}

impl Registry {
    /// The compiled template `version` of `prefix` (the prefix as allocated), if it exists.
    pub(crate) async fn loaded(&self, prefix: &str, version: &str) -> Result<Option<Arc<Loaded>>> {
        let key = (prefix.to_owned(), version.to_owned());
        if let Some(hit) = self.templates.cache.get(&key) {
            return Ok(hit);
        }
        let loaded = match self.store.get_template(prefix, version).await? {
            None => None,
            Some(r) => Some(Arc::new(Loaded {
                compiled: Compiled::new(Template::from_json(r.body.as_bytes())?)?,
                used: r.used,
            })),
        };
        self.templates.cache.insert(key, loaded.clone());
        Ok(loaded)
    }

    /// Defines a new template version under a prefix `p` may write under (the operator's
    /// under the node prefix are node-wide industry templates). A version that `extends`
    /// another keeps all of its items. Returns the definition as stored (item indexes
    /// filled in).
    pub async fn create_template(&self, p: &Principal, mut t: Template) -> Result<Template> {
        t.adopted = None;
        self.define(p, t, true).await
    }

    /// Adopts the node-wide industry template `version` (under the node prefix) as version
    /// `as_version` of `prefix`: a copy of its definition, marked `adopted` with where it
    /// came from, which identifiers under `prefix` can then name.
    pub async fn adopt_template(
        &self,
        p: &Principal,
        prefix: &str,
        version: &str,
        as_version: &str,
    ) -> Result<Template> {
        let node = self.node_prefix.clone();
        let (mut t, _) = self.template(p, &node, version).await?;
        t.adopted = Some(format!("{node}/{version}"));
        t.prefix = prefix.to_owned();
        t.version = as_version.to_owned();
        t.extends = None;
        self.define(p, t, true).await
    }

    /// Replaces a version no identifier has used yet (a used one is immutable: define a new
    /// version extending it).
    pub async fn update_template(&self, p: &Principal, mut t: Template) -> Result<Template> {
        // A changed copy is the enterprise's own.
        t.adopted = None;
        self.define(p, t, false).await
    }

    /// Checks and writes a definition: a new version, or the replacement of an unused one.
    async fn define(&self, p: &Principal, mut t: Template, new: bool) -> Result<Template> {
        t.prefix = self.writable_prefix(p, &t.prefix).await?;
        self.checked(&mut t).await?;
        let (prefix, version) = (t.prefix.clone(), t.version.clone());
        let body =
            serde_json::to_string(&t).map_err(|e| RegistryError::BadRequest(e.to_string()))?;
        let op = if new {
            TemplateOp::Create {
                prefix,
                version,
                body,
            }
        } else {
            TemplateOp::Update {
                prefix,
                version,
                body,
            }
        };
        self.write_template(p, op, &t.prefix, &t.version).await?;
        Ok(t)
    }

    /// Deletes a version no identifier has used.
    pub async fn delete_template(&self, p: &Principal, prefix: &str, version: &str) -> Result<()> {
        let prefix = self.writable_prefix(p, prefix).await?;
        let op = TemplateOp::Delete {
            prefix: prefix.clone(),
            version: version.to_owned(),
        };
        self.write_template(p, op, &prefix, version).await
    }

    /// A template version and whether identifiers use it (the prefix's enterprise, anyone
    /// authenticated for the node's own templates, the operator).
    pub async fn template(
        &self,
        p: &Principal,
        prefix: &str,
        version: &str,
    ) -> Result<(Template, bool)> {
        let prefix = self.readable_templates(p, prefix).await?;
        let r = self
            .store
            .get_template(&prefix, version)
            .await?
            .ok_or_else(|| {
                RegistryError::NotFound(format!("template {prefix} version {version}"))
            })?;
        Ok((stored(&r)?, r.used))
    }

    /// The template versions of a prefix, and whether each is used.
    pub async fn templates(&self, p: &Principal, prefix: &str) -> Result<Vec<(Template, bool)>> {
        let prefix = self.readable_templates(p, prefix).await?;
        self.store
            .list_templates(Some(&prefix))
            .await?
            .iter()
            .map(|r| Ok((stored(r)?, r.used)))
            .collect()
    }

    /// Who changed the templates of a prefix (one version: `Some`) and when, newest first.
    pub async fn template_history(
        &self,
        p: &Principal,
        prefix: &str,
        version: Option<&str>,
        limit: u64,
    ) -> Result<Vec<TemplateChange>> {
        let prefix = self.writable_prefix(p, prefix).await?;
        Ok(self.store.template_history(&prefix, version, limit).await?)
    }

    /// The allocated prefix (as allocated) whose templates `p` may change.
    /// Sets whether every identifier under `prefix` must name a template version (its
    /// value at index 1001); the prefix's owner or the operator may.
    pub async fn set_template_required(
        &self,
        p: &Principal,
        prefix: &str,
        required: bool,
    ) -> Result<()> {
        let prefix = self.writable_prefix(p, prefix).await?;
        let op = Op::SetPrefixPolicy {
            prefix: prefix.clone(),
            template_required: required,
        };
        self.commit(p, vec![op]).await?;
        self.prefixes.forget(&prefix).await;
        Ok(())
    }

    async fn writable_prefix(&self, p: &Principal, prefix: &str) -> Result<String> {
        Ok(self
            .prefix_scope(p, prefix, false)
            .await?
            .record
            .prefix
            .clone())
    }

    /// The allocated prefix whose templates `p` may read: an enterprise its own prefixes
    /// and the node's (node-wide industry templates), the operator any.
    pub(crate) async fn readable_templates(&self, p: &Principal, prefix: &str) -> Result<String> {
        let info = self.prefixes.get(prefix).await?.ok_or_else(|| {
            RegistryError::NotFound(format!("prefix {prefix} is not allocated here"))
        })?;
        match p {
            Principal::Anonymous => Err(RegistryError::AuthenticationNeeded),
            Principal::Enterprise { id, .. }
                if info.record.enterprise_id.is_some_and(|owner| owner != *id) =>
            {
                Err(RegistryError::Forbidden(format!(
                    "the templates of {prefix} belong to another enterprise"
                )))
            }
            _ => Ok(info.record.prefix.clone()),
        }
    }

    /// Validates `t` and, when it extends a version, that it keeps that version's items.
    async fn checked(&self, t: &mut Template) -> Result<()> {
        t.validate()?;
        if let Some(base) = &t.extends {
            let base = self
                .store
                .get_template(&t.prefix, base)
                .await?
                .ok_or_else(|| {
                    RegistryError::InvalidTemplate(vec![format!(
                        "extends version {base}, which {} does not have",
                        t.prefix
                    )])
                })?;
            t.check_extends(&stored(&base)?)?;
        }
        Compiled::new(t.clone())?;
        Ok(())
    }

    async fn write_template(
        &self,
        p: &Principal,
        op: TemplateOp,
        prefix: &str,
        version: &str,
    ) -> Result<()> {
        let result = self.commit(p, vec![Op::Template(op)]).await;
        self.templates.forget(prefix, version);
        result.map_err(Into::into)
    }
}

fn stored(r: &TemplateRecord) -> Result<Template> {
    Template::from_json(r.body.as_bytes()).map_err(|e| {
        RegistryError::Store(idnode_store::StoreError::Corrupt(format!(
            "template {} version {}: {e}",
            r.prefix, r.version
        )))
    })
}
