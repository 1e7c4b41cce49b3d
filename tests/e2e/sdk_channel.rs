//! The national ID-SDK 2.0.3's channel, replayed byte for byte on one TCP connection.
//!
//! The SDK opens one connection per channel and sends every request of the channel on it
//! without KC: site info at channel creation, then resolutions, LOGIN_ID_SYSTEM and the
//! writes, which carry session id 0 (the login holds for the connection). The request bytes
//! below were captured on the wire from `ID-SDK-2.0.3.jar` (`generateChannel`,
//! `lookupIdentifier`, `login` with an RSA key read from a PKCS#8 PEM file,
//! `createIdentifier`, `addIdentifierValues`, `modifyIdentifierValues`,
//! `removeIdentifierValues`, `deleteIdentifier`); only the challenge answer is computed,
//! since it signs the node's nonce.

use base64::Engine as _;
use idnode_handle_proto::{flags, rc, Decoded, Envelope, Request, Version};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use serde_json::json;

use crate::common::TestNode;
use crate::hdl::{pubkey_data, sign, test_key_pkcs8, Reply, Tcp};
use crate::on_both;

/// GET_SITE_INFO (op 2, REC|CA|PO, no KC), as given in the issue.
const SITE_INFO: &str = "0203020a0000000066f760e20000000000000021\
    000000020000000019000000ffff00006b12144000000005\
    000000012f00000000";
/// RESOLUTION of 88.118.8/SDK-0001 (op 1, flags 0), as given in the issue.
const RESOLVE: &str = "0203020a000000005e01d73b0000000000000039\
    000000010000000000000000ffff00006b1214400000001d\
    0000001138382e3131382e382f53444b2d30303031000000000000000000000000";
/// LOGIN_ID_SYSTEM (op 2001, RD) as 300:88.118.8/SDKADMIN.
const LOGIN: &str = "0203020a00000000791bed1e0000000000000035\
    000007d10000000000800000ffff00006b1263b700000019\
    0000001138382e3131382e382f53444b41444d494e0000012c00000000";
/// CREATE_HANDLE 88.118.8/SDK-0001 with URL at 1 and EMAIL at 2, session id 0.
const CREATE: &str = "0203020a0000000062d8f4eb0000000000000093\
    000000640000000000000000ffff00006b1263b700000077\
    0000001138382e3131382e382f53444b2d3030303100000002\
    000000016b11baf700000151800e0000000355524c0000001568747470733a2f2f73646b2e6578616d706c652f3100000000\
    000000026b11baf700000151800e00000005454d41494c0000000d614073646b2e6578616d706c6500000000\
    00000000";
/// ADD_VALUE: URLs at 6 and 7.
const ADD: &str = "0203020a00000000092c97450000000000000099\
    000000660000000000000000ffff00006b1263b70000007d\
    0000001138382e3131382e382f53444b2d3030303100000002\
    000000066b11baf700000151800e0000000355524c0000001568747470733a2f2f73646b2e6578616d706c652f3600000000\
    000000076b11baf700000151800e0000000355524c0000001568747470733a2f2f73646b2e6578616d706c652f3700000000\
    00000000";
/// MODIFY_VALUE: 6 and 7 become EMAIL values.
const MODIFY: &str = "0203020a000000003076488f0000000000000093\
    000000680000000000000000ffff00006b1263b700000077\
    0000001138382e3131382e382f53444b2d3030303100000002\
    000000066b11baf700000151800e00000005454d41494c0000000f7369784073646b2e6578616d706c6500000000\
    000000076b11baf700000151800e00000005454d41494c00000011736576656e4073646b2e6578616d706c6500000000\
    00000000";
/// REMOVE_VALUE: indexes 6 and 7.
const REMOVE: &str = "0203020a0000000036ed2518000000000000003d\
    000000670000000000000000ffff00006b1263b700000021\
    0000001138382e3131382e382f53444b2d30303031000000020000000600000007\
    00000000";
/// DELETE_HANDLE 88.118.8/SDK-0001.
const DELETE: &str = "0203020a000000002c8419520000000000000031\
    000000650000000000000000ffff00006b1263b700000015\
    0000001138382e3131382e382f53444b2d30303031\
    00000000";

fn bytes(hex_str: &str) -> Vec<u8> {
    hex::decode(hex_str).expect("valid hex")
}

async fn call(tcp: &mut Tcp, hex_str: &str) -> Reply {
    tcp.call(&bytes(hex_str)).await
}

/// The indexes and types of a successful resolution.
fn values(r: &Reply) -> Vec<(u32, String)> {
    match r.body() {
        Decoded::Values { values, .. } => values
            .iter()
            .map(|v| (v.index, v.type_name.clone()))
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// The SDK reads its admin key from a PKCS#8 PEM file: the test key goes through the same
/// form, and its public half is published at 300:88.118.8/SDKADMIN.
async fn publish_sdk_admin(n: &TestNode) -> ring::signature::RsaKeyPair {
    let pem = rsa::RsaPrivateKey::from_pkcs8_der(test_key_pkcs8())
        .unwrap()
        .to_pkcs8_pem(Default::default())
        .unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let der = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
        .unwrap()
        .to_pkcs8_der()
        .unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(pubkey_data(&key));
    let (s, body) = n
        .put(
            "/api/handles/88.118.8/SDKADMIN",
            Some(&n.a),
            &json!([{"index": 300, "type": "HS_PUBKEY", "data": {"format": "base64", "value": data}}]),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    key
}

async fn sdk_channel_checks(n: &TestNode) {
    let key = publish_sdk_admin(n).await;
    let mut tcp = Tcp::connect(n.node.handle_addr).await;

    // Channel creation, then a lookup before the identifier exists.
    let r = call(&mut tcp, SITE_INFO).await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    assert_eq!(r.env.request_id, 0x66f7_60e2);
    let r = call(&mut tcp, RESOLVE).await;
    assert_eq!(r.code(), rc::HANDLE_NOT_FOUND, "{:?}", r.body());
    assert_eq!(r.env.request_id, 0x5e01_d73b);

    // Login: the challenge, answered on the same connection as the SDK answers it (a 2.10
    // envelope under the challenge's session id, REC|RD).
    let r = call(&mut tcp, LOGIN).await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED, "{:?}", r.body());
    let session = r.env.session_id;
    let resp = r.response();
    let (_, digest) = resp
        .digest
        .expect("the challenge carries the request digest");
    let Decoded::Challenge(nonce) = resp.body else {
        panic!("{:?}", resp.body)
    };
    let answer = Request::ChallengeAnswer {
        auth_type: "HS_PUBKEY",
        admin: "88.118.8/SDKADMIN",
        index: 300,
        response: &sign(&key, nonce, digest),
    };
    let v2_10 = Version {
        major: 2,
        minor: 10,
    };
    let env = Envelope {
        version: v2_10,
        suggested: v2_10,
        ..Envelope::request(session, 0x2158_2509)
    };
    let header = idnode_handle_proto::Header {
        op_code: answer.op_code(),
        op_flags: flags::REC | flags::RD,
        expiration: 0x6b12_63b7,
        ..Default::default()
    };
    let msg = idnode_handle_proto::encode_message(&env, &header, &answer.encode());
    let r = tcp.call(&msg).await;
    assert_eq!(r.code(), rc::SUCCESS, "login: {:?}", r.body());

    // The writes carry session id 0: the login holds for the connection.
    let r = call(&mut tcp, CREATE).await;
    assert_eq!(r.code(), rc::SUCCESS, "create: {:?}", r.body());
    let r = call(&mut tcp, ADD).await;
    assert_eq!(r.code(), rc::SUCCESS, "add: {:?}", r.body());
    let r = call(&mut tcp, MODIFY).await;
    assert_eq!(r.code(), rc::SUCCESS, "modify: {:?}", r.body());
    let r = call(&mut tcp, RESOLVE).await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    let mut got = values(&r);
    got.sort();
    let want: Vec<(u32, String)> = [
        (1, "URL"),
        (2, "EMAIL"),
        (6, "EMAIL"),
        (7, "EMAIL"),
        (100, "HS_ADMIN"),
    ]
    .iter()
    .map(|(i, t)| (*i, (*t).to_owned()))
    .collect();
    assert_eq!(got, want);
    let r = call(&mut tcp, REMOVE).await;
    assert_eq!(r.code(), rc::SUCCESS, "remove: {:?}", r.body());
    let r = call(&mut tcp, RESOLVE).await;
    assert_eq!(values(&r).len(), 3, "URL, EMAIL and HS_ADMIN are left");
    let r = call(&mut tcp, DELETE).await;
    assert_eq!(r.code(), rc::SUCCESS, "delete: {:?}", r.body());
    let r = call(&mut tcp, RESOLVE).await;
    assert_eq!(r.code(), rc::HANDLE_NOT_FOUND, "{:?}", r.body());
    // History names the SDK's identity for its writes.
    let (s, h) = n.get("/api/v1/history/88.118.8/SDK-0001", Some(&n.a)).await;
    assert_eq!(s, 200, "{h}");
    assert!(h.to_string().contains("300:88.118.8/SDKADMIN"), "{h}");

    // Another connection is not logged in: the same write bytes get a challenge.
    let mut other = Tcp::connect(n.node.handle_addr).await;
    let r = call(&mut other, CREATE).await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED, "{:?}", r.body());
}
on_both!(national_sdk_channel_on_one_connection, sdk_channel_checks);
