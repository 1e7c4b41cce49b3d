//! Rows as releases before migration 0025 wrote them (values as JSON text, a history row
//! per create, updates with their values after), for upgrade tests: seed a database
//! migrated to 0024, migrate it, then [`idnode_store::conformance::upgrade`] reads them.

use idnode_core::json::values_to_json;
use idnode_core::HandleValue;

use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::Pool;

use crate::sql::{Sql, Stmt};

/// Makes the empty database of `pool` what a release before migration 0025 left: its
/// migrations up to 0024 applied and [`seed`]'s rows written; then closes the pool.
pub async fn prepare<DB>(mut migrator: Migrator, pool: Pool<DB>) -> Result<(), MigrateError>
where
    DB: Sql,
    DB::Connection: Migrate,
{
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version < 25)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator.run(&pool).await?;
    let mut conn = pool.acquire().await?;
    seed::<DB>(&mut conn).await?;
    drop(conn);
    pool.close().await;
    Ok(())
}

/// Writes `88.118.8/Old-A` (created) and `88.118.8/old-b` (created, then updated) with their
/// history, as a database at migration 0024 held them.
pub async fn seed<DB: Sql>(conn: &mut DB::Connection) -> sqlx::Result<()> {
    let v = |url: &str| values_to_json(&[HandleValue::text(1, "URL", url)]);
    let handle = "INSERT INTO handles (folded, handle, vals, version, created_at, updated_at) \
                  VALUES ($1, $2, $3, $4, $5, $6)";
    Stmt::new(handle)
        .bind("88.118.8/old-a")
        .bind("88.118.8/Old-A")
        .bind(v("https://old-a"))
        .bind(1i64)
        .bind(1_000i64)
        .bind(1_000i64)
        .execute::<DB>(conn)
        .await?;
    Stmt::new(handle)
        .bind("88.118.8/old-b")
        .bind("88.118.8/old-b")
        .bind(v("https://old-b2"))
        .bind(2i64)
        .bind(1_000i64)
        .bind(2_000i64)
        .execute::<DB>(conn)
        .await?;
    let history = "INSERT INTO history (handle, action, actor, at, vals_before, vals_after) \
                   VALUES ($1, $2, 'old', $3, $4, $5)";
    for (h, action, at, before, after) in [
        ("88.118.8/Old-A", "create", 1_000i64, None, None),
        ("88.118.8/old-b", "create", 1_000, None, None),
        (
            "88.118.8/old-b",
            "update",
            2_000,
            Some(v("https://old-b1")),
            Some(v("https://old-b2")),
        ),
    ] {
        Stmt::new(history)
            .bind(h)
            .bind(action)
            .bind(at)
            .bind(before)
            .bind(after)
            .execute::<DB>(conn)
            .await?;
    }
    Ok(())
}
