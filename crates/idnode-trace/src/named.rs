//! Named queries (`/epcis/queries`): an enterprise saves a query under a name and runs it by
//! name, page by page, seeing what it may read when it runs it. Names are per enterprise.

use idnode_epcis::{Namespaces, Query};
use idnode_registry::Principal;
use idnode_store::{now_millis, NamedQuery};
use serde_json::Value;

use crate::query::Page;
use crate::{owner_of, Result, TraceError, Traceability};

/// Longest query name.
const MAX_NAME: usize = 128;
/// Largest definition (JSON bytes).
const MAX_DEFINITION: usize = 16 * 1024;

impl Traceability {
    /// Saves `definition` (a query object) as `name` for `who`'s enterprise, checked as a
    /// query is; `extensions` is the `GS1-Extensions` header its prefixed values need.
    pub async fn create_query(
        &self,
        who: &Principal,
        name: &str,
        definition: &Value,
        extensions: &str,
    ) -> Result<NamedQuery> {
        let owner = self.writer(who).await?;
        check_name(name)?;
        let text = definition.to_string();
        if text.len() > MAX_DEFINITION || extensions.len() > MAX_DEFINITION {
            return Err(TraceError::TooLarge(format!(
                "a query definition is at most {MAX_DEFINITION} bytes"
            )));
        }
        let q = NamedQuery {
            owner,
            name: name.to_owned(),
            definition: text,
            extensions: extensions.to_owned(),
            created_at: now_millis(),
        };
        self.parse_named(&q, &[])?;
        if !self.store.save_query(&q, &crate::by(who)).await? {
            return Err(TraceError::Exists(format!("query {name}")));
        }
        Ok(q)
    }

    /// `who`'s enterprise's named queries, by name.
    pub async fn named_queries(&self, who: &Principal) -> Result<Vec<NamedQuery>> {
        Ok(self.store.named_queries(owner_of(who)?, None).await?)
    }

    /// The named query `name` of `who`'s enterprise.
    pub async fn named_query(&self, who: &Principal, name: &str) -> Result<NamedQuery> {
        self.store
            .named_queries(owner_of(who)?, Some(name))
            .await?
            .pop()
            .ok_or_else(|| TraceError::NotFound(format!("query {name}")))
    }

    /// Deletes the named query `name` of `who`'s enterprise.
    pub async fn delete_query(&self, who: &Principal, name: &str) -> Result<()> {
        if self
            .store
            .delete_query(self.writer(who).await?, name, &crate::by(who))
            .await?
        {
            Ok(())
        } else {
            Err(TraceError::NotFound(format!("query {name}")))
        }
    }

    /// One page of the named query `name`'s events that `who` may read; `transport` holds
    /// the request's `perPage` and `nextPageToken`.
    pub async fn run_query(
        &self,
        who: &Principal,
        name: &str,
        transport: &[(String, String)],
    ) -> Result<Page> {
        let named = self.named_query(who, name).await?;
        let q = self.parse_named(&named, transport)?;
        self.query(who, &q).await
    }

    pub(crate) fn parse_named(
        &self,
        named: &NamedQuery,
        transport: &[(String, String)],
    ) -> Result<Query> {
        let definition: Value = serde_json::from_str(&named.definition)
            .map_err(|e| TraceError::Query(idnode_epcis::QueryError(e.to_string())))?;
        let mut pairs = Query::definition_pairs(&definition)?;
        pairs.extend(transport.iter().cloned());
        let mut ns = Namespaces::default();
        ns.declare_header(&named.extensions);
        Ok(Query::parse(&pairs, &ns, &self.forms)?)
    }
}

/// A name fit for a URL path segment.
fn check_name(name: &str) -> Result<()> {
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
    if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(fits) {
        return Err(TraceError::Query(idnode_epcis::QueryError(format!(
            "a query name is 1 to {MAX_NAME} letters, digits, '-', '_', '.' or '~'"
        ))));
    }
    Ok(())
}
