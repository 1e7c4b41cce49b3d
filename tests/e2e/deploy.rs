//! What `deploy/` ships, checked with the real tools: Prometheus's `promtool` on the alert
//! rules (syntax, and their unit tests in `alerts_test.yml`) and on the scrape
//! configuration; the Grafana dashboard parsed, every panel's queries naming only metrics a
//! running node exports (checked in `upstream.rs`, on a node connected to the top-level
//! stand-in, after traffic).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// Runs promtool with `args` in `deploy/prometheus`; its output.
fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(deploy().join("prometheus"))
        .output()
        .expect("promtool runs (Debian: apt-get install prometheus; .ci/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_rules_their_unit_tests_and_the_scrape_config() {
    assert!(promtool(&["check", "rules", "alerts.yml"]).contains("SUCCESS: 9 rules found"));
    promtool(&["test", "rules", "alerts_test.yml"]);
    promtool(&["check", "config", "prometheus.yml"]);
}

/// The dashboard's panels and the metric names their queries use.
pub fn dashboard_metrics() -> BTreeSet<String> {
    let text = std::fs::read_to_string(deploy().join("grafana/idnode.json")).unwrap();
    let dash: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(dash["uid"], "idnode-overview");
    let panels = dash["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    let mut names = BTreeSet::new();
    for p in panels {
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {} has no query", p["title"]);
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{}", p["title"]);
            let expr = t["expr"].as_str().expect("expr");
            let found = metric_names(expr);
            assert!(
                !found.is_empty(),
                "{} queries no idnode metric: {expr}",
                p["title"]
            );
            names.extend(found);
        }
    }
    names
}

/// The `idnode_…` names in a PromQL expression, a histogram's series named by the histogram.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("idnode_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        out.push(name.strip_suffix("_bucket").unwrap_or(name).to_owned());
        rest = &tail[end..];
    }
    out
}

/// Metrics a node exports only when so configured (each checked where it is: the HTTPS
/// test for the certificate's expiry).
const CONFIGURED_ONLY: [&str; 1] = ["idnode_tls_certificate_expiry_timestamp_seconds"];

/// Every metric the dashboard queries, and every metric an alert rule names, appears in
/// `exposition` (a node's /metrics), but for [`CONFIGURED_ONLY`].
pub fn assert_deploy_metrics_exported(exposition: &str) {
    let exported: BTreeSet<&str> = exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let rules = std::fs::read_to_string(deploy().join("prometheus/alerts.yml")).unwrap();
    let missing: Vec<String> = dashboard_metrics()
        .into_iter()
        .chain(metric_names(&rules))
        .filter(|m| !exported.contains(m.as_str()) && !CONFIGURED_ONLY.contains(&m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "deploy/ names metrics the node does not export: {missing:?}"
    );
}

#[test]
fn metric_names_are_read_out_of_queries() {
    assert_eq!(
        metric_names("histogram_quantile(0.5, sum by (le) (rate(idnode_http_request_duration_seconds_bucket[5m]))) / idnode_cache_bytes"),
        ["idnode_http_request_duration_seconds", "idnode_cache_bytes"]
    );
    assert!(dashboard_metrics().contains("idnode_resolutions_total"));
}

/// Runs `cmd`; its output, which must be a success.
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} runs ({e}); .ci/run installs it"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let dir = tempfile::tempdir().unwrap();
    // verify needs ExecStart's program to exist here; the unit is checked as written.
    let unit = std::fs::read_to_string(deploy().join("systemd/idnode.service"))
        .unwrap()
        .replace("/usr/local/bin/idnode", "/bin/true");
    let path = dir.path().join("idnode.service");
    std::fs::write(&path, unit).unwrap();
    run(
        Command::new("systemd-analyze").arg("verify").arg(&path),
        "systemd-analyze verify",
    );
    let security = run(
        Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(&path),
        "systemd-analyze security",
    );
    let exposure: f64 = security
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for idnode.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("an exposure level");
    // systemd rates 0-2 "OK" (9.6 for a unit with no protection at all).
    assert!(exposure <= 2.0, "exposure {exposure}:\n{security}");
}

#[test]
fn the_kubernetes_manifests_validate_against_the_schemas() {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("venv-kubernetes-validate");
    let venv = idnode_testkit::python_venv(&venv, "kubernetes-validate==1.37.0");
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy().join("kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 7, "{files:?}");
    let out = run(
        Command::new(venv.join("bin/kubernetes-validate"))
            .args(["--strict", "-k", "1.30.0"])
            .args(&files),
        "kubernetes-validate",
    );
    for kind in [
        "configmap/idnode",
        "secret/idnode-database",
        "deployment/idnode",
        "service/idnode",
        "horizontalpodautoscaler/idnode",
        "poddisruptionbudget/idnode",
        "networkpolicy/idnode",
    ] {
        assert!(
            out.contains(&format!("passed for resource {kind}")),
            "{kind}:\n{out}"
        );
    }
    // The validator refuses what is wrong (so its passing means something).
    let bad = tempfile::tempdir().unwrap();
    let wrong = bad.path().join("wrong.yaml");
    let deployment = std::fs::read_to_string(deploy().join("kubernetes/deployment.yaml")).unwrap();
    std::fs::write(&wrong, deployment.replace("replicas: 2", "replicas: two")).unwrap();
    let refused = Command::new(venv.join("bin/kubernetes-validate"))
        .args(["--strict", "-k", "1.30.0"])
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

/// Kubernetes and haproxy route by the readiness that keeps cached answers flowing through
/// a database outage (its meaning is checked in `db_down.rs` and `balancer.rs`).
#[test]
fn load_balancers_route_by_readiness_for_resolution() {
    let deployment = std::fs::read_to_string(deploy().join("kubernetes/deployment.yaml")).unwrap();
    let probe = deployment
        .split("readinessProbe:")
        .nth(1)
        .and_then(|rest| rest.lines().find_map(|l| l.trim().strip_prefix("path: ")));
    assert_eq!(probe, Some(crate::balancer::ROUTING_READINESS));
    let haproxy = std::fs::read_to_string(deploy().join("compose/haproxy.cfg")).unwrap();
    let checks: Vec<&str> = haproxy
        .lines()
        .filter_map(|l| l.trim().strip_prefix("option httpchk GET "))
        .collect();
    assert_eq!(checks, [crate::balancer::ROUTING_READINESS; 2]);
    run(
        Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(deploy().join("compose/haproxy.cfg")),
        "haproxy -c (Debian: haproxy)",
    );
}

#[test]
fn the_compose_file_and_its_prometheus_configuration_parse() {
    run(
        Command::new("docker-compose")
            .arg("-f")
            .arg(deploy().join("compose/compose.yaml"))
            .args(["config", "-q"]),
        "docker-compose config (Debian: docker-compose)",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        deploy().join("compose/prometheus.yml"),
        dir.path().join("prometheus.yml"),
    )
    .unwrap();
    std::fs::copy(
        deploy().join("prometheus/alerts.yml"),
        dir.path().join("alerts.yml"),
    )
    .unwrap();
    run(
        Command::new("promtool")
            .args(["check", "config", "prometheus.yml"])
            .current_dir(dir.path()),
        "promtool",
    );
}

/// Where a Docker engine answers: the image builds, runs as a non-root user and answers
/// `/healthz`. Without one (this project's development machines have only the client),
/// the test says so and checks nothing else.
#[test]
fn the_image_builds_and_answers_healthz_where_docker_runs() {
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !engine {
        eprintln!("NOT RUN: no Docker engine answers here; the image was not built");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    run(
        Command::new("docker")
            .args([
                "build",
                "-t",
                "idnode:e2e",
                "-f",
                "deploy/docker/Dockerfile",
                ".",
            ])
            .current_dir(root),
        "docker build",
    );
    let id = run(
        Command::new("docker").args([
            "run",
            "-d",
            "-p",
            "127.0.0.1::8000",
            "idnode:e2e",
            "serve",
            "--demo",
        ]),
        "docker run",
    );
    let id = id.trim().to_owned();
    let user = run(
        Command::new("docker").args(["inspect", "--format", "{{.Config.User}}", &id]),
        "docker inspect",
    );
    let port = run(
        Command::new("docker").args(["port", &id, "8000"]),
        "docker port",
    );
    let url = format!(
        "http://{}/healthz",
        port.lines().next().unwrap_or_default().trim()
    );
    let mut healthy = false;
    for _ in 0..60 {
        if Command::new("curl")
            .args(["-sf", &url])
            .status()
            .is_ok_and(|s| s.success())
        {
            healthy = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    assert!(healthy, "the container never answered {url}");
    assert_eq!(user.trim(), "nonroot:nonroot");
}
