//! Read grants between enterprises: given, listed, withdrawn.

use idnode_store::{Grant, Result};

use crate::sql::{Cols, Stmt};
use crate::{Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn grant_rows(
        &self,
        owner: Option<i64>,
        grantee: Option<i64>,
    ) -> Result<Vec<Grant>> {
        let stmt = Stmt::new(
            "SELECT owner, grantee, biz_step, created_at FROM epcis_grants \
             WHERE ($1 IS NULL OR owner = $1) AND ($2 IS NULL OR grantee = $2) \
             ORDER BY owner, grantee, biz_step",
        )
        .bind(owner)
        .bind(grantee);
        let rows = self.all(stmt).await?;
        rows.iter()
            .map(|r| {
                let c = Cols::<D::DB>(r);
                Ok(Grant {
                    owner: c.int("owner")?,
                    grantee: c.int("grantee")?,
                    biz_step: c.string("biz_step")?,
                    created_at: c.int("created_at")?,
                })
            })
            .collect()
    }

    pub(crate) async fn write_grant(&self, g: &Grant, present: bool) -> Result<bool> {
        let mut c = self.pools.write.acquire().await.map_err(D::error)?;
        let stmt = if present {
            Stmt::new(
                "INSERT INTO epcis_grants (owner, grantee, biz_step, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(g.owner)
            .bind(g.grantee)
            .bind(&g.biz_step)
            .bind(g.created_at)
        } else {
            Stmt::new(
                "DELETE FROM epcis_grants WHERE owner = $1 AND grantee = $2 AND biz_step = $3",
            )
            .bind(g.owner)
            .bind(g.grantee)
            .bind(&g.biz_step)
        };
        let n = stmt.execute::<D::DB>(&mut c).await.map_err(D::error)?;
        Ok(n > 0)
    }
}
