//! [`Store`](idnode_store::Store) on PostgreSQL: production and scale-out. The SQL itself is
//! shared with SQLite (`idnode-store-sql`); this crate keeps how PostgreSQL is reached (a
//! server that is still starting is waited for), its SQLSTATEs, and its bulk paths: `COPY`
//! for creates and history, `UNNEST` arrays when a `COPY` meets an existing handle.

mod copy;
mod events;
mod hosts;
mod listen;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use idnode_store::{
    CaptureRecord, ChangeSink, ChangeWatch, NewEvent, Result, StoreError, StoreOptions,
};
use idnode_store_sql::{
    existing, Creates, Dialect, HistoryRow, KeyRow, NewHandle, Pools, SqlStore,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, Postgres};

/// The PostgreSQL backend.
pub type PgStore = SqlStore<PgDialect>;

/// What is particular to PostgreSQL.
#[derive(Debug)]
pub struct PgDialect;

/// How long [`PgStore::connect`] waits for a server that is still starting.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// The migrations, compiled in (named in `idnode_store_sql::node_migrations!`; a test
/// compares them with the directory).
static MIGRATIONS: idnode_store_sql::Embedded =
    idnode_store_sql::node_migrations!("../../migrations/postgres");

impl Dialect for PgDialect {
    type DB = Postgres;
    const NAME: &'static str = "postgres";
    const CHUNK: usize = 10_000;
    /// The pad is stored out of line and uncompressed (migration 0006): each probe needs
    /// `$1` bytes of fresh space in the tablespace.
    const PROBE: &'static str = "INSERT INTO space_probe (id, pad) \
                                 VALUES (1, convert_to(repeat('x', CAST($1 AS INTEGER)), 'UTF8')) \
                                 ON CONFLICT (id) DO UPDATE SET pad = excluded.pad";
    const NUMBERED: bool = true;
    const JSON_TABLE: (&'static str, &'static str) =
        ("jsonb_array_elements_text(", "::jsonb) AS q(value)");
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const NOTIFY: Option<&'static str> = Some("SELECT pg_notify($1, $2)");
    const WAL_POSITION: Option<[&'static str; 2]> = Some([
        "SELECT CAST(pg_current_wal_lsn() - '0/0' AS BIGINT) AS pos",
        "SELECT CAST(pg_last_wal_replay_lsn() - '0/0' AS BIGINT) AS pos",
    ]);

    fn watch(pool: &sqlx::Pool<Postgres>, instance: u64, sink: ChangeSink) -> Option<ChangeWatch> {
        Some(listen::watch(pool, instance, sink))
    }

    fn event_keys(alias: &str) -> [String; 3] {
        [
            format!("json_array_elements(CAST({alias}.keys AS json)) AS k"),
            "CAST(k.value->>0 AS BIGINT)".into(),
            "k.value->>1".into(),
        ]
    }

    fn event_id(alias: &str) -> String {
        format!(
            "(CASE WHEN {alias}.event_id = '' THEN CAST('ni:///sha-256;' || \
             encode({alias}.hash, 'hex') || '?ver=CBV2.0' AS TEXT) COLLATE \"C\" \
             ELSE {alias}.event_id END)"
        )
    }

    /// Connections are made on demand (the first by [`Dialect::prepare`]); every call
    /// waits at most `acquire_timeout` for one.
    async fn open(url: &str, options: &StoreOptions) -> Result<Pools<Postgres>> {
        let targets = hosts::parse(url)?;
        let pool = hosts::pool(
            targets,
            PgPoolOptions::new()
                .max_connections(16)
                // sqlx pings a connection when it returns to the pool (a broken one is
                // closed there); a second ping when it is taken again would cost every
                // query a round trip more. A connection that broke while idle fails its
                // next statement, which reports the database unavailable once.
                .test_before_acquire(false)
                .acquire_timeout(options.acquire_timeout),
        )
        .await?;
        Ok(Pools {
            read: pool.clone(),
            write: pool,
        })
    }

    /// With `wait`, a server that is still starting is waited for up to 30 s.
    async fn prepare(pools: &Pools<Postgres>, replica: bool, wait: bool) -> Result<()> {
        let deadline = Instant::now() + if wait { STARTUP_WAIT } else { Duration::ZERO };
        loop {
            match pools.write.acquire().await.map_err(Self::error) {
                Ok(_) => break,
                Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
        // A replica takes no writes: its primary's migrations reach it by replication.
        if !replica {
            MIGRATIONS
                .migrator()
                .await
                .map_err(|e| StoreError::Database(Box::new(e)))?
                .run(&pools.write)
                .await
                .map_err(|e| StoreError::Database(Box::new(e)))?;
        }
        Ok(())
    }

    fn error(e: sqlx::Error) -> StoreError {
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
                // crashed, starting up, read-only (a server demoted by a failover)
                Some(s)
                    if s.starts_with("08")
                        || matches!(
                            s,
                            "53200" | "53300" | "57P01" | "57P02" | "57P03" | "25006"
                        ) =>
                {
                    StoreError::Unavailable(e.to_string())
                }
                _ => StoreError::Database(Box::new(e)),
            },
        }
    }

    /// Fast path: one COPY. Only if it meets an existing handle does the chunk go through
    /// `INSERT … ON CONFLICT DO NOTHING`, which names every conflicting item. With the batch
    /// doomed already, the COPY is skipped.
    async fn insert_handles(
        conn: &mut PgConnection,
        c: Creates<'_>,
    ) -> Result<Vec<(usize, String)>> {
        let Creates {
            rows,
            now,
            created_in,
            doomed,
        } = c;
        let write = |buf: &mut Vec<u8>, r: &NewHandle<'_>| {
            copy::Row::new(buf, 7)
                .text(&r.folded)
                .opt_text(r.case())
                .bytes(&r.packed)
                .int(1)
                .int(now)
                .int(now)
                .int(created_in);
        };
        let statement = "COPY handles (folded, handle, packed, version, created_at, updated_at, \
                         created_in) FROM STDIN (FORMAT binary)";
        if !doomed && copy::try_copy(conn, statement, rows, write).await? {
            return Ok(Vec::new());
        }
        let folded: Vec<&str> = rows.iter().map(|r| r.folded.as_str()).collect();
        let cases: Vec<Option<&str>> = rows.iter().map(NewHandle::case).collect();
        let packed: Vec<&[u8]> = rows.iter().map(|r| r.packed.as_slice()).collect();
        let inserted: HashSet<String> = sqlx::query_scalar(
            "INSERT INTO handles (folded, handle, packed, version, created_at, updated_at, \
             created_in) SELECT f, h, v, 1, $4, $4, $5 \
             FROM UNNEST($1::text[], $2::text[], $3::bytea[]) AS t(f, h, v) \
             ON CONFLICT DO NOTHING RETURNING folded",
        )
        .bind(&folded)
        .bind(&cases)
        .bind(&packed)
        .bind(now)
        .bind(created_in)
        .fetch_all(&mut *conn)
        .await
        .map_err(Self::error)?
        .into_iter()
        .collect();
        let missed: Vec<&str> = rows
            .iter()
            .filter(|r| !inserted.contains(&r.folded))
            .map(|r| r.folded.as_str())
            .collect();
        let holders = existing::<Self>(conn, &missed).await?;
        Ok(rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !inserted.contains(&r.folded))
            .map(|(k, r)| {
                let holder = holders.get(&r.folded).map_or(r.handle, String::as_str);
                (k, holder.to_owned())
            })
            .collect())
    }

    async fn insert_history(
        conn: &mut PgConnection,
        actor: &str,
        now: i64,
        rows: &[HistoryRow<'_>],
    ) -> Result<()> {
        let write = |buf: &mut Vec<u8>, h: &HistoryRow<'_>| {
            copy::Row::new(buf, 5)
                .text(h.handle)
                .text(h.action.as_str())
                .text(actor)
                .int(now)
                .opt_bytes(h.before.as_deref());
        };
        copy::copy_in(
            conn,
            "COPY history (handle, action, actor, at, packed_before) FROM STDIN (FORMAT binary)",
            rows,
            write,
        )
        .await
        .map(|_| ())
        .map_err(Self::error)
    }

    /// By `COPY` (`events.rs`).
    async fn insert_events(
        conn: &mut PgConnection,
        job: &CaptureRecord,
        events: &[NewEvent],
        now: i64,
    ) -> Result<Vec<Option<i64>>> {
        events::insert_events(conn, job, events, now).await
    }

    /// By `COPY` (`events.rs`).
    async fn insert_keys(conn: &mut PgConnection, rows: &[KeyRow<'_>]) -> Result<()> {
        events::insert_keys(conn, rows).await
    }
}

#[cfg(test)]
mod tests {
    use idnode_store::Store;

    use super::*;

    #[test]
    fn every_migration_is_compiled_in() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
        assert_eq!(MIGRATIONS.differences(&dir).unwrap(), Vec::<String>::new());
    }

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
        idnode_store::conformance::shared_types(&store, &again).await;
    }

    #[tokio::test]
    async fn a_database_of_an_earlier_release_upgrades() {
        let url = tokio::task::spawn_blocking(idnode_testkit::pg_database)
            .await
            .unwrap();
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let migrator = MIGRATIONS.migrator().await.unwrap();
        idnode_store_sql::legacy::prepare(migrator, pool)
            .await
            .unwrap();
        let store = PgStore::connect(&url).await.unwrap();
        idnode_store::conformance::upgrade(&store).await;
    }
}
