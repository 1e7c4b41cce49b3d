//! What the stand-in's EPP commands do to its state (inside the transaction `execute` opens).

use crate::password::now_millis;
use idnode_epp::{
    Availability, Command, EntChange, IdentifierObject, IdentifierUpdate, MsgQueue, Request,
    ResData, Response, Review,
};
use sqlx::Row;

use crate::state::{fail, Client, Fail, State, Tx};

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
    pub(crate) async fn apply(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        req: &Request,
        sv: &str,
    ) -> Result<Response, Fail> {
        match &req.command {
            Command::Login { .. } | Command::Logout => fail(2002, "not inside a session"),
            Command::EntCheck { .. } | Command::EntCreate { .. } | Command::EntUpdate { .. } => {
                self.enterprise(tx, client, req, sv).await
            }
            Command::PrefixCheck { .. } | Command::PrefixCreate { .. } => {
                self.prefix(tx, client, req, sv).await
            }
            Command::PollReq | Command::PollAck { .. } => self.poll(tx, client, req, sv).await,
            _ => self.identifier_command(tx, client, req, sv).await,
        }
    }

    /// `ent:check`, `ent:create`, `ent:update`.
    async fn enterprise(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        req: &Request,
        sv: &str,
    ) -> Result<Response, Fail> {
        let ok = |code| Response::new(code, Some(req.cl_trid.clone()), sv.to_owned());
        match &req.command {
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
                .bind(serde_json::to_string(profile).expect("plain data serialises"))
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
                    .bind(serde_json::to_string(profile).expect("plain data serialises"))
                    .bind(now_millis())
                    .bind(ent_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(ok(1000))
            }
            _ => unreachable!("routed by apply"),
        }
    }

    /// `prefix:check` and `prefix:create`.
    async fn prefix(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        req: &Request,
        sv: &str,
    ) -> Result<Response, Fail> {
        let ok = |code| Response::new(code, Some(req.cl_trid.clone()), sv.to_owned());
        match &req.command {
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
            _ => unreachable!("routed by apply"),
        }
    }

    /// The review queue: `poll` req and ack.
    async fn poll(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        req: &Request,
        sv: &str,
    ) -> Result<Response, Fail> {
        let ok = |code| Response::new(code, Some(req.cl_trid.clone()), sv.to_owned());
        match &req.command {
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
                    date: Some(idnode_escrow::rfc3339(m.get::<i64, _>("queued_at") / 1000)),
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
            _ => unreachable!("routed by apply"),
        }
    }

    /// `identifier:check`, `info`, `create`, `update`, `delete`.
    async fn identifier_command(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        req: &Request,
        sv: &str,
    ) -> Result<Response, Fail> {
        let ok = |code| Response::new(code, Some(req.cl_trid.clone()), sv.to_owned());
        match &req.command {
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
            _ => unreachable!("routed by apply"),
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

pub(crate) async fn review(
    tx: &mut Tx<'_>,
    prefix: &str,
    approve: bool,
    note: &str,
) -> Result<(), Fail> {
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
