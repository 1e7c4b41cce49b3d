//! A capture's events and keys by `COPY`: ids drawn from the events' sequence first, so the
//! keys can name them. A capture whose COPY meets an event its owner holds already (a
//! duplicate of a stored event, or of one committed by a concurrent capture) takes the
//! portable `INSERT … ON CONFLICT DO NOTHING`, which sorts the duplicates out.

use std::collections::HashSet;

use idnode_store::{CaptureRecord, NewEvent, Result};
use idnode_store_sql::{hash_digest, keys_json, Dialect as _, KeyRow};
use sqlx::PgConnection;

use crate::copy::{copy_in, try_copy, Row};
use crate::PgDialect;

/// See the module documentation.
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    job: &CaptureRecord,
    events: &[NewEvent],
    now: i64,
) -> Result<Vec<Option<i64>>> {
    // The first event of a (hash, flag) pair in the capture gets the row.
    let mut seen = HashSet::new();
    let first: Vec<bool> = events
        .iter()
        .map(|e| seen.insert((e.hash.as_str(), e.declares_error)))
        .collect();
    let mut ids: Vec<i64> =
        sqlx::query_scalar("SELECT nextval('epcis_events_id_seq') FROM generate_series(1, $1)")
            .bind(i64::try_from(seen.len()).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await
            .map_err(PgDialect::error)?;
    ids.sort_unstable();
    let mut ids = ids.into_iter();
    let assigned: Vec<Option<i64>> = first
        .iter()
        .map(|f| if *f { ids.next() } else { None })
        .collect();
    // Checked before the COPY starts: a hash ID the table cannot hold fails the capture.
    let digests = events
        .iter()
        .map(|e| hash_digest(&e.hash))
        .collect::<Result<Vec<_>>>()?;
    let rows: Vec<(&NewEvent, i64, [u8; 32])> = events
        .iter()
        .zip(&assigned)
        .zip(digests)
        .filter_map(|((e, id), digest)| Some((e, (*id)?, digest)))
        .collect();
    let write = |buf: &mut Vec<u8>, (e, id, digest): (&NewEvent, i64, [u8; 32])| {
        let mut row = Row::new(buf, 17);
        row.int(id)
            .int(job.owner)
            .int(job.id)
            .bytes(&digest)
            .text(e.stored_event_id())
            .int(i64::from(e.declares_error))
            .text(&e.event_type)
            .int(e.event_time)
            .int(now);
        for v in [
            &e.action,
            &e.biz_step,
            &e.disposition,
            &e.read_point,
            &e.biz_location,
            &e.transformation_id,
        ] {
            row.opt_text(v.as_deref());
        }
        row.text(&e.body).text(&keys_json(e));
    };
    let statement =
        "COPY epcis_events (id, owner, capture, hash, event_id, declares_error, event_type, \
         event_time, record_time, action, biz_step, disposition, read_point, biz_location, \
         transformation_id, body, keys) FROM STDIN (FORMAT binary)";
    if try_copy(conn, statement, rows, write).await? {
        return Ok(assigned);
    }
    idnode_store_sql::insert_events::<PgDialect>(conn, job, events, now).await
}

/// The key rows by one COPY (they cannot conflict: their events are new).
pub(crate) async fn insert_keys(conn: &mut PgConnection, rows: &[KeyRow<'_>]) -> Result<()> {
    let write = |buf: &mut Vec<u8>, r: &KeyRow<'_>| {
        Row::new(buf, 3).text(r.key).int(r.role).int(r.event);
    };
    copy_in(
        conn,
        "COPY epcis_keys (key, role, event) FROM STDIN (FORMAT binary)",
        rows,
        write,
    )
    .await
    .map(|_| ())
    .map_err(PgDialect::error)
}
