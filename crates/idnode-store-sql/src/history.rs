//! The history of handles, kept small (migration 0025): one row per update or delete with
//! the values before, packed; one row per run of creates (handle `''`, the created names
//! packed in `names`), which each created handle points at (`handles.created_in`); and,
//! when such a handle is deleted, a copy of its create (`orig` = the run) so that its
//! history outlives it. Rows written before 0025 (one per create, values as JSON text)
//! read the same.

use idnode_core::packed::pack_names;
use idnode_store::{fill_created_values, HistoryAction, HistoryRecord, Result, Store as _};

use crate::sql::{Cols, Stmt};
use crate::{int, rows, Conn, Dialect, NewHandle, SqlStore};

/// Writes the history row of a run of creates; returns its id.
pub(crate) async fn insert_run<D: Dialect>(
    conn: &mut Conn<D>,
    actor: &str,
    now: i64,
    rows: &[NewHandle<'_>],
) -> Result<i64> {
    let names = pack_names(rows.iter().map(|r| r.handle));
    let row = Stmt::new(
        "INSERT INTO history (handle, action, actor, at, names) \
         VALUES ('', 'create', $1, $2, $3) RETURNING id",
    )
    .bind(actor)
    .bind(now)
    .bind(names)
    .all::<D::DB>(conn)
    .await
    .map_err(D::error)?;
    let row = row
        .first()
        .ok_or_else(|| idnode_store::StoreError::Corrupt("insert returned no id".into()))?;
    Cols::<D::DB>(row).int("id")
}

/// Copies the create of `handle` from its run `run`, before the handle is deleted.
pub(crate) async fn keep_create<D: Dialect>(
    conn: &mut Conn<D>,
    handle: &str,
    run: i64,
) -> Result<()> {
    Stmt::new(
        "INSERT INTO history (handle, action, actor, at, orig) \
         SELECT $1, 'create', actor, at, id FROM history WHERE handle = '' AND id = $2",
    )
    .bind(handle)
    .bind(run)
    .execute::<D::DB>(conn)
    .await
    .map_err(D::error)?;
    Ok(())
}

impl<D: Dialect> SqlStore<D> {
    /// [`idnode_store::Store::history`]: newest first, the live handle's create read from
    /// its run.
    pub(crate) async fn handle_history(
        &self,
        handle: &str,
        limit: u64,
    ) -> Result<Vec<HistoryRecord>> {
        let sql = format!(
            "SELECT {} FROM history WHERE handle = $1 ORDER BY COALESCE(orig, id) DESC LIMIT $2",
            rows::HISTORY
        );
        let stored = self
            .all(Stmt::new(sql).bind(handle).bind(int(limit)))
            .await?;
        let mut out = self.decode(&stored, rows::history::<D::DB>).await?;
        let run = Stmt::new(
            "SELECT r.id, r.actor, r.at FROM handles h JOIN history r \
             ON r.handle = '' AND r.id = h.created_in \
             WHERE h.folded = $1 AND COALESCE(h.handle, h.folded) = $2",
        )
        .bind(idnode_store::fold(handle))
        .bind(handle);
        if let Some(r) = self.optional(run).await? {
            let c = Cols::<D::DB>(&r);
            out.push(HistoryRecord {
                id: c.int("id")?,
                handle: handle.to_owned(),
                action: HistoryAction::Create,
                actor: c.string("actor")?,
                at: c.int("at")?,
                before: None,
                after: None,
            });
            // Rows after the run are newer; rows of an earlier life of the handle older.
            out.sort_by_key(|r| std::cmp::Reverse(r.id));
            out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        let current = if out.first().is_some_and(|r| r.after.is_none()) {
            self.get_handle(handle).await?
        } else {
            None
        };
        fill_created_values(&mut out, current.as_ref().map(|c| c.values.as_slice()));
        Ok(out)
    }

    /// [`idnode_store::Store::history_range`]: by id, a run of creates as one record per
    /// handle (all with the run's id); copies of creates are not changes and are skipped.
    pub(crate) async fn changes(
        &self,
        after: i64,
        until: Option<i64>,
        limit: u64,
    ) -> Result<Vec<HistoryRecord>> {
        let sql = format!(
            "SELECT {} FROM history WHERE id > $1 AND (CAST($2 AS BIGINT) IS NULL OR id <= $2) \
             AND orig IS NULL ORDER BY id LIMIT $3",
            rows::HISTORY
        );
        let stmt = Stmt::new(sql).bind(after).bind(until).bind(int(limit));
        let rows = self.all(stmt).await?;
        let records = self.decode(&rows, rows::history::<D::DB>).await?;
        let mut out = Vec::new();
        for (r, record) in rows.iter().zip(records) {
            match rows::names::<D::DB>(r)? {
                Some(names) => out.extend(names.into_iter().map(|handle| HistoryRecord {
                    handle,
                    ..record.clone()
                })),
                None => out.push(record),
            }
        }
        Ok(out)
    }

    /// [`idnode_store::Store::history_cursor`].
    pub(crate) async fn changes_cursor(&self, at: i64) -> Result<i64> {
        let row = self
            .one(
                Stmt::new("SELECT max(id) AS id FROM history WHERE at <= $1 AND orig IS NULL")
                    .bind(at),
            )
            .await?;
        Ok(Cols::<D::DB>(&row).opt_int("id")?.unwrap_or(0))
    }
}
