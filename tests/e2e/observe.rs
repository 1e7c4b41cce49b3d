//! Metrics and health as an operator sees them.

use serde_json::json;

use idnode_handle_proto::{flags, rc, Request};

use crate::common::TestNode;
use crate::hdl::{message, udp};
use crate::on_both;

fn metric(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn metrics_and_health(n: &TestNode) {
    let scrape = || n.metrics();
    let before = scrape().await;
    let ok = "idnode_resolutions_total{frontend=\"http\",result=\"ok\"}";
    let missing = "idnode_resolutions_total{frontend=\"http\",result=\"not_found\"}";
    let regs = "idnode_registrations_total";
    n.put("/api/handles/88.118.8/m-1", Some(&n.a), &json!([]))
        .await;
    for _ in 0..3 {
        assert_eq!(n.get("/api/handles/88.118.8/m-1", None).await.0, 200);
    }
    assert_eq!(n.get("/api/handles/88.118.8/m-none", None).await.0, 404);
    // The same series counts the Handle protocol and DNS front ends.
    let resolution = |h| Request::Resolution {
        handle: h,
        indexes: vec![],
        types: vec![],
    };
    let r = udp(
        n.node.handle_addr,
        &message(&resolution("88.118.8/m-1"), flags::PO, 0),
    )
    .await;
    assert_eq!(r.code(), rc::SUCCESS);
    let r = udp(
        n.node.handle_addr,
        &message(&resolution("88.118.8/m-none"), flags::PO, 0),
    )
    .await;
    assert_eq!(r.code(), rc::HANDLE_NOT_FOUND);
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut q = hickory_proto::op::Message::query();
    q.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("m-1.8.118.88.id.test.").unwrap(),
        hickory_proto::rr::RecordType::TXT,
    ));
    sock.send_to(&q.to_vec().unwrap(), n.node.dns_addr.unwrap())
        .await
        .unwrap();
    let mut buf = [0u8; 1500];
    sock.recv(&mut buf).await.unwrap();
    let after = scrape().await;
    for (frontend, result) in [("handle", "ok"), ("handle", "not_found"), ("dns", "ok")] {
        let series =
            format!("idnode_resolutions_total{{frontend=\"{frontend}\",result=\"{result}\"}}");
        assert!(
            metric(&after, &series) >= metric(&before, &series) + 1.0,
            "{series} in {after}"
        );
    }
    // Other tests share the process-wide recorder, so compare increases.
    assert!(metric(&after, ok) >= metric(&before, ok) + 3.0, "{after}");
    assert!(metric(&after, missing) >= metric(&before, missing) + 1.0);
    assert!(metric(&after, regs) >= metric(&before, regs) + 1.0);
    assert!(after.contains("idnode_cache_lookups_total{result=\"hit\"}"));
    assert!(after
        .contains("idnode_http_request_duration_seconds_bucket{route=\"/api/handles/{handle}\""));
    assert!(after.contains("idnode_cache_entries"));

    for (path, status) in [
        ("/healthz", 200),
        ("/readyz", 200),
        ("/readyz?for=resolution", 200),
        ("/readyz?for=writes", 400),
        ("/readyz?x", 400),
    ] {
        let r = n
            .client
            .get(format!("{}{path}", n.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
    }
}
on_both!(
    metrics_count_resolutions_and_health_answers,
    metrics_and_health
);
