//! What differs between the SQL databases ([`Dialect`]) and the row shapes the bulk paths
//! of a dialect receive, with the helpers both dialects' bulk paths use.

use std::collections::HashMap;
use std::future::Future;

use idnode_store::{
    CaptureRecord, ChangeSink, ChangeWatch, HistoryAction, NewEvent, Result, StoreError,
    StoreOptions,
};
use sqlx::{Database, Pool};

use crate::sql::{Cols, Sql, Stmt};
use crate::{insert_events, insert_keys, KeyRow};

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

    /// Opens the database at `url` (a dialect whose connections are made on demand may
    /// leave the rest to [`Dialect::prepare`]).
    fn open(
        url: &str,
        options: &StoreOptions,
    ) -> impl Future<Output = Result<Pools<Self::DB>>> + Send;

    /// Makes the database of `pools` ready for use: waits for a server that is still
    /// starting (when `wait`) and applies pending migrations unless a `replica`. Nothing
    /// for a dialect whose [`Dialect::open`] did that.
    fn prepare(
        pools: &Pools<Self::DB>,
        replica: bool,
        wait: bool,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (pools, replica, wait);
        async { Ok(()) }
    }

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
pub(crate) fn in_list<'q>(head: &str, items: &[&'q str], numbered: bool) -> Stmt<'q> {
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

/// A write connection that is closed, not returned to the pool, unless its work settled (ran
/// to its end, success or error). A write whose future is dropped part-way (its client went
/// away) can leave a sqlx 0.8 PostgreSQL connection anywhere in the protocol: inside `BEGIN`
/// it stays in a transaction nothing ends (sqlx issue 4393), inside `COPY` the reply it
/// never read is not counted and every later statement reads the one before its own. Later
/// transactions on it fail ("unexpected connection status"): a one-hour soak met this when
/// wrk closed its connections with requests in flight. Closing such a connection leaves
/// nothing behind: PostgreSQL rolls back what it had begun.
pub(crate) struct WriteConn<D: Dialect> {
    conn: sqlx::pool::PoolConnection<D::DB>,
    settled: bool,
}

impl<D: Dialect> WriteConn<D> {
    /// A connection of the write pool.
    pub(crate) async fn acquire(pool: &Pool<D::DB>) -> Result<Self> {
        Ok(Self {
            conn: pool.acquire().await.map_err(D::error)?,
            settled: false,
        })
    }

    /// Begins a transaction on it.
    pub(crate) async fn begin(&mut self) -> Result<sqlx::Transaction<'_, D::DB>> {
        sqlx::Connection::begin(&mut *self.conn)
            .await
            .map_err(D::error)
    }

    /// The work ran to its end: the connection may go back to the pool.
    pub(crate) fn settle(&mut self) {
        self.settled = true;
    }
}

impl<D: Dialect> Drop for WriteConn<D> {
    fn drop(&mut self) {
        if !self.settled {
            self.conn.close_on_drop();
        }
    }
}
