//! The management API against schemathesis (from PyPI, installed into a virtual environment
//! under target/ on first use): every check, driven from the served OpenAPI document, as the
//! operator, as an enterprise, anonymously and as an SNMS client, against the `idnode` binary.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The schemathesis release the test installs.
const VERSION: &str = "4.32.5";

mod support;

/// The schemathesis command, installing it first when needed.
fn schemathesis() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-venv");
    idnode_testkit::python_venv(&venv, &format!("schemathesis=={VERSION}")).join("bin/schemathesis")
}

/// A demo node (operator, two enterprises) and the credentials it printed.
fn demo(dir: &Path) -> (support::Node, Vec<(String, String)>) {
    let mut cmd = support::idnode(None);
    cmd.env(
        "IDNODE_DATABASE_URL",
        format!("sqlite://{}", dir.join("n.db").display()),
    )
    .env("IDNODE_LOG", "error")
    .args(support::SERVE_DEMO);
    let node = support::serve(cmd);
    let who = node
        .printed
        .iter()
        .filter_map(|line| {
            let (_, rest) = line.split_once("identity ")?;
            let mut it = rest.split_whitespace();
            match (it.next(), it.next(), it.next()) {
                (Some(id), Some("secret"), Some(secret)) => {
                    Some((id.to_owned(), secret.to_owned()))
                }
                _ => None,
            }
        })
        .collect();
    (node, who)
}

/// A bearer token of the SNMS-compatible API for `who`.
fn snms_token(base: &str, who: &(String, String)) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = serde_json::json!({"username": who.0, "password": who.1});
    let answer: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/identity/token"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    answer["data"]["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

#[test]
fn schemathesis_finds_no_failure() {
    let st = schemathesis();
    let dir = tempfile::tempdir().unwrap();
    let (node, who) = demo(dir.path());
    let base = &node.base;
    assert!(who.len() >= 2, "{who:?}");
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/schemathesis/schemathesis.toml");
    let seed = std::env::var("IDNODE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261203".into());
    let auth = |(id, secret): &(String, String)| {
        let user = id.replace(':', "%3A").replace('/', "%2F");
        let raw = format!("{user}:{secret}");
        format!(
            "Authorization: Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw)
        )
    };
    // The SNMS-compatible API answers HTTP 200 with SNMS's envelope whatever the outcome
    // (status -1 without a valid token, -2 for bad data), as its clients expect: it runs on
    // its own, with a token, without the three checks that want a 4xx for bad data or missing
    // credentials (tests/e2e/snms.rs drives it as a client).
    const SNMS: &str = "^/(identity|snms|identityv2)/";
    let token = snms_token(base, &who[1]);
    let rest = ["--exclude-path-regex", SNMS];
    let snms = [
        "--include-path-regex",
        SNMS,
        "--exclude-checks",
        "negative_data_rejection,ignored_auth,missing_required_header",
    ];
    let callers = [
        ("operator", Some(auth(&who[0])), &rest[..]),
        ("enterprise", Some(auth(&who[1])), &rest[..]),
        ("anonymous", None, &rest[..]),
        (
            "an SNMS client",
            Some(format!("Authorization: Bearer {token}")),
            &snms[..],
        ),
    ];
    // Two streams side by side (each schemathesis keeps one core busy): the writers, and the
    // anonymous caller beside the SNMS client. Each run keeps its cache in a directory of its own.
    let run = |(name, header, only): (&str, Option<String>, &[&str])| {
        let cwd = dir.path().join(name.replace(' ', "-"));
        std::fs::create_dir_all(&cwd).unwrap();
        let mut cmd = Command::new(&st);
        // schemathesis keeps a cache in its working directory: not in the source tree.
        cmd.current_dir(&cwd)
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(format!("{base}/api/v1/openapi.json"))
            .args(["--checks", "all", "--max-examples", "20", "--seed", &seed])
            .args(["--request-timeout", "30", "--no-color"])
            .args(only);
        if let Some(h) = header {
            cmd.args(["-H", &h]);
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let summary = text.rsplit("SUMMARY").next().unwrap_or_default();
        eprintln!("schemathesis as {name}:{summary}");
        assert!(
            out.status.success(),
            "schemathesis as {name} reported failures:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let [operator, enterprise, anonymous, snms_client] = callers;
    std::thread::scope(|s| {
        let writers = s.spawn(|| [operator, enterprise].into_iter().for_each(run));
        [anonymous, snms_client].into_iter().for_each(run);
        if let Err(panic) = writers.join() {
            std::panic::resume_unwind(panic);
        }
    });
}
