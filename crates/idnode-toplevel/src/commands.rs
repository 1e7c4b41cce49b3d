//! What the stand-in's EPP commands do to its state (inside the transaction `execute` opens).

use crate::password::now_millis;
use idnode_core::EnterpriseProfile;
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

/// One command being carried out: the stand-in, the transaction, the client's session, the
/// request and the server transaction id it is answered with.
struct Cmd<'a, 't> {
    state: &'a State,
    tx: &'a mut Tx<'t>,
    client: &'a Client,
    req: &'a Request,
    sv: &'a str,
}

impl State {
    pub(crate) async fn apply(
        &self,
        tx: &mut Tx<'_>,
        client: &Client,
        req: &Request,
        sv: &str,
    ) -> Result<Response, Fail> {
        let mut c = Cmd {
            state: self,
            tx,
            client,
            req,
            sv,
        };
        match &req.command {
            Command::Login { .. } | Command::Logout => fail(2002, "not inside a session"),
            Command::EntCheck { crt_code, .. } => c.ent_check(crt_code).await,
            Command::EntCreate {
                shr_prefix,
                profile,
            } => c.ent_create(shr_prefix, profile).await,
            Command::EntUpdate { ent_id, change } => {
                let (EntChange::All { profile, .. } | EntChange::Partial { profile, .. }) = change;
                c.ent_update(ent_id, profile).await
            }
            Command::PrefixCheck { shr_prefix, prefix } => {
                own_prefix(client, shr_prefix)?;
                if c.prefix_taken(prefix).await? {
                    return fail(2302, format!("{prefix} is taken"));
                }
                Ok(c.ok(1000))
            }
            Command::PrefixCreate {
                shr_prefix,
                ent_id,
                prefix,
            } => c.prefix_create(shr_prefix, ent_id, prefix).await,
            Command::PollReq => c.poll_req().await,
            Command::PollAck { msg_id } => c.poll_ack(msg_id).await,
            Command::IdentifierCheck { names } => c.identifier_check(names).await,
            Command::IdentifierInfo { name } => {
                let obj = c.own_identifier(name).await?;
                Ok(
                    c.ok_with(ResData::IdentifierInfo(Box::new(IdentifierObject {
                        status: vec!["ok".into()],
                        ..obj
                    }))),
                )
            }
            Command::IdentifierCreate(obj) => c.identifier_create(obj).await,
            Command::IdentifierUpdate(u) => {
                let mut obj = c.own_identifier(&u.name).await?;
                update(&mut obj, u);
                sqlx::query("UPDATE identifiers SET object = ?, updated_at = ? WHERE name = ?")
                    .bind(to_json(&obj))
                    .bind(now_millis())
                    .bind(&u.name)
                    .execute(&mut **c.tx)
                    .await?;
                Ok(c.ok(1000))
            }
            Command::IdentifierDelete { name } => {
                c.own_identifier(name).await?;
                sqlx::query("DELETE FROM identifiers WHERE name = ?")
                    .bind(name)
                    .execute(&mut **c.tx)
                    .await?;
                Ok(c.ok(1000))
            }
        }
    }
}

impl Cmd<'_, '_> {
    /// A response with `code` to this request.
    fn ok(&self, code: u16) -> Response {
        Response::new(code, Some(self.req.cl_trid.clone()), self.sv.to_owned())
    }

    /// A successful response (1000) carrying `data`.
    fn ok_with(&self, data: ResData) -> Response {
        let mut r = self.ok(1000);
        r.data = data;
        r
    }

    /// The id of the client's enterprise with credit code `code`, if any.
    async fn enterprise_by_code(&mut self, code: &str) -> Result<Option<String>, Fail> {
        Ok(sqlx::query_scalar(
            "SELECT ent_id FROM enterprises WHERE client = ? AND credit_code = ?",
        )
        .bind(&self.client.id)
        .bind(code)
        .fetch_optional(&mut **self.tx)
        .await?)
    }

    /// `ent:check`.
    async fn ent_check(&mut self, crt_code: &str) -> Result<Response, Fail> {
        let Some(id) = self.enterprise_by_code(crt_code).await? else {
            return fail(2303, "no enterprise with this certificate code");
        };
        Ok(self.ok_with(ResData::EntChecked(id)))
    }

    /// `ent:create`.
    async fn ent_create(
        &mut self,
        shr_prefix: &str,
        profile: &EnterpriseProfile,
    ) -> Result<Response, Fail> {
        own_prefix(self.client, shr_prefix)?;
        if !profile.credit_code.is_empty() {
            if let Some(id) = self.enterprise_by_code(&profile.credit_code).await? {
                return fail(2302, format!("enterprise {id} has this credit code"));
            }
        }
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM enterprises")
            .fetch_one(&mut **self.tx)
            .await?;
        let ent_id = format!("E{:06}", n + 1);
        let now = now_millis();
        sqlx::query(
            "INSERT INTO enterprises (ent_id, client, credit_code, profile, created_at, \
             updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&ent_id)
        .bind(&self.client.id)
        .bind(&profile.credit_code)
        .bind(serde_json::to_string(profile).expect("plain data serialises"))
        .bind(now)
        .bind(now)
        .execute(&mut **self.tx)
        .await?;
        Ok(self.ok_with(ResData::EntCreated(ent_id)))
    }

    /// `ent:update`.
    async fn ent_update(
        &mut self,
        ent_id: &str,
        profile: &EnterpriseProfile,
    ) -> Result<Response, Fail> {
        self.own_enterprise(ent_id).await?;
        sqlx::query("UPDATE enterprises SET profile = ?, updated_at = ? WHERE ent_id = ?")
            .bind(serde_json::to_string(profile).expect("plain data serialises"))
            .bind(now_millis())
            .bind(ent_id)
            .execute(&mut **self.tx)
            .await?;
        Ok(self.ok(1000))
    }

    /// `prefix:create`: pending review (approved at once with `auto_approve`).
    async fn prefix_create(
        &mut self,
        shr_prefix: &str,
        ent_id: &str,
        prefix: &str,
    ) -> Result<Response, Fail> {
        own_prefix(self.client, shr_prefix)?;
        if !is_under(prefix, shr_prefix) {
            return fail(2004, format!("{prefix} is not under {shr_prefix}"));
        }
        self.own_enterprise(ent_id).await?;
        if self.prefix_taken(prefix).await? {
            return fail(2302, format!("{prefix} is taken"));
        }
        sqlx::query(
            "INSERT INTO prefixes (prefix, client, ent_id, state, cl_trid, sv_trid, \
             created_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
        )
        .bind(prefix)
        .bind(&self.client.id)
        .bind(ent_id)
        .bind(&self.req.cl_trid)
        .bind(self.sv)
        .bind(now_millis())
        .execute(&mut **self.tx)
        .await?;
        if self.state.auto_approve {
            review(self.tx, prefix, true, "").await?;
        }
        Ok(self.ok(1001))
    }

    /// `poll op="req"`: the oldest unacknowledged review message.
    async fn poll_req(&mut self) -> Result<Response, Fail> {
        let row = sqlx::query(
            "SELECT id, review, queued_at, \
             (SELECT count(*) FROM messages WHERE client = ?1 AND acked_at IS NULL) AS n \
             FROM messages WHERE client = ?1 AND acked_at IS NULL ORDER BY id LIMIT 1",
        )
        .bind(&self.client.id)
        .fetch_optional(&mut **self.tx)
        .await?;
        let Some(m) = row else {
            return Ok(self.ok(1300));
        };
        let review: Review =
            serde_json::from_str(m.get("review")).map_err(|e| Fail(2400, e.to_string()))?;
        let mut r = self.ok(1301);
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

    /// `poll op="ack"`.
    async fn poll_ack(&mut self, msg_id: &str) -> Result<Response, Fail> {
        let id: i64 = msg_id.parse().map_err(|_| Fail(2005, "bad msgID".into()))?;
        let n = sqlx::query(
            "UPDATE messages SET acked_at = ? WHERE id = ? AND client = ? AND acked_at IS NULL",
        )
        .bind(now_millis())
        .bind(id)
        .bind(&self.client.id)
        .execute(&mut **self.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return fail(2303, format!("no queued message {msg_id}"));
        }
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM messages WHERE client = ? AND acked_at IS NULL",
        )
        .bind(&self.client.id)
        .fetch_one(&mut **self.tx)
        .await?;
        let mut r = self.ok(1000);
        r.msgq = Some(MsgQueue {
            count: left as u32,
            id: msg_id.to_owned(),
            date: None,
            msg: None,
        });
        Ok(r)
    }

    /// `identifier:check`.
    async fn identifier_check(&mut self, names: &[String]) -> Result<Response, Fail> {
        let mut list = Vec::new();
        for name in names {
            let exists = self.identifier_in(name).await?.is_some();
            list.push(Availability {
                name: name.clone(),
                avail: !exists,
                reason: exists.then(|| "In use".to_owned()),
            });
        }
        Ok(self.ok_with(ResData::IdentifierChecked(list)))
    }

    /// `identifier:create`.
    async fn identifier_create(&mut self, obj: &IdentifierObject) -> Result<Response, Fail> {
        self.may_provision(&obj.name).await?;
        if self.identifier_in(&obj.name).await?.is_some() {
            return fail(2302, format!("{} exists", obj.name));
        }
        let now = now_millis();
        sqlx::query(
            "INSERT INTO identifiers (name, client, object, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&obj.name)
        .bind(&self.client.id)
        .bind(to_json(obj))
        .bind(now)
        .bind(now)
        .execute(&mut **self.tx)
        .await?;
        Ok(self.ok(1000))
    }

    async fn own_enterprise(&mut self, ent_id: &str) -> Result<(), Fail> {
        let owner: Option<String> =
            sqlx::query_scalar("SELECT client FROM enterprises WHERE ent_id = ?")
                .bind(ent_id)
                .fetch_optional(&mut **self.tx)
                .await?;
        match owner {
            None => fail(2303, format!("enterprise {ent_id} does not exist")),
            Some(o) if o != self.client.id => {
                fail(2201, format!("enterprise {ent_id} is not yours"))
            }
            Some(_) => Ok(()),
        }
    }

    async fn prefix_taken(&mut self, prefix: &str) -> Result<bool, Fail> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM prefixes WHERE prefix = ? AND state != 'rejected'",
        )
        .bind(prefix)
        .fetch_one(&mut **self.tx)
        .await?;
        Ok(n > 0)
    }

    /// A client provisions objects under its own prefix and its approved enterprise prefixes.
    async fn may_provision(&mut self, name: &str) -> Result<(), Fail> {
        let prefix = prefix_of(name);
        if prefix.eq_ignore_ascii_case(&self.client.prefix) {
            return Ok(());
        }
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM prefixes WHERE prefix = ? AND client = ?")
                .bind(prefix)
                .bind(&self.client.id)
                .fetch_optional(&mut **self.tx)
                .await?;
        match state.as_deref() {
            Some("approved") => Ok(()),
            Some(s) => fail(2304, format!("prefix {prefix} is {s}")),
            None => fail(
                2201,
                format!("{prefix} is not a prefix of {}", self.client.id),
            ),
        }
    }

    /// The identifier `name`, which must exist and belong to the client.
    async fn own_identifier(&mut self, name: &str) -> Result<IdentifierObject, Fail> {
        match self.identifier_in(name).await? {
            None => fail(2303, format!("{name} does not exist")),
            Some((owner, _)) if owner != self.client.id => {
                fail(2201, format!("{name} belongs to another node"))
            }
            Some((_, obj)) => Ok(obj),
        }
    }

    async fn identifier_in(
        &mut self,
        name: &str,
    ) -> Result<Option<(String, IdentifierObject)>, Fail> {
        let row = sqlx::query("SELECT client, object FROM identifiers WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut **self.tx)
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
