//! Read grants between enterprises: given, listed, withdrawn.

use idnode_store::{Attribution, Grant, Result};

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

    pub(crate) async fn write_grant(
        &self,
        g: &Grant,
        present: bool,
        by: &Attribution,
    ) -> Result<bool> {
        let mut w = self.writer().await?;
        let mut c = w.begin().await?;
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
        if n > 0 {
            let action = if present {
                "epcis.grant"
            } else {
                "epcis.revoke"
            };
            let target = format!("enterprise {} to {}", g.owner, g.grantee);
            let fields: [&[u8]; 3] = [
                &g.owner.to_be_bytes(),
                &g.grantee.to_be_bytes(),
                g.biz_step.as_bytes(),
            ];
            let e = crate::audit::entry(by, action, target, &fields, self.audit);
            crate::audit::chain::<D>(&mut c, e).await?;
        }
        c.commit().await.map_err(D::error)?;
        w.settle();
        Ok(n > 0)
    }
}
