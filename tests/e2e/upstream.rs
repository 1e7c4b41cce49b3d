//! The connection to the top-level node, against the stand-in: two secondary nodes (88.118 on
//! SQLite, 88.119 on PostgreSQL) onboard enterprises through the EPP review flow and report
//! their identifiers.

use std::sync::Arc;
use std::time::Duration;

use idnode::{start, Config, RunningNode, Services};
use idnode_toplevel::state::State;
use serde_json::{json, Value};

use idnode_core::SiteInfo;
use idnode_handle::client::Answer;
use idnode_handle_proto::{flags, rc};

use crate::common::{basic, send, Backend, Who};

/// Resolves `handle` at `node`'s Handle port (TCP).
async fn resolve(node: &Node, handle: &str, flags: u32) -> Answer {
    idnode_handle::client::resolve(
        node.node.handle_addr,
        handle,
        &[],
        &[],
        flags,
        0,
        Duration::from_secs(5),
    )
    .await
    .unwrap()
}

/// Waits (up to 30 s) until `check` holds.
pub async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

pub struct Toplevel {
    pub running: idnode_toplevel::Running,
    _dir: tempfile::TempDir,
}

impl Toplevel {
    pub async fn start(auto_approve: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let running = idnode_toplevel::start(&idnode_toplevel::Config {
            data: dir.path().to_owned(),
            epp: "127.0.0.1:0".parse().unwrap(),
            handle: "127.0.0.1:0".parse().unwrap(),
            https: "127.0.0.1:0".parse().unwrap(),
            auto_approve,
            namespaces: Default::default(),
        })
        .await
        .unwrap();
        Self { running, _dir: dir }
    }

    pub fn state(&self) -> &Arc<State> {
        &self.running.state
    }
}

pub struct Node {
    pub node: RunningNode,
    pub config: Config,
    pub base: String,
    pub operator: Who,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A node with prefix `prefix` connected to `tl` as `snms-<prefix>`.
pub async fn node(backend: Backend, prefix: &str, tl: &Toplevel) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("n.db").display()),
        Backend::Postgres => tokio::task::spawn_blocking(idnode_testkit::pg_database)
            .await
            .unwrap(),
    };
    let client_id = format!("snms-{prefix}");
    let password = format!("pw-{prefix}");
    tl.state()
        .add_client(&client_id, prefix, &password)
        .await
        .unwrap();
    let mut config = Config::default();
    config.database.url = url.clone();
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.handle.listen = "127.0.0.1:0".parse().unwrap();
    config.secrets.seal_key_file = Some(dir.path().join("seal.key"));
    let u = &mut config.upstream;
    u.enabled = true;
    u.handle_server = Some(tl.running.handle_addr);
    u.host = "127.0.0.1".into();
    u.port = tl.running.epp_addr.port();
    u.ca_file = Some(tl.running.cert.clone());
    u.client_id = client_id;
    u.password = Some(password);
    u.poll_interval_secs = 1;
    let https = tl.running.https_addr;
    u.report_url = Some(format!("https://{https}/"));
    u.iiidap_url = Some(format!("https://{prefix}.node.test/iiidap/"));
    config.escrow.url = Some(format!("https://{https}/escrow/"));
    config.escrow.dir = Some(dir.path().join("escrow"));
    u.backoff_initial_ms = 50;
    u.backoff_max_secs = 1;
    let store = idnode::open_store(&config.database).await.unwrap();
    let services = Arc::new(Services::new(store, prefix, &config).await.unwrap());
    let op = services.registry.init_node(None).await.unwrap();
    let key = idnode::escrow::signing_key(&config.escrow.key_file(&config), prefix).unwrap();
    tl.state()
        .set_escrow_key(&format!("snms-{prefix}"), &key.public_key().unwrap())
        .await
        .unwrap();
    let node = start(&config, services).await.unwrap();
    Node {
        base: format!("http://{}", node.http_addr),
        node,
        config,
        operator: Who {
            identity: op.identity,
            secret: op.secret,
        },
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Node {
    pub async fn call(
        &self,
        m: reqwest::Method,
        path: &str,
        who: &Who,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .client
            .request(m, format!("{}{path}", self.base))
            .header("authorization", basic(who));
        if let Some(b) = body {
            r = r.json(&b);
        }
        send(r).await
    }

    /// Onboards an enterprise; its identity.
    pub async fn onboard(&self, name: &str, prefix: &str, credit_code: &str) -> Who {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/enterprises",
                &self.operator,
                Some(json!({"name": name, "prefix": prefix,
                    "profile": {"credit_code": credit_code, "contact": {"name": "Li", "email": "li@x.example", "phone": "+86.2300000000"}}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        Who {
            identity: body["identity"].as_str().unwrap().into(),
            secret: body["secret"].as_str().unwrap().into(),
        }
    }

    pub async fn review_of(&self, prefix: &str) -> String {
        let (_, list) = self
            .call(
                reqwest::Method::GET,
                "/api/v1/prefixes",
                &self.operator,
                None,
            )
            .await;
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["prefix"] == prefix)
            .map(|p| p["review"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub async fn register(&self, who: &Who, handle: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::PUT,
            &format!("/api/handles/{handle}"),
            who,
            Some(json!({"values": [{"index": 1, "type": "URL", "data": {"format": "string", "value": format!("https://trace.example/{handle}")}}]})),
        )
        .await
    }

    /// The node's Prometheus exposition text.
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

    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = self.metrics().await;
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }
}

/// Two nodes and their enterprises, connected to one stand-in.
pub(crate) struct World {
    pub(crate) a: Node,
    pub(crate) b: Node,
    pub(crate) state: Arc<State>,
    pub(crate) gear: Who,
    pub(crate) valve: Who,
    pub(crate) pump: Who,
    _tl: Toplevel,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_onboard_through_the_review_and_report_identifiers() {
    let tl = Toplevel::start(false).await;
    let a = node(Backend::Sqlite, "88.118", &tl).await;
    let b = node(Backend::Postgres, "88.119", &tl).await;
    let gear = a
        .onboard("Gearbox Co", "88.118.5", "91500000MA5U0000X1")
        .await;
    let valve = b
        .onboard("Valve Co", "88.119.5", "91500000MA5U0000Y2")
        .await;
    let pump = b.onboard("Pump Co", "88.119.6", "91500000MA5U0000Z3").await;
    let w = World {
        state: tl.state().clone(),
        a,
        b,
        gear,
        valve,
        pump,
        _tl: tl,
    };
    reviews(&w).await;
    provisioning(&w).await;
    referrals(&w).await;
    crate::upstream_reports::escrow(&w).await;
    crate::upstream_reports::statistics(&w).await;
    crate::upstream_reports::iiidap(&w).await;
    let World { a, b, .. } = w;
    until("the outbox to drain", || async {
        a.metric("idnode_upstream_outbox_pending").await == Some(0.0)
            && b.metric("idnode_upstream_outbox_pending").await == Some(0.0)
    })
    .await;
    // After this traffic, the node exports every metric deploy/'s dashboard and alerts name.
    crate::deploy::assert_deploy_metrics_exported(&a.metrics().await);
    a.node.stop().await.unwrap();
    b.node.stop().await.unwrap();
}

/// Until the top-level node approves, a prefix takes no identifiers; its review reaches
/// the nodes.
async fn reviews(w: &World) {
    let World {
        a,
        b,
        gear,
        valve,
        pump,
        ..
    } = w;
    // Until the top-level node approves, the prefix takes no identifiers.
    assert_eq!(a.review_of("88.118.5").await, "pending");
    let (status, body) = a.register(gear, "88.118.5/GBX-1").await;
    assert_eq!(status, 403, "{body}");
    let state = w.state.clone();
    until("the three applications to reach the top-level node", || {
        let state = state.clone();
        async move {
            let apps = state.applications().await.unwrap();
            apps.len() == 3 && apps.iter().all(|a| a.state == "pending")
        }
    })
    .await;
    state.review("88.118.5", true, "").await.unwrap();
    state.review("88.119.5", true, "").await.unwrap();
    state
        .review("88.119.6", false, "营业执照已过期")
        .await
        .unwrap();
    until("the reviews to reach the nodes", || async {
        a.review_of("88.118.5").await == "approved"
            && b.review_of("88.119.5").await == "approved"
            && b.review_of("88.119.6").await == "rejected"
    })
    .await;
    let (status, body) = b.register(pump, "88.119.6/P-1").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("营业执照已过期"), "{body}");
    for k in 1..=3 {
        assert_eq!(a.register(gear, &format!("88.118.5/GBX-{k}")).await.0, 201);
        assert_eq!(b.register(valve, &format!("88.119.5/V-{k}")).await.0, 201);
    }
}

/// Enterprises, sites and identifiers reach the top-level node, once each.
async fn provisioning(w: &World) {
    let World { a, state, .. } = w;
    // Everything arrives upstream: enterprises with their ids, the nodes' sites for their
    // prefixes, and the identifiers with their URLs.
    until("the identifiers to reach the top-level node", || {
        let state = state.clone();
        async move {
            state.identifier("88.118.5/GBX-3").await.unwrap().is_some()
                && state.identifier("88.119.5/V-3").await.unwrap().is_some()
        }
    })
    .await;
    let obj = state.identifier("88.118.5/GBX-2").await.unwrap().unwrap();
    assert_eq!(obj.urls, ["https://trace.example/88.118.5/GBX-2"]);
    for site in ["88.118", "88.118.5", "88.119", "88.119.5"] {
        let obj = state.identifier(site).await.unwrap();
        let sites = obj.map(|o| o.sites).unwrap_or_default();
        assert_eq!(sites.len(), 1, "site of {site}");
    }
    assert!(state.identifier("88.119.6").await.unwrap().is_none());
    let (_, ent) = a
        .call(
            reqwest::Method::GET,
            "/api/v1/enterprises/1",
            &a.operator,
            None,
        )
        .await;
    assert!(
        ent["upstreamId"].as_str().is_some_and(|s| !s.is_empty()),
        "{ent}"
    );
    let applied = state.applied().await.unwrap();
    assert!(
        applied.iter().all(|t| t.code == 1000 || t.code == 1001),
        "{applied:?}"
    );
    let mut trids: Vec<_> = applied.iter().map(|t| (&t.client, &t.cl_trid)).collect();
    trids.sort();
    trids.dedup();
    assert_eq!(trids.len(), applied.len());
    // Material changes go upstream as ent:update; an enterprise already on file (same credit
    // code) is found by ent:check instead of being created twice.
    let ent_id = ent["upstreamId"].as_str().unwrap().to_owned();
    let (status, body) = a
        .call(
            reqwest::Method::PUT,
            "/api/v1/enterprises/1/profile",
            &a.operator,
            Some(json!({"credit_code": "91500000MA5U0000X1", "website": "https://gear.example"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let _branch = a
        .onboard("Gearbox Branch", "88.118.6", "91500000MA5U0000X1")
        .await;
    until(
        "the update and the branch to reach the top-level node",
        || {
            let state = state.clone();
            let ent_id = ent_id.clone();
            async move {
                let website = state
                    .enterprise_profile(&ent_id)
                    .await
                    .unwrap()
                    .map(|p| p.website)
                    .unwrap_or_default();
                let apps = state.applications().await.unwrap();
                website == "https://gear.example" && apps.iter().any(|a| a.prefix == "88.118.6")
            }
        },
    )
    .await;
    let apps = state.applications().await.unwrap();
    let branch = apps.iter().find(|a| a.prefix == "88.118.6").unwrap();
    assert_eq!(branch.ent_id, ent_id);
    let creates = state.applied().await.unwrap();
    let ent_creates = creates
        .iter()
        .filter(|t| t.client == "snms-88.118" && t.command == "ent:create")
        .count();
    assert_eq!(ent_creates, 1);
}

/// Each node resolves the other's identifiers through the top-level node.
async fn referrals(w: &World) {
    let World { a, b, .. } = w;
    // Each node resolves the other's identifiers through the top-level node: a prefix
    // referral to the other node's site, or, asked for recursion, the other node's answer.
    for (here, there, handle) in [(a, b, "88.119.5/V-2"), (b, a, "88.118.5/GBX-2")] {
        let referral = resolve(here, handle, 0).await;
        assert_eq!(referral.code, rc::PREFIX_REFERRAL, "{referral:?}");
        let sites: Vec<SiteInfo> = referral
            .values
            .iter()
            .map(|v| SiteInfo::decode(&v.data).unwrap())
            .collect();
        let ports: Vec<u32> = sites[0].servers[0]
            .interfaces
            .iter()
            .map(|i| i.port)
            .collect();
        assert!(
            ports.contains(&u32::from(there.node.handle_addr.port())),
            "{sites:?}"
        );
        let answer = resolve(here, handle, flags::REC).await;
        assert_eq!(answer.code, rc::SUCCESS, "{answer:?}");
        let url = answer.values.iter().find(|v| v.type_name == "URL").unwrap();
        assert_eq!(
            url.data,
            format!("https://trace.example/{handle}").as_bytes()
        );
    }
    // A prefix nobody registered: not responsible (301), from the top-level node's answer.
    assert_eq!(
        resolve(a, "88.120.1/X", flags::REC).await.code,
        rc::SERVER_NOT_RESP
    );
}
