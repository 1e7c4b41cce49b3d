//! [`Store`] on SQLite: the zero-setup default. One writer connection (SQLite has one writer
//! anyway; a single connection avoids lock upgrades) and a pool of readers, in WAL mode with
//! `synchronous=FULL`: a commit is on disk before a write is acknowledged.
//!
//! A writer connection whose transaction state is in doubt after a failed statement or
//! commit (a full disk makes SQLite roll back on its own, and sqlx then believes a
//! transaction is still open, so later writes would become savepoints that never commit) is
//! closed instead of being reused: see [`writer_is_clean`].

mod apply;
mod escrow;
mod outbox;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use idnode_core::json::values_from_json;
use idnode_store::{
    fill_created_values, fold, prefix_range, profile_from_json, Batch, DepositRecord, Enterprise,
    EnterpriseStatus, HandleRecord, HistoryAction, HistoryRecord, Idempotency, OutboxRow,
    OutboxState, OutboxStats, PrefixRecord, PrefixStatus, Result, Review, SecretHash, SpaceState,
    Store, StoreError, StoreOptions, StoreStats,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection as _, Row, SqlitePool};

/// The SQLite backend.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    space: Arc<SpaceState>,
}

/// SQLite's primary result codes this backend tells apart.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_FULL: i64 = 13;

/// Bytes the readiness probe writes while the disk was last found full.
const PROBE_BYTES: i64 = 1024 * 1024;

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    let code = e
        .as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .map(|c| c & 0xff);
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_) => StoreError::Unavailable(e.to_string()),
        e if code == Some(SQLITE_FULL) => StoreError::Full(e.to_string()),
        e if matches!(code, Some(SQLITE_BUSY | SQLITE_LOCKED)) => {
            StoreError::Unavailable(e.to_string())
        }
        e => StoreError::Database(Box::new(e)),
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        d.is_unique_violation() || d.is_foreign_key_violation() || d.is_check_violation()
    })
}

/// Whether the writer connection, handed back to its pool, is outside any transaction, both
/// as sqlx counts it and as SQLite has it; a connection that is not is closed.
///
/// The statement runs after any `ROLLBACK` queued by a dropped transaction (one worker thread
/// runs a connection's commands in order). `BEGIN` fails inside a transaction; when it
/// succeeds, the `ROLLBACK` ends it again.
pub async fn writer_is_clean(conn: &mut SqliteConnection) -> bool {
    let outside = sqlx::query("BEGIN").execute(&mut *conn).await.is_ok()
        && sqlx::query("ROLLBACK").execute(&mut *conn).await.is_ok();
    outside && !conn.is_in_transaction()
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or `sqlite::memory:`)
    /// and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// [`SqliteStore::connect`] with options. Readers wait `acquire_timeout` for a
    /// connection; writers queue for the single writer connection up to 30 s, since a busy
    /// writer is not an unavailable database.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(db_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_release(|conn, _| {
                Box::pin(async move {
                    let clean = writer_is_clean(conn).await;
                    if !clean {
                        tracing::warn!("closing the SQLite writer connection: its transaction state is in doubt");
                    }
                    Ok(clean)
                })
            })
            .connect_with(opts.clone())
            .await
            .map_err(db_err)?;
        sqlx::migrate!("../../migrations/sqlite")
            .run(&write)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(opts.read_only(true))
            .await
            .map_err(db_err)?;
        Ok(Self {
            read,
            write,
            space: Arc::default(),
        })
    }

    /// Rewrites the probe row with fresh random bytes: it commits only if the disk has room.
    async fn probe_write(&self) -> Result<()> {
        sqlx::query(
            "INSERT INTO space_probe (id, pad) VALUES (1, randomblob(?)) \
             ON CONFLICT (id) DO UPDATE SET pad = excluded.pad",
        )
        .bind(PROBE_BYTES)
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

fn decode_values(text: &str) -> Result<Vec<idnode_core::HandleValue>> {
    values_from_json(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn handle_record(row: &sqlx::sqlite::SqliteRow) -> Result<HandleRecord> {
    Ok(HandleRecord {
        handle: row.get("handle"),
        values: decode_values(row.get("vals"))?,
        version: row.get("version"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
}

fn prefix_record(row: &sqlx::sqlite::SqliteRow) -> Result<PrefixRecord> {
    let status: String = row.get("status");
    Ok(PrefixRecord {
        prefix: row.get("prefix"),
        enterprise_id: row.get("enterprise_id"),
        status: PrefixStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("prefix status {status}")))?,
        created_at: row.get("created_at"),
        review: Review::parse(row.get("review"))
            .ok_or_else(|| StoreError::Corrupt("prefix review".into()))?,
        review_note: row.get("review_note"),
    })
}

fn enterprise(row: &sqlx::sqlite::SqliteRow) -> Result<Enterprise> {
    let status: String = row.get("status");
    Ok(Enterprise {
        id: row.get("id"),
        name: row.get("name"),
        status: EnterpriseStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("enterprise status {status}")))?,
        created_at: row.get("created_at"),
        profile: profile_from_json(row.get("profile"))?,
        upstream_id: row.get("upstream_id"),
    })
}

/// A history record from a row of `id, handle, action, actor, at, vals_before, vals_after`.
pub(crate) fn history_row(r: &sqlx::sqlite::SqliteRow) -> Result<HistoryRecord> {
    HistoryRecord::from_columns(
        r.get("id"),
        r.get("handle"),
        r.get("action"),
        r.get("actor"),
        r.get("at"),
        r.get("vals_before"),
        r.get("vals_after"),
    )
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ready(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map_err(db_err)?;
        if self.space.probe_due() {
            let probe = self.probe_write().await;
            self.space.probed(&probe);
        }
        if self.space.is_full() {
            return Err(StoreError::Full("no probe write has fitted since".into()));
        }
        Ok(())
    }

    async fn get_handle(&self, handle: &str) -> Result<Option<HandleRecord>> {
        let row = sqlx::query(
            "SELECT handle, vals, version, created_at, updated_at FROM handles \
             WHERE folded = ? AND handle = ?",
        )
        .bind(fold(handle))
        .bind(handle)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        row.as_ref().map(handle_record).transpose()
    }

    async fn get_handles(&self, handles: &[String]) -> Result<Vec<HandleRecord>> {
        let wanted: std::collections::HashSet<&str> = handles.iter().map(String::as_str).collect();
        let mut out = Vec::with_capacity(handles.len());
        for chunk in handles.chunks(500) {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT handle, vals, version, created_at, updated_at FROM handles WHERE folded IN (",
            );
            let mut sep = qb.separated(", ");
            for h in chunk {
                sep.push_bind(fold(h));
            }
            qb.push(")");
            let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
            for r in &rows {
                if wanted.contains(r.get::<&str, _>("handle")) {
                    out.push(handle_record(r)?);
                }
            }
        }
        Ok(out)
    }

    async fn find_folded(&self, folded: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT handle FROM handles WHERE folded = ?")
            .bind(folded)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)
    }

    async fn list_handles(
        &self,
        prefix: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<String>)> {
        let (lo, hi) = prefix_range(prefix);
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM handles WHERE folded >= ? AND folded < ?")
                .bind(&lo)
                .bind(&hi)
                .fetch_one(&self.read)
                .await
                .map_err(db_err)?;
        if limit == 0 {
            return Ok((total as u64, Vec::new()));
        }
        let page = sqlx::query_scalar(
            "SELECT handle FROM handles WHERE folded >= ? AND folded < ? \
             ORDER BY folded LIMIT ? OFFSET ?",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(limit.min(i64::MAX as u64) as i64)
        .bind(offset.min(i64::MAX as u64) as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok((total as u64, page))
    }

    async fn scan_handles(
        &self,
        prefix: Option<&str>,
        after: &str,
        limit: u64,
    ) -> Result<Vec<HandleRecord>> {
        let (lo, hi) = prefix.map(prefix_range).unzip();
        let rows = sqlx::query(
            "SELECT handle, vals, version, created_at, updated_at FROM handles \
             WHERE folded > ?1 AND (?2 IS NULL OR (folded >= ?2 AND folded < ?3)) \
             ORDER BY folded LIMIT ?4",
        )
        .bind(fold(after))
        .bind(lo)
        .bind(hi)
        .bind(limit.min(i64::MAX as u64) as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(handle_record).collect()
    }

    async fn apply(&self, batch: &Batch) -> Result<()> {
        let out = apply::apply(&self.write, batch).await;
        self.space.observe(&out);
        out
    }

    async fn history(&self, handle: &str, limit: u64) -> Result<Vec<HistoryRecord>> {
        let rows = sqlx::query(
            "SELECT id, handle, action, actor, at, vals_before, vals_after FROM history \
             WHERE handle = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(handle)
        .bind(limit.min(i64::MAX as u64) as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        let mut out = rows.iter().map(history_row).collect::<Result<Vec<_>>>()?;
        let current = if out
            .first()
            .is_some_and(|r| r.action == HistoryAction::Create)
        {
            self.get_handle(handle).await?
        } else {
            None
        };
        fill_created_values(&mut out, current.as_ref().map(|c| c.values.as_slice()));
        Ok(out)
    }

    async fn get_secret(&self, handle: &str, index: u32) -> Result<Option<SecretHash>> {
        let row = sqlx::query(
            "SELECT alg, salt, iterations, hash, sealed FROM secrets WHERE handle = ? AND idx = ?",
        )
        .bind(handle)
        .bind(i64::from(index))
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        Ok(row.map(|r| SecretHash {
            alg: r.get("alg"),
            salt: r.get("salt"),
            iterations: r.get::<i64, _>("iterations") as u32,
            hash: r.get("hash"),
            sealed: r.get("sealed"),
        }))
    }

    async fn get_prefix(&self, prefix: &str) -> Result<Option<PrefixRecord>> {
        let row = sqlx::query(
            "SELECT prefix, enterprise_id, status, created_at, review, review_note FROM prefixes \
             WHERE prefix = ?",
        )
        .bind(prefix)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        row.as_ref().map(prefix_record).transpose()
    }

    async fn list_prefixes(&self, enterprise_id: Option<i64>) -> Result<Vec<PrefixRecord>> {
        let rows = sqlx::query(
            "SELECT prefix, enterprise_id, status, created_at, review, review_note FROM prefixes \
             WHERE ?1 IS NULL OR enterprise_id = ?1 ORDER BY prefix",
        )
        .bind(enterprise_id)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(prefix_record).collect()
    }

    async fn get_enterprise(&self, id: i64) -> Result<Option<Enterprise>> {
        let row = sqlx::query("SELECT id, name, status, created_at, profile, upstream_id FROM enterprises WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(enterprise).transpose()
    }

    async fn list_enterprises(&self) -> Result<Vec<Enterprise>> {
        let rows = sqlx::query("SELECT id, name, status, created_at, profile, upstream_id FROM enterprises ORDER BY id")
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(enterprise).collect()
    }

    async fn get_idempotency(&self, actor: &str, key: &str) -> Result<Option<Idempotency>> {
        let row = sqlx::query(
            "SELECT actor, key, request_hash, status, body FROM idempotency \
             WHERE actor = ? AND key = ?",
        )
        .bind(actor)
        .bind(key)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        Ok(row.map(|r| Idempotency {
            actor: r.get("actor"),
            key: r.get("key"),
            request_hash: r.get("request_hash"),
            status: r.get::<i64, _>("status") as u16,
            body: r.get("body"),
        }))
    }

    async fn stats(&self) -> Result<StoreStats> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM handles) AS h, (SELECT count(*) FROM enterprises) AS e, \
             (SELECT count(*) FROM prefixes) AS p",
        )
        .fetch_one(&self.read)
        .await
        .map_err(db_err)?;
        Ok(StoreStats {
            handles: row.get::<i64, _>("h") as u64,
            enterprises: row.get::<i64, _>("e") as u64,
            prefixes: row.get::<i64, _>("p") as u64,
        })
    }

    async fn outbox_head(&self) -> Result<Option<OutboxRow>> {
        outbox::head(&self.write).await
    }

    async fn outbox_list(&self, state: OutboxState, limit: u64) -> Result<Vec<OutboxRow>> {
        outbox::list(&self.read, state, limit).await
    }

    async fn history_cursor(&self, at: i64) -> Result<i64> {
        escrow::cursor(&self.read, at).await
    }

    async fn history_range(
        &self,
        after: i64,
        until: Option<i64>,
        limit: u64,
    ) -> Result<Vec<HistoryRecord>> {
        escrow::range(&self.read, after, until, limit).await
    }

    async fn deposits(&self, limit: u64) -> Result<Vec<DepositRecord>> {
        escrow::deposits(&self.read, limit).await
    }

    async fn usage(&self, from: &str, to: &str) -> Result<Vec<(String, String, i64)>> {
        escrow::usage(&self.read, from, to).await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats> {
        outbox::stats(&self.read).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        idnode_store::conformance::run(&store).await;
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store
            .apply(&Batch {
                actor: "t".into(),
                ops: vec![idnode_store::Op::Create {
                    handle: idnode_core::Identifier::parse("88.1/x").unwrap(),
                    values: vec![],
                }],
                idempotency: None,
            })
            .await
            .unwrap();
        drop(store);
        let again = SqliteStore::connect(&url).await.unwrap();
        assert!(again.get_handle("88.1/x").await.unwrap().is_some());
    }
}
