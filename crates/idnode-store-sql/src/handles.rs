//! Reads of handle records: one, many, by folded key, a page of names, a scan.

use std::collections::HashSet;

use idnode_store::{fold, prefix_range, HandleRecord, Result};

use crate::dialect::in_list;
use crate::sql::{Cols, Stmt};
use crate::{int, rows, Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    /// [`idnode_store::Store::get_handle`].
    pub(crate) async fn handle_row(&self, handle: &str) -> Result<Option<HandleRecord>> {
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

    /// [`idnode_store::Store::get_handles`]: by folded key, 500 to a statement.
    pub(crate) async fn handle_rows(&self, handles: &[String]) -> Result<Vec<HandleRecord>> {
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

    /// [`idnode_store::Store::find_folded`].
    pub(crate) async fn folded_name(&self, folded: &str) -> Result<Option<String>> {
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

    /// [`idnode_store::Store::list_handles`].
    pub(crate) async fn handle_page(
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

    /// [`idnode_store::Store::scan_handles`].
    pub(crate) async fn handle_scan(
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
}
