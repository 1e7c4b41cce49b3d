//! EPCIS named queries: saved, listed, deleted, per owner.

use idnode_store::{Attribution, NamedQuery, Result};

use crate::sql::{Cols, Stmt};
use crate::{Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn insert_query(&self, q: &NamedQuery, by: &Attribution) -> Result<bool> {
        let mut w = self.writer().await?;
        let mut c = w.begin().await?;
        let n = Stmt::new(
            "INSERT INTO epcis_queries (owner, name, definition, extensions, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(q.owner)
        .bind(&q.name)
        .bind(&q.definition)
        .bind(&q.extensions)
        .bind(q.created_at)
        .execute::<D::DB>(&mut c)
        .await
        .map_err(D::error)?;
        if n > 0 {
            let target = format!("query {} of {}", q.name, q.owner);
            let fields: [&[u8]; 3] = [
                &q.owner.to_be_bytes(),
                q.name.as_bytes(),
                q.definition.as_bytes(),
            ];
            let e = crate::audit::entry(by, "epcis.query.create", target, &fields, self.audit);
            crate::audit::chain::<D>(&mut c, e).await?;
        }
        c.commit().await.map_err(D::error)?;
        w.settle();
        Ok(n > 0)
    }

    pub(crate) async fn query_rows(
        &self,
        owner: i64,
        name: Option<&str>,
    ) -> Result<Vec<NamedQuery>> {
        let stmt = Stmt::new(
            "SELECT owner, name, definition, extensions, created_at FROM epcis_queries \
             WHERE owner = $1 AND ($2 IS NULL OR name = $2) ORDER BY name",
        )
        .bind(owner)
        .bind(name);
        let rows = self.all(stmt).await?;
        rows.iter()
            .map(|r| {
                let c = Cols::<D::DB>(r);
                Ok(NamedQuery {
                    owner: c.int("owner")?,
                    name: c.string("name")?,
                    definition: c.string("definition")?,
                    extensions: c.string("extensions")?,
                    created_at: c.int("created_at")?,
                })
            })
            .collect()
    }

    /// Deletes `owner`'s query `name` with its subscriptions and their deliveries, in one
    /// transaction; whether there was one.
    pub(crate) async fn remove_query(
        &self,
        owner: i64,
        name: &str,
        by: &Attribution,
    ) -> Result<bool> {
        let mut w = self.writer().await?;
        let mut c = w.begin().await?;
        crate::subscriptions::delete_subscriptions::<D>(&mut c, owner, name, None).await?;
        let n = Stmt::new("DELETE FROM epcis_queries WHERE owner = $1 AND name = $2")
            .bind(owner)
            .bind(name)
            .execute::<D::DB>(&mut c)
            .await
            .map_err(D::error)?;
        if n > 0 {
            let target = format!("query {name} of {owner}");
            let fields: [&[u8]; 2] = [&owner.to_be_bytes(), name.as_bytes()];
            let e = crate::audit::entry(by, "epcis.query.delete", target, &fields, self.audit);
            crate::audit::chain::<D>(&mut c, e).await?;
        }
        c.commit().await.map_err(D::error)?;
        w.settle();
        Ok(n > 0)
    }
}
