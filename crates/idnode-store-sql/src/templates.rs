//! Metadata templates, their history and the holders of unique values: the writes of
//! [`TemplateOp`] inside a batch, and the reads.

use idnode_store::{Op, Result, StoreError, TemplateChange, TemplateOp, TemplateRecord};

use crate::apply::conflict;
use crate::sql::{Cols, Stmt};
use crate::{int, Conn, Dialect, SqlStore};

const TEMPLATE: &str = "prefix, version, body, used, created_at, updated_at";
const CHANGE: &str = "prefix, version, action, actor, at, body";

/// Applies one template or unique-value write inside the batch's transaction, with a history
/// row for every change of a definition.
pub(crate) async fn apply<D: Dialect>(
    conn: &mut Conn<D>,
    op: &TemplateOp,
    actor: &str,
    now: i64,
) -> Result<()> {
    let change = Change { actor, now };
    match op {
        TemplateOp::Create {
            prefix,
            version,
            body,
        } => {
            let sql =
                "INSERT INTO templates (prefix, version, body, used, created_at, updated_at) \
                       VALUES ($1, $2, $3, 0, $4, $4)";
            change
                .run::<D>(conn, sql, "create", (prefix, version), Some(body))
                .await
        }
        TemplateOp::Update {
            prefix,
            version,
            body,
        } => {
            let sql = "UPDATE templates SET body = $3, updated_at = $4 \
                       WHERE prefix = $1 AND version = $2 AND used = 0";
            change
                .run::<D>(conn, sql, "update", (prefix, version), Some(body))
                .await
        }
        TemplateOp::Delete { prefix, version } => {
            let sql = "DELETE FROM templates WHERE prefix = $1 AND version = $2 AND used = 0";
            change
                .run::<D>(conn, sql, "delete", (prefix, version), None)
                .await
        }
        TemplateOp::Use { prefix, version } => {
            let n = Stmt::new("UPDATE templates SET used = 1 WHERE prefix = $1 AND version = $2")
                .bind(prefix)
                .bind(version)
                .execute::<D::DB>(conn)
                .await
                .map_err(D::error)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "template {prefix} version {version}"
                )));
            }
            Ok(())
        }
        // Runs of claims are inserted together by `claims` from the apply loop.
        TemplateOp::Claim {
            prefix,
            index,
            value,
            handle,
        } => claims::<D>(conn, &[(prefix, *index, value, handle)]).await,
        TemplateOp::Release { handle } => Stmt::new("DELETE FROM unique_values WHERE handle = $1")
            .bind(handle)
            .execute::<D::DB>(conn)
            .await
            .map(drop)
            .map_err(D::error),
    }
}

/// Who changes a definition, and when.
struct Change<'a> {
    actor: &'a str,
    now: i64,
}

impl Change<'_> {
    /// Runs `sql` changing a definition (`$1` prefix, `$2` version, then with a body `$3`
    /// body and `$4` now), then writes its history row. A statement touching nothing means
    /// the version is missing or in use (an update or delete).
    async fn run<D: Dialect>(
        &self,
        conn: &mut Conn<D>,
        sql: &'static str,
        action: &str,
        (prefix, version): (&str, &str),
        body: Option<&String>,
    ) -> Result<()> {
        let mut stmt = Stmt::new(sql).bind(prefix).bind(version);
        if let Some(body) = body {
            stmt = stmt.bind(body).bind(self.now);
        }
        match stmt.execute::<D::DB>(conn).await {
            Ok(0) => return Err(unchangeable::<D>(conn, prefix, version).await),
            Ok(_) => {}
            Err(e) => {
                return Err(conflict::<D>(e, || {
                    format!("template {prefix} version {version} exists")
                }))
            }
        }
        Stmt::new(
            "INSERT INTO template_history (prefix, version, action, actor, at, body) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(prefix)
        .bind(version)
        .bind(action)
        .bind(self.actor)
        .bind(self.now)
        .bind(body.map(String::as_str))
        .execute::<D::DB>(conn)
        .await
        .map_err(D::error)?;
        Ok(())
    }
}

/// Why an update or delete touched nothing: the version is missing, or identifiers use it.
async fn unchangeable<D: Dialect>(conn: &mut Conn<D>, prefix: &str, version: &str) -> StoreError {
    let found = Stmt::new("SELECT used FROM templates WHERE prefix = $1 AND version = $2")
        .bind(prefix)
        .bind(version)
        .optional::<D::DB>(conn)
        .await;
    match found {
        Ok(Some(_)) => StoreError::Conflict(format!(
            "template {prefix} version {version} is used by identifiers and can no longer change"
        )),
        Ok(None) => StoreError::NotFound(format!("template {prefix} version {version}")),
        Err(e) => D::error(e),
    }
}

/// Parameter `n` (1-based) as the dialect wants it: `$n`, or `?` where sqlx looks numbered
/// ones up by name (SQLite; see `Dialect::NUMBERED`). Bind in order either way.
fn placeholder<D: Dialect>(n: usize) -> String {
    if D::NUMBERED {
        format!("${n}")
    } else {
        "?".to_owned()
    }
}

/// One unique-value claim: prefix, index, value, holder.
pub(crate) type Claim<'a> = (&'a String, u32, &'a String, &'a String);

/// The claims of a run of [`TemplateOp::Claim`] operations.
pub(crate) fn claim_rows(ops: &[Op]) -> Vec<Claim<'_>> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Template(TemplateOp::Claim {
                prefix,
                index,
                value,
                handle,
            }) => Some((prefix, *index, value, handle)),
            _ => None,
        })
        .collect()
}

/// Claims of unique values, as multi-row inserts of up to 500 rows: a value another handle
/// holds fails the batch, naming it.
pub(crate) async fn claims<D: Dialect>(conn: &mut Conn<D>, rows: &[Claim<'_>]) -> Result<()> {
    for chunk in rows.chunks(500) {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|r| {
                let p: Vec<String> = (1..=4).map(|c| placeholder::<D>(4 * r + c)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO unique_values (prefix, idx, value, handle) VALUES {} \
             ON CONFLICT DO NOTHING RETURNING idx, value",
            tuples.join(", ")
        );
        let stmt = chunk
            .iter()
            .fold(Stmt::new(sql), |s, (prefix, index, value, handle)| {
                s.bind(*prefix)
                    .bind(i64::from(*index))
                    .bind(*value)
                    .bind(*handle)
            });
        let inserted = stmt.all::<D::DB>(conn).await.map_err(D::error)?;
        if inserted.len() < chunk.len() {
            // Held by another identifier (registered meanwhile, past the registry's check).
            let mut got = std::collections::HashSet::new();
            for r in &inserted {
                let c = Cols::<D::DB>(r);
                got.insert((c.int("idx")?, c.string("value")?));
            }
            let taken: Vec<String> = chunk
                .iter()
                .filter(|(_, i, v, _)| !got.contains(&(i64::from(*i), (*v).clone())))
                .map(|(p, i, v, _)| format!("{v:?} at index {i} under {p}"))
                .collect();
            return Err(StoreError::Conflict(format!(
                "unique value(s) taken by another identifier: {}",
                taken.join(", ")
            )));
        }
    }
    Ok(())
}

/// Whether `op` claims a unique value (runs of claims are inserted together).
pub(crate) fn is_claim(op: &Op) -> bool {
    matches!(op, Op::Template(TemplateOp::Claim { .. }))
}

fn record<D: Dialect>(row: &<D::DB as sqlx::Database>::Row) -> Result<TemplateRecord> {
    let c = Cols::<D::DB>(row);
    Ok(TemplateRecord {
        prefix: c.string("prefix")?,
        version: c.string("version")?,
        body: c.string("body")?,
        used: c.int("used")? != 0,
        created_at: c.int("created_at")?,
        updated_at: c.int("updated_at")?,
    })
}

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn template(
        &self,
        prefix: &str,
        version: &str,
    ) -> Result<Option<TemplateRecord>> {
        let sql = format!("SELECT {TEMPLATE} FROM templates WHERE prefix = $1 AND version = $2");
        let row = self
            .optional(Stmt::new(sql).bind(prefix).bind(version))
            .await?;
        row.as_ref().map(record::<D>).transpose()
    }

    pub(crate) async fn templates(&self, prefix: Option<&str>) -> Result<Vec<TemplateRecord>> {
        let sql = format!(
            "SELECT {TEMPLATE} FROM templates WHERE CAST($1 AS TEXT) IS NULL OR prefix = $1 \
             ORDER BY prefix, created_at, version"
        );
        let rows = self.all(Stmt::new(sql).bind(prefix)).await?;
        rows.iter().map(record::<D>).collect()
    }

    pub(crate) async fn template_changes(
        &self,
        prefix: &str,
        version: Option<&str>,
        limit: u64,
    ) -> Result<Vec<TemplateChange>> {
        let sql = format!(
            "SELECT {CHANGE} FROM template_history WHERE prefix = $1 \
             AND (CAST($2 AS TEXT) IS NULL OR version = $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = self
            .all(Stmt::new(sql).bind(prefix).bind(version).bind(int(limit)))
            .await?;
        rows.iter()
            .map(|r| {
                let c = Cols::<D::DB>(r);
                Ok(TemplateChange {
                    prefix: c.string("prefix")?,
                    version: c.string("version")?,
                    action: c.string("action")?,
                    actor: c.string("actor")?,
                    at: c.int("at")?,
                    body: c.opt_string("body")?,
                })
            })
            .collect()
    }

    pub(crate) async fn holders(
        &self,
        prefix: &str,
        index: u32,
        values: &[String],
    ) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for chunk in values.chunks(500) {
            let list: Vec<String> = (3..chunk.len() + 3).map(|i| placeholder::<D>(i)).collect();
            let sql = format!(
                "SELECT value, handle FROM unique_values WHERE prefix = {} AND idx = {} \
                 AND value IN ({})",
                placeholder::<D>(1),
                placeholder::<D>(2),
                list.join(", ")
            );
            let mut stmt = Stmt::new(sql).bind(prefix).bind(i64::from(index));
            for v in chunk {
                stmt = stmt.bind(v);
            }
            for r in &self.all(stmt).await? {
                let c = Cols::<D::DB>(r);
                out.push((c.string("value")?, c.string("handle")?));
            }
        }
        Ok(out)
    }
}
