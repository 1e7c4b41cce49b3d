//! The binary Handle protocol front end over real UDP and TCP sockets: resolution, site
//! info, referrals, challenge–response administration, and bad input.

use std::net::SocketAddr;

use base64::Engine as _;
use idnode_core::SiteInfo;
use idnode_handle_proto::{digest, flags, op, rc, Decoded, DigestAlg, Message, Request};
use serde_json::json;

use crate::common::TestNode;
use crate::hdl::{admin_answer, message, pubkey_data, sign, test_key, udp, Tcp};
use crate::on_both;

fn resolution<'a>(handle: &'a str, indexes: Vec<u32>, types: Vec<&'a str>) -> Request<'a> {
    Request::Resolution {
        handle,
        indexes,
        types,
    }
}

async fn seed(n: &TestNode) {
    let (s, _) = n
        .put(
            "/api/handles/88.118.8/GBX-1",
            Some(&n.a),
            &json!([
                {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://gearbox.example/GBX-1"}},
                {"index": 2, "type": "EMAIL", "data": {"format": "string", "value": "qa@gearbox.example"}},
                {"index": 3, "type": "internal", "data": {"format": "string", "value": "secret-ish"}, "permissions": "1100"},
                {"index": 4, "type": "blob", "data": {"format": "string", "value": "x".repeat(1500)}}
            ]),
        )
        .await;
    assert_eq!(s, 201);
}

async fn resolution_refusals_and_sites(n: &TestNode, addr: SocketAddr) {
    // Not found, invalid, not served (301), known elsewhere (303 referral).
    assert_eq!(
        public_code(addr, "88.118.8/none").await,
        rc::HANDLE_NOT_FOUND
    );
    assert_eq!(public_code(addr, "no-slash").await, rc::INVALID_HANDLE);
    assert_eq!(public_code(addr, "88.999/x").await, rc::SERVER_NOT_RESP);
    let r = udp(
        addr,
        &message(&resolution("88.200.5/x", vec![], vec![]), flags::PO, 0),
    )
    .await;
    assert_eq!(r.code(), rc::PREFIX_REFERRAL);
    let Decoded::Values { values, .. } = r.body() else {
        panic!()
    };
    assert_eq!(values[0].type_name, "HS_SITE.PREFIX");
    let site = SiteInfo::decode(&values[0].data).unwrap();
    assert_eq!(site.servers[0].interfaces[0].port, 2641);

    // The node's own site: its TCP/UDP port and the HTTP port.
    let r = udp(addr, &message(&Request::GetSiteInfo { handle: None }, 0, 0)).await;
    let Decoded::SiteInfo(bytes) = r.body() else {
        panic!()
    };
    let site = SiteInfo::decode(bytes).unwrap();
    let ports: Vec<u32> = site.servers[0].interfaces.iter().map(|i| i.port).collect();
    assert!(ports.contains(&u32::from(addr.port())));
    assert!(ports.contains(&u32::from(n.node.http_addr.port())));
    // The national SDK talks to whatever protocol the first interface names: TCP here.
    assert_eq!(site.servers[0].interfaces[0].protocol, 1);
    let r = udp(
        addr,
        &message(&Request::ListHomedNas { handle: None }, 0, 0),
    )
    .await;
    assert_eq!(r.body(), Decoded::Handles(vec!["0.NA/88.118"]));
}

async fn resolution_after_writes(n: &TestNode, addr: SocketAddr) {
    // A write through REST is visible at once over the Handle protocol (same cache).
    let (s, _) = n
        .put(
            "/api/handles/88.118.8/GBX-1?index=1",
            Some(&n.a),
            &json!([{"index": 1, "type": "URL", "data": {"format": "string", "value": "https://new.example"}}]),
        )
        .await;
    assert_eq!(s, 200);
    let r = udp(
        addr,
        &message(&resolution("88.118.8/GBX-1", vec![1], vec![]), flags::PO, 0),
    )
    .await;
    let Decoded::Values { values, .. } = r.body() else {
        panic!()
    };
    assert_eq!(values[0].data, b"https://new.example");

    // A request larger than one packet (many types) travels as several UDP packets.
    let many: Vec<String> = (0..60).map(|i| format!("TYPE{i:03}")).collect();
    let mut types: Vec<&str> = many.iter().map(String::as_str).collect();
    types.push("EMAIL");
    let msg = message(&resolution("88.118.8/GBX-1", vec![], types), flags::PO, 0);
    assert!(msg.len() > 512);
    let r = udp(addr, &msg).await;
    let Decoded::Values { values, .. } = r.body() else {
        panic!()
    };
    assert_eq!(values[0].type_name, "EMAIL");
}

/// The response code of a public-only resolution of `handle` over UDP.
async fn public_code(addr: SocketAddr, handle: &str) -> u32 {
    let request = message(&resolution(handle, vec![], vec![]), flags::PO, 0);
    udp(addr, &request).await.code()
}

async fn resolution_checks(n: &TestNode) {
    seed(n).await;
    let addr = n.node.handle_addr;

    // UDP, public only: the 1.5 KB value makes the answer a multi-packet message.
    let r = udp(
        addr,
        &message(&resolution("88.118.8/GBX-1", vec![], vec![]), flags::PO, 0),
    )
    .await;
    assert_eq!(r.code(), rc::SUCCESS);
    assert_eq!(r.env.version.minor, 10, "answered in the suggested 2.10");
    let Decoded::Values { handle, values } = r.body() else {
        panic!("values expected")
    };
    assert_eq!(handle, "88.118.8/GBX-1");
    let idx: Vec<u32> = values.iter().map(|v| v.index).collect();
    assert!(
        idx.contains(&1) && idx.contains(&4) && !idx.contains(&3),
        "{idx:?}"
    );
    assert_eq!(
        values.iter().find(|v| v.index == 1).unwrap().data,
        b"https://gearbox.example/GBX-1"
    );

    // Filters by index and by type, over TCP, with the request digest returned.
    let mut tcp = Tcp::connect(addr).await;
    let msg = message(
        &resolution("88.118.8/gbx-1", vec![], vec![]),
        flags::PO | flags::KC,
        0,
    );
    let r = tcp.call(&msg).await;
    assert_eq!(
        r.code(),
        rc::HANDLE_NOT_FOUND,
        "suffixes are case-sensitive"
    );
    let msg = message(
        &resolution("88.118.8/GBX-1", vec![2], vec![]),
        flags::PO | flags::KC | flags::RD,
        0,
    );
    let r = tcp.call(&msg).await;
    let resp = r.response();
    let sent = Message::from_bytes(&msg).unwrap();
    assert_eq!(
        resp.digest,
        Some((
            DigestAlg::Sha256,
            &digest(DigestAlg::Sha256, sent.signed)[..]
        ))
    );
    let Decoded::Values { values, .. } = resp.body else {
        panic!()
    };
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].type_name, "EMAIL");
    let r = tcp
        .call(&message(
            &resolution("88.118.8/GBX-1", vec![], vec!["URL"]),
            flags::PO | flags::KC,
            0,
        ))
        .await;
    let Decoded::Values { values, .. } = r.body() else {
        panic!()
    };
    assert_eq!(values.iter().map(|v| v.index).collect::<Vec<_>>(), vec![1]);
    let r = tcp
        .call(&message(
            &resolution("88.118.8/GBX-1", vec![], vec!["NOPE"]),
            flags::PO | flags::KC,
            0,
        ))
        .await;
    assert_eq!(r.code(), rc::VALUES_NOT_FOUND);

    // Without PO, the restricted value means the server challenges the reader.
    let r = tcp
        .call(&message(
            &resolution("88.118.8/GBX-1", vec![], vec![]),
            flags::KC,
            0,
        ))
        .await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED);
    assert!(r.env.session_id != 0);

    resolution_refusals_and_sites(n, addr).await;
    resolution_after_writes(n, addr).await;
}
on_both!(handle_resolution_over_udp_and_tcp, resolution_checks);

/// Runs `req` as enterprise A over TCP: expects a challenge, answers it with the test key at
/// index 300 of 88.118.8/ADMIN, and returns the final reply.
pub(crate) async fn as_a(tcp: &mut Tcp, req: &Request<'_>, extra_flags: u32) -> crate::hdl::Reply {
    let r = tcp.call(&message(req, flags::KC | extra_flags, 0)).await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED, "{:?}", r.body());
    let signed = r.signed_challenge();
    tcp.call(&message(
        &admin_answer(&signed),
        flags::KC,
        r.env.session_id,
    ))
    .await
}

pub(crate) async fn publish_key(n: &TestNode) {
    let data = base64::engine::general_purpose::STANDARD.encode(pubkey_data(&test_key()));
    let (s, body) = n
        .put(
            "/api/handles/88.118.8/ADMIN",
            Some(&n.a),
            &json!([{"index": 300, "type": "HS_PUBKEY", "data": {"format": "base64", "value": data}}]),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

/// Puts the test key back at `88.118.8/ADMIN` index 300 after a test replaced it.
pub(crate) async fn publish_key_again(n: &TestNode) {
    let data = base64::engine::general_purpose::STANDARD.encode(pubkey_data(&test_key()));
    let (s, body) = n
        .put(
            "/api/handles/88.118.8/ADMIN?index=300",
            Some(&n.a),
            &json!([{"index": 300, "type": "HS_PUBKEY", "data": {"format": "base64", "value": data}}]),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

async fn admin_history_and_listing(n: &TestNode, tcp: &mut Tcp) {
    let addr = n.node.handle_addr;
    // History records the key identity.
    let (_, hist) = n.get("/api/v1/history/88.118.8/H-1", Some(&n.a)).await;
    assert_eq!(hist[0]["actor"], "300:88.118.8/ADMIN", "{hist}");

    // Listing, then delete.
    let r = as_a(
        tcp,
        &Request::ListHandles {
            handle: "0.NA/88.118.8",
        },
        0,
    )
    .await;
    let Decoded::Handles(hs) = r.body() else {
        panic!("{:?}", r.body())
    };
    assert!(hs.contains(&"88.118.8/H-1"), "{hs:?}");
    let r = as_a(
        tcp,
        &Request::Delete {
            handle: "88.118.8/H-1",
        },
        0,
    )
    .await;
    assert_eq!(r.code(), rc::SUCCESS);
    assert_eq!(
        public_code(addr, "88.118.8/H-1").await,
        rc::HANDLE_NOT_FOUND
    );
}

async fn admin_refusals(
    n: &TestNode,
    tcp: &mut Tcp,
    url: &idnode_core::HandleValue,
    create: &Request<'_>,
) {
    // Least privilege: A's key cannot write under B's prefix.
    let r = as_a(
        tcp,
        &Request::Create {
            handle: "88.118.9/X",
            values: vec![url.clone()],
        },
        0,
    )
    .await;
    assert_eq!(r.code(), rc::INSUFFICIENT_PERMISSIONS, "{:?}", r.body());

    // A wrong signature fails; the challenge cannot be answered twice.
    let r = tcp.call(&message(create, flags::KC, 0)).await;
    let mut bad = r.signed_challenge();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let answer = |resp: &[u8]| message(&admin_answer(resp), flags::KC, r.env.session_id);
    let r2 = tcp.call(&answer(&bad)).await;
    assert_eq!(r2.code(), rc::AUTHENTICATION_FAILED);
    let good = r.signed_challenge();
    let r3 = tcp.call(&answer(&good)).await;
    assert_eq!(
        r3.code(),
        rc::AUTHEN_TIMEOUT,
        "a challenge is answerable once"
    );

    // An expired challenge (the test node allows 2 s).
    let r = tcp.call(&message(create, flags::KC, 0)).await;
    let good = r.signed_challenge();
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let answer = admin_answer(&good);
    let r = tcp
        .call(&message(&answer, flags::KC, r.env.session_id))
        .await;
    assert_eq!(r.code(), rc::AUTHEN_TIMEOUT);
    assert_eq!(
        n.get("/api/handles/88.118.8/H-1", None).await.0,
        404,
        "nothing was written"
    );

    // Unknown key index.
    let r = tcp.call(&message(create, flags::KC, 0)).await;
    let Decoded::Challenge(nonce) = r.body() else {
        panic!()
    };
    let answer = Request::ChallengeAnswer {
        auth_type: "HS_PUBKEY",
        admin: "88.118.8/ADMIN",
        index: 399,
        response: &sign(&test_key(), nonce, &[0; 32]),
    };
    let r = tcp
        .call(&message(&answer, flags::KC, r.env.session_id))
        .await;
    assert_eq!(r.code(), rc::INVALID_ADMIN);
}

async fn admin_checks(n: &TestNode) {
    publish_key(n).await;
    let addr = n.node.handle_addr;
    let mut tcp = Tcp::connect(addr).await;
    let url = idnode_core::HandleValue::text(1, "URL", "https://gearbox.example/H-1");

    // Create, then it resolves; creating again without OW is refused.
    let create = Request::Create {
        handle: "88.118.8/H-1",
        values: vec![url.clone()],
    };
    let r = as_a(&mut tcp, &create, 0).await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    assert_eq!(r.message().header.op_code, op::CREATE_HANDLE);
    assert_eq!(r.body(), Decoded::Handle("88.118.8/H-1"));
    let (s, body) = n.get("/api/handles/88.118.8/H-1", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        body["values"][0]["data"]["value"],
        "https://gearbox.example/H-1"
    );
    let r = as_a(&mut tcp, &create, 0).await;
    assert_eq!(r.code(), rc::HANDLE_ALREADY_EXISTS);

    // Add (existing index refused), modify (missing index refused), remove.
    let email = idnode_core::HandleValue::text(2, "EMAIL", "a@b.example");
    let r = as_a(
        &mut tcp,
        &Request::AddValue {
            handle: "88.118.8/H-1",
            values: vec![email.clone()],
        },
        0,
    )
    .await;
    assert_eq!(r.code(), rc::SUCCESS);
    let r = as_a(
        &mut tcp,
        &Request::AddValue {
            handle: "88.118.8/H-1",
            values: vec![email],
        },
        0,
    )
    .await;
    assert_eq!(r.code(), rc::VALUE_ALREADY_EXISTS);
    let changed = idnode_core::HandleValue::text(1, "URL", "https://changed.example");
    let r = as_a(
        &mut tcp,
        &Request::ModifyValue {
            handle: "88.118.8/H-1",
            values: vec![changed],
        },
        0,
    )
    .await;
    assert_eq!(r.code(), rc::SUCCESS);
    let r = udp(
        addr,
        &message(&resolution("88.118.8/H-1", vec![1], vec![]), flags::PO, 0),
    )
    .await;
    let Decoded::Values { values, .. } = r.body() else {
        panic!()
    };
    assert_eq!(values[0].data, b"https://changed.example");
    let ghost = idnode_core::HandleValue::text(9, "URL", "https://ghost.example");
    let r = as_a(
        &mut tcp,
        &Request::ModifyValue {
            handle: "88.118.8/H-1",
            values: vec![ghost],
        },
        0,
    )
    .await;
    assert_eq!(r.code(), rc::VALUES_NOT_FOUND);
    let r = as_a(
        &mut tcp,
        &Request::RemoveValue {
            handle: "88.118.8/H-1",
            indexes: vec![2],
        },
        0,
    )
    .await;
    assert_eq!(r.code(), rc::SUCCESS);

    admin_history_and_listing(n, &mut tcp).await;
    admin_refusals(n, &mut tcp, &url, &create).await;
}
on_both!(handle_administration_with_challenge_response, admin_checks);

async fn bad_input_checks(n: &TestNode) {
    let addr = n.node.handle_addr;
    // Garbage envelope over UDP and TCP: protocol error, server keeps serving.
    let mut junk = vec![
        2u8, 10, 0, 10, 0, 0, 0, 0, 0, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0, 30,
    ];
    junk.extend_from_slice(&[0xFF; 30]);
    let r = udp(addr, &junk).await;
    assert_eq!(r.code(), rc::PROTOCOL_ERROR);
    assert_eq!(r.env.request_id, 77);
    let mut tcp = Tcp::connect(addr).await;
    let r = tcp.call(&junk).await;
    assert_eq!(r.code(), rc::PROTOCOL_ERROR);

    // A body that does not match its operation.
    let mut msg = message(
        &Request::Delete {
            handle: "88.118.8/x",
        },
        0,
        0,
    );
    msg[ENV + 3] = op::RESOLUTION as u8;
    let r = udp(addr, &msg).await;
    assert_eq!(r.code(), rc::PROTOCOL_ERROR);

    // Unknown operation.
    let mut msg = message(
        &Request::Delete {
            handle: "88.118.8/x",
        },
        0,
        0,
    );
    msg[ENV + 2] = 0x7F;
    let r = udp(addr, &msg).await;
    assert_eq!(r.code(), rc::OPERATION_NOT_SUPPORTED);

    // Oversize: an envelope announcing more than 256 KiB is refused before reading it.
    let mut big = message(&resolution("88.118.8/x", vec![], vec![]), 0, 0);
    big[16..20].copy_from_slice(&(1_000_000u32).to_be_bytes());
    let mut tcp = Tcp::connect(addr).await;
    let r = tcp.call(&big[..20]).await;
    assert_eq!(r.code(), rc::PROTOCOL_ERROR);
    assert!(tcp.read().await.is_none(), "the connection is closed");

    // A slow client that never finishes its message is cut off after the read timeout.
    let msg = message(&resolution("88.118.8/x", vec![], vec![]), flags::KC, 0);
    let mut tcp = Tcp::connect(addr).await;
    tcp.send(&msg[..msg.len() - 3]).await;
    let r = tcp.read().await.expect("an error reply before closing");
    assert_eq!(r.code(), rc::PROTOCOL_ERROR);
    assert!(tcp.read().await.is_none());

    // Pipelined requests on one connection are answered in order.
    let mut tcp = Tcp::connect(addr).await;
    let a = message(&Request::GetSiteInfo { handle: None }, flags::KC, 0);
    let b = message(
        &resolution("88.118.8/none", vec![], vec![]),
        flags::KC | flags::PO,
        0,
    );
    let mut both = a.clone();
    both.extend_from_slice(&b);
    tcp.send(&both).await;
    assert_eq!(tcp.read().await.unwrap().code(), rc::SUCCESS);
    assert_eq!(tcp.read().await.unwrap().code(), rc::HANDLE_NOT_FOUND);
    // Without KC the connection stays open as well (the national SDK never sets KC and
    // sends every request of a channel on one connection).
    for _ in 0..2 {
        let r = tcp
            .call(&message(&Request::GetSiteInfo { handle: None }, 0, 0))
            .await;
        assert_eq!(r.code(), rc::SUCCESS);
    }

    // Still serving.
    let r = udp(addr, &message(&Request::GetSiteInfo { handle: None }, 0, 0)).await;
    assert_eq!(r.code(), rc::SUCCESS);
}
on_both!(handle_rejects_bad_input, bad_input_checks);

const ENV: usize = idnode_handle_proto::ENVELOPE_LEN;

async fn http_checks(n: &TestNode) {
    seed(n).await;
    let msg = message(&resolution("88.118.8/GBX-1", vec![2], vec![]), flags::PO, 0);
    let resp = n
        .client
        .post(format!("{}/", n.base))
        .header("content-type", "application/x-hdl-message")
        .body(msg)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-hdl-message");
    let bytes = resp.bytes().await.unwrap();
    let m = Message::from_bytes(&bytes).unwrap();
    assert_eq!(m.header.response_code, rc::SUCCESS);
    let Decoded::Values { values, .. } = idnode_handle_proto::Response::decode(&m).unwrap().body
    else {
        panic!()
    };
    assert_eq!(values[0].data, b"qa@gearbox.example");
    // Garbage gets a protocol error; other content types keep the old 404.
    let resp = n
        .client
        .post(format!("{}/", n.base))
        .header("content-type", "application/x-hdl-message")
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap();
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(
        Message::from_bytes(&bytes).unwrap().header.response_code,
        rc::PROTOCOL_ERROR
    );
    // Anything else posted to `/` is not a Handle message: 405 at once.
    let resp = n
        .client
        .post(format!("{}/", n.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}
on_both!(handle_protocol_over_http_post, http_checks);
