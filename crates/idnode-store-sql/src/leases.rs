//! Leases (`leases` table, migration 0024): one holder at a time per name.

use idnode_store::Result;

use crate::sql::Stmt;
use crate::{Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool> {
        let mut c = self.write_conn().await?;
        let taken = Stmt::new(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute::<D::DB>(&mut c)
        .await
        .map_err(D::error)?;
        Ok(taken == 1)
    }

    pub(crate) async fn drop_lease(&self, name: &str, holder: &str) -> Result<()> {
        let mut c = self.write_conn().await?;
        Stmt::new("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute::<D::DB>(&mut c)
            .await
            .map_err(D::error)?;
        Ok(())
    }
}
