//! Records from rows: the column lists the shared SQL selects and how each is decoded.

use idnode_core::json::values_from_json;
use idnode_core::packed::unpack_names;
use idnode_core::HandleValue;
use idnode_store::{
    profile_from_json, DepositRecord, Enterprise, EnterpriseStatus, HandleRecord, HistoryAction,
    HistoryRecord, Idempotency, OutboxRow, OutboxState, PrefixRecord, PrefixStatus, Result, Review,
    SecretHash, StoreError,
};

use crate::sql::{Cols, Sql};
use crate::types::Types;

/// Columns of [`handle`].
pub(crate) const HANDLE: &str =
    "COALESCE(handle, folded) AS handle, vals, packed, version, created_at, updated_at";
/// Columns of [`prefix`].
pub(crate) const PREFIX: &str =
    "prefix, enterprise_id, status, created_at, review, review_note, template_required";
/// Columns of [`enterprise`].
pub(crate) const ENTERPRISE: &str = "id, name, status, created_at, profile, upstream_id";
/// Columns of [`history`].
pub(crate) const HISTORY: &str = "COALESCE(orig, id) AS id, handle, action, actor, at, \
     vals_before, vals_after, packed_before, packed_after, names";
/// Columns of [`outbox`].
pub(crate) const OUTBOX: &str =
    "id, kind, payload, cursor, state, attempts, next_at, last_error, created_at, done_at";
/// Columns of [`deposit`].
pub(crate) const DEPOSIT: &str =
    "id, kind, watermark, prev_id, resend, history_cursor, nodes, handles, files, created_at";
/// Columns of [`secret`].
pub(crate) const SECRET: &str = "alg, salt, iterations, hash, sealed";
/// Columns of [`idempotency`] (the status column is INT on PostgreSQL).
pub(crate) const IDEMPOTENCY: &str =
    "actor, key, request_hash, CAST(status AS BIGINT) AS status, body";

pub(crate) fn handle<DB: Sql>(r: &DB::Row, types: &Types) -> Result<HandleRecord> {
    let c = Cols::<DB>(r);
    Ok(HandleRecord {
        handle: c.string("handle")?,
        values: values::<DB>(&c, types, "packed", "vals")?.unwrap_or_default(),
        version: c.int("version")?,
        created_at: c.int("created_at")?,
        updated_at: c.int("updated_at")?,
    })
}

pub(crate) fn prefix<DB: Sql>(r: &DB::Row) -> Result<PrefixRecord> {
    let c = Cols::<DB>(r);
    Ok(PrefixRecord {
        prefix: c.string("prefix")?,
        enterprise_id: c.opt_int("enterprise_id")?,
        status: c.parsed("status", PrefixStatus::parse)?,
        created_at: c.int("created_at")?,
        review: c.parsed("review", Review::parse)?,
        review_note: c.string("review_note")?,
        template_required: c.int("template_required")? != 0,
    })
}

pub(crate) fn enterprise<DB: Sql>(r: &DB::Row) -> Result<Enterprise> {
    let c = Cols::<DB>(r);
    Ok(Enterprise {
        id: c.int("id")?,
        name: c.string("name")?,
        status: c.parsed("status", EnterpriseStatus::parse)?,
        created_at: c.int("created_at")?,
        profile: profile_from_json(c.str("profile")?)?,
        upstream_id: c.opt_string("upstream_id")?,
    })
}

pub(crate) fn history<DB: Sql>(r: &DB::Row, types: &Types) -> Result<HistoryRecord> {
    let c = Cols::<DB>(r);
    let action = c.str("action")?;
    Ok(HistoryRecord {
        id: c.int("id")?,
        handle: c.string("handle")?,
        action: HistoryAction::parse(action)
            .ok_or_else(|| StoreError::Corrupt(format!("history action {action}")))?,
        actor: c.string("actor")?,
        at: c.int("at")?,
        before: values::<DB>(&c, types, "packed_before", "vals_before")?,
        after: values::<DB>(&c, types, "packed_after", "vals_after")?,
    })
}

/// The names of a history row of a run of creates (migration 0025).
pub(crate) fn names<DB: Sql>(r: &DB::Row) -> Result<Option<Vec<String>>> {
    Cols::<DB>(r)
        .opt_bytes("names")?
        .map(|b| unpack_names(&b).map_err(|e| StoreError::Corrupt(format!("history names: {e}"))))
        .transpose()
}

/// Values from their packed column, or from their JSON text column (rows written before
/// migration 0025); `None` when both are NULL.
fn values<DB: Sql>(
    c: &Cols<'_, DB>,
    types: &Types,
    packed: &str,
    json: &str,
) -> Result<Option<Vec<HandleValue>>> {
    let corrupt = |e: idnode_core::CoreError| StoreError::Corrupt(format!("{packed}: {e}"));
    if let Some(b) = c.opt_bytes(packed)? {
        return types.unpack(&b).map(Some).map_err(corrupt);
    }
    c.opt_str(json)?
        .map(|t| values_from_json(t).map_err(corrupt))
        .transpose()
}

pub(crate) fn secret<DB: Sql>(r: &DB::Row) -> Result<SecretHash> {
    let c = Cols::<DB>(r);
    Ok(SecretHash {
        alg: c.string("alg")?,
        salt: c.bytes("salt")?,
        iterations: narrow(c.int("iterations")?, "iterations")?,
        hash: c.bytes("hash")?,
        sealed: c.opt_bytes("sealed")?,
    })
}

pub(crate) fn idempotency<DB: Sql>(r: &DB::Row) -> Result<Idempotency> {
    let c = Cols::<DB>(r);
    Ok(Idempotency {
        actor: c.string("actor")?,
        key: c.string("key")?,
        request_hash: c.string("request_hash")?,
        status: narrow(c.int("status")?, "status")?,
        body: c.string("body")?,
    })
}

pub(crate) fn outbox<DB: Sql>(r: &DB::Row) -> Result<OutboxRow> {
    let c = Cols::<DB>(r);
    Ok(OutboxRow {
        id: c.int("id")?,
        kind: c.string("kind")?,
        payload: c.string("payload")?,
        cursor: narrow(c.int("cursor")?, "cursor")?,
        state: c.parsed("state", OutboxState::parse)?,
        attempts: narrow(c.int("attempts")?, "attempts")?,
        next_at: c.int("next_at")?,
        last_error: c.opt_string("last_error")?,
        created_at: c.int("created_at")?,
        done_at: c.opt_int("done_at")?,
    })
}

pub(crate) fn deposit<DB: Sql>(r: &DB::Row) -> Result<DepositRecord> {
    let c = Cols::<DB>(r);
    Ok(DepositRecord {
        id: c.string("id")?,
        kind: c.string("kind")?,
        watermark: c.int("watermark")?,
        prev_id: c.opt_string("prev_id")?,
        resend: narrow(c.int("resend")?, "resend")?,
        history_cursor: c.int("history_cursor")?,
        nodes: narrow(c.int("nodes")?, "nodes")?,
        handles: narrow(c.int("handles")?, "handles")?,
        files: serde_json::from_str(c.str("files")?)
            .map_err(|e| StoreError::Corrupt(format!("deposit files: {e}")))?,
        created_at: c.int("created_at")?,
    })
}

/// An integer column into a narrower type; out of range is corruption.
pub(crate) fn narrow<T: TryFrom<i64>>(v: i64, col: &str) -> Result<T> {
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("column {col} out of range: {v}")))
}
