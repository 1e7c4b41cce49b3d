//! HTTPS (`[tls]`): the same routes over TLS, HTTP/2 when the client offers it (reqwest and
//! curl), the Handle.Net REST session API over HTTPS as Handle.Net serves it, `Secure`
//! console cookies, and the certificate reloaded on SIGHUP (a bad pair keeps the old one).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{node_with, Backend};

/// A self-signed certificate for `localhost` and 127.0.0.1, written to `cert` and `key`;
/// its PEM.
fn certificate(cert: &Path, key: &Path) -> String {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(cert, made.cert.pem()).unwrap();
    std::fs::write(key, made.signing_key.serialize_pem()).unwrap();
    made.cert.pem()
}

/// A client trusting only `pem`.
fn client(pem: &str, http1: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .https_only(true);
    if http1 {
        b = b.http1_only();
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_the_api_over_http2_and_reloads_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first = certificate(&cert, &key);
    let mut n = node_with(Backend::Sqlite, |c| {
        c.handle.session_idle_secs = 1;
        c.tls.listen = Some("127.0.0.1:0".parse().unwrap());
        c.tls.cert_file = Some(cert.clone());
        c.tls.key_file = Some(key.clone());
    })
    .await;
    let port = n.node.https_addr.expect("HTTPS listens").port();
    let base = format!("https://localhost:{port}");

    // HTTP/2 by ALPN, and HTTP/1.1 for a client that only speaks it.
    for (http1, version) in [
        (false, reqwest::Version::HTTP_2),
        (true, reqwest::Version::HTTP_11),
    ] {
        let r = client(&first, http1)
            .get(format!("{base}/api/site"))
            .send()
            .await
            .unwrap();
        assert_eq!((r.status().as_u16(), r.version()), (200, version));
    }
    // curl, as partners run it.
    let out = Command::new("curl")
        .args(["-sS", "--http2", "--cacert"])
        .arg(&cert)
        .args(["-o", "/dev/null", "-w", "%{http_version} %{http_code}"])
        .arg(format!("{base}/api/handles/0.NA/88.118"))
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2 200", "{out:?}");

    // The Handle.Net REST session API, over HTTPS (HTTP/2), the whole story.
    n.base = base.clone();
    n.client = client(&first, false);
    n.tls_root = Some(reqwest::Certificate::from_pem(first.as_bytes()).unwrap());
    crate::rest_sessions::session_checks(&n).await;

    // A console session cookie over HTTPS is Secure.
    let r = n
        .browser()
        .post(format!("{base}/console/login"))
        .form(&[
            ("identity", n.a.identity.as_str()),
            ("secret", n.a.secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");

    // SIGHUP: new connections get the renewed certificate; a bad pair keeps it.
    let expiry = || async {
        let text = reqwest::get(format!("http://{}/metrics", n.node.http_addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("idnode_tls_certificate_expiry_timestamp_seconds "))
            .map(str::to_owned)
    };
    assert!(expiry().await.is_some());
    let second = certificate(&cert, &key);
    hangup();
    let renewed = client(&second, false);
    let mut tries = 0;
    while renewed
        .get(format!("{base}/api/site"))
        .send()
        .await
        .is_err()
    {
        tries += 1;
        assert!(tries < 50, "the renewed certificate was never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        client(&first, false)
            .get(format!("{base}/api/site"))
            .send()
            .await
            .is_err(),
        "new connections still get the old certificate"
    );
    std::fs::write(&cert, "not a certificate").unwrap();
    hangup();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = client(&second, false)
        .get(format!("{base}/api/site"))
        .send()
        .await;
    assert_eq!(r.unwrap().status(), 200);
    n.node.stop().await.unwrap();
}

/// SIGHUP to this process (the node under test handles it).
fn hangup() {
    let ok = Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
