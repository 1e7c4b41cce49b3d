//! Secret-key authentication over the Handle protocol: HS_SECKEY challenges (CNRI's
//! PBKDF2 form and HMAC-SHA256) and the national ID-SDK's login sessions.

use idnode_handle_proto::{flags, op, rc, Decoded, Request};

use crate::common::TestNode;
use crate::handle::publish_key;
use crate::hdl::{admin_answer, message, udp, Tcp};
use crate::on_both;

/// An HS_SECKEY answer in CNRI's PBKDF2-HMAC-SHA1 form (the default of 2.7+ clients) or as
/// HMAC-SHA256.
fn secret_answer(secret: &[u8], nonce: &[u8], digest: &[u8], pbkdf2: bool) -> Vec<u8> {
    use ring::hmac;
    let msg = [nonce, digest].concat();
    if !pbkdf2 {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &msg);
        return [&[0x13u8][..], tag.as_ref()].concat();
    }
    let salt = [9u8; 16];
    let mut key = [0u8; 20];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA1,
        std::num::NonZeroU32::new(10_000).unwrap(),
        &salt,
        secret,
        &mut key,
    );
    let mac = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key),
        &msg,
    );
    let mut a = vec![0x22u8];
    a.extend_from_slice(&(salt.len() as u32).to_be_bytes());
    a.extend_from_slice(&salt);
    a.extend_from_slice(&10_000u32.to_be_bytes());
    a.extend_from_slice(&160u32.to_be_bytes());
    a.extend_from_slice(&(mac.as_ref().len() as u32).to_be_bytes());
    a.extend_from_slice(mac.as_ref());
    a
}

async fn seckey_checks(n: &TestNode) {
    let mut tcp = Tcp::connect(n.node.handle_addr).await;
    let (idx, admin) = n.a.identity.split_once(':').unwrap();
    let idx: u32 = idx.parse().unwrap();
    for (i, pbkdf2) in [(1, true), (2, false)] {
        let handle = format!("88.118.8/SK-{i}");
        let create = Request::Create {
            handle: &handle,
            values: vec![idnode_core::HandleValue::text(
                1,
                "URL",
                "https://sk.example",
            )],
        };
        let r = tcp.call(&message(&create, flags::KC, 0)).await;
        assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED);
        let resp = r.response();
        let (_, digest) = resp.digest.unwrap();
        let Decoded::Challenge(nonce) = resp.body else {
            panic!()
        };
        let answer = secret_answer(n.a.secret.as_bytes(), nonce, digest, pbkdf2);
        let req = Request::ChallengeAnswer {
            auth_type: "HS_SECKEY",
            admin,
            index: idx,
            response: &answer,
        };
        let done = tcp.call(&message(&req, flags::KC, r.env.session_id)).await;
        assert_eq!(
            done.code(),
            rc::SUCCESS,
            "pbkdf2={pbkdf2}: {:?}",
            done.body()
        );
        assert_eq!(n.get(&format!("/api/handles/{handle}"), None).await.0, 200);
    }
    // The wrong secret fails.
    let create = Request::Create {
        handle: "88.118.8/SK-3",
        values: vec![],
    };
    let r = tcp.call(&message(&create, flags::KC, 0)).await;
    let resp = r.response();
    let (_, digest) = resp.digest.unwrap();
    let Decoded::Challenge(nonce) = resp.body else {
        panic!()
    };
    let answer = secret_answer(b"not the secret", nonce, digest, true);
    let req = Request::ChallengeAnswer {
        auth_type: "HS_SECKEY",
        admin,
        index: idx,
        response: &answer,
    };
    let r = tcp.call(&message(&req, flags::KC, r.env.session_id)).await;
    assert_eq!(r.code(), rc::AUTHENTICATION_FAILED);
    assert_eq!(n.get("/api/handles/88.118.8/SK-3", None).await.0, 404);
}
on_both!(handle_secret_key_challenges, seckey_checks);

async fn sdk_relogin_and_login_values(
    n: &TestNode,
    tcp: &mut Tcp,
    login: &Request<'_>,
    create: &Request<'_>,
    session: u32,
) {
    let addr = n.node.handle_addr;
    // Logging in again on the session: 407; an unknown session: 408.
    let r = tcp.call(&message(login, flags::KC, session)).await;
    assert_eq!(r.code(), rc::RELOGIN);
    let r = tcp
        .call(&message(create, flags::KC, session ^ 0x5A5A))
        .await;
    assert_eq!(r.code(), rc::LOGIN_FIRST);

    // LOGIN (2000) answers with the login handle's values once the challenge is met (on a
    // new connection: this one is logged in, and a second login on it is refused).
    let r = tcp
        .call(&message(
            &Request::GetSiteInfo { handle: None },
            flags::KC,
            0,
        ))
        .await;
    assert_eq!(r.code(), rc::SUCCESS);
    let relogin = Request::LoginIdSystem {
        handle: "88.118.8/ADMIN",
        index: 300,
    };
    let r = tcp.call(&message(&relogin, flags::KC, 0)).await;
    assert_eq!(r.code(), rc::RELOGIN);
    let mut tcp = Tcp::connect(addr).await;
    let login = Request::Login {
        handle: "88.118.8/ADMIN",
        indexes: vec![300],
        types: vec![],
    };
    let r = tcp.call(&message(&login, flags::KC, 0)).await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED);
    let signed = r.signed_challenge();
    let answer = admin_answer(&signed);
    let r = tcp
        .call(&message(&answer, flags::KC, r.env.session_id))
        .await;
    assert_eq!(r.code(), rc::SUCCESS);
    assert_eq!(r.message().header.op_code, op::LOGIN);
    let Decoded::Values { values, .. } = r.body() else {
        panic!("{:?}", r.body())
    };
    assert_eq!(values[0].type_name, "HS_PUBKEY");
}

/// The national SDK's flow: LOGIN_ID_SYSTEM (2001) → challenge → answer; the challenge's
/// session id then authorises further requests without new challenges.
async fn sdk_login_checks(n: &TestNode) {
    publish_key(n).await;
    let addr = n.node.handle_addr;
    let mut tcp = Tcp::connect(addr).await;
    let login = Request::LoginIdSystem {
        handle: "88.118.8/ADMIN",
        index: 300,
    };
    // As the SDK does: one session id of its own choosing on every request of the
    // connection, the challenge answered under it too (whatever id the challenge carries).
    let session = 73_519_044;
    let site = Request::GetSiteInfo { handle: None };
    let r = tcp.call(&message(&site, flags::KC, session)).await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    let r = tcp
        .call(&message(&login, flags::KC | flags::RD, session))
        .await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED);
    assert_eq!(r.message().header.op_code, op::LOGIN_ID_SYSTEM);
    assert_eq!(
        r.env.session_id, session,
        "the challenge keeps the client's session id"
    );
    let signed = r.signed_challenge();
    let answer = admin_answer(&signed);
    let r = tcp.call(&message(&answer, flags::KC, session)).await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    assert_eq!(r.message().header.op_code, op::LOGIN_ID_SYSTEM);
    assert_eq!(r.env.session_id, session);

    // Logged in: writes on the session need no challenge, over TCP and over UDP.
    let url = idnode_core::HandleValue::text(1, "URL", "https://login.example");
    let create = Request::Create {
        handle: "88.118.8/L-1",
        values: vec![url],
    };
    let r = tcp.call(&message(&create, flags::KC, session)).await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    let r = udp(
        addr,
        &message(
            &Request::Delete {
                handle: "88.118.8/L-1",
            },
            0,
            session,
        ),
    )
    .await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    assert_eq!(n.get("/api/handles/88.118.8/L-1", None).await.0, 404);
    // The session is still bound to its principal: B's prefix stays closed.
    let r = tcp
        .call(&message(
            &Request::Delete {
                handle: "88.118.9/x",
            },
            flags::KC,
            session,
        ))
        .await;
    assert_eq!(r.code(), rc::INSUFFICIENT_PERMISSIONS);

    sdk_relogin_and_login_values(n, &mut tcp, &login, &create, session).await;
}
on_both!(handle_national_sdk_login_sessions, sdk_login_checks);
