//! [`Store`] on PostgreSQL: production and scale-out. Values are JSONB; bulk writes use
//! `UNNEST` arrays so a batch of thousands of identifiers is one statement.

mod apply;
mod copy;
mod escrow;
mod outbox;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use idnode_core::json::values_from_json;
use idnode_store::{
    fill_created_values, fold, prefix_range, profile_from_json, Batch, DepositRecord, Enterprise,
    EnterpriseStatus, HandleRecord, HistoryAction, HistoryRecord, Idempotency, OutboxRow,
    OutboxState, OutboxStats, PrefixRecord, PrefixStatus, Result, Review, SecretHash, SpaceState,
    Store, StoreError, StoreOptions, StoreStats,
};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};

/// The PostgreSQL backend.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    space: Arc<SpaceState>,
}

/// Bytes the readiness probe writes while the tablespace was last found full.
const PROBE_BYTES: i32 = 1024 * 1024;

/// How long [`PgStore::connect`] waits for a server that is still starting.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    let state = e
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned());
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        e => match state.as_deref() {
            // disk_full
            Some("53100") => StoreError::Full(e.to_string()),
            // connection exceptions, too many connections, out of memory, shutting down,
            // crashed, starting up
            Some(s)
                if s.starts_with("08")
                    || matches!(s, "53200" | "53300" | "57P01" | "57P02" | "57P03") =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Database(Box::new(e)),
        },
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        d.is_unique_violation() || d.is_foreign_key_violation() || d.is_check_violation()
    })
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// [`PgStore::connect`] with options. A server that is still starting is waited for up
    /// to 30 s; afterwards every call waits at most `acquire_timeout` for a connection.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy(url)
            .map_err(db_err)?;
        let deadline = Instant::now() + STARTUP_WAIT;
        loop {
            match pool.acquire().await.map_err(db_err) {
                Ok(_) => break,
                Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(Self {
            pool,
            space: Arc::default(),
        })
    }
}

fn decode_values(text: &str) -> Result<Vec<idnode_core::HandleValue>> {
    values_from_json(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn handle_record(row: &PgRow) -> Result<HandleRecord> {
    Ok(HandleRecord {
        handle: row.get("handle"),
        values: decode_values(row.get("vals"))?,
        version: row.get("version"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
}

fn prefix_record(row: &PgRow) -> Result<PrefixRecord> {
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

fn enterprise(row: &PgRow) -> Result<Enterprise> {
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

const HANDLE_COLS: &str = "handle, vals, version, created_at, updated_at";

/// A history record from a row of `id, handle, action, actor, at, vals_before, vals_after`.
pub(crate) fn history_row(r: &PgRow) -> Result<HistoryRecord> {
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
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ready(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        if self.space.probe_due() {
            // The pad is stored out of line and uncompressed (migration 0006): each probe
            // needs PROBE_BYTES of fresh space in the tablespace.
            let probe = sqlx::query(
                "INSERT INTO space_probe (id, pad) VALUES (1, convert_to(repeat('x', $1), 'UTF8')) \
                 ON CONFLICT (id) DO UPDATE SET pad = excluded.pad",
            )
            .bind(PROBE_BYTES)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_err);
            self.space.probed(&probe);
        }
        if self.space.is_full() {
            return Err(StoreError::Full("no probe write has fitted since".into()));
        }
        Ok(())
    }

    async fn get_handle(&self, handle: &str) -> Result<Option<HandleRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {HANDLE_COLS} FROM handles WHERE folded = $1 AND handle = $2"
        ))
        .bind(fold(handle))
        .bind(handle)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(handle_record).transpose()
    }

    async fn get_handles(&self, handles: &[String]) -> Result<Vec<HandleRecord>> {
        let folded: Vec<String> = handles.iter().map(|h| fold(h)).collect();
        let rows = sqlx::query(&format!(
            "SELECT {HANDLE_COLS} FROM handles WHERE folded = ANY($1) AND handle = ANY($2)"
        ))
        .bind(&folded)
        .bind(handles)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(handle_record).collect()
    }

    async fn find_folded(&self, folded: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT handle FROM handles WHERE folded = $1")
            .bind(folded)
            .fetch_optional(&self.pool)
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
            sqlx::query_scalar("SELECT count(*) FROM handles WHERE folded >= $1 AND folded < $2")
                .bind(&lo)
                .bind(&hi)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
        if limit == 0 {
            return Ok((total as u64, Vec::new()));
        }
        let page = sqlx::query_scalar(
            "SELECT handle FROM handles WHERE folded >= $1 AND folded < $2 \
             ORDER BY folded LIMIT $3 OFFSET $4",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(limit.min(i64::MAX as u64) as i64)
        .bind(offset.min(i64::MAX as u64) as i64)
        .fetch_all(&self.pool)
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
        let rows = sqlx::query(&format!(
            "SELECT {HANDLE_COLS} FROM handles WHERE folded > $1 \
             AND ($2::text IS NULL OR (folded >= $2 AND folded < $3)) ORDER BY folded LIMIT $4"
        ))
        .bind(fold(after))
        .bind(lo)
        .bind(hi)
        .bind(limit.min(i64::MAX as u64) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(handle_record).collect()
    }

    async fn apply(&self, batch: &Batch) -> Result<()> {
        let out = apply::apply(&self.pool, batch).await;
        self.space.observe(&out);
        out
    }

    async fn history(&self, handle: &str, limit: u64) -> Result<Vec<HistoryRecord>> {
        let rows = sqlx::query(
            "SELECT id, handle, action, actor, at, vals_before, \
             vals_after FROM history WHERE handle = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(handle)
        .bind(limit.min(i64::MAX as u64) as i64)
        .fetch_all(&self.pool)
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
            "SELECT alg, salt, iterations, hash, sealed FROM secrets WHERE handle = $1 AND idx = $2",
        )
        .bind(handle)
        .bind(i64::from(index))
        .fetch_optional(&self.pool)
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
             WHERE prefix = $1",
        )
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(prefix_record).transpose()
    }

    async fn list_prefixes(&self, enterprise_id: Option<i64>) -> Result<Vec<PrefixRecord>> {
        let rows = sqlx::query(
            "SELECT prefix, enterprise_id, status, created_at, review, review_note FROM prefixes \
             WHERE $1::bigint IS NULL OR enterprise_id = $1 ORDER BY prefix",
        )
        .bind(enterprise_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(prefix_record).collect()
    }

    async fn get_enterprise(&self, id: i64) -> Result<Option<Enterprise>> {
        let row = sqlx::query(
            "SELECT id, name, status, created_at, profile, upstream_id FROM enterprises \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(enterprise).transpose()
    }

    async fn list_enterprises(&self) -> Result<Vec<Enterprise>> {
        let rows = sqlx::query(
            "SELECT id, name, status, created_at, profile, upstream_id FROM enterprises \
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(enterprise).collect()
    }

    async fn get_idempotency(&self, actor: &str, key: &str) -> Result<Option<Idempotency>> {
        let row = sqlx::query(
            "SELECT actor, key, request_hash, status, body FROM idempotency \
             WHERE actor = $1 AND key = $2",
        )
        .bind(actor)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|r| Idempotency {
            actor: r.get("actor"),
            key: r.get("key"),
            request_hash: r.get("request_hash"),
            status: r.get::<i32, _>("status") as u16,
            body: r.get("body"),
        }))
    }

    async fn stats(&self) -> Result<StoreStats> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM handles) AS h, (SELECT count(*) FROM enterprises) AS e, \
             (SELECT count(*) FROM prefixes) AS p",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(StoreStats {
            handles: row.get::<i64, _>("h") as u64,
            enterprises: row.get::<i64, _>("e") as u64,
            prefixes: row.get::<i64, _>("p") as u64,
        })
    }

    async fn outbox_head(&self) -> Result<Option<OutboxRow>> {
        outbox::head(&self.pool).await
    }

    async fn outbox_list(&self, state: OutboxState, limit: u64) -> Result<Vec<OutboxRow>> {
        outbox::list(&self.pool, state, limit).await
    }

    async fn history_cursor(&self, at: i64) -> Result<i64> {
        escrow::cursor(&self.pool, at).await
    }

    async fn history_range(
        &self,
        after: i64,
        until: Option<i64>,
        limit: u64,
    ) -> Result<Vec<HistoryRecord>> {
        escrow::range(&self.pool, after, until, limit).await
    }

    async fn deposits(&self, limit: u64) -> Result<Vec<DepositRecord>> {
        escrow::deposits(&self.pool, limit).await
    }

    async fn usage(&self, from: &str, to: &str) -> Result<Vec<(String, String, i64)>> {
        escrow::usage(&self.pool, from, to).await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats> {
        outbox::stats(&self.pool).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance() {
        let url = tokio::task::spawn_blocking(idnode_testkit::pg_database)
            .await
            .unwrap();
        let store = PgStore::connect(&url).await.unwrap();
        idnode_store::conformance::run(&store).await;
        // Migrations are idempotent: connecting again applies nothing and keeps data.
        let again = PgStore::connect(&url).await.unwrap();
        assert!(again.stats().await.unwrap().handles > 0);
    }
}
