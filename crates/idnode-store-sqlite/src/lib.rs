//! [`Store`](idnode_store::Store) on SQLite: the zero-setup default. One writer connection
//! (SQLite has one writer anyway; a single connection avoids lock upgrades) and a pool of
//! readers, in WAL mode with `synchronous=FULL`: a commit is on disk before a write is
//! acknowledged. The SQL itself is shared with PostgreSQL (`idnode-store-sql`); this crate
//! keeps how SQLite is opened, its error codes and its bulk inserts.
//!
//! A writer connection whose transaction state is in doubt after a failed statement or
//! commit (a full disk makes SQLite roll back on its own, and sqlx then believes a
//! transaction is still open, so later writes would become savepoints that never commit) is
//! closed instead of being reused: see [`writer_is_clean`].

use std::str::FromStr;
use std::time::Duration;

use idnode_store::{Result, StoreError, StoreOptions};
use idnode_store_sql::{existing, Creates, Dialect, HistoryRow, Pools, SqlStore};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection as _, QueryBuilder, Sqlite};

/// The SQLite backend.
pub type SqliteStore = SqlStore<SqliteDialect>;

/// What is particular to SQLite.
#[derive(Debug)]
pub struct SqliteDialect;

/// SQLite's primary result codes this backend tells apart.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_FULL: i64 = 13;

/// The migrations, compiled in (named in `idnode_store_sql::node_migrations!`; a test
/// compares them with the directory).
static MIGRATIONS: idnode_store_sql::Embedded =
    idnode_store_sql::node_migrations!("../../migrations/sqlite");

/// Reader connections: each runs on its own worker thread, so more than two per usable core
/// only adds context switches (and a page cache each to fill).
fn readers() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| (2 * n.get()).min(8)) as u32
}

/// Copies the database at `url` to a new file `dest` while it is in use (`VACUUM INTO`:
/// one read transaction, so the copy is the database as of one moment, every committed
/// write before it and none after; the copy is compacted and has no WAL of its own). The
/// file must not exist yet; it is made readable by its owner only (it holds secret hashes).
pub async fn backup(url: &str, dest: &std::path::Path) -> Result<()> {
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create
        .open(dest)
        .map_err(|e| StoreError::Conflict(format!("{}: {e}", dest.display())))?;
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(SqliteDialect::error)?
        .busy_timeout(Duration::from_secs(30));
    let mut conn = sqlx::ConnectOptions::connect(&opts)
        .await
        .map_err(SqliteDialect::error)?;
    sqlx::query("VACUUM INTO ?")
        .bind(dest.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await
        .map_err(SqliteDialect::error)?;
    Ok(())
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

impl Dialect for SqliteDialect {
    type DB = Sqlite;
    const NAME: &'static str = "sqlite";
    /// Rows per multi-row INSERT (SQLite allows 32,766 bound parameters per statement).
    const CHUNK: usize = 4_000;
    const PROBE: &'static str = "INSERT INTO space_probe (id, pad) VALUES (1, randomblob($1)) \
                                 ON CONFLICT (id) DO UPDATE SET pad = excluded.pad";
    const NUMBERED: bool = false;
    const JSON_TABLE: (&'static str, &'static str) = ("json_each(", ") AS q");
    const FOR_UPDATE: &'static str = "";
    const NOTIFY: Option<&'static str> = None;
    const WAL_POSITION: Option<[&'static str; 2]> = None;

    fn event_keys(alias: &str) -> [String; 3] {
        [
            format!("json_each({alias}.keys) AS k"),
            "CAST(json_extract(k.value, '$[0]') AS INTEGER)".into(),
            "json_extract(k.value, '$[1]')".into(),
        ]
    }

    fn event_id(alias: &str) -> String {
        format!(
            "(CASE WHEN {alias}.event_id = '' THEN 'ni:///sha-256;' || lower(hex({alias}.hash)) \
             || '?ver=CBV2.0' ELSE {alias}.event_id END)"
        )
    }

    /// Readers wait `acquire_timeout` for a connection; writers queue for the single writer
    /// connection up to 30 s, since a busy writer is not an unavailable database.
    async fn open(url: &str, options: &StoreOptions) -> Result<Pools<Sqlite>> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(Self::error)?
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
            .map_err(Self::error)?;
        MIGRATIONS
            .migrator()
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?
            .run(&write)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        let read = SqlitePoolOptions::new()
            .max_connections(readers())
            .acquire_timeout(options.acquire_timeout)
            .connect_with(opts.read_only(true))
            .await
            .map_err(Self::error)?;
        Ok(Pools { read, write })
    }

    fn error(e: sqlx::Error) -> StoreError {
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

    /// Existing rows first: the transaction runs on the only writer connection, so nothing
    /// can appear between this check and the insert. (A RETURNING clause would stream every
    /// inserted row back through the SQLite worker thread.)
    async fn insert_handles(
        conn: &mut SqliteConnection,
        c: Creates<'_>,
    ) -> Result<Vec<(usize, String)>> {
        let Creates {
            rows,
            now,
            created_in,
            doomed,
        } = c;
        let folded: Vec<&str> = rows.iter().map(|r| r.folded.as_str()).collect();
        let taken = existing::<Self>(conn, &folded).await?;
        let taken: Vec<(usize, String)> = rows
            .iter()
            .enumerate()
            .filter_map(|(k, r)| taken.get(&r.folded).map(|h| (k, h.clone())))
            .collect();
        if !taken.is_empty() || doomed {
            return Ok(taken);
        }
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO handles (folded, handle, packed, version, created_at, updated_at, \
             created_in) ",
        );
        qb.push_values(rows, |mut b, r| {
            b.push_bind(r.folded.as_str())
                .push_bind(r.case())
                .push_bind(r.packed.as_slice())
                .push("1")
                .push_bind(now)
                .push_bind(now)
                .push_bind(created_in);
        });
        qb.build().execute(&mut *conn).await.map_err(Self::error)?;
        Ok(taken)
    }

    async fn insert_history(
        conn: &mut SqliteConnection,
        actor: &str,
        now: i64,
        rows: &[HistoryRow<'_>],
    ) -> Result<()> {
        for chunk in rows.chunks(Self::CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO history (handle, action, actor, at, packed_before) ",
            );
            qb.push_values(chunk, |mut b, h| {
                b.push_bind(h.handle)
                    .push_bind(h.action.as_str())
                    .push_bind(actor)
                    .push_bind(now)
                    .push_bind(h.before.as_deref());
            });
            qb.build().execute(&mut *conn).await.map_err(Self::error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use idnode_store::{Batch, Store};

    use super::*;

    #[test]
    fn every_migration_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
        assert_eq!(MIGRATIONS.differences(&dir).unwrap(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        idnode_store::conformance::run(&store).await;
        let other = SqliteStore::connect(&url).await.unwrap();
        idnode_store::conformance::shared_types(&store, &other).await;
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
                origin: String::new(),
            })
            .await
            .unwrap();
        drop(store);
        let again = SqliteStore::connect(&url).await.unwrap();
        assert!(again.get_handle("88.1/x").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_database_of_an_earlier_release_upgrades() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let opts: SqliteConnectOptions = url
            .parse::<SqliteConnectOptions>()
            .unwrap()
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
        let migrator = MIGRATIONS.migrator().await.unwrap();
        idnode_store_sql::legacy::prepare(migrator, pool)
            .await
            .unwrap();
        let store = SqliteStore::connect(&url).await.unwrap();
        idnode_store::conformance::upgrade(&store).await;
    }
}
