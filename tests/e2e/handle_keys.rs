//! Elliptic-curve admin keys on the Handle protocol: an SM2 key (as the national SDK stores
//! it, SubjectPublicKeyInfo under `SM2_PUB_KEY`) and a P-256 key log in, write, and fail
//! with a wrong signature.

use base64::Engine as _;
use idnode_handle::keys::PublicKey;
use idnode_handle_proto::{flags, rc, Decoded, Request};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::json;
use sm2::dsa::signature::Signer as _;

use crate::common::TestNode;
use crate::hdl::{message, Tcp};
use crate::on_both;

const ADMIN: &str = "88.118.8/ADMIN";

fn answer(alg: &[u8], sig: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in [alg, sig] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Creates the admin handle with one `HS_PUBKEY` value per key (index, key).
async fn publish(n: &TestNode, keys: &[(u32, &PublicKey)]) {
    let values: Vec<_> = keys
        .iter()
        .map(|(index, key)| {
            let data = base64::engine::general_purpose::STANDARD.encode(key.encode());
            json!({"index": index, "type": "HS_PUBKEY", "data": {"format": "base64", "value": data}})
        })
        .collect();
    let (s, body) = n
        .put(&format!("/api/handles/{ADMIN}"), Some(&n.a), &json!(values))
        .await;
    assert_eq!(s, 201, "{body}");
}

/// LOGIN_ID_SYSTEM with the key at `index`, the challenge answered by `sign`; returns the
/// final reply and the session id.
async fn login(
    tcp: &mut Tcp,
    index: u32,
    sign: impl Fn(&[u8]) -> Vec<u8>,
) -> (crate::hdl::Reply, u32) {
    let req = Request::LoginIdSystem {
        handle: ADMIN,
        index,
    };
    let r = tcp.call(&message(&req, flags::KC, 0)).await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED, "{:?}", r.body());
    let session = r.env.session_id;
    let resp = r.response();
    let (_, digest) = resp.digest.expect("challenges carry the request digest");
    let Decoded::Challenge(nonce) = resp.body else {
        panic!("{:?}", resp.body)
    };
    let signed = sign(&[nonce, digest].concat());
    let answer = Request::ChallengeAnswer {
        auth_type: "HS_PUBKEY",
        admin: ADMIN,
        index,
        response: &signed,
    };
    (
        tcp.call(&message(&answer, flags::KC, session)).await,
        session,
    )
}

async fn create(tcp: &mut Tcp, session: u32, handle: &str) -> u32 {
    let url = idnode_core::HandleValue::text(1, "URL", "https://ec.example");
    let req = Request::Create {
        handle,
        values: vec![url],
    };
    tcp.call(&message(&req, flags::KC, session)).await.code()
}

async fn ec_key_checks(n: &TestNode) {
    // The SM2 key: SM3 answers (an SM2 signature with the default signer id).
    let mut d = [0x2Bu8; 32];
    d[0] = 0x01;
    let sm2_signer = sm2::dsa::SigningKey::from_slice("1234567812345678", &d).unwrap();
    let sm2_key = PublicKey::Sm2(sm2_signer.verifying_key().to_sec1_bytes().to_vec());
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let p256_key = PublicKey::P256(pair.public_key().as_ref().to_vec());
    publish(n, &[(301, &sm2_key), (302, &p256_key)]).await;
    let addr = n.node.handle_addr;
    let mut tcp = Tcp::connect(addr).await;
    let (r, session) = login(&mut tcp, 301, |m| {
        let sig: sm2::dsa::Signature = sm2_signer.sign(m);
        answer(b"SM3", &sig.to_bytes())
    })
    .await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    assert_eq!(
        create(&mut tcp, session, "88.118.8/SM2-1").await,
        rc::SUCCESS
    );
    assert_eq!(n.get("/api/handles/88.118.8/SM2-1", None).await.0, 200);

    // A signature by another SM2 key fails the login.
    let mut tcp = Tcp::connect(addr).await;
    let stranger = sm2::dsa::SigningKey::from_slice("1234567812345678", &[0x33; 32]).unwrap();
    let (r, _) = login(&mut tcp, 301, |m| {
        let sig: sm2::dsa::Signature = stranger.sign(m);
        answer(b"SM3", &sig.to_bytes())
    })
    .await;
    assert_eq!(r.code(), rc::AUTHENTICATION_FAILED, "{:?}", r.body());

    // The P-256 key: DER ECDSA with SHA-256.
    let mut tcp = Tcp::connect(addr).await;
    let (r, session) = login(&mut tcp, 302, |m| {
        answer(b"SHA-256", pair.sign(&rng, m).unwrap().as_ref())
    })
    .await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    assert_eq!(
        create(&mut tcp, session, "88.118.8/P256-1").await,
        rc::SUCCESS
    );
    // The P-256 key's answer does not open the SM2 key's index.
    let mut tcp = Tcp::connect(addr).await;
    let (r, _) = login(&mut tcp, 301, |m| {
        answer(b"SHA-256", pair.sign(&rng, m).unwrap().as_ref())
    })
    .await;
    assert_eq!(r.code(), rc::AUTHENTICATION_FAILED, "{:?}", r.body());
}
on_both!(handle_elliptic_curve_admin_keys, ec_key_checks);
