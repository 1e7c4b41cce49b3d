//! A capture's events and keys by `COPY`: ids drawn from the events' sequence first, so the
//! keys can name them. A capture whose COPY meets an event its owner holds already (a
//! duplicate of a stored event, or of one committed by a concurrent capture) takes the
//! portable `INSERT … ON CONFLICT DO NOTHING`, which sorts the duplicates out.

use std::collections::HashSet;
use std::fmt::Write as _;

use idnode_store::{CaptureRecord, NewEvent, Result};
use idnode_store_sql::{hash_hex, keys_json, Dialect as _, KeyRow};
use sqlx::PgConnection;

use crate::copy::{copy_in, field, opt_field, try_copy};
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
    let hexes = events
        .iter()
        .map(|e| hash_hex(&e.hash))
        .collect::<Result<Vec<_>>>()?;
    let head = format!("\t{}\t{}\t", job.owner, job.id);
    let rows: Vec<(&NewEvent, i64, &str)> = events
        .iter()
        .zip(&assigned)
        .zip(hexes)
        .filter_map(|((e, id), hex)| Some((e, (*id)?, hex)))
        .collect();
    let write = |text: &mut String, (e, id, hex): (&NewEvent, i64, &str)| {
        let _ = write!(text, "{id}{head}\\\\x{hex}\t");
        field(text, e.stored_event_id());
        text.push_str(if e.declares_error { "\t1\t" } else { "\t0\t" });
        field(text, &e.event_type);
        let _ = write!(text, "\t{}\t{now}", e.event_time);
        for v in [
            &e.action,
            &e.biz_step,
            &e.disposition,
            &e.read_point,
            &e.biz_location,
            &e.transformation_id,
        ] {
            text.push('\t');
            opt_field(text, v.as_deref());
        }
        text.push('\t');
        field(text, &e.body);
        text.push('\t');
        field(text, &keys_json(e));
        text.push('\n');
    };
    let statement = "COPY epcis_events (id, owner, capture, hash, event_id, declares_error, \
                     event_type, event_time, record_time, action, biz_step, disposition, \
                     read_point, biz_location, transformation_id, body, keys) FROM STDIN";
    if try_copy(conn, statement, rows, write).await? {
        return Ok(assigned);
    }
    idnode_store_sql::insert_events::<PgDialect>(conn, job, events, now).await
}

/// The key rows by one COPY (they cannot conflict: their events are new).
pub(crate) async fn insert_keys(conn: &mut PgConnection, rows: &[KeyRow<'_>]) -> Result<()> {
    let write = |text: &mut String, r: &KeyRow<'_>| {
        field(text, r.key);
        let _ = writeln!(text, "\t{}\t{}", r.role, r.event);
    };
    copy_in(
        conn,
        "COPY epcis_keys (key, role, event) FROM STDIN",
        rows,
        write,
    )
    .await
    .map(|_| ())
    .map_err(PgDialect::error)
}
