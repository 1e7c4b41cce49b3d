//! `dig` (BIND) and `kdig` (Knot) against a running node, over UDP and TCP: the answers
//! operators and partners will see. Both tools must be installed (`.ci/run` installs
//! dnsutils and knot-dnsutils); a missing tool fails the test.

use std::net::SocketAddr;

use serde_json::json;

use crate::common::TestNode;
use crate::on_both;

/// Runs `tool` (dig or kdig) with `args` against `addr`; returns its output.
async fn ask(tool: &str, addr: SocketAddr, args: &[&str]) -> String {
    let out = tokio::process::Command::new(tool)
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string()])
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{tool} must be installed (dnsutils / knot-dnsutils): {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

async fn tools_check(n: &TestNode) {
    let (s, b) = n
        .put(
            "/api/handles/88.118.8/DIG-1",
            Some(&n.a),
            &json!([{"index": 1, "type": "URL", "data": "https://dig.example/1"}]),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let addr = n.node.dns_addr.unwrap();
    for tool in ["dig", "kdig"] {
        for transport in ["+notcp", "+tcp"] {
            let t = ask(
                tool,
                addr,
                &[transport, "+short", "DIG-1.8.118.88.id.test.", "TXT"],
            )
            .await;
            assert!(
                t.contains("\"1 URL https://dig.example/1\""),
                "{tool} {transport}: {t}"
            );
            let u = ask(
                tool,
                addr,
                &[transport, "DIG-1.8.118.88.id.test.", "TYPE256"],
            )
            .await;
            assert!(
                u.contains("https://dig.example/1"),
                "{tool} {transport}: {u}"
            );
            let srv = ask(
                tool,
                addr,
                &[transport, "+short", "_handle._tcp.8.118.88.id.test.", "SRV"],
            )
            .await;
            assert_eq!(
                srv.trim(),
                format!("0 0 {} ns.id.test.", n.node.handle_addr.port()),
                "{tool}"
            );
            let soa = ask(tool, addr, &[transport, "+short", "id.test.", "SOA"]).await;
            assert!(
                soa.starts_with("ns.id.test. hostmaster.id.test. "),
                "{tool}: {soa}"
            );
            let ns = ask(tool, addr, &[transport, "+short", "id.test.", "NS"]).await;
            assert_eq!(ns.trim(), "ns.id.test.", "{tool}");
            let referral = ask(tool, addr, &[transport, "V-1.9.118.88.id.test.", "TXT"]).await;
            assert!(
                referral.contains("ns1.valve.example."),
                "{tool}: {referral}"
            );
            let nx = ask(tool, addr, &[transport, "nope.8.118.88.id.test.", "TXT"]).await;
            assert!(nx.contains("NXDOMAIN"), "{tool}: {nx}");
            let refused = ask(tool, addr, &[transport, "example.com.", "A"]).await;
            assert!(refused.contains("REFUSED"), "{tool}: {refused}");
        }
    }
}
on_both!(dig_and_kdig_see_the_expected_answers, tools_check);
