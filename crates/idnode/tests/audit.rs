//! `idnode audit verify` and `export` on a node's database after traffic (command line and
//! HTTP writes), on SQLite and PostgreSQL: the chain holds; after one entry is changed in
//! the database behind the node's back, verify fails naming that entry.
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
    });
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
    let mut cmd = support::idnode(None);
    cmd.env("IDNODE_DATABASE_URL", db).args([
        "serve",
        "--http",
        "127.0.0.1:0",
        "--handle",
        "127.0.0.1:0",
    ]);
    let node = support::serve(cmd);
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
    assert!(
        actions.iter().any(|a| a.contains("enterprise.create")),
        "{actions:?}"
    );
    let http: Vec<&Value> = entries
        .iter()
        .filter(|e| e["origin"] == "127.0.0.1")
        .collect();
    // Each batch's first change and its subject (a replaced record also clears the
    // secrets of the values it drops: `secret.delete` follows).
    let kinds: Vec<(&str, &str)> = http
        .iter()
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
    assert!(http
        .iter()
        .all(|e| e["actor"] == "300:0.NA/88.118.8" && e["alg"] == "sm3"));
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
