//! The write path of a capture: a capture's events and their identifier keys, portable SQL
//! (PostgreSQL replaces both inserts by `COPY`, `idnode-store-postgres/src/events.rs`).

use std::collections::HashMap;

use idnode_store::{CaptureRecord, NewEvent, Result, StoreError};

use crate::events::Sql;
use crate::sql::{Cols, Param, Stmt};
use crate::{Conn, Dialect};

/// Events per multi-row insert (16 parameters each).
const EVENT_ROWS: usize = 400;
/// Keys per multi-row insert (4 parameters each).
const KEY_ROWS: usize = 1_500;

/// One row of `epcis_keys`: an identifier key an event names, its role, the event and the
/// link joining the sides of its step.
#[derive(Clone, Copy, Debug)]
pub struct KeyRow<'a> {
    /// The identifier key.
    pub key: &'a str,
    /// The role code.
    pub role: i64,
    /// The event's id.
    pub event: i64,
    /// The event's link (see migration 0011).
    pub link: i64,
}

/// An event hash ID as the tables hold it: the 32 bytes of its digest (migration 0017).
pub fn hash_digest(id: &str) -> Result<[u8; 32]> {
    idnode_core::hash_id::hash_id_digest(id)
        .ok_or_else(|| StoreError::Corrupt(format!("'{id}' is not an event hash ID")))
}

/// An event hash ID from the 32 bytes the tables hold.
pub(crate) fn hash_id(digest: &[u8]) -> Result<String> {
    if digest.len() == 32 {
        Ok(idnode_core::hash_id::hash_id(digest))
    } else {
        Err(StoreError::Corrupt(format!(
            "an event hash of {} bytes",
            digest.len()
        )))
    }
}

/// The portable insert of a capture's events (multi-row `INSERT … ON CONFLICT DO NOTHING`):
/// for each event its new id, `None` when its owner holds it already (possibly from earlier
/// in this capture).
pub async fn insert_events<D: Dialect>(
    conn: &mut Conn<D>,
    job: &CaptureRecord,
    events: &[NewEvent],
    now: i64,
) -> Result<Vec<Option<i64>>> {
    let mut inserted: HashMap<([u8; 32], bool), i64> = HashMap::new();
    let digests = events
        .iter()
        .map(|e| hash_digest(&e.hash))
        .collect::<Result<Vec<_>>>()?;
    for (chunk, digests) in events.chunks(EVENT_ROWS).zip(digests.chunks(EVENT_ROWS)) {
        let mut q = Sql::new(
            "INSERT INTO epcis_events (owner, capture, hash, event_id, own_id, declares_error, \
             event_type, event_time, record_time, action, biz_step, disposition, read_point, \
             biz_location, transformation_id, body) VALUES ",
            D::NUMBERED,
        );
        for (i, (e, digest)) in chunk.iter().zip(digests).enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.list([
                Param::from(job.owner),
                Param::from(job.id),
                Param::from(&digest[..]),
                Param::from(e.event_id.as_str()),
                Param::from(i64::from(e.event_id != e.hash)),
                Param::from(i64::from(e.declares_error)),
                Param::from(e.event_type.as_str()),
                Param::from(e.event_time),
                Param::from(now),
                Param::from(&e.action),
                Param::from(&e.biz_step),
                Param::from(&e.disposition),
                Param::from(&e.read_point),
                Param::from(&e.biz_location),
                Param::from(&e.transformation_id),
                Param::from(e.body.as_str()),
            ]);
        }
        q.push(" ON CONFLICT DO NOTHING RETURNING id, hash, declares_error");
        for row in &q.stmt().all::<D::DB>(conn).await.map_err(D::error)? {
            let c = Cols::<D::DB>(row);
            let digest = c.bytes("hash")?;
            let digest = <[u8; 32]>::try_from(digest.as_slice())
                .map_err(|_| StoreError::Corrupt("an event hash not of 32 bytes".into()))?;
            inserted.insert((digest, c.int("declares_error")? != 0), c.int("id")?);
        }
    }
    // The first event of a (hash, flag) pair got the row; later copies are duplicates.
    Ok(events
        .iter()
        .zip(digests)
        .map(|(e, d)| inserted.remove(&(d, e.declares_error)))
        .collect())
}

/// The rows of `epcis_keys` for the inserted events, each with its link (see the migration).
pub(crate) async fn key_rows<'e, D: Dialect>(
    conn: &mut Conn<D>,
    events: &'e [NewEvent],
    ids: &[Option<i64>],
) -> Result<Vec<KeyRow<'e>>> {
    let mut rows = Vec::new();
    for (e, id) in events.iter().zip(ids) {
        let Some(id) = *id else { continue };
        let link = match &e.transformation_id {
            Some(tid) => link::<D>(conn, tid, id).await?,
            None => id,
        };
        rows.extend(e.keys.iter().map(|(role, key)| KeyRow {
            key,
            role: *role,
            event: id,
            link,
        }));
    }
    Ok(rows)
}

/// The portable insert of key rows (multi-row `INSERT`).
pub async fn insert_keys<D: Dialect>(conn: &mut Conn<D>, rows: &[KeyRow<'_>]) -> Result<()> {
    for chunk in rows.chunks(KEY_ROWS) {
        let mut q = Sql::new(
            "INSERT INTO epcis_keys (key, role, event, link) VALUES ",
            D::NUMBERED,
        );
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.list([
                Param::from(r.key),
                Param::from(r.role),
                Param::from(r.event),
                Param::from(r.link),
            ]);
        }
        q.stmt().execute::<D::DB>(conn).await.map_err(D::error)?;
    }
    Ok(())
}

/// The link of a transformationID: the first event that named it (waits for a concurrent
/// capture naming it first to commit).
async fn link<D: Dialect>(conn: &mut Conn<D>, tid: &str, id: i64) -> Result<i64> {
    Stmt::new(
        "INSERT INTO epcis_links (transformation_id, link) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tid)
    .bind(id)
    .execute::<D::DB>(conn)
    .await
    .map_err(D::error)?;
    let row = Stmt::new("SELECT link FROM epcis_links WHERE transformation_id = $1")
        .bind(tid)
        .optional::<D::DB>(conn)
        .await
        .map_err(D::error)?
        .ok_or_else(|| StoreError::Corrupt(format!("no link for {tid}")))?;
    Cols::<D::DB>(&row).int("link")
}
