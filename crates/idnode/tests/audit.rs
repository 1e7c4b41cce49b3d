//! `idnode audit verify` and `export` on a node's database after a compressed day of mixed
//! traffic (command line; REST writes; a 200-identifier batch; an EPCIS capture, a named
//! query and a subscription; console sign-ins, an edit and an import), on SQLite and
//! PostgreSQL: the chain holds and every kind of write is in it; after one entry is changed
//! in the database behind the node's back, verify fails naming that entry.
#![allow(missing_docs)]

mod support;

use std::process::Output;

use serde_json::{json, Value};
use sqlx::Connection as _;

use support::ok;

fn idnode(db: &str, args: &[&str]) -> Output {
    let mut c = support::idnode(None);
    c.env("IDNODE_DATABASE_URL", db).args(args);
    c.output().expect("idnode runs")
}

/// Runs `sql` on the database directly, as someone with access to it would.
fn behind_the_back(db: &str, sql: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        if db.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(db).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        } else {
            let mut c = sqlx::PgConnection::connect(db).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    });
}

/// Writes as the enterprise over HTTP: two creates, an update, a delete, a refused write.
fn traffic(base: &str, identity: &str, secret: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let put = |h: &str, url: &str| {
            c.put(format!("{base}/api/handles/88.118.8/{h}"))
                .basic_auth(identity, Some(secret))
                .json(&json!({"values": [{"index": 1, "type": "URL", "data": url}]}))
                .send()
        };
        assert_eq!(put("AUD-1", "https://a").await.unwrap().status(), 201);
        assert_eq!(put("AUD-2", "https://b").await.unwrap().status(), 201);
        assert_eq!(put("AUD-1", "https://c").await.unwrap().status(), 200);
        let del = c
            .delete(format!("{base}/api/handles/88.118.8/AUD-2"))
            .basic_auth(identity, Some(secret))
            .send()
            .await
            .unwrap();
        assert_eq!(del.status(), 200);
        let refused = c
            .put(format!("{base}/api/handles/88.119.1/X"))
            .basic_auth(identity, Some(secret))
            .json(&json!({"values": [{"index": 1, "type": "URL", "data": "https://x"}]}))
            .send()
            .await
            .unwrap();
        assert!(refused.status().is_client_error(), "{}", refused.status());
        more_traffic(&c, base, identity, secret).await;
    });
}

/// The rest of the day: a batch, EPCIS, the console.
async fn more_traffic(c: &reqwest::Client, base: &str, identity: &str, secret: &str) {
    let post = |path: &str, body: Value| {
        c.post(format!("{base}{path}"))
            .basic_auth(identity, Some(secret))
            .json(&body)
            .send()
    };
    let ops: Vec<Value> = (0..200)
        .map(|i| {
            json!({"op": "create", "handle": format!("88.118.8/DAY-{i}"),
            "values": [{"index": 1, "type": "URL", "data": format!("https://d/{i}")}]})
        })
        .collect();
    let r = post("/api/v1/identifiers/batch", json!({"operations": ops}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc = json!({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-12-05T00:00:00Z",
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "eventTime": "2026-12-05T08:00:00+08:00",
            "eventTimeZoneOffset": "+08:00", "epcList": ["hdl:88.118.8/AUD-1"],
            "action": "OBSERVE", "bizStep": "inspecting"}]}});
    let r = post("/epcis/capture", doc).await.unwrap();
    assert_eq!(r.status(), 202);
    let r = post(
        "/epcis/queries",
        json!({"name": "day", "query": {"eventType": ["ObjectEvent"]}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = post(
        "/epcis/queries/day/subscriptions",
        json!({"dest": "https://partner.example/epcis", "schedule": {"hour": "2"}}),
    )
    .await
    .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // The console: a sign-in, an edit through its form, a sign-out.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = browser
        .post(format!("{base}/console/login"))
        .form(&[("identity", identity), ("secret", secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let cookie = signed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = browser
        .get(format!("{base}/console/new?prefix=88.118.8"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let made = browser
        .post(format!("{base}/console/new"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("prefix", "88.118.8"),
            ("suffix", "CONSOLE-1"),
            ("index", "1"),
            ("type", "URL"),
            ("data", "https://console"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 303);
    let out = browser
        .post(format!("{base}/console/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
}

fn story(db: &str) {
    ok(&idnode(db, &["init", "--node-prefix", "88.118"]));
    let created = ok(&idnode(db, &support::CREATE_GEARBOX));
    let secret = created
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .expect("the secret is printed")
        .trim()
        .to_owned();
    let node = support::serve_database(db);
    traffic(&node.base, "300:0.NA/88.118.8", &secret);
    drop(node);

    let verified = ok(&idnode(db, &["audit", "verify"]));
    assert!(verified.starts_with("audit log intact: "), "{verified}");
    let exported = ok(&idnode(db, &["audit", "export"]));
    let entries: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for kind in [
        "enterprise.create",
        "identifier.create×200",
        "epcis.capture",
        "epcis.query.create",
        "epcis.subscription.create",
        "token.issue",
        "token.revoke",
    ] {
        assert!(
            actions.iter().any(|a| a.contains(kind)),
            "{kind}: {actions:?}"
        );
    }
    let http: Vec<&Value> = entries
        .iter()
        .filter(|e| e["origin"] == "127.0.0.1")
        .collect();
    // Each batch's first change and its subject (a replaced record also clears the
    // secrets of the values it drops: `secret.delete` follows).
    let kinds: Vec<(&str, &str)> = http
        .iter()
        .take(4)
        .map(|e| {
            let action = e["action"].as_str().unwrap();
            let target = e["target"].as_str().unwrap();
            (
                action.split(' ').next().unwrap(),
                target.split(' ').next().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("identifier.create", "88.118.8/AUD-1"),
            ("identifier.create", "88.118.8/AUD-2"),
            ("identifier.update", "88.118.8/AUD-1"),
            ("identifier.delete", "88.118.8/AUD-2"),
        ],
        "{exported}"
    );
    assert!(
        http.iter()
            .all(|e| e["actor"] == "300:0.NA/88.118.8" && e["alg"] == "sm3"),
        "{exported}"
    );
    assert_eq!(
        entries.len().to_string(),
        verified.split_whitespace().nth(3).unwrap()
    );

    // Someone rewrites who made the update, in the database.
    let seq = http[2]["seq"].as_i64().unwrap();
    behind_the_back(
        db,
        &format!("UPDATE audit_log SET actor = 'nobody' WHERE seq = {seq}"),
    );
    let broken = idnode(db, &["audit", "verify"]);
    assert!(!broken.status.success());
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(
        err.contains(&format!("audit chain broken at entry {seq}:")),
        "{err}"
    );

    // Deleting the last entry shows too: the recorded head names one more.
    behind_the_back(
        db,
        &format!("UPDATE audit_log SET actor = '300:0.NA/88.118.8' WHERE seq = {seq}"),
    );
    ok(&idnode(db, &["audit", "verify"]));
    let last = entries.last().unwrap()["seq"].as_i64().unwrap();
    behind_the_back(db, &format!("DELETE FROM audit_log WHERE seq = {last}"));
    let cut = idnode(db, &["audit", "verify"]);
    let err = String::from_utf8_lossy(&cut.stderr);
    assert!(
        !cut.status.success() && err.contains(&format!("entry {last}")),
        "{err}"
    );
}

#[test]
fn audit_chain_verifies_and_names_a_changed_entry_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    story(&format!(
        "sqlite://{}",
        dir.path().join("audit.db").display()
    ));
}

#[test]
fn audit_chain_verifies_and_names_a_changed_entry_on_postgres() {
    story(&idnode_testkit::pg_database());
}
