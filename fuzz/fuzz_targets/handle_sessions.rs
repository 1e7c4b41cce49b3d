//! What a client sends to open and use a Handle session: `Authorization: Handle …` headers
//! (parsed, turned into challenge answers), Diffie–Hellman public values (parsed and
//! checked), encrypted session messages and their MACs. Nothing panics on any input.
//! Input: a selector byte, then data.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use idnode_handle_proto::auth_header::{answer_bytes, HandleAuth};
use idnode_handle::session::{dh_public, DhPublic, Session, Sessions};
use idnode_handle_proto::session::KeyExchange;
use idnode_handle_proto::Version;
use libfuzzer_sys::fuzz_target;

const V2_10: Version = Version {
    major: 2,
    minor: 10,
};

/// A session with a key, agreed once over a small (1024-bit) Diffie–Hellman group.
fn session() -> &'static (Sessions, std::sync::Arc<Session>) {
    static S: OnceLock<(Sessions, std::sync::Arc<Session>)> = OnceLock::new();
    S.get_or_init(|| {
        let sessions = Sessions::new(Duration::from_secs(3600));
        let p = rsa::BigUint::parse_bytes(
            b"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
            16,
        )
        .unwrap();
        let g = rsa::BigUint::from(2u8);
        let y = g.modpow(&rsa::BigUint::from(123_456_789u64), &p);
        let est = sessions
            .setup(KeyExchange::DiffieHellman, &dh_public(&y, &p, &g), None, None, None, V2_10)
            .unwrap();
        (sessions, est.session)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Some(a) = HandleAuth::parse(text) {
                    let _ = answer_bytes(&a);
                }
            }
        }
        // The parser only: the modular exponentiation that follows costs milliseconds and
        // is no parser.
        1 => {
            let _ = DhPublic::parse(rest);
        }
        _ => {
            let (_, s) = session();
            let _ = s.decrypt(rest);
            let (covered, mac) = rest.split_at(rest.len() / 2);
            let _ = s.verify(covered, u32::from(which), mac);
        }
    }
});
