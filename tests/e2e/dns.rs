//! The DNS front end over real UDP and TCP sockets: TXT, URI, SOA, NS, SRV, referrals,
//! NXDOMAIN, REFUSED, truncation, malformed queries, and a value made non-public vanishing
//! at once. The test node serves zone `id.test.` and delegates 88.118.9 to
//! ns1.valve.example.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::common::TestNode;
use crate::on_both;

const URI: RecordType = RecordType::Unknown(256);

pub(crate) fn query(name: &str, qtype: RecordType, edns: Option<u16>) -> Message {
    let mut m = Message::query();
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m
}

async fn udp_raw(addr: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(bytes, addr).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.recv(&mut buf))
        .await
        .ok()?
        .unwrap();
    Some(buf[..n].to_vec())
}

pub(crate) async fn udp(addr: SocketAddr, q: &Message) -> Message {
    let raw = udp_raw(addr, &q.to_vec().unwrap())
        .await
        .expect("an answer");
    let m = Message::from_vec(&raw).unwrap();
    assert_eq!(m.metadata.id, q.metadata.id);
    assert_eq!(m.metadata.message_type, MessageType::Response);
    m
}

async fn tcp(addr: SocketAddr, q: &Message) -> Message {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let bytes = q.to_vec().unwrap();
    s.write_all(&(bytes.len() as u16).to_be_bytes())
        .await
        .unwrap();
    s.write_all(&bytes).await.unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.unwrap();
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf).await.unwrap();
    Message::from_vec(&buf).unwrap()
}

fn txts(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

fn has_soa_authority(m: &Message) -> bool {
    m.authorities
        .iter()
        .any(|r| r.record_type() == RecordType::SOA)
}

async fn seed(n: &TestNode) {
    let values = json!([
        {"index": 1, "type": "URL", "data": "https://gearbox.example/GBX-1", "ttl": 600},
        {"index": 2, "type": "NOTE", "data": "hidden", "permissions": "1100"},
        {"index": 3, "type": "BLOB", "data": {"format": "hex", "value": "00ff10"}},
    ]);
    let (s, b) = n
        .put("/api/handles/88.118.8/GBX-1", Some(&n.a), &values)
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = n
        .put(
            "/api/handles/88.118.8/a b",
            Some(&n.a),
            &json!([{"index": 1, "type": "URL", "data": "https://space.example"}]),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    // Many values: an answer too big for 512 octets.
    let many: Vec<_> = (1..=40)
        .map(|i| json!({"index": i, "type": "NOTE", "data": format!("value number {i} of a long record")}))
        .collect();
    let (s, b) = n
        .put("/api/handles/88.118.8/BIG", Some(&n.a), &json!(many))
        .await;
    assert_eq!(s, 201, "{b}");
}

async fn dns_record_types(addr: SocketAddr) {
    // URI (RFC 7553) for the URL value: priority, weight, target.
    let m = udp(addr, &query("GBX-1.8.118.88.id.test.", URI, None)).await;
    assert_eq!(m.answers.len(), 1);
    let RData::Unknown { rdata, .. } = &m.answers[0].data else {
        panic!("{:?}", m.answers[0])
    };
    let raw = &rdata.anything;
    assert_eq!(&raw[4..], b"https://gearbox.example/GBX-1");

    // NAPTR: the configured service mapping, rewritten to this identifier.
    let m = udp(
        addr,
        &query("GBX-1.8.118.88.id.test.", RecordType::NAPTR, None),
    )
    .await;
    let RData::NAPTR(naptr) = &m.answers[0].data else {
        panic!("{m:?}")
    };
    assert_eq!((naptr.order, naptr.preference), (100, 10));
    assert_eq!(&*naptr.flags, b"U");
    assert_eq!(&*naptr.services, b"x-idnode+http");
    assert_eq!(
        &*naptr.regexp,
        b"!^.*$!https://node.test/api/handles/88.118.8/GBX-1!"
    );

    // A suffix that is not a label travels encoded.
    let m = udp(
        addr,
        &query("h--c4g64.8.118.88.id.test.", RecordType::TXT, None),
    )
    .await;
    assert_eq!(txts(&m)[0], "1 URL https://space.example");
}

async fn dns_negative_answers(addr: SocketAddr) {
    // Unknown identifier: NXDOMAIN with the SOA; another type: NODATA with the SOA.
    let m = udp(
        addr,
        &query("nope.8.118.88.id.test.", RecordType::TXT, None),
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(has_soa_authority(&m));
    let m = udp(addr, &query("GBX-1.8.118.88.id.test.", RecordType::A, None)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty() && has_soa_authority(&m));
    // Names above served prefixes exist (QNAME minimisation walks through them).
    let m = udp(addr, &query("88.id.test.", RecordType::TXT, None)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);

    // Outside the zone: REFUSED.
    let m = udp(addr, &query("example.com.", RecordType::A, None)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);

    // The apex: SOA and NS.
    let m = udp(addr, &query("id.test.", RecordType::SOA, None)).await;
    assert!(matches!(m.answers[0].data, RData::SOA(_)));
    let m = tcp(addr, &query("id.test.", RecordType::NS, None)).await;
    let RData::NS(ns) = &m.answers[0].data else {
        panic!()
    };
    assert_eq!(ns.0.to_ascii(), "ns.id.test.");
}

async fn dns_services_and_referrals(n: &TestNode, addr: SocketAddr) {
    // SRV: where the enterprise prefix is served (this node's Handle and HTTP ports).
    let m = udp(
        addr,
        &query("_handle._udp.8.118.88.id.test.", RecordType::SRV, None),
    )
    .await;
    let RData::SRV(srv) = &m.answers[0].data else {
        panic!("{m:?}")
    };
    assert_eq!(srv.port, n.node.handle_addr.port());
    let m = udp(
        addr,
        &query("_http._tcp.8.118.88.id.test.", RecordType::SRV, None),
    )
    .await;
    let RData::SRV(srv) = &m.answers[0].data else {
        panic!("{m:?}")
    };
    assert_eq!(srv.port, n.node.http_addr.port());
    let m = udp(
        addr,
        &query("_handle._tcp.7.118.88.id.test.", RecordType::SRV, None),
    )
    .await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NXDomain,
        "no such prefix"
    );

    // A delegated prefix: a referral to its name servers, not authoritative.
    let m = udp(addr, &query("V-1.9.118.88.id.test.", RecordType::TXT, None)).await;
    assert!(!m.metadata.authoritative);
    assert!(m.answers.is_empty());
    let RData::NS(ns) = &m.authorities[0].data else {
        panic!("{m:?}")
    };
    assert_eq!(ns.0.to_ascii(), "ns1.valve.example.");
    assert_eq!(m.authorities[0].name.to_ascii(), "9.118.88.id.test.");

    // Too big for 512 octets: TC over UDP, whole over TCP.
    let m = udp(addr, &query("BIG.8.118.88.id.test.", RecordType::TXT, None)).await;
    assert!(m.metadata.truncation && m.answers.is_empty());
    let m = tcp(addr, &query("BIG.8.118.88.id.test.", RecordType::TXT, None)).await;
    assert!(!m.metadata.truncation);
    assert_eq!(txts(&m).len(), 41);
}

async fn dns_privacy(n: &TestNode, addr: SocketAddr) {
    // A value made non-public disappears from DNS at once.
    let private = json!([{"index": 1, "type": "URL", "data": "https://gearbox.example/GBX-1", "permissions": "1100"}]);
    let (s, b) = n
        .put("/api/handles/88.118.8/GBX-1?index=1", Some(&n.a), &private)
        .await;
    assert_eq!(s, 200, "{b}");
    let m = udp(
        addr,
        &query("GBX-1.8.118.88.id.test.", RecordType::TXT, None),
    )
    .await;
    assert!(
        !txts(&m).iter().any(|s| s.starts_with("1 URL")),
        "{:?}",
        txts(&m)
    );
    let m = udp(addr, &query("GBX-1.8.118.88.id.test.", URI, None)).await;
    assert!(m.answers.is_empty());
}

async fn dns_checks(n: &TestNode) {
    seed(n).await;
    let addr = n.node.dns_addr.expect("the test node runs DNS");

    // TXT: one string per public value; the admin-only value is not published.
    let q = query("GBX-1.8.118.88.id.test.", RecordType::TXT, Some(1232));
    let m = udp(addr, &q).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    let t = txts(&m);
    assert!(
        t.contains(&"1 URL https://gearbox.example/GBX-1".to_owned()),
        "{t:?}"
    );
    assert!(t.contains(&"3 BLOB base64:AP8Q".to_owned()), "{t:?}");
    assert!(!t.iter().any(|s| s.contains("hidden")), "{t:?}");
    let url = m
        .answers
        .iter()
        .find(|r| txts(&m).len() == m.answers.len() && r.ttl == 600);
    assert!(url.is_some(), "the URL value's TTL is its own");
    assert!(m.edns.is_some(), "EDNS answered with EDNS");

    // The same over TCP, and with the name in another case.
    let m = tcp(
        addr,
        &query("gbx-1.8.118.88.ID.TEST.", RecordType::TXT, None),
    )
    .await;
    assert_eq!(
        txts(&m),
        t,
        "the same answer over TCP, whatever the case of the name"
    );

    dns_record_types(addr).await;
    dns_negative_answers(addr).await;
    dns_services_and_referrals(n, addr).await;
    dns_privacy(n, addr).await;
}
on_both!(dns_answers_over_udp_and_tcp, dns_checks);

async fn dns_bad_input(n: &TestNode) {
    let addr = n.node.dns_addr.unwrap();
    // Garbage with a header: FORMERR echoing the id; too short for a header: no answer.
    let mut junk = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    junk.extend_from_slice(&[0xFF; 20]);
    let raw = udp_raw(addr, &junk).await.unwrap();
    assert_eq!(&raw[..2], &[0xAB, 0xCD]);
    assert_eq!(raw[3] & 0x0F, 1, "FORMERR");
    // Two questions: FORMERR. An opcode we do not do (NOTIFY): NOTIMP.
    let mut two = query("a.id.test.", RecordType::TXT, None);
    two.add_query(Query::query(
        Name::from_ascii("b.id.test.").unwrap(),
        RecordType::TXT,
    ));
    assert_eq!(
        udp(addr, &two).await.metadata.response_code,
        ResponseCode::FormErr
    );
    let mut notify = query("id.test.", RecordType::SOA, None);
    notify.metadata.op_code = OpCode::Notify;
    assert_eq!(
        udp(addr, &notify).await.metadata.response_code,
        ResponseCode::NotImp
    );
    // EDNS version 1: BADVERS.
    let mut v1 = query("id.test.", RecordType::SOA, Some(1232));
    v1.edns.as_mut().unwrap().set_version(1);
    let m = udp(addr, &v1).await;
    assert_eq!(m.metadata.response_code.low(), ResponseCode::BADVERS.low());
    // Still serving.
    let m = udp(addr, &query("id.test.", RecordType::SOA, None)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
}
on_both!(dns_rejects_bad_input, dns_bad_input);

/// Over its response rate a client's UDP answers slip: empty with TC=1; TCP still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_response_rate_limit_slips_to_tc() {
    let n = crate::common::node_with(crate::common::Backend::Sqlite, |c| {
        c.dns.responses_per_second = 2;
    })
    .await;
    let addr = n.node.dns_addr.unwrap();
    let q = query("id.test.", RecordType::SOA, None);
    let mut slipped = 0;
    // A burst of three seconds' worth (6) is answered; the rest slips.
    for _ in 0..30 {
        let m = udp(addr, &q).await;
        if m.metadata.truncation {
            assert!(m.answers.is_empty());
            assert_eq!(m.queries, q.queries);
            slipped += 1;
        }
    }
    assert!(slipped >= 10, "{slipped} of 30 slipped");
    let metrics = n.metrics().await;
    let counted: f64 = metrics
        .lines()
        .find(|l| l.starts_with("idnode_dns_rrl_slipped_total"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0);
    assert!(counted >= f64::from(slipped), "{metrics}");
    let m = tcp(addr, &q).await;
    assert!(!m.metadata.truncation && !m.answers.is_empty());
    n.node.stop().await.unwrap();
}
