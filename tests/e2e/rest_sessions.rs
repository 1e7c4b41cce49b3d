//! The rest of the Handle.Net REST API: sessions (`/api/sessions`, challenge–response with
//! HS_PUBKEY and HS_SECKEY, `Authorization: Handle sessionId=…` afterwards), `/api/site`,
//! `/api/prefixes`; and a connection pool's burst with one credential.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{basic, send, TestNode};
use crate::handle::publish_key;
use crate::hdl::{sign, test_key};
use crate::on_both;

/// `Authorization: Handle …` proving `id` in `session` (CNRI's client sends these fields).
fn handle_auth(
    session: &str,
    id: &str,
    kind: &str,
    alg: &str,
    signature: &[u8],
    cnonce: &[u8],
) -> String {
    format!(
        r#"Handle sessionId="{session}", id="{id}", type="{kind}", cnonce="{}", alg="{alg}", signature="{}""#,
        STANDARD.encode(cnonce),
        STANDARD.encode(signature)
    )
}

async fn call(
    n: &TestNode,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut r = n.client.request(method, format!("{}{path}", n.base));
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    send(r).await
}

/// A call authenticated by session `sid` (`Authorization: Handle sessionId="…"`).
async fn in_session(
    n: &TestNode,
    method: Method,
    path: &str,
    sid: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let auth = format!(r#"Handle sessionId="{sid}""#);
    call(n, method, path, Some(&auth), body).await
}

/// Opens a session; returns its id and nonce.
async fn open(n: &TestNode) -> (String, Vec<u8>) {
    let res = n
        .client
        .post(format!("{}/api/sessions", n.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["location"], "/api/sessions/this");
    let v: Value = res.json().await.unwrap();
    let id = v["sessionId"].as_str().unwrap().to_owned();
    let nonce = STANDARD.decode(v["nonce"].as_str().unwrap()).unwrap();
    assert_eq!(v.get("authenticated"), None, "{v}");
    (id, nonce)
}

/// The signature part of an HS_PUBKEY answer (the test key over nonce ‖ cnonce).
fn rsa_signature(nonce: &[u8], cnonce: &[u8]) -> Vec<u8> {
    let answer = sign(&test_key(), nonce, cnonce);
    // answer = blob("SHA-256") ‖ blob(signature)
    answer[4 + 7 + 4..].to_vec()
}

async fn session_wrong_signature(n: &TestNode, nonce: &[u8], cnonce: &[u8]) {
    // A wrong signature: 401 with the reason; the session stays anonymous.
    let (sid2, _) = open(n).await;
    let bad = handle_auth(
        &sid2,
        "300:88.118.8/ADMIN",
        "HS_PUBKEY",
        "SHA256",
        &rsa_signature(nonce, cnonce),
        cnonce,
    );
    let (s, v) = call(n, Method::PUT, "/api/sessions/this", Some(&bad), None).await;
    assert_eq!(s, 401, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("Identity not verified"),
        "{v}"
    );
    assert_eq!(v.get("authenticated"), None);
    let (s, v) = in_session(n, Method::GET, "/api/handles/88.118.8/RS-1", &sid2, None).await;
    assert_eq!(s, 200);
    assert!(!v.to_string().contains("admins only"));
}

/// HS_SECKEY sessions and guessing; the session it proves (kept for the expiry check).
async fn session_secret_key(n: &TestNode, cnonce: &[u8]) -> String {
    // HS_SECKEY: an HMAC-SHA256 of nonce ‖ cnonce under the secret.
    let (sid3, nonce3) = open(n).await;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"rest-session-secret");
    let mac = ring::hmac::sign(&key, &[&nonce3[..], cnonce].concat());
    let auth = handle_auth(
        &sid3,
        "301:88.118.8/RS-1",
        "HS_SECKEY",
        "HMAC-SHA256",
        mac.as_ref(),
        cnonce,
    );
    let (s, v) = call(n, Method::PUT, "/api/sessions/this", Some(&auth), None).await;
    assert_eq!((s, &v["id"]), (200, &json!("301:88.118.8/RS-1")), "{v}");
    let wrong = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"wrong"),
        &[&nonce3[..], cnonce].concat(),
    );
    let (sid4, _) = open(n).await;
    let auth = handle_auth(
        &sid4,
        "301:88.118.8/RS-1",
        "HS_SECKEY",
        "HMAC-SHA256",
        wrong.as_ref(),
        cnonce,
    );
    let (s, _) = call(n, Method::PUT, "/api/sessions/this", Some(&auth), None).await;
    assert_eq!(s, 401);

    // Guessing a secret is rate-limited per client address like Handle challenge answers
    // (a burst of 60, then 20 a second): 150 guesses at once meet 429s.
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..150u8 {
        let guess = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[i]),
            &[&nonce3[..], cnonce].concat(),
        );
        let auth = handle_auth(
            &sid4,
            "301:88.118.8/RS-1",
            "HS_SECKEY",
            "HMAC-SHA256",
            guess.as_ref(),
            cnonce,
        );
        let req = n
            .client
            .put(format!("{}/api/sessions/this", n.base))
            .header("authorization", auth);
        guesses.spawn(async move { req.send().await.unwrap().status().as_u16() });
    }
    let statuses: Vec<u16> = guesses.join_all().await;
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    sid3
}

async fn session_ending(n: &TestNode, sid: &str, sid3: &str) {
    // Ending a session; an unknown session is refused on every route.
    let (s, _) = in_session(n, Method::DELETE, "/api/sessions/this", sid, None).await;
    assert_eq!(s, 204);
    let (s, _) = in_session(n, Method::GET, "/api/sessions/this", sid, None).await;
    assert_eq!(s, 403);
    let (s, v) = in_session(n, Method::GET, "/api/handles/88.118.8/RS-1", sid, None).await;
    assert_eq!((s, v["responseCode"].as_u64()), (401, Some(402)), "{v}");
    // A request naming a session cannot open another.
    let (s, _) = in_session(n, Method::POST, "/api/sessions", sid, None).await;
    assert_eq!(s, 400);

    // Sessions expire when idle (this node: one second).
    let (s, _) = in_session(n, Method::GET, "/api/sessions/this", sid3, None).await;
    assert_eq!(s, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (s, _) = in_session(n, Method::GET, "/api/sessions/this", sid3, None).await;
    assert_eq!(s, 403, "the idle session expired");

    // A flood of new sessions from one address meets 429 (a client keeps one session).
    let mut opens = tokio::task::JoinSet::new();
    for _ in 0..80 {
        let req = n.client.post(format!("{}/api/sessions", n.base));
        opens.spawn(async move { req.send().await.unwrap().status().as_u16() });
    }
    let statuses: Vec<u16> = opens.join_all().await;
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
}

pub(crate) async fn session_checks(n: &TestNode) {
    publish_key(n).await;
    let (s, body) = n
        .put(
            "/api/handles/88.118.8/RS-1",
            Some(&n.a),
            &json!([
                {"index": 1, "type": "URL", "data": "https://rs.example/1"},
                {"index": 2, "type": "NOTE", "data": "admins only", "permissions": "1100"},
                {"index": 301, "type": "HS_SECKEY", "data": "rest-session-secret", "permissions": "1100"}
            ]),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (_, anon) = n.get("/api/handles/88.118.8/RS-1", None).await;
    assert!(!anon.to_string().contains("admins only"), "{anon}");

    // HS_PUBKEY: the answer proves 300:88.118.8/ADMIN.
    let (sid, nonce) = open(n).await;
    let cnonce = b"client nonce 123";
    let auth = handle_auth(
        &sid,
        "300:88.118.8/ADMIN",
        "HS_PUBKEY",
        "SHA256",
        &rsa_signature(&nonce, cnonce),
        cnonce,
    );
    let (s, v) = call(n, Method::PUT, "/api/sessions/this", Some(&auth), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["authenticated"], true);
    assert_eq!(v["id"], "300:88.118.8/ADMIN");
    let (s, v) = in_session(n, Method::GET, "/api/sessions/this", &sid, None).await;
    assert_eq!((s, &v["authenticated"]), (200, &json!(true)), "{v}");
    // The session reads admin-only values and writes.
    let (s, v) = in_session(n, Method::GET, "/api/handles/88.118.8/RS-1", &sid, None).await;
    assert_eq!(s, 200);
    assert!(v.to_string().contains("admins only"), "{v}");
    let body = json!({"values": [{"index": 1, "type": "URL", "data": "https://rs.example/2"}]});
    let (s, v) = in_session(
        n,
        Method::PUT,
        "/api/handles/88.118.8/RS-2",
        &sid,
        Some(&body),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = in_session(n, Method::DELETE, "/api/handles/88.118.8/RS-2", &sid, None).await;
    assert_eq!(s, 200);
    // Not under another enterprise's prefix.
    let (s, v) = in_session(
        n,
        Method::PUT,
        "/api/handles/88.118.9/RS-3",
        &sid,
        Some(&body),
    )
    .await;
    assert_eq!((s, v["responseCode"].as_u64()), (403, Some(401)), "{v}");

    console_by_key(n, &sid).await;
    uploaded_key_signs_in(n, cnonce).await;
    session_wrong_signature(n, &nonce, cnonce).await;
    let sid3 = session_secret_key(n, cnonce).await;
    session_ending(n, &sid, &sid3).await;
}

/// The web console signs in the identity a REST session proved with its private key; the
/// console session ends when that public key is replaced; an unproven session opens none.
async fn console_by_key(n: &TestNode, sid: &str) {
    let browser = n.browser();
    let sign_in = |id: String| {
        browser
            .post(format!("{}/console/login", n.base))
            .form(&[("session_id", id)])
            .send()
    };
    let r = sign_in(sid.to_owned()).await.unwrap();
    assert_eq!(r.status(), 303);
    let cookie = crate::console::cookie_of(&r);
    let page = |cookie: String| {
        browser
            .get(format!("{}/console", n.base))
            .header("cookie", cookie)
            .send()
    };
    let r = page(cookie.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("300:88.118.8/ADMIN"));
    // Replacing the key ends the console session.
    let other =
        json!([{"index": 300, "type": "HS_PUBKEY", "data": {"format": "base64", "value": "AAAA"}}]);
    assert_eq!(
        n.put("/api/handles/88.118.8/ADMIN?index=300", Some(&n.a), &other)
            .await
            .0,
        200
    );
    let r = page(cookie).await.unwrap();
    assert_eq!(r.status(), 303);
    crate::handle::publish_key_again(n).await;
    // A session that proved nothing, or none at all, opens no console session.
    let (unproven, _) = open(n).await;
    for id in [unproven, "no-such-session".to_owned()] {
        assert_eq!(sign_in(id).await.unwrap().status(), 401);
    }
}

/// An enterprise uploads its public key (PEM) in the console; a REST session proved with
/// the private key as the identity the console names opens a console session as it; a
/// file that is no key is refused.
async fn uploaded_key_signs_in(n: &TestNode, cnonce: &[u8]) {
    use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
    let browser = n.browser();
    let crate::console::Console { cookie, csrf } = crate::console::session(n, &n.a).await;
    let upload = |file: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(file).file_name("key.pem"),
            );
        browser
            .post(format!("{}/console/credentials/key", n.base))
            .header("cookie", &cookie)
            .multipart(form)
            .send()
    };
    let private = rsa::RsaPrivateKey::from_pkcs8_der(crate::hdl::test_key_pkcs8()).unwrap();
    let pem = rsa::RsaPublicKey::from(&private)
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let r = upload(pem.into_bytes()).await.unwrap();
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    let identity = text
        .split("id=\"key-identity\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(identity, "301:0.NA/88.118.8");
    let r = upload(b"not a key".to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    // The private key proves the identity in a REST session, which opens the console.
    let (sid, nonce) = open(n).await;
    let auth = handle_auth(
        &sid,
        &identity,
        "HS_PUBKEY",
        "SHA256",
        &rsa_signature(&nonce, cnonce),
        cnonce,
    );
    let (s, v) = call(n, Method::PUT, "/api/sessions/this", Some(&auth), None).await;
    assert_eq!(s, 200, "{v}");
    let r = browser
        .post(format!("{}/console/login", n.base))
        .form(&[("session_id", sid.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = crate::console::cookie_of(&r);
    let home = browser
        .get(format!("{}/console", n.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("301:0.NA/88.118.8") && home.contains("88.118.8"),
        "{home}"
    );
}

async fn site_checks(n: &TestNode) {
    let (s, v) = n.get("/api/site", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["responseCode"], 1);
    let server = &v["site"]["servers"][0];
    assert_eq!(server["publicKey"]["format"], "key");
    assert_eq!(server["publicKey"]["value"]["kty"], "RSA");
    let protocols: Vec<&str> = server["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(protocols, ["TCP", "UDP", "HTTP"]);

    let (s, v) = n.get("/api/prefixes", None).await;
    assert_eq!((s, v["responseCode"].as_u64()), (401, Some(402)), "{v}");
    let (s, v) = n.get("/api/prefixes", Some(&n.a)).await;
    assert_eq!((s, v["responseCode"].as_u64()), (403, Some(401)), "{v}");
    let (s, v) = n.get("/api/prefixes", Some(&n.operator)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["prefixes"],
        json!(["0.NA/88.118", "0.NA/88.118.8", "0.NA/88.118.9"])
    );
    assert_eq!(v["totalCount"], "3");
    let (s, v) = n
        .get("/api/prefixes?page=1&pageSize=2", Some(&n.operator))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (&v["prefixes"], &v["page"], &v["pageSize"]),
        (&json!(["0.NA/88.118.9"]), &json!(1), &json!(2))
    );
}

/// 64 connections writing with one enterprise credential at once, as an HTTP client pool
/// does: none is refused, and the credential costs a handful of PBKDF2 computations.
async fn pool_checks(n: &TestNode) {
    let before = n.node.services.registry.secret_checks();
    let auth = basic(&n.a);
    let mut tasks = Vec::new();
    for c in 0..64 {
        // One client per task: its own connection.
        let client = reqwest::Client::new();
        let (base, auth) = (n.base.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = Vec::new();
            for i in 0..8 {
                let res = client
                    .put(format!("{base}/api/handles/88.118.8/POOL-{c}-{i}"))
                    .header("authorization", &auth)
                    .json(&json!([{"index": 1, "type": "URL", "data": "https://pool.example"}]))
                    .send()
                    .await
                    .unwrap();
                if !res.status().is_success() {
                    refused.push(res.status().as_u16());
                }
            }
            refused
        }));
    }
    let mut refused = Vec::new();
    for t in tasks {
        refused.extend(t.await.unwrap());
    }
    assert!(refused.is_empty(), "refused: {refused:?}");
    let checks = n.node.services.registry.secret_checks() - before;
    assert!(
        checks <= 2,
        "{checks} PBKDF2 computations for one credential"
    );
    let metrics = n.metrics().await;
    assert!(
        metrics.contains("idnode_auth_secret_checks_total{result=\"ok\"}"),
        "the metric is exported"
    );
}

on_both!(handle_net_rest_sessions, session_checks, |c| c
    .handle
    .session_idle_secs =
    1);
on_both!(handle_net_site_and_prefixes, site_checks);
on_both!(one_credential_from_a_connection_pool, pool_checks);
