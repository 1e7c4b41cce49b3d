//! The write path of a capture: a capture's events and their identifier keys, portable SQL
//! (PostgreSQL replaces both inserts by `COPY`, `idnode-store-postgres/src/events.rs`).

use std::collections::HashMap;

use idnode_store::{CaptureRecord, NewEvent, Result, StoreError};

use crate::events::Sql;
use crate::sql::{Cols, Param};
use crate::{Conn, Dialect};

/// Events per multi-row insert (16 parameters each).
const EVENT_ROWS: usize = 400;
/// Keys per multi-row insert (3 parameters each).
const KEY_ROWS: usize = 2_000;

/// One row of `epcis_keys`: an identifier key an event names, its role and the event.
#[derive(Clone, Copy, Debug)]
pub struct KeyRow<'a> {
    /// The identifier key.
    pub key: &'a str,
    /// The role code.
    pub role: i64,
    /// The event's id.
    pub event: i64,
}

/// An event's identifier keys as its row holds them (`keys`, migration 0018): a JSON array
/// of `[role, key]`.
pub fn keys_json(e: &NewEvent) -> String {
    serde_json::to_string(&e.keys).unwrap_or_else(|_| "[]".into())
}

/// An event hash ID as the tables hold it: the 32 bytes of its digest (migration 0017).
pub fn hash_digest(id: &str) -> Result<[u8; 32]> {
    idnode_core::hash_id::hash_id_digest(id).ok_or_else(|| not_a_hash_id(id))
}

fn not_a_hash_id(id: &str) -> StoreError {
    StoreError::Corrupt(format!("'{id}' is not an event hash ID"))
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
    let keys: Vec<String> = events.iter().map(keys_json).collect();
    for ((chunk, digests), keys) in events
        .chunks(EVENT_ROWS)
        .zip(digests.chunks(EVENT_ROWS))
        .zip(keys.chunks(EVENT_ROWS))
    {
        let mut q = Sql::new(
            "INSERT INTO epcis_events (owner, capture, hash, event_id, declares_error, \
             event_type, event_time, record_time, action, biz_step, disposition, read_point, \
             biz_location, transformation_id, body, keys) VALUES ",
            D::NUMBERED,
        );
        for (i, ((e, digest), keys)) in chunk.iter().zip(digests).zip(keys).enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.list([
                Param::from(job.owner),
                Param::from(job.id),
                Param::from(&digest[..]),
                Param::from(e.stored_event_id()),
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
                Param::from(keys.as_str()),
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

/// The rows of `epcis_keys` for the inserted events.
pub(crate) fn key_rows<'e>(events: &'e [NewEvent], ids: &[Option<i64>]) -> Vec<KeyRow<'e>> {
    events
        .iter()
        .zip(ids)
        .filter_map(|(e, id)| Some((e, (*id)?)))
        .flat_map(|(e, event)| {
            e.keys.iter().map(move |(role, key)| KeyRow {
                key,
                role: *role,
                event,
            })
        })
        .collect()
}

/// The portable insert of key rows (multi-row `INSERT`).
pub async fn insert_keys<D: Dialect>(conn: &mut Conn<D>, rows: &[KeyRow<'_>]) -> Result<()> {
    for chunk in rows.chunks(KEY_ROWS) {
        let mut q = Sql::new(
            "INSERT INTO epcis_keys (key, role, event) VALUES ",
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
            ]);
        }
        q.stmt().execute::<D::DB>(conn).await.map_err(D::error)?;
    }
    Ok(())
}
