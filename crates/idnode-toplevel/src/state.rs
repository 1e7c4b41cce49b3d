//! The stand-in's state in SQLite: clients, enterprises, prefix reviews, identifier objects,
//! the poll queue and every applied transaction (for exactly-once answers to redeliveries).

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::password::{self, now_millis, Stored};
use idnode_epp::{Command, IdentifierObject, Namespaces, Request, Response};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::Error;

/// The stand-in's migrations, compiled in (a new file is added here too: a test compares
/// the list with the directory).
static MIGRATIONS: idnode_store_sql::Embedded =
    idnode_store_sql::embed_migrations!("migrations": "0001_state.sql", "0002_escrow.sql");

/// A logged-in secondary node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// EPP client id.
    pub id: String,
    /// Its prefix (`88.118`).
    pub prefix: String,
}

/// A prefix application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// The prefix.
    pub prefix: String,
    /// Applying node.
    pub client: String,
    /// Enterprise.
    pub ent_id: String,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
}

/// One applied transform command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Client.
    pub client: String,
    /// Its transaction id.
    pub cl_trid: String,
    /// Command (`identifier:create`, …).
    pub command: String,
    /// Object named.
    pub object: String,
    /// Result code.
    pub code: u16,
    /// How often a redelivery was answered from the record.
    pub replays: u32,
}

/// The stand-in's state.
pub struct State {
    pub(crate) pool: SqlitePool,
    ns: Namespaces,
    pub(crate) auto_approve: bool,
    seq: AtomicU64,
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e.to_string())
    }
}

pub(crate) type Tx<'a> = Transaction<'a, Sqlite>;

/// A failed command: its result code and reason.
pub(crate) struct Fail(pub(crate) u16, pub(crate) String);

pub(crate) fn fail<T>(code: u16, reason: impl Into<String>) -> Result<T, Fail> {
    Err(Fail(code, reason.into()))
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Self(2400, e.to_string())
    }
}

fn digest(text: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl State {
    /// Opens (creating) the state in `dir`.
    pub async fn open(dir: &Path, ns: Namespaces, auto_approve: bool) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(e.to_string()))?;
        let url = format!("sqlite://{}", dir.join("state.db").display());
        let opts = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        MIGRATIONS
            .migrator()
            .await
            .map_err(|e| Error::Database(e.to_string()))?
            .run(&pool)
            .await
            .map_err(|e| Error::Database(e.to_string()))?;
        Ok(Self {
            pool,
            ns,
            auto_approve,
            seq: AtomicU64::new(0),
        })
    }

    /// The namespaces this stand-in speaks.
    pub fn namespaces(&self) -> &Namespaces {
        &self.ns
    }

    fn sv_trid(&self) -> String {
        format!(
            "TL-{:x}-{}",
            now_millis(),
            self.seq.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Lets the secondary node `id` with prefix `prefix` log in with `password` (stored
    /// hashed; replaces an earlier password).
    pub async fn add_client(&self, id: &str, prefix: &str, password: &str) -> Result<(), Error> {
        let h = password::hash(password);
        sqlx::query(
            "INSERT INTO clients (id, prefix, pw_alg, pw_salt, pw_iter, pw_hash) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET prefix = excluded.prefix, \
             pw_alg = excluded.pw_alg, pw_salt = excluded.pw_salt, pw_iter = excluded.pw_iter, \
             pw_hash = excluded.pw_hash",
        )
        .bind(id)
        .bind(prefix)
        .bind(password::ALG)
        .bind(&h.salt)
        .bind(i64::from(h.iterations))
        .bind(&h.hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The client `id` when `password` is its password (checked in constant time).
    pub async fn authenticate(&self, id: &str, password: &str) -> Result<Option<Client>, Error> {
        let row = sqlx::query(
            "SELECT prefix, pw_alg, pw_salt, pw_iter, pw_hash FROM clients WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let stored = Stored {
            salt: r.get("pw_salt"),
            iterations: r.get::<i64, _>("pw_iter") as u32,
            hash: r.get("pw_hash"),
        };
        let alg: String = r.get("pw_alg");
        Ok(password::verify(&alg, &stored, password).then(|| Client {
            id: id.to_owned(),
            prefix: r.get("prefix"),
        }))
    }

    /// Executes a command of a logged-in client (not login, logout or hello) and returns
    /// the response document. Transform commands are recorded with their response; the same
    /// command again with the same clTRID gets the recorded response without being applied.
    pub async fn execute(&self, client: &Client, req: &Request) -> Result<String, Error> {
        let mut tx = self.pool.begin().await?;
        let transform = transform_name(&req.command);
        let digest = digest(&req.to_xml(&self.ns));
        if transform.is_some() && !req.cl_trid.is_empty() {
            let prior = sqlx::query(
                "SELECT digest, response FROM transactions WHERE client = ? AND cl_trid = ?",
            )
            .bind(&client.id)
            .bind(&req.cl_trid)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(p) = prior {
                let same = p.get::<String, _>("digest") == digest;
                let xml = if same {
                    sqlx::query(
                        "UPDATE transactions SET replays = replays + 1 \
                         WHERE client = ? AND cl_trid = ?",
                    )
                    .bind(&client.id)
                    .bind(&req.cl_trid)
                    .execute(&mut *tx)
                    .await?;
                    p.get("response")
                } else {
                    let mut r = Response::new(2002, Some(req.cl_trid.clone()), self.sv_trid());
                    r.reason = Some("clTRID already used for another command".into());
                    r.to_xml(&self.ns)
                };
                tx.commit().await?;
                return Ok(xml);
            }
        }
        let sv = self.sv_trid();
        let result = self.apply(&mut tx, client, req, &sv).await;
        let response = match result {
            Ok(r) => r,
            Err(Fail(code, reason)) => {
                // Nothing of a failed command stays, but the failure itself is recorded.
                tx.rollback().await?;
                tx = self.pool.begin().await?;
                let mut r = Response::new(code, Some(req.cl_trid.clone()), sv.clone());
                r.reason = Some(reason);
                r
            }
        };
        let xml = response.to_xml(&self.ns);
        if let Some((command, object)) = transform {
            if !req.cl_trid.is_empty() {
                sqlx::query(
                    "INSERT INTO transactions (client, cl_trid, command, object, digest, code, \
                     response, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&client.id)
                .bind(&req.cl_trid)
                .bind(command)
                .bind(object)
                .bind(&digest)
                .bind(i64::from(response.code))
                .bind(&xml)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(xml)
    }

    /// Approves or rejects a pending prefix application and queues the result for its node.
    pub async fn review(&self, prefix: &str, approve: bool, note: &str) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        match crate::commands::review(&mut tx, prefix, approve, note).await {
            Ok(()) => Ok(tx.commit().await?),
            Err(Fail(_, reason)) => Err(Error::Refused(reason)),
        }
    }

    /// Prefix applications, oldest first.
    pub async fn applications(&self) -> Result<Vec<Application>, Error> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT prefix, client, ent_id, state FROM prefixes ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(prefix, client, ent_id, state)| Application {
                prefix,
                client,
                ent_id,
                state,
            })
            .collect())
    }

    /// Every applied transform command, in order.
    pub async fn applied(&self) -> Result<Vec<Applied>, Error> {
        let rows: Vec<(String, String, String, String, u16, u32)> = sqlx::query_as(
            "SELECT client, cl_trid, command, object, code, replays FROM transactions \
             ORDER BY at, rowid",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(client, cl_trid, command, object, code, replays)| Applied {
                    client,
                    cl_trid,
                    command,
                    object,
                    code,
                    replays,
                },
            )
            .collect())
    }

    /// An identifier object by name.
    pub async fn identifier(&self, name: &str) -> Result<Option<IdentifierObject>, Error> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT object FROM identifiers WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| Error::Database(e.to_string())))
            .transpose()
    }

    /// The sites registered for `prefix`, or for its nearest ancestor with sites.
    pub async fn sites_of(&self, prefix: &str) -> Result<Vec<idnode_epp::Site>, Error> {
        let labels: Vec<&str> = prefix.split('.').collect();
        for n in (1..=labels.len()).rev() {
            let name = labels[..n].join(".");
            if let Some(obj) = self.identifier(&name).await? {
                if !obj.sites.is_empty() {
                    return Ok(obj.sites);
                }
            }
        }
        Ok(Vec::new())
    }

    /// Number of identifier objects, enterprises and pending prefix applications.
    pub async fn counts(&self) -> Result<(u64, u64, u64), Error> {
        let r = sqlx::query(
            "SELECT (SELECT count(*) FROM identifiers) AS i, (SELECT count(*) FROM enterprises) \
             AS e, (SELECT count(*) FROM prefixes WHERE state = 'pending') AS p",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((
            r.get::<i64, _>("i") as u64,
            r.get::<i64, _>("e") as u64,
            r.get::<i64, _>("p") as u64,
        ))
    }
}

/// The name and object of a transform command (recorded for redeliveries), `None` for
/// queries and poll.
fn transform_name(c: &Command) -> Option<(&'static str, String)> {
    Some(match c {
        Command::EntCreate { profile, .. } => ("ent:create", profile.credit_code.clone()),
        Command::EntUpdate { ent_id, .. } => ("ent:update", ent_id.clone()),
        Command::PrefixCreate { prefix, .. } => ("prefix:create", prefix.clone()),
        Command::IdentifierCreate(o) => ("identifier:create", o.name.clone()),
        Command::IdentifierUpdate(u) => ("identifier:update", u.name.clone()),
        Command::IdentifierDelete { name } => ("identifier:delete", name.clone()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_migration_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let differ = super::MIGRATIONS.differences(&dir).unwrap();
        assert_eq!(differ, Vec::<String>::new());
    }
}
