//! The stand-in's state in SQLite: clients, enterprises, prefix reviews, identifier objects,
//! the poll queue and every applied transaction (for exactly-once answers to redeliveries).

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use idnode_epp::{
    Availability, Command, EntChange, IdentifierObject, IdentifierUpdate, MsgQueue, Namespaces,
    Request, ResData, Response, Review,
};
use idnode_store::{now_millis, SecretHash};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::Error;

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
    auto_approve: bool,
    seq: AtomicU64,
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e.to_string())
    }
}

type Tx<'a> = Transaction<'a, Sqlite>;

/// A failed command: its result code and reason.
struct Fail(u16, String);

fn fail<T>(code: u16, reason: impl Into<String>) -> Result<T, Fail> {
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

fn is_under(name: &str, prefix: &str) -> bool {
    name.len() > prefix.len()
        && name[..prefix.len()].eq_ignore_ascii_case(prefix)
        && name.as_bytes()[prefix.len()] == b'.'
}

/// The prefix part of an identifier name (`88.118.8/X` → `88.118.8`).
fn prefix_of(name: &str) -> &str {
    name.split_once('/').map_or(name, |(p, _)| p)
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
        sqlx::migrate!("./migrations")
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
        let h = idnode_registry::hash_secret(password.as_bytes());
        sqlx::query(
            "INSERT INTO clients (id, prefix, pw_alg, pw_salt, pw_iter, pw_hash) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET prefix = excluded.prefix, \
             pw_alg = excluded.pw_alg, pw_salt = excluded.pw_salt, pw_iter = excluded.pw_iter, \
             pw_hash = excluded.pw_hash",
        )
        .bind(id)
        .bind(prefix)
        .bind(&h.alg)
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
        let stored = SecretHash {
            alg: r.get("pw_alg"),
            salt: r.get("pw_salt"),
            iterations: r.get::<i64, _>("pw_iter") as u32,
            hash: r.get("pw_hash"),
            sealed: None,
        };
        Ok(
            idnode_registry::verify_secret(&stored, password.as_bytes()).then(|| Client {
                id: id.to_owned(),
                prefix: r.get("prefix"),
            }),
        )
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

    async fn apply(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        req: &Request,
        sv: &str,
    ) -> Result<Response, Fail> {
        let ok = |code| Response::new(code, Some(req.cl_trid.clone()), sv.to_owned());
        match &req.command {
            Command::Login { .. } | Command::Logout => fail(2002, "not inside a session"),
            Command::EntCheck { crt_code, .. } => {
                let id: Option<String> = sqlx::query_scalar(
                    "SELECT ent_id FROM enterprises WHERE client = ? AND credit_code = ?",
                )
                .bind(&client.id)
                .bind(crt_code)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(id) = id else {
                    return fail(2303, "no enterprise with this certificate code");
                };
                let mut r = ok(1000);
                r.data = ResData::EntChecked(id);
                Ok(r)
            }
            Command::EntCreate {
                shr_prefix,
                profile,
            } => {
                own_prefix(client, shr_prefix)?;
                if !profile.credit_code.is_empty() {
                    let exists: Option<String> = sqlx::query_scalar(
                        "SELECT ent_id FROM enterprises WHERE client = ? AND credit_code = ?",
                    )
                    .bind(&client.id)
                    .bind(&profile.credit_code)
                    .fetch_optional(&mut **tx)
                    .await?;
                    if let Some(id) = exists {
                        return fail(2302, format!("enterprise {id} has this credit code"));
                    }
                }
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM enterprises")
                    .fetch_one(&mut **tx)
                    .await?;
                let ent_id = format!("E{:06}", n + 1);
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO enterprises (ent_id, client, credit_code, profile, created_at, \
                     updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&ent_id)
                .bind(&client.id)
                .bind(&profile.credit_code)
                .bind(idnode_store::profile_to_json(profile))
                .bind(now)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                let mut r = ok(1000);
                r.data = ResData::EntCreated(ent_id);
                Ok(r)
            }
            Command::EntUpdate { ent_id, change } => {
                self.own_enterprise(tx, client, ent_id).await?;
                let profile = match change {
                    EntChange::All { profile, .. } | EntChange::Partial { profile, .. } => profile,
                };
                sqlx::query("UPDATE enterprises SET profile = ?, updated_at = ? WHERE ent_id = ?")
                    .bind(idnode_store::profile_to_json(profile))
                    .bind(now_millis())
                    .bind(ent_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(ok(1000))
            }
            Command::PrefixCheck { shr_prefix, prefix } => {
                own_prefix(client, shr_prefix)?;
                if self.prefix_taken(tx, prefix).await? {
                    return fail(2302, format!("{prefix} is taken"));
                }
                Ok(ok(1000))
            }
            Command::PrefixCreate {
                shr_prefix,
                ent_id,
                prefix,
            } => {
                own_prefix(client, shr_prefix)?;
                if !is_under(prefix, shr_prefix) {
                    return fail(2004, format!("{prefix} is not under {shr_prefix}"));
                }
                self.own_enterprise(tx, client, ent_id).await?;
                if self.prefix_taken(tx, prefix).await? {
                    return fail(2302, format!("{prefix} is taken"));
                }
                sqlx::query(
                    "INSERT INTO prefixes (prefix, client, ent_id, state, cl_trid, sv_trid, \
                     created_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                )
                .bind(prefix)
                .bind(&client.id)
                .bind(ent_id)
                .bind(&req.cl_trid)
                .bind(sv)
                .bind(now_millis())
                .execute(&mut **tx)
                .await?;
                if self.auto_approve {
                    review(tx, prefix, true, "").await?;
                }
                Ok(ok(1001))
            }
            Command::PollReq => {
                let row = sqlx::query(
                    "SELECT id, review, queued_at, \
                     (SELECT count(*) FROM messages WHERE client = ?1 AND acked_at IS NULL) AS n \
                     FROM messages WHERE client = ?1 AND acked_at IS NULL ORDER BY id LIMIT 1",
                )
                .bind(&client.id)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(m) = row else {
                    return Ok(ok(1300));
                };
                let review: Review =
                    serde_json::from_str(m.get("review")).map_err(|e| Fail(2400, e.to_string()))?;
                let mut r = ok(1301);
                r.msgq = Some(MsgQueue {
                    count: m.get::<i64, _>("n") as u32,
                    id: m.get::<i64, _>("id").to_string(),
                    date: Some(rfc3339(m.get("queued_at"))),
                    msg: Some(
                        if review.approved() {
                            "Prefix application approved"
                        } else {
                            "Prefix application rejected"
                        }
                        .into(),
                    ),
                });
                r.data = ResData::Review(review);
                Ok(r)
            }
            Command::PollAck { msg_id } => {
                let id: i64 = msg_id.parse().map_err(|_| Fail(2005, "bad msgID".into()))?;
                let n = sqlx::query(
                    "UPDATE messages SET acked_at = ? WHERE id = ? AND client = ? \
                     AND acked_at IS NULL",
                )
                .bind(now_millis())
                .bind(id)
                .bind(&client.id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return fail(2303, format!("no queued message {msg_id}"));
                }
                let left: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM messages WHERE client = ? AND acked_at IS NULL",
                )
                .bind(&client.id)
                .fetch_one(&mut **tx)
                .await?;
                let mut r = ok(1000);
                r.msgq = Some(MsgQueue {
                    count: left as u32,
                    id: msg_id.clone(),
                    date: None,
                    msg: None,
                });
                Ok(r)
            }
            Command::IdentifierCheck { names } => {
                let mut list = Vec::new();
                for name in names {
                    let exists = self.identifier_in(tx, name).await?.is_some();
                    list.push(Availability {
                        name: name.clone(),
                        avail: !exists,
                        reason: exists.then(|| "In use".to_owned()),
                    });
                }
                let mut r = ok(1000);
                r.data = ResData::IdentifierChecked(list);
                Ok(r)
            }
            Command::IdentifierInfo { name } => {
                let Some((owner, obj)) = self.identifier_in(tx, name).await? else {
                    return fail(2303, format!("{name} does not exist"));
                };
                if owner != client.id {
                    return fail(2201, format!("{name} belongs to another node"));
                }
                let mut r = ok(1000);
                r.data = ResData::IdentifierInfo(Box::new(IdentifierObject {
                    status: vec!["ok".into()],
                    ..obj
                }));
                Ok(r)
            }
            Command::IdentifierCreate(obj) => {
                self.may_provision(tx, client, &obj.name).await?;
                if self.identifier_in(tx, &obj.name).await?.is_some() {
                    return fail(2302, format!("{} exists", obj.name));
                }
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO identifiers (name, client, object, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&obj.name)
                .bind(&client.id)
                .bind(to_json(obj))
                .bind(now)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(ok(1000))
            }
            Command::IdentifierUpdate(u) => {
                let Some((owner, mut obj)) = self.identifier_in(tx, &u.name).await? else {
                    return fail(2303, format!("{} does not exist", u.name));
                };
                if owner != client.id {
                    return fail(2201, format!("{} belongs to another node", u.name));
                }
                update(&mut obj, u);
                sqlx::query("UPDATE identifiers SET object = ?, updated_at = ? WHERE name = ?")
                    .bind(to_json(&obj))
                    .bind(now_millis())
                    .bind(&u.name)
                    .execute(&mut **tx)
                    .await?;
                Ok(ok(1000))
            }
            Command::IdentifierDelete { name } => {
                let Some((owner, _)) = self.identifier_in(tx, name).await? else {
                    return fail(2303, format!("{name} does not exist"));
                };
                if owner != client.id {
                    return fail(2201, format!("{name} belongs to another node"));
                }
                sqlx::query("DELETE FROM identifiers WHERE name = ?")
                    .bind(name)
                    .execute(&mut **tx)
                    .await?;
                Ok(ok(1000))
            }
        }
    }

    async fn own_enterprise(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        ent_id: &str,
    ) -> Result<(), Fail> {
        let owner: Option<String> =
            sqlx::query_scalar("SELECT client FROM enterprises WHERE ent_id = ?")
                .bind(ent_id)
                .fetch_optional(&mut **tx)
                .await?;
        match owner {
            None => fail(2303, format!("enterprise {ent_id} does not exist")),
            Some(o) if o != client.id => fail(2201, format!("enterprise {ent_id} is not yours")),
            Some(_) => Ok(()),
        }
    }

    async fn prefix_taken(&self, tx: &mut Tx<'_>, prefix: &str) -> Result<bool, Fail> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM prefixes WHERE prefix = ? AND state != 'rejected'",
        )
        .bind(prefix)
        .fetch_one(&mut **tx)
        .await?;
        Ok(n > 0)
    }

    /// A client provisions objects under its own prefix and its approved enterprise prefixes.
    async fn may_provision(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        name: &str,
    ) -> Result<(), Fail> {
        let prefix = prefix_of(name);
        if prefix.eq_ignore_ascii_case(&client.prefix) {
            return Ok(());
        }
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM prefixes WHERE prefix = ? AND client = ?")
                .bind(prefix)
                .bind(&client.id)
                .fetch_optional(&mut **tx)
                .await?;
        match state.as_deref() {
            Some("approved") => Ok(()),
            Some(s) => fail(2304, format!("prefix {prefix} is {s}")),
            None => fail(2201, format!("{prefix} is not a prefix of {}", client.id)),
        }
    }

    async fn identifier_in(
        &self,
        tx: &mut Tx<'_>,
        name: &str,
    ) -> Result<Option<(String, IdentifierObject)>, Fail> {
        let row = sqlx::query("SELECT client, object FROM identifiers WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
        row.map(|r| {
            let obj =
                serde_json::from_str(r.get("object")).map_err(|e| Fail(2400, e.to_string()))?;
            Ok((r.get("client"), obj))
        })
        .transpose()
    }

    /// Approves or rejects a pending prefix application and queues the result for its node.
    pub async fn review(&self, prefix: &str, approve: bool, note: &str) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        match review(&mut tx, prefix, approve, note).await {
            Ok(()) => Ok(tx.commit().await?),
            Err(Fail(_, reason)) => Err(Error::Refused(reason)),
        }
    }

    /// Prefix applications, oldest first.
    pub async fn applications(&self) -> Result<Vec<Application>, Error> {
        let rows =
            sqlx::query("SELECT prefix, client, ent_id, state FROM prefixes ORDER BY created_at")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|r| Application {
                prefix: r.get("prefix"),
                client: r.get("client"),
                ent_id: r.get("ent_id"),
                state: r.get("state"),
            })
            .collect())
    }

    /// Every applied transform command, in order.
    pub async fn applied(&self) -> Result<Vec<Applied>, Error> {
        let rows = sqlx::query(
            "SELECT client, cl_trid, command, object, code, replays FROM transactions \
             ORDER BY at, rowid",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Applied {
                client: r.get("client"),
                cl_trid: r.get("cl_trid"),
                command: r.get("command"),
                object: r.get("object"),
                code: r.get::<i64, _>("code") as u16,
                replays: r.get::<i64, _>("replays") as u32,
            })
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

fn own_prefix(client: &Client, shr_prefix: &str) -> Result<(), Fail> {
    if shr_prefix.eq_ignore_ascii_case(&client.prefix) {
        Ok(())
    } else {
        fail(
            2201,
            format!("{} does not administer {shr_prefix}", client.id),
        )
    }
}

fn to_json(obj: &IdentifierObject) -> String {
    serde_json::to_string(obj).expect("plain data serialises")
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
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

fn update(obj: &mut IdentifierObject, u: &IdentifierUpdate) {
    obj.contacts.retain(|c| !u.rem.contacts.contains(c));
    obj.urls.retain(|x| !u.rem.urls.contains(x));
    obj.admins
        .retain(|a| !u.rem.admin_indexes.contains(&a.index));
    obj.sites.retain(|s| !u.rem.site_indexes.contains(&s.index));
    for c in &u.add.contacts {
        if !obj.contacts.contains(c) {
            obj.contacts.push(c.clone());
        }
    }
    for x in &u.add.urls {
        if !obj.urls.contains(x) {
            obj.urls.push(x.clone());
        }
    }
    for a in u.add.admins.iter().chain(&u.chg.admins) {
        obj.admins.retain(|o| o.index != a.index);
        obj.admins.push(a.clone());
    }
    for s in u.add.sites.iter().chain(&u.chg.sites) {
        obj.sites.retain(|o| o.index != s.index);
        obj.sites.push(s.clone());
    }
    if let Some(s) = &u.chg.status {
        obj.status = vec![s.clone()];
    }
}

async fn review(tx: &mut Tx<'_>, prefix: &str, approve: bool, note: &str) -> Result<(), Fail> {
    let row = sqlx::query(
        "SELECT client, ent_id, cl_trid, sv_trid, state FROM prefixes WHERE prefix = ?",
    )
    .bind(prefix)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(p) = row else {
        return fail(2303, format!("no application for {prefix}"));
    };
    if p.get::<String, _>("state") != "pending" {
        return fail(2304, format!("{prefix} is not pending review"));
    }
    let state = if approve { "approved" } else { "rejected" };
    sqlx::query("UPDATE prefixes SET state = ?, note = ?, reviewed_at = ? WHERE prefix = ?")
        .bind(state)
        .bind(note)
        .bind(now_millis())
        .bind(prefix)
        .execute(&mut **tx)
        .await?;
    let review = Review {
        cl_trid: p.get("cl_trid"),
        sv_trid: p.get("sv_trid"),
        ent_id: p.get("ent_id"),
        prefix: prefix.to_owned(),
        state: "1".into(),
        audit_result: if approve { "1" } else { "2" }.into(),
        audit_msg: note.to_owned(),
    };
    sqlx::query("INSERT INTO messages (client, review, queued_at) VALUES (?, ?, ?)")
        .bind(p.get::<String, _>("client"))
        .bind(serde_json::to_string(&review).expect("plain data serialises"))
        .bind(now_millis())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
