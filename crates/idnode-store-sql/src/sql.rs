//! What the shared SQL needs of a sqlx database, in one place.
//!
//! Code generic over a sqlx `Database` would repeat a dozen higher-ranked bounds (executor,
//! arguments, encode and decode of every column type) on every function. [`Sql`] states them
//! once, on its blanket implementation, and hands the capabilities out as methods: a
//! statement is a [`Stmt`] of SQL text and [`Param`]s, run on a connection, and columns are
//! read through [`Cols`]. Placeholders are `$1`, `$2`, …, which PostgreSQL and sqlx's SQLite
//! driver both accept.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use idnode_store::{Result, StoreError};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

/// A boxed future borrowing for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One bound parameter of a statement.
#[derive(Clone, Debug)]
pub enum Param<'q> {
    /// A 64-bit integer or NULL.
    Int(Option<i64>),
    /// Text or NULL.
    Text(Option<Cow<'q, str>>),
    /// Bytes or NULL.
    Bytes(Option<Cow<'q, [u8]>>),
    /// A boolean.
    Bool(bool),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<&i64> for Param<'_> {
    fn from(v: &i64) -> Self {
        Self::Int(Some(*v))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<&Option<i64>> for Param<'_> {
    fn from(v: &Option<i64>) -> Self {
        Self::Int(*v)
    }
}

impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl From<&bool> for Param<'_> {
    fn from(v: &bool) -> Self {
        Self::Bool(*v)
    }
}

impl<'q> From<&'q str> for Param<'q> {
    fn from(v: &'q str) -> Self {
        Self::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'q> From<&'q String> for Param<'q> {
    fn from(v: &'q String) -> Self {
        Self::Text(Some(Cow::Borrowed(v)))
    }
}

impl From<String> for Param<'_> {
    fn from(v: String) -> Self {
        Self::Text(Some(Cow::Owned(v)))
    }
}

impl<'q> From<Option<&'q str>> for Param<'q> {
    fn from(v: Option<&'q str>) -> Self {
        Self::Text(v.map(Cow::Borrowed))
    }
}

impl<'q> From<&'q Option<String>> for Param<'q> {
    fn from(v: &'q Option<String>) -> Self {
        Self::Text(v.as_deref().map(Cow::Borrowed))
    }
}

impl From<Option<String>> for Param<'_> {
    fn from(v: Option<String>) -> Self {
        Self::Text(v.map(Cow::Owned))
    }
}

impl<'q> From<&'q [u8]> for Param<'q> {
    fn from(v: &'q [u8]) -> Self {
        Self::Bytes(Some(Cow::Borrowed(v)))
    }
}

impl<'q> From<&'q Vec<u8>> for Param<'q> {
    fn from(v: &'q Vec<u8>) -> Self {
        Self::Bytes(Some(Cow::Borrowed(v)))
    }
}

impl From<Vec<u8>> for Param<'_> {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(Some(Cow::Owned(v)))
    }
}

impl<'q> From<&'q Option<Vec<u8>>> for Param<'q> {
    fn from(v: &'q Option<Vec<u8>>) -> Self {
        Self::Bytes(v.as_deref().map(Cow::Borrowed))
    }
}

/// A statement: SQL text with `$n` placeholders and its parameters.
#[derive(Clone, Debug)]
pub struct Stmt<'q> {
    sql: Cow<'q, str>,
    params: Vec<Param<'q>>,
}

impl<'q> Stmt<'q> {
    /// A statement with no parameters bound yet.
    pub fn new(sql: impl Into<Cow<'q, str>>) -> Self {
        Self {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    /// Binds the next parameter.
    #[must_use]
    pub fn bind(mut self, p: impl Into<Param<'q>>) -> Self {
        self.params.push(p.into());
        self
    }

    /// Runs the statement; the number of rows it touched.
    pub async fn execute<DB: Sql>(&self, conn: &mut DB::Connection) -> sqlx::Result<u64> {
        DB::execute(conn, self).await
    }

    /// Runs the statement; every row.
    pub async fn all<DB: Sql>(&self, conn: &mut DB::Connection) -> sqlx::Result<Vec<DB::Row>> {
        DB::fetch_all(conn, self).await
    }

    /// Runs the statement; its first row, if any.
    pub async fn optional<DB: Sql>(
        &self,
        conn: &mut DB::Connection,
    ) -> sqlx::Result<Option<DB::Row>> {
        DB::fetch_optional(conn, self).await
    }
}

/// A sqlx database the shared SQL runs on: every database whose driver encodes and decodes the
/// column types idnode uses (SQLite and PostgreSQL).
pub trait Sql: Database {
    /// Runs `stmt`; the number of rows it touched.
    fn execute<'a>(
        conn: &'a mut Self::Connection,
        stmt: &'a Stmt<'a>,
    ) -> BoxFuture<'a, sqlx::Result<u64>>;

    /// Runs `stmt`; every row.
    fn fetch_all<'a>(
        conn: &'a mut Self::Connection,
        stmt: &'a Stmt<'a>,
    ) -> BoxFuture<'a, sqlx::Result<Vec<Self::Row>>>;

    /// Runs `stmt`; its first row, if any.
    fn fetch_optional<'a>(
        conn: &'a mut Self::Connection,
        stmt: &'a Stmt<'a>,
    ) -> BoxFuture<'a, sqlx::Result<Option<Self::Row>>>;

    /// An integer column.
    fn int(row: &Self::Row, col: &str) -> sqlx::Result<Option<i64>>;

    /// A text column, borrowed from the row.
    fn text<'r>(row: &'r Self::Row, col: &str) -> sqlx::Result<Option<&'r str>>;

    /// A bytes column.
    fn bytes(row: &Self::Row, col: &str) -> sqlx::Result<Option<Vec<u8>>>;
}

impl<DB> Sql for DB
where
    DB: Database,
    sqlx::any::AnyQueryResult: From<DB::QueryResult>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Decode<'q, DB> + Type<DB>,
    for<'s> &'s str: ColumnIndex<DB::Row>,
{
    fn execute<'a>(
        conn: &'a mut Self::Connection,
        stmt: &'a Stmt<'a>,
    ) -> BoxFuture<'a, sqlx::Result<u64>> {
        Box::pin(async move {
            let done = query::<DB>(stmt).execute(conn).await?;
            Ok(sqlx::any::AnyQueryResult::from(done).rows_affected())
        })
    }

    fn fetch_all<'a>(
        conn: &'a mut Self::Connection,
        stmt: &'a Stmt<'a>,
    ) -> BoxFuture<'a, sqlx::Result<Vec<Self::Row>>> {
        Box::pin(query::<DB>(stmt).fetch_all(conn))
    }

    fn fetch_optional<'a>(
        conn: &'a mut Self::Connection,
        stmt: &'a Stmt<'a>,
    ) -> BoxFuture<'a, sqlx::Result<Option<Self::Row>>> {
        Box::pin(query::<DB>(stmt).fetch_optional(conn))
    }

    fn int(row: &Self::Row, col: &str) -> sqlx::Result<Option<i64>> {
        row.try_get(col)
    }

    fn text<'r>(row: &'r Self::Row, col: &str) -> sqlx::Result<Option<&'r str>> {
        row.try_get(col)
    }

    fn bytes(row: &Self::Row, col: &str) -> sqlx::Result<Option<Vec<u8>>> {
        row.try_get(col)
    }
}

fn query<'a, DB>(stmt: &'a Stmt<'a>) -> sqlx::query::Query<'a, DB, DB::Arguments<'a>>
where
    DB: Database,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    Option<&'a [u8]>: Encode<'a, DB> + Type<DB>,
{
    let mut q = sqlx::query::<DB>(&stmt.sql);
    for p in &stmt.params {
        q = match p {
            Param::Int(v) => q.bind(*v),
            Param::Text(v) => q.bind(v.as_deref()),
            Param::Bytes(v) => q.bind(v.as_deref()),
            Param::Bool(v) => q.bind(*v),
        };
    }
    q
}

/// Reads a row's columns by name; a missing column, a NULL where a value belongs or a value
/// of the wrong type is [`StoreError::Corrupt`].
pub struct Cols<'r, DB: Sql>(pub &'r DB::Row);

impl<'r, DB: Sql> Cols<'r, DB> {
    /// An integer.
    pub fn int(&self, col: &str) -> Result<i64> {
        self.opt_int(col)?.ok_or_else(|| null(col))
    }

    /// An integer or NULL.
    pub fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        DB::int(self.0, col).map_err(|e| corrupt(col, &e))
    }

    /// Text.
    pub fn str(&self, col: &str) -> Result<&'r str> {
        self.opt_str(col)?.ok_or_else(|| null(col))
    }

    /// Text parsed by `parse`; text it refuses is corruption.
    pub fn parsed<T>(&self, col: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
        let v = self.str(col)?;
        parse(v).ok_or_else(|| StoreError::Corrupt(format!("column {col}: {v}")))
    }

    /// Text, owned.
    pub fn string(&self, col: &str) -> Result<String> {
        self.str(col).map(str::to_owned)
    }

    /// Text or NULL, owned.
    pub fn opt_string(&self, col: &str) -> Result<Option<String>> {
        Ok(self.opt_str(col)?.map(str::to_owned))
    }

    /// Text or NULL.
    pub fn opt_str(&self, col: &str) -> Result<Option<&'r str>> {
        DB::text(self.0, col).map_err(|e| corrupt(col, &e))
    }

    /// Bytes.
    pub fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        self.opt_bytes(col)?.ok_or_else(|| null(col))
    }

    /// Bytes or NULL.
    pub fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>> {
        DB::bytes(self.0, col).map_err(|e| corrupt(col, &e))
    }
}

fn null(col: &str) -> StoreError {
    StoreError::Corrupt(format!("column {col} is NULL"))
}

fn corrupt(col: &str, e: &sqlx::Error) -> StoreError {
    StoreError::Corrupt(format!("column {col}: {e}"))
}
