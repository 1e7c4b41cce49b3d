//! `COPY … FROM STDIN` for bulk creates and captures: the fast path that makes a batch cost about what
//! PostgreSQL's own bulk load costs.

use idnode_store::Result;
use idnode_store_sql::Dialect as _;
use sqlx::PgConnection;

use crate::PgDialect;

/// Appends a field in COPY text format (backslash, tab, newline and carriage return escaped).
pub(crate) fn field(buf: &mut String, s: &str) {
    let special = |b: &u8| matches!(b, b'\\' | b'\t' | b'\n' | b'\r');
    if !s.as_bytes().iter().any(special) {
        buf.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

/// Appends an optional field (`\N` for NULL).
pub(crate) fn opt_field(buf: &mut String, s: Option<&str>) {
    match s {
        Some(s) => field(buf, s),
        None => buf.push_str("\\N"),
    }
}

/// Bytes of COPY data sent at a time: PostgreSQL inserts the first rows while the next are
/// written, and no buffer holds the whole input (a profile of a capture of documents of
/// 10,000 events found the node zeroing fresh pages and moving the growing text, 15% of its
/// time).
const CHUNK: usize = 256 * 1024;

/// Runs one COPY of `items`, each written as one row (text format, ending in a newline) by
/// `write`.
pub(crate) async fn copy_in<T>(
    conn: &mut PgConnection,
    statement: &str,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut String, T),
) -> Result<u64, sqlx::Error> {
    let mut copy = conn.copy_in_raw(statement).await?;
    let mut buf = String::with_capacity(CHUNK + CHUNK / 4);
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        buf.clear();
        while buf.len() < CHUNK {
            let Some(item) = items.next() else { break };
            write(&mut buf, item);
        }
        if let Err(e) = copy.send(buf.as_bytes()).await {
            let _ = copy.abort("send failed").await;
            return Err(e);
        }
    }
    copy.finish().await
}

/// Tries a COPY inside a savepoint. `Ok(false)` when it hit a uniqueness conflict (the
/// savepoint is rolled back and the caller takes the slow path that names the conflicts).
pub(crate) async fn try_copy<T>(
    conn: &mut PgConnection,
    statement: &str,
    items: impl IntoIterator<Item = T>,
    write: impl FnMut(&mut String, T),
) -> Result<bool> {
    sqlx::query("SAVEPOINT bulk_copy")
        .execute(&mut *conn)
        .await
        .map_err(PgDialect::error)?;
    match copy_in(conn, statement, items, write).await {
        Ok(_) => {
            sqlx::query("RELEASE SAVEPOINT bulk_copy")
                .execute(&mut *conn)
                .await
                .map_err(PgDialect::error)?;
            Ok(true)
        }
        Err(e)
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation()) =>
        {
            sqlx::query("ROLLBACK TO SAVEPOINT bulk_copy")
                .execute(&mut *conn)
                .await
                .map_err(PgDialect::error)?;
            Ok(false)
        }
        Err(e) => Err(PgDialect::error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_copy_text_specials() {
        let mut b = String::new();
        field(&mut b, "a\\b\tc\nd\re");
        assert_eq!(b, "a\\\\b\\tc\\nd\\re");
        let mut n = String::new();
        opt_field(&mut n, None);
        assert_eq!(n, "\\N");
    }
}
