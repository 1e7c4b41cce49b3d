//! Bearer tokens: the writes of [`TokenOp`] inside a batch, and the look-up by hash.

use idnode_store::{Result, TokenOp, TokenRecord};

use crate::sql::{Cols, Stmt};
use crate::{Conn, Dialect, SqlStore};

/// Applies one token write inside the batch's transaction. Issuing a token also deletes
/// every token expired at `now`, so the table holds live tokens and few others.
pub(crate) async fn apply<D: Dialect>(conn: &mut Conn<D>, op: &TokenOp, now: i64) -> Result<()> {
    match op {
        TokenOp::Issue(t) => {
            Stmt::new("DELETE FROM tokens WHERE expires_at <= $1")
                .bind(now)
                .execute::<D::DB>(conn)
                .await
                .map_err(D::error)?;
            Stmt::new(
                "INSERT INTO tokens (hash, handle, idx, secret_tag, created_at, expires_at, \
                 client) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&t.hash)
            .bind(&t.handle)
            .bind(i64::from(t.index))
            .bind(&t.secret_tag)
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(t.client.as_deref().unwrap_or(""))
            .execute::<D::DB>(conn)
            .await
            .map_err(D::error)?;
        }
        TokenOp::Revoke { hash } => {
            Stmt::new("DELETE FROM tokens WHERE hash = $1")
                .bind(hash)
                .execute::<D::DB>(conn)
                .await
                .map_err(D::error)?;
        }
    }
    Ok(())
}

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn token(&self, hash: &[u8]) -> Result<Option<TokenRecord>> {
        let stmt = Stmt::new(
            "SELECT hash, handle, idx, secret_tag, created_at, expires_at, client \
             FROM tokens \
             WHERE hash = $1",
        )
        .bind(hash);
        let Some(row) = self.optional(stmt).await? else {
            return Ok(None);
        };
        let c = Cols::<D::DB>(&row);
        Ok(Some(TokenRecord {
            hash: c.bytes("hash")?,
            handle: c.string("handle")?,
            index: u32::try_from(c.int("idx")?).unwrap_or(u32::MAX),
            secret_tag: c.bytes("secret_tag")?,
            created_at: c.int("created_at")?,
            expires_at: c.int("expires_at")?,
            client: Some(c.string("client")?).filter(|c| !c.is_empty()),
        }))
    }
}
