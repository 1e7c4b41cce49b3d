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
mod dialect;
mod embedded;
mod events;
mod grants;
mod handles;
mod history;
mod leases;
pub mod legacy;
mod named;
mod open;
mod ops;
mod rows;
pub mod sql;
mod stats;
mod subscriptions;
mod templates;
mod tokens;
mod types;

use std::sync::Arc;

use async_trait::async_trait;
use idnode_store::{
    Attribution, AuditEntry, Batch, CaptureRecord, Change, ChangeSink, ChangeWatch, Delivery,
    DepositRecord, Enterprise, EventField, EventFilter, EventRecord, Grant, HandleRecord,
    HistoryRecord, Idempotency, NamedQuery, NewCapture, OutboxRow, OutboxState, OutboxStats,
    PrefixRecord, Readable, Result, SecretHash, Settled, SpaceState, Store, StoreError, StoreStats,
    Subscription, TemplateChange, TemplateRecord, TokenRecord, TraceLink,
};
use sqlx::Database;

use crate::sql::{Cols, Stmt};
pub use capture::{hash_digest, insert_events, insert_keys, keys_json, KeyRow};
pub use dialect::{
    existing, is_constraint_violation, Conn, Creates, Dialect, HistoryRow, NewHandle, Pools,
};
pub use embedded::Embedded;

/// A [`Store`] on a SQL database.
#[derive(Debug)]
pub struct SqlStore<D: Dialect> {
    pools: Pools<D::DB>,
    /// Set once the database was reached and prepared (migrated, its type names read):
    /// until then every call tries that first.
    prepared: tokio::sync::OnceCell<()>,
    /// Held by the one call trying to prepare it (the others fail at once meanwhile).
    preparing: tokio::sync::Mutex<()>,
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
            let mut c = self.write_conn().await?;
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
        self.handle_row(handle).await
    }

    async fn get_handles(&self, handles: &[String]) -> Result<Vec<HandleRecord>> {
        self.handle_rows(handles).await
    }

    async fn find_folded(&self, folded: &str) -> Result<Option<String>> {
        self.folded_name(folded).await
    }

    async fn list_handles(
        &self,
        prefix: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<String>)> {
        self.handle_page(prefix, offset, limit).await
    }

    async fn scan_handles(
        &self,
        prefix: Option<&str>,
        after: &str,
        limit: u64,
    ) -> Result<Vec<HandleRecord>> {
        self.handle_scan(prefix, after, limit).await
    }

    async fn apply(&self, batch: &Batch) -> Result<()> {
        let names = self.types.missing(batch);
        if !names.is_empty() {
            self.types
                .add::<D>(&self.pools().await?.write, &names)
                .await?;
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
        ops::head::<D>(&self.pools().await?.write).await
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
