//! The web console's security: no page or action without a session; sessions that are
//! bound to their address, expire and end at sign-out; forms refused without their CSRF
//! token; enterprise A unable to see or change B's data through any console route; sign-in
//! rate-limited; the cookie's attributes.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestNode, Who};
use crate::on_both;

/// A signed-in console session: its cookie and its CSRF token.
pub(crate) struct Console {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// The session cookie (`name=value`) a sign-in answer sets.
pub(crate) fn cookie_of(resp: &reqwest::Response) -> String {
    let set = resp.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn sign_in(n: &TestNode, who: &Who, proto: Option<&str>) -> reqwest::Response {
    let mut r = n
        .browser_from("127.0.0.1")
        .post(format!("{}/console/login", n.base))
        .form(&[
            ("identity", who.identity.as_str()),
            ("secret", who.secret.as_str()),
        ]);
    if let Some(p) = proto {
        r = r.header("x-forwarded-proto", p);
    }
    r.send().await.unwrap()
}

/// A console session of `who` (signed in with its secret), with its CSRF token.
pub(crate) async fn session(n: &TestNode, who: &Who) -> Console {
    let resp = sign_in(n, who, None).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_of(&resp);
    let page = get(n, "127.0.0.1", &cookie, "/console").await.2;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("every console page has the CSRF token")
        .to_owned();
    Console { cookie, csrf }
}

async fn get(n: &TestNode, from: &str, cookie: &str, path: &str) -> (StatusCode, String, String) {
    let resp = n
        .browser_from(from)
        .get(format!("{}{path}", n.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let to = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (resp.status(), to, resp.text().await.unwrap())
}

async fn post(n: &TestNode, cookie: &str, path: &str, form: &[(&str, &str)]) -> StatusCode {
    n.browser_from("127.0.0.1")
        .post(format!("{}{path}", n.base))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
}

/// Every console page and action.
const PAGES: [&str; 15] = [
    "/console",
    "/console/export?prefix=88.118.9",
    "/console/templates?prefix=88.118.9",
    "/console/credentials",
    "/console/trace?epc=hdl:88.118.9/PALLET-1",
    "/console/stats",
    "/console/stats.csv",
    "/console/enterprises",
    "/console/audit",
    "/console/prefixes",
    "/console/prefixes/88.118.9",
    "/console/identifiers/88.118.9/V-1",
    "/console/new?prefix=88.118.9",
    "/console/import",
    "/console/anything",
];
const ACTIONS: [&str; 9] = [
    "/console/credentials/key",
    "/console/logout",
    "/console/credentials",
    "/console/enterprises",
    "/console/enterprises/2/status",
    "/console/identifiers/88.118.9/V-1",
    "/console/new",
    "/console/import",
    "/console/anything",
];

async fn nothing_without_a_session(n: &TestNode) {
    for cookie in ["", "idnode_console=forged-token"] {
        for path in PAGES {
            let (status, to, _) = get(n, "127.0.0.1", cookie, path).await;
            assert_eq!(
                (status, to.as_str()),
                (StatusCode::SEE_OTHER, "/console/login"),
                "{path}"
            );
        }
        for path in ACTIONS {
            let s = post(n, cookie, path, &[("csrf", "x"), ("status", "suspended")]).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "POST {path}");
        }
    }
    let (status, _, page) = get(n, "127.0.0.1", "", "/console/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("type=\"password\""));
}

async fn cookies_and_sign_in(n: &TestNode) {
    let wrong = Who {
        identity: n.a.identity.clone(),
        secret: "wrong".into(),
    };
    assert_eq!(
        sign_in(n, &wrong, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let plain = sign_in(n, &n.a, None).await;
    let set = plain.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age="] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "{set}");
    let tls = sign_in(n, &n.a, Some("https")).await;
    let set = tls.headers()["set-cookie"].to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
}

async fn sign_in_is_rate_limited(n: &TestNode) {
    // Distinct guesses, as someone guessing would send (identical ones share one check).
    let guesses: Vec<Who> = (0..80)
        .map(|i| Who {
            identity: n.b.identity.clone(),
            secret: format!("guess-{i}"),
        })
        .collect();
    let tries = guesses.iter().map(|w| sign_in(n, w, None));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(tries)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::TOO_MANY_REQUESTS || *s == StatusCode::UNAUTHORIZED));
}

async fn enterprises_are_apart(n: &TestNode) {
    let v1 = json!({"values": [{"index": 1, "type": "URL", "data": "https://valve.example/1"}]});
    assert_eq!(
        n.put("/api/handles/88.118.9/V-1", Some(&n.b), &v1).await.0,
        201
    );
    let a = session(n, &n.a).await;
    for path in [
        "/console/export?prefix=88.118.9",
        "/console/templates?prefix=88.118.9",
        "/console/enterprises",
        "/console/audit",
        "/console/prefixes/88.118.9",
        "/console/identifiers/88.118.9/V-1",
    ] {
        let (status, _, page) = get(n, "127.0.0.1", &a.cookie, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.contains("valve.example"), "{path}");
    }
    // A's own pages list only A's prefix and A's statistics.
    let a1 = json!({"values": [{"index": 1, "type": "URL", "data": "https://gearbox.example/1"}]});
    assert_eq!(
        n.put("/api/handles/88.118.8/A-1", Some(&n.a), &a1).await.0,
        201
    );
    for page in ["/console", "/console/stats", "/console/stats.csv"] {
        let (_, _, text) = get(n, "127.0.0.1", &a.cookie, page).await;
        let rows = text.matches("88.118.8").count();
        assert!(rows > 0 && !text.contains("88.118.9"), "{page}: {text}");
    }
    // A's export: its identifiers as JSON Lines that import back, no secret keys.
    let (status, _, lines) =
        get(n, "127.0.0.1", &a.cookie, "/console/export?prefix=88.118.8").await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        rows.iter().any(|r| r["handle"] == "88.118.8/A-1"
            && r["values"][0]["data"]["value"] == "https://gearbox.example/1"),
        "{lines}"
    );
    assert!(
        !lines.contains("HS_SECKEY") && !lines.contains("88.118.9"),
        "{lines}"
    );
    // A search by value finds A's identifier by a piece of its URL, ignoring case; B's
    // prefix is not A's to search.
    let (status, _, found) = get(
        n,
        "127.0.0.1",
        &a.cookie,
        "/console/prefixes/88.118.8?value=GEARBOX.example",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        found.contains("88.118.8/A-1") && found.contains("search-note"),
        "{found}"
    );
    let (status, _, _) = get(
        n,
        "127.0.0.1",
        &a.cookie,
        "/console/prefixes/88.118.9?value=valve",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let csrf = a.csrf.as_str();
    let writes: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "/console/identifiers/88.118.9/V-1",
            vec![
                ("csrf", csrf),
                ("action", "save"),
                ("index", "1"),
                ("type", "URL"),
                ("data", "https://evil.example"),
            ],
        ),
        (
            "/console/identifiers/88.118.9/V-1",
            vec![("csrf", csrf), ("action", "delete"), ("confirm", "yes")],
        ),
        (
            "/console/new",
            vec![
                ("csrf", csrf),
                ("prefix", "88.118.9"),
                ("suffix", "EVIL"),
                ("index", "1"),
                ("type", "URL"),
                ("data", "x"),
            ],
        ),
        (
            "/console/enterprises/2/status",
            vec![("csrf", csrf), ("status", "suspended")],
        ),
        (
            "/console/enterprises",
            vec![("csrf", csrf), ("name", "Evil"), ("prefix", "88.118.66")],
        ),
    ];
    for (path, form) in &writes {
        assert_eq!(
            post(n, &a.cookie, path, form).await,
            StatusCode::FORBIDDEN,
            "{path} {form:?}"
        );
    }
    let csv = "handle,index,type,data\n88.118.9/V-1,1,URL,https://evil.example\n";
    let upload = reqwest::multipart::Form::new()
        .text("csrf", a.csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::text(csv).file_name("x.csv"),
        );
    let resp = n
        .browser_from("127.0.0.1")
        .post(format!("{}/console/import", n.base))
        .header("cookie", &a.cookie)
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let job = resp.headers()["location"].to_str().unwrap().to_owned();
    // The import's page: progress until it ends, then the refusal; B cannot see it.
    let (status, page) = loop {
        let (status, _, page) = get(n, "127.0.0.1", &a.cookie, &job).await;
        if !page.contains("id=\"progress\"") {
            break (status, page);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("belongs to another enterprise"), "{page}");
    let b = session(n, &n.b).await;
    assert_eq!(
        get(n, "127.0.0.1", &b.cookie, &job).await.0,
        StatusCode::NOT_FOUND
    );
    // B's events stay B's: B's trace shows the pallet's contents, A's shows nothing.
    let doc = json!({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-12-05T00:00:00Z",
        "epcisBody": {"eventList": [{"type": "AggregationEvent", "eventTime": "2026-12-05T08:00:00+08:00",
            "eventTimeZoneOffset": "+08:00", "parentID": "hdl:88.118.9/PALLET-1",
            "childEPCs": ["hdl:88.118.9/VALVE-1", "hdl:88.118.9/VALVE-2"],
            "action": "ADD", "bizStep": "packing"}]}});
    assert_eq!(n.post("/epcis/capture", Some(&n.b), &doc).await.0, 202);
    let trace = "/console/trace?epc=hdl:88.118.9/PALLET-1&direction=back";
    let (_, _, theirs) = get(n, "127.0.0.1", &b.cookie, trace).await;
    assert!(
        theirs.contains("trace-graph") && theirs.contains("valve-2"),
        "{theirs}"
    );
    let (status, _, mine) = get(n, "127.0.0.1", &a.cookie, trace).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        mine.contains("trace-empty") && !mine.contains("valve"),
        "{mine}"
    );
    // B's data is as B left it, and nothing was created under B's prefix.
    let (_, record) = n.get("/api/handles/88.118.9/V-1", None).await;
    assert_eq!(
        record["values"][0]["data"]["value"],
        "https://valve.example/1"
    );
    assert_eq!(n.get("/api/handles/88.118.9/EVIL", None).await.0, 404);
    let (_, ents) = n.get("/api/v1/enterprises", Some(&n.operator)).await;
    assert!(
        ents.as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "active"),
        "{ents}"
    );
}

async fn csrf_and_stolen_and_ended_sessions(n: &TestNode) {
    let a = session(n, &n.a).await;
    let other = session(n, &n.b).await;
    let form = |csrf: &'static str| {
        [
            ("prefix", "88.118.8"),
            ("suffix", "CSRF-1"),
            ("index", "1"),
            ("type", "URL"),
            ("data", "x"),
            ("csrf", csrf),
        ]
    };
    let with = |csrf: &str| -> Vec<(String, String)> {
        form("")
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    if *k == "csrf" {
                        csrf.to_owned()
                    } else {
                        v.to_string()
                    },
                )
            })
            .collect()
    };
    // Forged tokens, and another session's token, do not pass.
    for csrf in ["", "00000000000000000000000000000000", other.csrf.as_str()] {
        let f = with(csrf);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            post(n, &a.cookie, "/console/new", &f).await,
            StatusCode::FORBIDDEN,
            "{csrf}"
        );
    }
    assert_eq!(n.get("/api/handles/88.118.8/CSRF-1", None).await.0, 404);
    // The same cookie from another address is no session.
    let (status, to, _) = get(n, "127.0.0.2", &a.cookie, "/console").await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/console/login")
    );
    assert_eq!(
        get(n, "127.0.0.1", &a.cookie, "/console").await.0,
        StatusCode::OK
    );
    // With its token, the form works; after sign-out the cookie is dead.
    let f = with(&a.csrf);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        post(n, &a.cookie, "/console/new", &f).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(n.get("/api/handles/88.118.8/CSRF-1", None).await.0, 200);
    let out = [("csrf", a.csrf.as_str())];
    assert_eq!(
        post(n, &a.cookie, "/console/logout", &out).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        get(n, "127.0.0.1", &a.cookie, "/console").await.0,
        StatusCode::SEE_OTHER
    );
}

/// Sessions expire (this node's last three seconds).
async fn sessions_expire(n: &TestNode) {
    let b = session(n, &n.b).await;
    assert_eq!(
        get(n, "127.0.0.1", &b.cookie, "/console").await.0,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let (status, to, _) = get(n, "127.0.0.1", &b.cookie, "/console").await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/console/login")
    );
}

async fn console_security(n: &TestNode) {
    nothing_without_a_session(n).await;
    cookies_and_sign_in(n).await;
    enterprises_are_apart(n).await;
    csrf_and_stolen_and_ended_sessions(n).await;
    // Last: it spends the test client's sign-in budget.
    sign_in_is_rate_limited(n).await;
}

on_both!(
    console_is_closed_without_a_session_and_keeps_enterprises_apart,
    console_security
);
on_both!(console_sessions_expire, sessions_expire, |c| {
    c.http.console_session_secs = 3;
});
