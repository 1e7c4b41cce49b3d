//! EPCIS events: a capture in one transaction, event queries on the indexed fields, the
//! links of one trace step, read grants.

use idnode_store::{
    now_millis, CaptureRecord, CaptureState, EventField, EventFilter, EventOrder, EventRecord,
    NewCapture, NotStored, Readable, Result, StoreError, TraceLink,
};

use crate::sql::{Cols, Param, Stmt};
use crate::{Conn, Dialect, SqlStore};

/// SQL text with its parameters, placeholders numbered or anonymous as the dialect wants.
pub(crate) struct Sql<'q> {
    text: String,
    params: Vec<Param<'q>>,
    numbered: bool,
}

impl<'q> Sql<'q> {
    pub(crate) fn new(head: &str, numbered: bool) -> Self {
        Self {
            text: head.to_owned(),
            params: Vec::new(),
            numbered,
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `p`.
    pub(crate) fn param(&mut self, p: impl Into<Param<'q>>) -> &mut Self {
        self.params.push(p.into());
        if self.numbered {
            self.text.push('$');
            self.text.push_str(&self.params.len().to_string());
        } else {
            self.text.push('?');
        }
        self
    }

    /// Appends `(p1, p2, …)`.
    pub(crate) fn list<P: Into<Param<'q>>>(&mut self, items: impl IntoIterator<Item = P>) {
        self.push("(");
        for (i, p) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(p);
        }
        self.push(")");
    }

    pub(crate) fn stmt(self) -> Stmt<'q> {
        self.params
            .into_iter()
            .fold(Stmt::new(self.text), Stmt::bind)
    }
}

const EVENT_COLUMNS: &str = "e.id, e.owner, e.capture, e.hash, e.event_id, e.declares_error, \
     e.event_type, e.event_time, e.record_time, e.action, e.biz_step, e.disposition, \
     e.read_point, e.biz_location, e.body, c.context";

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn capture_events(&self, capture: &NewCapture) -> Result<CaptureRecord> {
        let now = now_millis();
        let mut w = self.writer().await?;
        let mut tx = w.begin().await?;
        let mut record = CaptureRecord {
            id: 0,
            owner: capture.owner,
            actor: capture.actor.clone(),
            created_at: now,
            rollback: capture.rollback,
            state: CaptureState::Success,
            events: i64::try_from(capture.events.len() + capture.refused.len()).unwrap_or(i64::MAX),
            stored: 0,
            not_stored: capture.refused.clone(),
        };
        record.id = insert_job::<D>(&mut tx, &record, &capture.context).await?;
        let ids = D::insert_events(&mut tx, &record, &capture.events, now).await?;
        record.stored = ids.iter().flatten().count() as i64;
        // Not inserted: its owner holds the same event (possibly from earlier in this one).
        record.not_stored.extend(
            capture
                .events
                .iter()
                .zip(&ids)
                .filter(|(_, id)| id.is_none())
                .map(|(e, _)| NotStored {
                    index: e.index,
                    event_id: e.event_id.clone(),
                    duplicate: true,
                    reason: String::new(),
                }),
        );
        record.not_stored.sort_by_key(|n| n.index);
        if !capture.refused.is_empty() {
            record.state = if record.stored > 0 {
                CaptureState::Partial
            } else {
                CaptureState::Failed
            };
        }
        let keys = crate::capture::key_rows(&capture.events, &ids);
        D::insert_keys(&mut tx, &keys).await?;
        Stmt::new(
            "UPDATE epcis_captures SET state = $1, stored = $2, not_stored = $3 WHERE id = $4",
        )
        .bind(record.state.as_str())
        .bind(record.stored)
        .bind(serde_json::to_string(&record.not_stored).unwrap_or_default())
        .bind(record.id)
        .execute::<D::DB>(&mut tx)
        .await
        .map_err(D::error)?;
        if record.stored > 0 {
            crate::subscriptions::enqueue_capture::<D>(&mut tx, record.id, now).await?;
            crate::announce::<D>(
                &mut tx,
                self.instance,
                &[idnode_store::Change::Captured(record.id)],
            )
            .await?;
            // Audited: the capture and the hash IDs of the events it stored.
            let by = idnode_store::Attribution {
                actor: capture.actor.clone(),
                origin: capture.origin.clone(),
            };
            let stored: Vec<&[u8]> = capture
                .events
                .iter()
                .zip(&ids)
                .filter(|(_, id)| id.is_some())
                .map(|(e, _)| e.hash.as_bytes())
                .collect();
            let target = format!("capture {} ({} events)", record.id, record.stored);
            let e = crate::audit::entry(&by, "epcis.capture", target, &stored, self.audit);
            crate::audit::chain::<D>(&mut tx, e).await?;
        }
        tx.commit().await.map_err(D::error)?;
        w.settle();
        Ok(record)
    }

    pub(crate) async fn job(&self, id: i64) -> Result<Option<CaptureRecord>> {
        let stmt = Stmt::new(
            "SELECT id, owner, actor, created_at, rollback, state, events, stored, not_stored \
             FROM epcis_captures WHERE id = $1",
        )
        .bind(id);
        let Some(row) = self.optional(stmt).await? else {
            return Ok(None);
        };
        let c = Cols::<D::DB>(&row);
        Ok(Some(CaptureRecord {
            id: c.int("id")?,
            owner: c.int("owner")?,
            actor: c.string("actor")?,
            created_at: c.int("created_at")?,
            rollback: c.int("rollback")? != 0,
            state: c.parsed("state", CaptureState::parse)?,
            events: c.int("events")?,
            stored: c.int("stored")?,
            not_stored: c.parsed("not_stored", |s| serde_json::from_str(s).ok())?,
        }))
    }

    pub(crate) async fn query_events(&self, f: &EventFilter) -> Result<Vec<EventRecord>> {
        let mut q = Sql::new(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM epcis_events e \
                 JOIN epcis_captures c ON c.id = e.capture WHERE "
            ),
            D::NUMBERED,
        );
        readable(&mut q, "e", &f.readable);
        filters(&mut q, f);
        let (col, dir) = match (f.order, f.descending) {
            (EventOrder::EventTime, false) => ("e.event_time", ">"),
            (EventOrder::EventTime, true) => ("e.event_time", "<"),
            (EventOrder::RecordTime, false) => ("e.id", ">"),
            (EventOrder::RecordTime, true) => ("e.id", "<"),
        };
        if let Some((value, id)) = f.after {
            q.push(&format!(" AND ({col} {dir} "))
                .param(value)
                .push(&format!(" OR ({col} = "))
                .param(value)
                .push(&format!(" AND e.id {dir} "))
                .param(id)
                .push("))");
        }
        let order = if f.descending { "DESC" } else { "ASC" };
        q.push(&format!(" ORDER BY {col} {order}, e.id {order} LIMIT "))
            .param(i64::try_from(f.limit).unwrap_or(i64::MAX));
        let rows = self.all(q.stmt()).await?;
        rows.iter().map(|r| event_row::<D>(r)).collect()
    }

    pub(crate) async fn links(
        &self,
        keys: &[String],
        from_roles: &[i64],
        to_roles: &[i64],
    ) -> Result<Vec<TraceLink>> {
        let mut out = Vec::new();
        // One statement for the whole frontier: its keys as one JSON parameter. `f`: the
        // frontier's rows of epcis_keys; `g`: each with the events of its step, its own event
        // and, when that event has a transformationID, every other event with the same one
        // (which joins inputs and outputs captured apart); then each such event's keys.
        let list = serde_json::to_string(keys).unwrap_or_default();
        let [keys_from, k_role, k_key] = D::event_keys("e");
        let mut q = Sql::new(
            "WITH f AS (SELECT a.key, a.role, a.event FROM ",
            D::NUMBERED,
        );
        q.push(D::JSON_TABLE.0)
            .param(list.as_str())
            .push(D::JSON_TABLE.1);
        q.push(" JOIN epcis_keys a ON a.key = q.value WHERE a.role IN ");
        q.list(from_roles.iter().copied());
        q.push(&format!(
            "), g AS (SELECT f.key, f.role, f.event AS from_id, f.event AS to_id FROM f \
             UNION ALL SELECT f.key, f.role, f.event, o.id FROM f \
             JOIN epcis_events t ON t.id = f.event \
             JOIN epcis_events o ON o.transformation_id = t.transformation_id AND o.id <> t.id) \
             SELECT g.key AS from_key, g.role AS from_role, {k_key} AS to_key, \
             {k_role} AS to_role, e.id, e.event_id, e.hash, e.event_type, e.event_time, e.action, \
             e.owner, e.biz_step, e.transformation_id AS tid, {} AS usable, \
             ea.id AS from_event, ea.owner AS from_owner, ea.biz_step AS from_step, \
             CASE WHEN ea.id = e.id THEN NULL ELSE {} END AS from_usable \
             FROM g JOIN epcis_events ea ON ea.id = g.from_id \
             JOIN epcis_events e ON e.id = g.to_id, {keys_from} WHERE {k_role} IN ",
            usable::<D>("e"),
            usable::<D>("ea")
        ));
        q.list(to_roles.iter().copied());
        for row in &self.all(q.stmt()).await? {
            let c = Cols::<D::DB>(row);
            let usable = c.int("usable")? == 1;
            out.push(TraceLink {
                from: c.string("from_key")?,
                from_role: c.int("from_role")?,
                to: c.string("to_key")?,
                to_role: c.int("to_role")?,
                event: c.int("id")?,
                event_id: event_id(&c)?,
                event_type: c.string("event_type")?,
                event_time: c.int("event_time")?,
                action: c.opt_string("action")?,
                from_event: c.int("from_event")?,
                from_owner: c.int("from_owner")?,
                from_biz_step: c.opt_string("from_step")?,
                // NULL when the step is one event (its usability was computed once).
                from_usable: c.opt_int("from_usable")?.map_or(usable, |u| u == 1),
                owner: c.int("owner")?,
                biz_step: c.opt_string("biz_step")?,
                usable,
                // Events joined by a transformationID share it.
                transformation_id: c.opt_string("tid")?,
            });
        }
        Ok(out)
    }

    pub(crate) async fn values(
        &self,
        field: EventField,
        r: &Readable,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<String>> {
        let col = field.column();
        let mut q = Sql::new(
            &format!(
                "SELECT DISTINCT e.{col} AS v FROM epcis_events e WHERE e.{col} IS NOT NULL AND "
            ),
            D::NUMBERED,
        );
        readable(&mut q, "e", r);
        if let Some(a) = after {
            q.push(&format!(" AND e.{col} > ")).param(a.to_owned());
        }
        q.push(" ORDER BY v LIMIT ")
            .param(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = self.all(q.stmt()).await?;
        rows.iter().map(|r| Cols::<D::DB>(r).string("v")).collect()
    }
}

async fn insert_job<D: Dialect>(
    conn: &mut Conn<D>,
    r: &CaptureRecord,
    context: &str,
) -> Result<i64> {
    let row = Stmt::new(
        "INSERT INTO epcis_captures (owner, actor, created_at, rollback, state, events, \
         stored, not_stored, context) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(r.owner)
    .bind(&r.actor)
    .bind(r.created_at)
    .bind(i64::from(r.rollback))
    .bind(r.state.as_str())
    .bind(r.events)
    .bind(r.stored)
    .bind(serde_json::to_string(&r.not_stored).unwrap_or_default())
    .bind(context)
    .optional::<D::DB>(conn)
    .await
    .map_err(D::error)?
    .ok_or_else(|| StoreError::Corrupt("INSERT … RETURNING gave no row".into()))?;
    Cols::<D::DB>(&row).int("id")
}

/// `1` for an event of `alias` that counts (declares no error and no error was declared
/// about it by its owner), `0` otherwise.
fn usable<D: Dialect>(alias: &str) -> String {
    format!(
        "CAST(CASE WHEN {alias}.declares_error = 0 AND NOT EXISTS (SELECT 1 FROM epcis_events d \
         WHERE {} = {} AND d.owner = {alias}.owner AND \
         d.declares_error = 1) THEN 1 ELSE 0 END AS BIGINT)",
        D::event_id("d"),
        D::event_id(alias)
    )
}

/// The eventID of a row holding `event_id` and `hash`: its own, or its hash ID when it has
/// none (`''`, migration 0019).
fn event_id<DB: crate::sql::Sql>(c: &Cols<'_, DB>) -> Result<String> {
    let id = c.string("event_id")?;
    if id.is_empty() {
        crate::capture::hash_id(&c.bytes("hash")?)
    } else {
        Ok(id)
    }
}

/// `(…)`: the events of `alias` that `r` may read.
fn readable(q: &mut Sql<'_>, alias: &str, r: &Readable) {
    if r.all {
        q.push("1 = 1");
        return;
    }
    q.push("(1 = 0");
    if !r.owners.is_empty() {
        q.push(&format!(" OR {alias}.owner IN "));
        q.list(r.owners.iter().copied());
    }
    for (owner, step) in &r.steps {
        q.push(&format!(" OR ({alias}.owner = "))
            .param(*owner)
            .push(&format!(" AND {alias}.biz_step = "))
            .param(step.clone())
            .push(")");
    }
    q.push(")");
}

/// The indexed conditions of `f`, each `AND …`.
fn filters<'q>(q: &mut Sql<'q>, f: &'q EventFilter) {
    let lists: [(&str, &'q [String]); 7] = [
        ("e.event_type", &f.event_types),
        ("e.action", &f.actions),
        ("e.biz_step", &f.biz_steps),
        ("e.disposition", &f.dispositions),
        ("e.read_point", &f.read_points),
        ("e.biz_location", &f.biz_locations),
        ("e.transformation_id", &f.transformation_ids),
    ];
    for (col, values) in lists {
        if !values.is_empty() {
            q.push(&format!(" AND {col} IN "));
            q.list(values.iter().map(String::as_str));
        }
    }
    if let Some(capture) = f.capture {
        q.push(" AND e.capture = ").param(capture);
    }
    if !f.event_ids.is_empty() {
        // An event's hash ID names it too. (An event without an eventID of its own holds
        // '' as event_id; only the others are indexed, migration 0019. The index's
        // condition is written out for the planners to match.)
        q.push(" AND ((e.event_id <> '' AND e.event_id IN ");
        q.list(f.event_ids.iter().map(String::as_str));
        q.push(")");
        let digests: Vec<Vec<u8>> = f
            .event_ids
            .iter()
            .filter_map(|id| idnode_core::hash_id::hash_id_digest(id))
            .map(Vec::from)
            .collect();
        if !digests.is_empty() {
            q.push(" OR e.hash IN ");
            q.list(digests);
        }
        q.push(")");
    }
    let bounds = [
        ("e.event_time >= ", f.ge_event_time),
        ("e.event_time < ", f.lt_event_time),
        ("e.record_time >= ", f.ge_record_time),
        ("e.record_time < ", f.lt_record_time),
    ];
    for (cond, v) in bounds {
        if let Some(v) = v {
            q.push(&format!(" AND {cond}")).param(v);
        }
    }
    for (roles, keys) in &f.keys {
        q.push(" AND e.id IN (SELECT event FROM epcis_keys WHERE role IN ");
        q.list(roles.iter().copied());
        q.push(" AND key IN ");
        q.list(keys.iter().map(String::as_str));
        q.push(")");
    }
    if let Some(d) = f.declares_error {
        q.push(" AND e.declares_error = ").param(i64::from(d));
    }
}

fn event_row<D: Dialect>(row: &<D::DB as sqlx::Database>::Row) -> Result<EventRecord> {
    let c = Cols::<D::DB>(row);
    let hash = crate::capture::hash_id(&c.bytes("hash")?)?;
    let own = c.string("event_id")?;
    Ok(EventRecord {
        id: c.int("id")?,
        owner: c.int("owner")?,
        capture: c.int("capture")?,
        // '' for an event named by its hash ID only (migration 0019).
        event_id: if own.is_empty() { hash.clone() } else { own },
        hash,
        declares_error: c.int("declares_error")? != 0,
        event_type: c.string("event_type")?,
        event_time: c.int("event_time")?,
        record_time: c.int("record_time")?,
        action: c.opt_string("action")?,
        biz_step: c.opt_string("biz_step")?,
        disposition: c.opt_string("disposition")?,
        read_point: c.opt_string("read_point")?,
        biz_location: c.opt_string("biz_location")?,
        body: c.string("body")?,
        context: c.string("context")?,
    })
}
