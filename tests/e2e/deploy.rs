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
    assert!(promtool(&["check", "rules", "alerts.yml"]).contains("SUCCESS: 8 rules found"));
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

/// Every metric the dashboard queries, and every metric an alert rule names, appears in
/// `exposition` (a node's /metrics).
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
        .filter(|m| !exported.contains(m.as_str()))
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
