//! The SQL both store backends share, written once and generic over the sqlx database.
//!
//! [`SqlStore`] implements [`Store`] for any [`Dialect`]: the reads, the write path of
//! [`Store::apply`] (one transaction per batch), the outbox and escrow tables. A dialect
//! keeps only what truly differs between SQLite and PostgreSQL: how to open the database
//! (SQLite's single writer, PostgreSQL's start-up wait), how driver errors map to
//! [`StoreError`], the readiness probe, and the bulk paths (multi-row `INSERT` on SQLite,
//! `COPY` on PostgreSQL). The schemas are the same; each backend keeps its own migrations.

mod apply;
mod audit;
mod capture;
mod events;
mod grants;
mod history;
mod leases;
pub mod legacy;
mod named;
mod ops;
mod rows;
pub mod sql;
mod stats;
mod subscriptions;
mod templates;
mod tokens;
mod types;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use idnode_store::{
    fold, prefix_range, Attribution, AuditEntry, Batch, CaptureRecord, Change, ChangeSink,
    ChangeWatch, Delivery, DepositRecord, Enterprise, EventField, EventFilter, EventRecord, Grant,
    HandleRecord, HistoryAction, HistoryRecord, Idempotency, NamedQuery, NewCapture, NewEvent,
    OutboxRow, OutboxState, OutboxStats, PrefixRecord, Readable, Result, SecretHash, Settled,
    SpaceState, Store, StoreError, StoreOptions, StoreStats, Subscription, TemplateChange,
    TemplateRecord, TokenRecord, TraceLink,
};
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

use crate::sql::{Cols, Sql, Stmt};
pub use capture::{hash_digest, insert_events, insert_keys, keys_json, KeyRow};

/// A connection of a dialect's database.
pub type Conn<D> = <<D as Dialect>::DB as Database>::Connection;

/// A handle a batch creates, as the bulk insert of a dialect receives it.
#[derive(Debug)]
pub struct NewHandle<'a> {
    /// The handle.
    pub handle: &'a str,
    /// Its folded (lower-cased) key.
    pub folded: String,
    /// Its values, packed (`idnode_core::packed`).
    pub packed: Vec<u8>,
}

impl NewHandle<'_> {
    /// What the `handle` column keeps: NULL when the handle is its folded key.
    pub fn case(&self) -> Option<&str> {
        (self.handle != self.folded).then_some(self.handle)
    }
}

/// A run of creates for the bulk insert of a dialect.
#[derive(Debug)]
pub struct Creates<'a> {
    /// The handles, none twice.
    pub rows: &'a [NewHandle<'a>],
    /// Their creation time (unix ms).
    pub now: i64,
    /// The history row of the run (`handles.created_in`).
    pub created_in: i64,
    /// The batch has failed already and will roll back: only conflicts matter.
    pub doomed: bool,
}

/// A history row a batch writes for one handle (an update or a delete; a run of creates
/// is one row of its own, see `history.rs`).
#[derive(Debug)]
pub struct HistoryRow<'a> {
    /// The handle changed.
    pub handle: &'a str,
    /// What happened to it.
    pub action: HistoryAction,
    /// Its values before, packed.
    pub before: Option<Vec<u8>>,
}

/// The connection pools of a store: readers, and writers (the same pool where the database
/// has no single writer).
#[derive(Debug)]
pub struct Pools<DB: Database> {
    /// For reads.
    pub read: Pool<DB>,
    /// For writes (and reads that must see the latest write).
    pub write: Pool<DB>,
}

/// What differs between the SQL databases idnode runs on.
pub trait Dialect: Sized + Send + Sync + 'static {
    /// The sqlx database.
    type DB: Sql;
    /// The backend's name for logs and metrics.
    const NAME: &'static str;
    /// Creates per bulk statement.
    const CHUNK: usize;
    /// The readiness probe write: rewrites the `space_probe` row with `$1` fresh bytes.
    const PROBE: &'static str;
    /// Whether long generated statements (IN lists) number their placeholders (`$1, $2`,
    /// PostgreSQL) or leave them anonymous (`?`, SQLite: sqlx looks a numbered SQLite
    /// placeholder up by name for every bind, which makes a 4,000-item list cost quadratic
    /// time; a profile of bulk registration found a quarter of the node's time there).
    const NUMBERED: bool;
    /// SQL around one text parameter holding a JSON array of strings that lists them as
    /// a table `q` with one column, `value`: to join a long list by an index that rechecks
    /// its rows (PostgreSQL's hash index rechecks each row against the whole of an
    /// `= ANY(…)` array, quadratic for a trace's frontier).
    const JSON_TABLE: (&'static str, &'static str);
    /// What locks a selected row until the transaction ends (` FOR UPDATE`), or '' where
    /// the database has one writer at a time (SQLite).
    const FOR_UPDATE: &'static str;
    /// The statement that sends a change notification (`$1` channel, `$2` payload) inside
    /// a transaction, delivered after its commit; `None` where the database has no
    /// listeners to tell (SQLite: one process).
    const NOTIFY: Option<&'static str>;
    /// The statements giving a primary's WAL position and a replica's replayed one (one
    /// BIGINT column, `pos`); `None` where there is no such log.
    const WAL_POSITION: Option<[&'static str; 2]>;

    /// The identifier keys of the event `alias` (its `keys` column, a JSON array of
    /// `[role, key]`): a FROM item to follow a comma, and the expressions of one key's role
    /// and key in it.
    fn event_keys(alias: &str) -> [String; 3];

    /// The eventID of the event `alias`: its own, or its hash ID when its row holds `''`
    /// (migration 0019). Written exactly as the expression index `epcis_events_declared`
    /// of that migration, which serves the look-up of error declarations by it.
    fn event_id(alias: &str) -> String;

    /// Starts delivering the changes other instances commit to `sink` (see
    /// [`Store::watch_changes`]); `instance` names this store's own notifications.
    fn watch(pool: &Pool<Self::DB>, instance: u64, sink: ChangeSink) -> Option<ChangeWatch> {
        let _ = (pool, instance, sink);
        None
    }

    /// Opens the database at `url` and applies pending migrations.
    fn open(
        url: &str,
        options: &StoreOptions,
    ) -> impl Future<Output = Result<Pools<Self::DB>>> + Send;

    /// Maps a driver error to the store's.
    fn error(e: sqlx::Error) -> StoreError;

    /// Inserts the rows of `creates` inside the batch's transaction, unless doomed. Returns,
    /// for each row whose folded key another handle holds, its position in the rows and that
    /// handle.
    fn insert_handles<'a>(
        conn: &'a mut Conn<Self>,
        creates: Creates<'a>,
    ) -> impl Future<Output = Result<Vec<(usize, String)>>> + Send + 'a;

    /// Writes the batch's history rows.
    fn insert_history<'a>(
        conn: &'a mut Conn<Self>,
        actor: &'a str,
        now: i64,
        rows: &'a [HistoryRow<'a>],
    ) -> impl Future<Output = Result<()>> + Send + 'a;

    /// Inserts a capture's events inside its transaction: for each event its new id, `None`
    /// when its owner holds it already (possibly from earlier in this capture).
    fn insert_events<'a>(
        conn: &'a mut Conn<Self>,
        job: &'a CaptureRecord,
        events: &'a [NewEvent],
        now: i64,
    ) -> impl Future<Output = Result<Vec<Option<i64>>>> + Send + 'a {
        insert_events::<Self>(conn, job, events, now)
    }

    /// Inserts the key rows of a capture's events inside its transaction.
    fn insert_keys<'a>(
        conn: &'a mut Conn<Self>,
        rows: &'a [KeyRow<'a>],
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        insert_keys::<Self>(conn, rows)
    }
}

/// Whether a database error is a constraint violation (unique, foreign key or check).
pub fn is_constraint_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        d.is_unique_violation() || d.is_foreign_key_violation() || d.is_check_violation()
    })
}

/// The handles among `folded` keys that exist: folded key → stored handle.
pub async fn existing<D: Dialect>(
    conn: &mut Conn<D>,
    folded: &[&str],
) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in folded.chunks(4_000) {
        let rows = in_list(
            "SELECT folded, COALESCE(handle, folded) AS handle FROM handles WHERE folded IN (",
            chunk,
            D::NUMBERED,
        )
        .all::<D::DB>(conn)
        .await
        .map_err(D::error)?;
        for r in &rows {
            let c = Cols::<D::DB>(r);
            out.insert(c.string("folded")?, c.string("handle")?);
        }
    }
    Ok(out)
}

/// `head` followed by `$1, …, $n)` (`numbered`) or `?, …, ?)` with `items` bound.
fn in_list<'q>(head: &str, items: &[&'q str], numbered: bool) -> Stmt<'q> {
    let mut sql = String::from(head);
    for i in 1..=items.len() {
        if i > 1 {
            sql.push_str(", ");
        }
        if numbered {
            sql.push('$');
            sql.push_str(&i.to_string());
        } else {
            sql.push('?');
        }
    }
    sql.push(')');
    items.iter().fold(Stmt::new(sql), |s, v| s.bind(*v))
}

/// A [`Store`] on a SQL database.
#[derive(Debug)]
pub struct SqlStore<D: Dialect> {
    pools: Pools<D::DB>,
    space: Arc<SpaceState>,
    /// The audit chain's hash for new entries.
    audit: idnode_store::AuditAlgorithm,
    /// Names this store's change notifications, which its own feed skips.
    instance: u64,
    /// A read-only replica.
    replica: bool,
    /// The dictionary of value type names.
    types: types::Types,
}

impl<D: Dialect> SqlStore<D> {
    /// Opens the database at `url` and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// [`SqlStore::connect`] with options.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self> {
        let store = Self {
            pools: D::open(url, options).await?,
            space: Arc::default(),
            audit: options.audit_algorithm,
            instance: instance_number(),
            replica: options.replica,
            types: types::Types::default(),
        };
        store.types.load::<D>(&store.pools.read).await?;
        Ok(store)
    }

    /// Decodes rows holding packed values; when one names a type number the cached
    /// dictionary lacks (another instance added it), reloads the dictionary and tries again.
    async fn decode<T>(
        &self,
        rows: &[<D::DB as Database>::Row],
        f: impl Fn(&<D::DB as Database>::Row, &types::Types) -> Result<T>,
    ) -> Result<Vec<T>> {
        match rows.iter().map(|r| f(r, &self.types)).collect() {
            Err(e) if types::is_unknown_type(&e) => {
                self.types.load::<D>(&self.pools.read).await?;
                rows.iter().map(|r| f(r, &self.types)).collect()
            }
            done => done,
        }
    }

    async fn reader(&self) -> Result<PoolConnection<D::DB>> {
        self.pools.read.acquire().await.map_err(D::error)
    }

    async fn all(&self, stmt: Stmt<'_>) -> Result<Vec<<D::DB as Database>::Row>> {
        let mut c = self.reader().await?;
        stmt.all::<D::DB>(&mut c).await.map_err(D::error)
    }

    async fn optional(&self, stmt: Stmt<'_>) -> Result<Option<<D::DB as Database>::Row>> {
        let mut c = self.reader().await?;
        stmt.optional::<D::DB>(&mut c).await.map_err(D::error)
    }

    async fn one(&self, stmt: Stmt<'_>) -> Result<<D::DB as Database>::Row> {
        self.optional(stmt)
            .await?
            .ok_or_else(|| StoreError::NotFound("row".into()))
    }
}

/// A number for this store's notifications, different for every store opened.
fn instance_number() -> u64 {
    use std::hash::BuildHasher;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one((now, std::process::id()))
}

/// Sends `changes` to the other instances sharing the database, inside the transaction
/// of `conn` (delivered once it commits).
pub(crate) async fn announce<D: Dialect>(
    conn: &mut Conn<D>,
    instance: u64,
    changes: &[Change],
) -> Result<()> {
    let Some(notify) = D::NOTIFY else {
        return Ok(());
    };
    for payload in changes.iter().flat_map(|c| c.payloads(instance)) {
        Stmt::new(notify)
            .bind(idnode_store::change::CHANNEL)
            .bind(payload)
            .execute::<D::DB>(conn)
            .await
            .map_err(D::error)?;
    }
    Ok(())
}

/// `u64` limits and offsets as SQL integers.
fn int(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

#[async_trait]
impl<D: Dialect> Store for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::NAME
    }

    async fn wal_position(&self) -> Result<Option<u64>> {
        let Some(sql) = D::WAL_POSITION else {
            return Ok(None);
        };
        let row = self.one(Stmt::new(sql[usize::from(self.replica)])).await?;
        Ok(Cols::<D::DB>(&row)
            .opt_int("pos")?
            .and_then(|p| u64::try_from(p).ok()))
    }

    fn watch_changes(&self, sink: ChangeSink) -> Option<ChangeWatch> {
        D::watch(&self.pools.write, self.instance, sink)
    }

    async fn ready(&self) -> Result<()> {
        self.one(Stmt::new("SELECT 1 AS one")).await?;
        if self.space.probe_due() {
            let mut c = self.pools.write.acquire().await.map_err(D::error)?;
            let probe = Stmt::new(D::PROBE)
                .bind(PROBE_BYTES)
                .execute::<D::DB>(&mut c)
                .await
                .map(|_| ())
                .map_err(D::error);
            self.space.probed(&probe);
        }
        if self.space.is_full() {
            return Err(StoreError::Full("no probe write has fitted since".into()));
        }
        Ok(())
    }

    async fn get_handle(&self, handle: &str) -> Result<Option<HandleRecord>> {
        let sql = format!(
            "SELECT {} FROM handles WHERE folded = $1 AND COALESCE(handle, folded) = $2",
            rows::HANDLE
        );
        let row = self
            .optional(Stmt::new(sql).bind(fold(handle)).bind(handle))
            .await?;
        let rows = self.decode(row.as_slice(), rows::handle::<D::DB>).await?;
        Ok(rows.into_iter().next())
    }

    async fn get_handles(&self, handles: &[String]) -> Result<Vec<HandleRecord>> {
        let wanted: HashSet<&str> = handles.iter().map(String::as_str).collect();
        let folded: Vec<String> = handles.iter().map(|h| fold(h)).collect();
        let folded: Vec<&str> = folded.iter().map(String::as_str).collect();
        let head = format!("SELECT {} FROM handles WHERE folded IN (", rows::HANDLE);
        let mut out = Vec::with_capacity(handles.len());
        for chunk in folded.chunks(500) {
            let rows = self.all(in_list(&head, chunk, D::NUMBERED)).await?;
            for record in self.decode(&rows, rows::handle::<D::DB>).await? {
                if wanted.contains(record.handle.as_str()) {
                    out.push(record);
                }
            }
        }
        Ok(out)
    }

    async fn find_folded(&self, folded: &str) -> Result<Option<String>> {
        let row = self
            .optional(
                Stmt::new(
                    "SELECT COALESCE(handle, folded) AS handle FROM handles WHERE folded = $1",
                )
                .bind(folded),
            )
            .await?;
        row.map(|r| Cols::<D::DB>(&r).string("handle")).transpose()
    }

    async fn list_handles(
        &self,
        prefix: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<String>)> {
        let (lo, hi) = prefix_range(prefix);
        let count =
            Stmt::new("SELECT count(*) AS n FROM handles WHERE folded >= $1 AND folded < $2")
                .bind(&lo)
                .bind(&hi);
        let total = Cols::<D::DB>(&self.one(count).await?).int("n")?;
        if limit == 0 {
            return Ok((total as u64, Vec::new()));
        }
        let page = Stmt::new(
            "SELECT COALESCE(handle, folded) AS handle FROM handles \
             WHERE folded >= $1 AND folded < $2 \
             ORDER BY folded LIMIT $3 OFFSET $4",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(int(limit))
        .bind(int(offset));
        let rows = self.all(page).await?;
        let page = rows
            .iter()
            .map(|r| Cols::<D::DB>(r).string("handle"))
            .collect::<Result<_>>()?;
        Ok((total as u64, page))
    }

    async fn scan_handles(
        &self,
        prefix: Option<&str>,
        after: &str,
        limit: u64,
    ) -> Result<Vec<HandleRecord>> {
        let (lo, hi) = prefix.map(prefix_range).unzip();
        let sql = format!(
            "SELECT {} FROM handles WHERE folded > $1 \
             AND (CAST($2 AS TEXT) IS NULL OR (folded >= $2 AND folded < $3)) \
             ORDER BY folded LIMIT $4",
            rows::HANDLE
        );
        let stmt = Stmt::new(sql)
            .bind(fold(after))
            .bind(lo)
            .bind(hi)
            .bind(int(limit));
        let rows = self.all(stmt).await?;
        self.decode(&rows, rows::handle::<D::DB>).await
    }

    async fn apply(&self, batch: &Batch) -> Result<()> {
        let names = self.types.missing(batch);
        if !names.is_empty() {
            self.types.add::<D>(&self.pools.write, &names).await?;
        }
        let out = apply::apply::<D>(self, batch).await;
        self.space.observe(&out);
        out
    }

    async fn audit_entries(&self, after: i64, limit: u64) -> Result<Vec<AuditEntry>> {
        let stmt = Stmt::new(
            "SELECT seq, at, actor, origin, action, target, before, after, alg, prev, hash \
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(int(limit));
        self.all(stmt)
            .await?
            .iter()
            .map(audit::entry_row::<D>)
            .collect()
    }

    async fn audit_head(&self) -> Result<(i64, Vec<u8>)> {
        let row = self
            .one(Stmt::new("SELECT seq, hash FROM audit_head WHERE id = 1"))
            .await?;
        let c = Cols::<D::DB>(&row);
        Ok((c.int("seq")?, c.bytes("hash")?))
    }

    async fn history(&self, handle: &str, limit: u64) -> Result<Vec<HistoryRecord>> {
        self.handle_history(handle, limit).await
    }

    async fn get_secret(&self, handle: &str, index: u32) -> Result<Option<SecretHash>> {
        let sql = format!(
            "SELECT {} FROM secrets WHERE handle = $1 AND idx = $2",
            rows::SECRET
        );
        let row = self
            .optional(Stmt::new(sql).bind(handle).bind(i64::from(index)))
            .await?;
        row.as_ref().map(rows::secret::<D::DB>).transpose()
    }

    async fn get_prefix(&self, prefix: &str) -> Result<Option<PrefixRecord>> {
        let sql = format!("SELECT {} FROM prefixes WHERE prefix = $1", rows::PREFIX);
        let row = self.optional(Stmt::new(sql).bind(prefix)).await?;
        row.as_ref().map(rows::prefix::<D::DB>).transpose()
    }

    async fn list_prefixes(&self, enterprise_id: Option<i64>) -> Result<Vec<PrefixRecord>> {
        let sql = format!(
            "SELECT {} FROM prefixes WHERE CAST($1 AS BIGINT) IS NULL OR enterprise_id = $1 \
             ORDER BY prefix",
            rows::PREFIX
        );
        let rows = self.all(Stmt::new(sql).bind(enterprise_id)).await?;
        rows.iter().map(rows::prefix::<D::DB>).collect()
    }

    async fn get_enterprise(&self, id: i64) -> Result<Option<Enterprise>> {
        let sql = format!("SELECT {} FROM enterprises WHERE id = $1", rows::ENTERPRISE);
        let row = self.optional(Stmt::new(sql).bind(id)).await?;
        row.as_ref().map(rows::enterprise::<D::DB>).transpose()
    }

    async fn list_enterprises(&self) -> Result<Vec<Enterprise>> {
        let sql = format!("SELECT {} FROM enterprises ORDER BY id", rows::ENTERPRISE);
        let rows = self.all(Stmt::new(sql)).await?;
        rows.iter().map(rows::enterprise::<D::DB>).collect()
    }

    async fn get_idempotency(&self, actor: &str, key: &str) -> Result<Option<Idempotency>> {
        let sql = format!(
            "SELECT {} FROM idempotency WHERE actor = $1 AND key = $2",
            rows::IDEMPOTENCY
        );
        let row = self.optional(Stmt::new(sql).bind(actor).bind(key)).await?;
        row.as_ref().map(rows::idempotency::<D::DB>).transpose()
    }

    async fn stats(&self) -> Result<StoreStats> {
        let row = self
            .one(Stmt::new(
                "SELECT (SELECT count(*) FROM handles) AS h, \
                 (SELECT count(*) FROM enterprises) AS e, (SELECT count(*) FROM prefixes) AS p",
            ))
            .await?;
        let c = Cols::<D::DB>(&row);
        Ok(StoreStats {
            handles: c.int("h")? as u64,
            enterprises: c.int("e")? as u64,
            prefixes: c.int("p")? as u64,
        })
    }

    async fn outbox_head(&self) -> Result<Option<OutboxRow>> {
        ops::head::<D>(&self.pools.write).await
    }

    async fn outbox_list(&self, state: OutboxState, limit: u64) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {} FROM outbox WHERE state = $1 ORDER BY id LIMIT $2",
            rows::OUTBOX
        );
        let rows = self
            .all(Stmt::new(sql).bind(state.as_str()).bind(int(limit)))
            .await?;
        rows.iter().map(rows::outbox::<D::DB>).collect()
    }

    async fn outbox_stats(&self) -> Result<OutboxStats> {
        let counts = self
            .one(Stmt::new(
                "SELECT count(*) FILTER (WHERE state = 'pending') AS p, \
                 count(*) FILTER (WHERE state = 'dead') AS d, \
                 count(*) FILTER (WHERE state = 'done') AS k FROM outbox",
            ))
            .await?;
        let c = Cols::<D::DB>(&counts);
        let head = self.outbox_head().await?;
        Ok(OutboxStats {
            pending: c.int("p")? as u64,
            dead: c.int("d")? as u64,
            done: c.int("k")? as u64,
            oldest_pending_at: head.as_ref().map(|h| h.created_at),
            head_attempts: head.as_ref().map_or(0, |h| h.attempts),
            head_error: head.and_then(|h| h.last_error),
        })
    }

    async fn lease(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
        self.take_lease(name, holder, now, until).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.drop_lease(name, holder).await
    }

    async fn node_key(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let row = self
            .optional(Stmt::new("SELECT fingerprint FROM node_keys WHERE name = $1").bind(name))
            .await?;
        row.map(|r| Cols::<D::DB>(&r).bytes("fingerprint"))
            .transpose()
    }

    async fn history_cursor(&self, at: i64) -> Result<i64> {
        self.changes_cursor(at).await
    }

    async fn history_range(
        &self,
        after: i64,
        until: Option<i64>,
        limit: u64,
    ) -> Result<Vec<HistoryRecord>> {
        self.changes(after, until, limit).await
    }

    async fn deposits(&self, limit: u64) -> Result<Vec<DepositRecord>> {
        let sql = format!(
            "SELECT {} FROM deposits ORDER BY watermark DESC, resend DESC LIMIT $1",
            rows::DEPOSIT
        );
        let rows = self.all(Stmt::new(sql).bind(int(limit))).await?;
        rows.iter().map(rows::deposit::<D::DB>).collect()
    }

    async fn get_template(&self, prefix: &str, version: &str) -> Result<Option<TemplateRecord>> {
        self.template(prefix, version).await
    }

    async fn list_templates(&self, prefix: Option<&str>) -> Result<Vec<TemplateRecord>> {
        self.templates(prefix).await
    }

    async fn template_history(
        &self,
        prefix: &str,
        version: Option<&str>,
        limit: u64,
    ) -> Result<Vec<TemplateChange>> {
        self.template_changes(prefix, version, limit).await
    }

    async fn get_token(&self, hash: &[u8]) -> Result<Option<TokenRecord>> {
        self.token(hash).await
    }

    async fn unique_holders(
        &self,
        prefix: &str,
        index: u32,
        values: &[String],
    ) -> Result<Vec<(String, String)>> {
        self.holders(prefix, index, values).await
    }

    async fn daily_stats(&self, from: &str, to: &str) -> Result<Vec<idnode_store::StatRow>> {
        self.stat_rows(from, to).await
    }

    async fn stats_clients(&self, from: &str, to: &str) -> Result<Vec<(String, String, Vec<u8>)>> {
        self.client_sketches(from, to).await
    }

    async fn usage(&self, from: &str, to: &str) -> Result<Vec<(String, String, i64)>> {
        let stmt = Stmt::new(
            "SELECT day, metric, value FROM usage WHERE day >= $1 AND day <= $2 \
             ORDER BY day, metric",
        )
        .bind(from)
        .bind(to);
        let rows = self.all(stmt).await?;
        rows.iter()
            .map(|r| {
                let c = Cols::<D::DB>(r);
                Ok((c.string("day")?, c.string("metric")?, c.int("value")?))
            })
            .collect()
    }

    async fn capture(&self, capture: &NewCapture) -> Result<CaptureRecord> {
        self.capture_events(capture).await
    }

    async fn capture_job(&self, id: i64) -> Result<Option<CaptureRecord>> {
        self.job(id).await
    }

    async fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>> {
        self.query_events(filter).await
    }

    async fn trace_links(
        &self,
        keys: &[String],
        from_roles: &[i64],
        to_roles: &[i64],
    ) -> Result<Vec<TraceLink>> {
        self.links(keys, from_roles, to_roles).await
    }

    async fn event_values(
        &self,
        field: EventField,
        readable: &Readable,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<String>> {
        self.values(field, readable, after, limit).await
    }

    async fn grants(&self, owner: Option<i64>, grantee: Option<i64>) -> Result<Vec<Grant>> {
        self.grant_rows(owner, grantee).await
    }

    async fn set_grant(&self, grant: &Grant, present: bool, by: &Attribution) -> Result<bool> {
        self.write_grant(grant, present, by).await
    }

    async fn save_query(&self, query: &NamedQuery, by: &Attribution) -> Result<bool> {
        self.insert_query(query, by).await
    }

    async fn named_queries(&self, owner: i64, name: Option<&str>) -> Result<Vec<NamedQuery>> {
        self.query_rows(owner, name).await
    }

    async fn delete_query(&self, owner: i64, name: &str, by: &Attribution) -> Result<bool> {
        self.remove_query(owner, name, by).await
    }

    async fn save_subscription(&self, subscription: &Subscription, by: &Attribution) -> Result<()> {
        self.insert_subscription(subscription, by).await
    }

    async fn subscriptions(&self, owner: i64, query: Option<&str>) -> Result<Vec<Subscription>> {
        self.subscription_rows(Some(owner), query, None).await
    }

    async fn subscription(&self, id: &str) -> Result<Option<Subscription>> {
        Ok(self.subscription_rows(None, None, Some(id)).await?.pop())
    }

    async fn delete_subscription(
        &self,
        owner: i64,
        query: &str,
        id: &str,
        by: &Attribution,
    ) -> Result<bool> {
        self.remove_subscription(owner, query, id, by).await
    }

    async fn due_deliveries(&self, now: i64, limit: u64) -> Result<Vec<Delivery>> {
        self.due(now, limit).await
    }

    async fn settle_delivery(&self, delivery: &Delivery, settled: &Settled) -> Result<()> {
        self.settle(delivery, settled).await
    }

    async fn due_schedules(&self, now: i64, limit: u64) -> Result<Vec<Subscription>> {
        self.scheduled(now, limit).await
    }

    async fn reschedule(
        &self,
        id: &str,
        min_record_time: i64,
        next_run: i64,
        notified: Option<i64>,
    ) -> Result<()> {
        self.move_on(id, min_record_time, next_run, notified).await
    }
}

/// Bytes the readiness probe writes while the disk was last found full.
const PROBE_BYTES: i64 = 1024 * 1024;
