//! `COPY … FROM STDIN (FORMAT binary)` for bulk creates and captures: the fast path that makes
//! a batch cost about what PostgreSQL's own bulk load costs. The binary format spares
//! PostgreSQL the scan of every line for its end and escapes and the parsing of numbers and
//! hex (a profile of a capture replayed in text format found 14% of PostgreSQL's time
//! there), and the node the escaping.

use idnode_store::Result;
use idnode_store_sql::Dialect as _;
use sqlx::PgConnection;

use crate::PgDialect;

/// The binary format's signature, flags and header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The binary format's trailer: a field count of -1.
const TRAILER: &[u8] = &[0xff, 0xff];

/// One row of COPY's binary format, written field by field, in the table's column order
/// and types as the statement names them (`BIGINT`, `TEXT`, `BYTEA`).
pub(crate) struct Row<'b>(&'b mut Vec<u8>);

impl<'b> Row<'b> {
    /// Starts a row of `fields` fields in `buf`.
    pub(crate) fn new(buf: &'b mut Vec<u8>, fields: i16) -> Self {
        buf.extend_from_slice(&fields.to_be_bytes());
        Self(buf)
    }

    /// A `BIGINT`.
    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&8i32.to_be_bytes());
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `BYTEA`, or a `TEXT` as its UTF-8 bytes. (Every input is limited far below the
    /// format's 2 GiB per field.)
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let len = i32::try_from(b.len()).unwrap_or(i32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }

    /// A `TEXT`.
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// A `TEXT` or NULL.
    pub(crate) fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        self.opt_bytes(s.map(str::as_bytes))
    }

    /// A `BYTEA` (or `TEXT`) or NULL.
    pub(crate) fn opt_bytes(&mut self, b: Option<&[u8]>) -> &mut Self {
        match b {
            Some(b) => self.bytes(b),
            None => {
                self.0.extend_from_slice(&(-1i32).to_be_bytes());
                self
            }
        }
    }
}

/// Bytes of COPY data sent at a time: PostgreSQL inserts the first rows while the next are
/// written, and no buffer holds the whole input (a profile of a capture of documents of
/// 10,000 events found the node zeroing fresh pages and moving the growing text, 15% of its
/// time).
const CHUNK: usize = 256 * 1024;

/// Runs one binary COPY of `items`, each written as one [`Row`] by `write`.
pub(crate) async fn copy_in<T>(
    conn: &mut PgConnection,
    statement: &str,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut Vec<u8>, T),
) -> Result<u64, sqlx::Error> {
    let mut copy = conn.copy_in_raw(statement).await?;
    let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
    buf.extend_from_slice(HEADER);
    let mut items = items.into_iter().peekable();
    loop {
        while buf.len() < CHUNK {
            let Some(item) = items.next() else { break };
            write(&mut buf, item);
        }
        if items.peek().is_none() {
            buf.extend_from_slice(TRAILER);
        }
        if let Err(e) = copy.send(buf.as_slice()).await {
            let _ = copy.abort("send failed").await;
            return Err(e);
        }
        if items.peek().is_none() {
            return copy.finish().await;
        }
        buf.clear();
    }
}

/// Tries a COPY inside a savepoint. `Ok(false)` when it hit a uniqueness conflict (the
/// savepoint is rolled back and the caller takes the slow path that names the conflicts).
pub(crate) async fn try_copy<T>(
    conn: &mut PgConnection,
    statement: &str,
    items: impl IntoIterator<Item = T>,
    write: impl FnMut(&mut Vec<u8>, T),
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
    fn writes_binary_rows() {
        let mut b = Vec::new();
        Row::new(&mut b, 4)
            .int(-2)
            .text("a\tb")
            .opt_text(None)
            .bytes(&[0, 255]);
        let mut want = vec![0, 4];
        want.extend_from_slice(&[0, 0, 0, 8]);
        want.extend_from_slice(&(-2i64).to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 3, b'a', b'\t', b'b']);
        want.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        want.extend_from_slice(&[0, 0, 0, 2, 0, 255]);
        assert_eq!(b, want);
        assert_eq!(HEADER.len(), 19);
    }
}
