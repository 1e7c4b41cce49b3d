use std::sync::Arc;

use base64::Engine as _;
use idnode::{start, Config, RunningNode, Services};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

/// Which database a node runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// An identity and its secret.
#[derive(Clone, Debug)]
pub struct Who {
    pub identity: String,
    pub secret: String,
}

/// A running node with an operator and two enterprises:
/// A (Gearbox, 88.118.8) and B (Valve, 88.118.9).
pub struct TestNode {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    /// The certificate `base` is served with, when it is an `https://` URL.
    pub tls_root: Option<reqwest::Certificate>,
    pub operator: Who,
    pub a: Who,
    pub a_id: i64,
    pub b: Who,
    pub node: RunningNode,
    /// The configuration it runs with (a second instance starts from it: [`join`]).
    pub config: Config,
    _dir: tempfile::TempDir,
}

/// One Handle server key for every node of the test run (making an RSA key per node would
/// cost more than the tests it serves), in a private temporary directory.
pub fn shared_server_key() -> std::path::PathBuf {
    static KEY: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        idnode::load_server_key(&dir.path().join("server.key")).unwrap();
        dir
    });
    dir.path().join("server.key")
}

pub async fn node(backend: Backend) -> TestNode {
    node_with(backend, |_| {}).await
}

/// A fresh node whose configuration `tweak` adjusts after the test defaults are set.
pub async fn node_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("e2e.db").display()),
        Backend::Postgres => tokio::task::spawn_blocking(idnode_testkit::pg_database)
            .await
            .unwrap(),
    };
    let mut config = Config::default();
    config.database.url = url.clone();
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.handle.listen = "127.0.0.1:0".parse().unwrap();
    config.handle.read_timeout_secs = 1;
    config.handle.challenge_ttl_secs = 2;
    config.dns.listen = Some("127.0.0.1:0".parse().unwrap());
    config.dns.zone = "id.test.".into();
    config.dns.naptr = vec![idnode::config::NaptrConfig {
        prefix: Some("88.118.8".into()),
        services: "x-idnode+http".into(),
        template: "https://node.test/api/handles/{handle}".into(),
        order: 100,
        preference: 10,
    }];
    config.dns.delegation = vec![idnode::config::DelegationConfig {
        prefix: "88.118.9".into(),
        nameservers: vec!["ns1.valve.example.".into()],
    }];
    config.handle.referral = vec![idnode::config::ReferralConfig {
        prefix: "88.200".into(),
        servers: vec!["192.0.2.1:2641".parse().unwrap()],
    }];
    tweak(&mut config);
    let store = idnode::open_store(&config.database).await.unwrap();
    config.secrets.seal_key_file = Some(dir.path().join("seal.key"));
    config.secrets.server_key_file = Some(shared_server_key());
    let services = Arc::new(Services::new(store, "88.118", &config).await.unwrap());
    let started = config.clone();
    let op = services.registry.init_node(None).await.unwrap();
    let cli = idnode::cli_operator();
    let (ea, ca) = services
        .registry
        .create_enterprise(&cli, "Gearbox Co", "88.118.8", Default::default())
        .await
        .unwrap();
    let (_, cb) = services
        .registry
        .create_enterprise(&cli, "Valve Co", "88.118.9", Default::default())
        .await
        .unwrap();
    let node = start(&config, services).await.unwrap();
    let who = |identity: String, secret: String| Who { identity, secret };
    TestNode {
        backend,
        base: format!("http://{}", node.http_addr),
        client: reqwest::Client::new(),
        tls_root: None,
        operator: who(op.identity, op.secret),
        a: who(ca.identity, ca.secret),
        a_id: ea.id,
        b: who(cb.identity, cb.secret),
        node,
        config: started,
        _dir: dir,
    }
}

/// Another instance of `first`'s node on the same database, with the same key files and
/// listeners of its own (`tweak` adjusts the configuration), or why it cannot start.
pub async fn join(
    first: &TestNode,
    tweak: impl FnOnce(&mut Config),
) -> anyhow::Result<RunningNode> {
    let mut config = first.config.clone();
    tweak(&mut config);
    instance(&config, "88.118").await
}

/// An instance of the node `prefix` started with `config` (its database initialised).
pub async fn instance(config: &Config, prefix: &str) -> anyhow::Result<RunningNode> {
    let store = idnode::open_store(&config.database).await?;
    let services = Arc::new(Services::new(store, prefix, config).await?);
    start(config, services).await
}

/// `Authorization: Basic` as Handle.Net clients build it (urlencoded identity).
pub fn basic(who: &Who) -> String {
    let user = who.identity.replace(':', "%3A").replace('/', "%2F");
    let raw = format!("{user}:{}", who.secret);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl TestNode {
    /// A client that follows no redirects (a browser's view of 303s), trusting `tls_root`.
    pub fn browser(&self) -> reqwest::Client {
        self.browser_from("127.0.0.1")
    }

    /// [`TestNode::browser`] with its requests from `from`.
    pub fn browser_from(&self, from: &str) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(from.parse::<std::net::IpAddr>().unwrap());
        if let Some(root) = &self.tls_root {
            b = b
                .tls_built_in_root_certs(false)
                .add_root_certificate(root.clone());
        }
        b.build().unwrap()
    }

    /// The Prometheus exposition text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn req(&self, method: Method, path: &str, who: Option<&Who>) -> RequestBuilder {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(w) = who {
            r = r.header("authorization", basic(w));
        }
        r
    }

    pub async fn get(&self, path: &str, who: Option<&Who>) -> (u16, Value) {
        send(self.req(Method::GET, path, who)).await
    }

    pub async fn put(&self, path: &str, who: Option<&Who>, body: &Value) -> (u16, Value) {
        send(self.req(Method::PUT, path, who).json(body)).await
    }

    pub async fn delete(&self, path: &str, who: Option<&Who>) -> (u16, Value) {
        send(self.req(Method::DELETE, path, who)).await
    }

    pub async fn post(&self, path: &str, who: Option<&Who>, body: &Value) -> (u16, Value) {
        send(self.req(Method::POST, path, who).json(body)).await
    }
}

/// Sends, asserts the answer is never a server error, and parses JSON (Null if not JSON).
pub async fn send(r: RequestBuilder) -> (u16, Value) {
    let resp: Response = r.send().await.expect("the server answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert!(status < 500, "server error {status}: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Declares a test running the async fn `$check(&TestNode)` on a fresh node per backend.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $check:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in $crate::common::BACKENDS {
                let n = $crate::common::node(backend).await;
                eprintln!("running on {:?}", n.backend);
                $check(&n).await;
                n.node.stop().await.unwrap();
            }
        }
    };
    ($name:ident, $check:path, $tweak:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in $crate::common::BACKENDS {
                let n = $crate::common::node_with(backend, $tweak).await;
                eprintln!("running on {:?}", n.backend);
                $check(&n).await;
                n.node.stop().await.unwrap();
            }
        }
    };
}

/// Runs `tests/e2e/js/<script>` with Node.js against the npm `package` (installed under
/// target/ on first use, in `dir_name`, with `placeholders` as `npm_package` takes them)
/// and `args`; its standard output as JSON (a failing script fails the test with its
/// standard error).
pub async fn node_script(
    (dir_name, package, placeholders): (&str, &str, &[&str]),
    script: &str,
    args: &[&std::ffi::OsStr],
) -> Value {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir_name);
    let dir = idnode_testkit::npm_package(&dir, package, placeholders);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/js")
        .join(script);
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .args(args)
        .env("NODE_PATH", dir.join("node_modules"))
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
