//! RFC 3652 sessions and certified answers, as CNRI's Handle.Net 9 client uses them: the
//! node's key published in HS_SITE, answers signed with it when the client sets CT, sessions
//! set up with each key exchange CNRI's client offers (Diffie–Hellman by default; the
//! client's RSA key, a key in a handle, the server's key), session MACs on requests and
//! answers, a challenge met once per session, encrypted messages, replay and forgery refused,
//! and the binary protocol posted to a handle path on the HTTP port.

use idnode_core::{HandleValue, SiteInfo};
use idnode_handle::keys::PublicKey;
use idnode_handle::server_key::encrypt_to;
use idnode_handle_proto::session::{covered_bytes, KeyExchange, SessionSetup};
use idnode_handle_proto::{
    flags, op, rc, Credential, Decoded, Envelope, Header, Message, Request, ENVELOPE_LEN,
};
use ring::hmac;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::BigUint;

use crate::common::TestNode;
use crate::handle::publish_key;
use crate::hdl::{admin_answer, message, test_key, test_key_pkcs8, Reply, Tcp};
use crate::on_both;

const ADMIN: &str = "88.118.8/ADMIN";

/// The 1024-bit MODP group of RFC 2409 (generator 2), the size CNRI's client asks for.
const OAKLEY2_P: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";

fn blob(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn take<'a>(r: &mut &'a [u8]) -> &'a [u8] {
    let n = u32::from_be_bytes(r[..4].try_into().unwrap()) as usize;
    let v = &r[4..4 + n];
    *r = &r[4 + n..];
    v
}

/// The node's server key, read from its HS_SITE.
async fn site_key(tcp: &mut Tcp) -> PublicKey {
    let r = tcp
        .call(&message(
            &Request::GetSiteInfo { handle: None },
            flags::KC,
            0,
        ))
        .await;
    let Decoded::SiteInfo(site) = r.body() else {
        panic!("{:?}", r.body())
    };
    let site = SiteInfo::decode(site).unwrap();
    PublicKey::decode(&site.servers[0].public_key).expect("HS_SITE names an RSA key")
}

/// Checks an answer's HS_SIGNED credential with the server key.
fn verify_signed(r: &Reply, key: &PublicKey) {
    let m = r.message();
    let c = Credential::decode(m.credential.expect("a certified answer has a credential")).unwrap();
    assert_eq!(c.kind, "HS_SIGNED");
    assert_eq!(c.hash_alg, b"SHA-256");
    let PublicKey::Rsa { e, n } = key else {
        panic!()
    };
    let covered = covered_bytes(&r.env, c.signer_index, m.signed);
    ring::signature::RsaPublicKeyComponents { n, e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &covered,
            c.signature,
        )
        .expect("the answer's signature verifies with the key in HS_SITE");
}

/// A client's view of a session: its id, key and counter.
struct ClientSession {
    id: u32,
    key: Vec<u8>,
    counter: u32,
}

impl ClientSession {
    fn mac(&self, covered: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.key), covered)
            .as_ref()
            .to_vec()
    }

    /// A request of the session, MAC-signed as CNRI's client signs it; encrypted if asked.
    fn request(&mut self, req: &Request<'_>, op_flags: u32, encrypt: bool) -> Vec<u8> {
        self.counter += 1;
        let mut env = Envelope::request(self.id, 0x1000 + self.counter);
        env.version = env.suggested;
        let header = Header {
            op_code: req.op_code(),
            op_flags: op_flags | if encrypt { flags::ENC } else { 0 },
            expiration: u32::MAX,
            body_len: 0,
            ..Header::default()
        };
        let body = req.encode();
        let mut hb = Vec::new();
        Header {
            body_len: body.len() as u32,
            ..header
        }
        .encode(&mut hb);
        hb.extend_from_slice(&body);
        let mac = self.mac(&covered_bytes(&env, self.counter, &hb));
        let mut cred = Vec::new();
        Credential {
            version: 0,
            flags: 0,
            signer: "",
            signer_index: self.counter,
            kind: "HS_MAC",
            hash_alg: b"HMAC-SHA256",
            signature: &mac,
        }
        .encode(&mut cred);
        let mut msg = hb;
        blob(&mut msg, &cred);
        if encrypt {
            msg = self.encrypt(&msg);
            env.encrypted = true;
        }
        env.message_length = msg.len() as u32;
        let mut out = Vec::new();
        env.encode(&mut out);
        out.extend_from_slice(&msg);
        out
    }

    fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut as _, KeyIvInit as _};
        let iv = [0x42u8; 16];
        let ct = cbc::Encryptor::<aes::Aes128>::new_from_slices(&self.key[..16], &iv)
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(plain);
        [&iv[..], &ct].concat()
    }

    /// Sends a request of the session and opens its answer.
    async fn call(
        &mut self,
        tcp: &mut Tcp,
        req: &Request<'_>,
        op_flags: u32,
        encrypt: bool,
    ) -> Reply {
        let msg = self.request(req, op_flags, encrypt);
        let r = tcp.call(&msg).await;
        self.open(r)
    }

    /// Decrypts an encrypted answer and checks its session MAC.
    fn open(&self, mut r: Reply) -> Reply {
        if r.env.encrypted {
            use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut as _, KeyIvInit as _};
            let plain =
                cbc::Decryptor::<aes::Aes128>::new_from_slices(&self.key[..16], &r.bytes[..16])
                    .unwrap()
                    .decrypt_padded_vec_mut::<Pkcs7>(&r.bytes[16..])
                    .expect("the answer decrypts with the session key");
            r.env.encrypted = false;
            r.env.message_length = plain.len() as u32;
            r.bytes = plain;
        }
        let m = r.message();
        let c = Credential::decode(m.credential.expect("session answers carry a MAC")).unwrap();
        assert_eq!(c.kind, "HS_MAC");
        let covered = covered_bytes(&r.env, c.signer_index, m.signed);
        assert_eq!(
            c.signature,
            self.mac(&covered),
            "the answer's session MAC verifies"
        );
        r
    }
}

/// SESSION_SETUP as CNRI's client sends it (certified, with a request digest).
fn setup_message(setup: &SessionSetup<'_>) -> Vec<u8> {
    message(
        &Request::SessionSetup(setup.clone()),
        flags::CT | flags::RD | flags::KC,
        0,
    )
}

/// Sets up a session with `exchange`; checks the server's signature on the answer.
async fn open_session(
    tcp: &mut Tcp,
    server: &PublicKey,
    exchange: KeyExchange,
    identity: &str,
) -> ClientSession {
    let p = BigUint::parse_bytes(OAKLEY2_P.as_bytes(), 16).unwrap();
    let g = BigUint::from(2u8);
    let mut xb = [0u8; 40];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut xb);
    let x = BigUint::from_bytes_be(&xb);
    let client_rsa = rsa::RsaPrivateKey::from_pkcs8_der(test_key_pkcs8()).unwrap();
    let public_key = match exchange {
        KeyExchange::DiffieHellman => idnode_handle::session::dh_public(&g.modpow(&x, &p), &p, &g),
        KeyExchange::CipherClient => crate::hdl::pubkey_data(&test_key()),
        _ => Vec::new(),
    };
    let setup = SessionSetup {
        exchange,
        timeout: 86_400,
        identity,
        identity_index: 300,
        public_key: &public_key,
        key_ref: (exchange == KeyExchange::CipherHandle).then_some(("88.118.8/ADMIN", 300)),
    };
    let r = tcp.call(&setup_message(&setup)).await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    verify_signed(&r, server);
    let id = r.env.session_id;
    assert!(id > 0 && id < 0x8000_0000, "a positive session id");
    let Decoded::SessionSetup { mode, data } = r.body() else {
        panic!("{:?}", r.body())
    };
    assert_eq!(mode, exchange.code());
    let key = match exchange {
        KeyExchange::DiffieHellman => {
            assert_eq!(&data[..4], &3u32.to_be_bytes(), "AES");
            let mut rest = &data[4..];
            assert_eq!(take(&mut rest), b"DH_PUB_KEY");
            rest = &rest[2..];
            let y = BigUint::from_bytes_be(take(&mut rest));
            let shared = y.modpow(&x, &p).to_bytes_be();
            let mut padded = vec![0u8; 128 - shared.len()];
            padded.extend_from_slice(&shared);
            let mut i = 0;
            while i + 32 < padded.len() && padded[i] == 0 {
                i += 1;
            }
            padded[i..i + 32].to_vec()
        }
        KeyExchange::CipherClient | KeyExchange::CipherHandle => {
            let plain = client_rsa.decrypt(rsa::Pkcs1v15Encrypt, data).unwrap();
            assert_eq!(&plain[..4], &3u32.to_be_bytes());
            plain[4..].to_vec()
        }
        KeyExchange::CipherServer => {
            let server_key = PublicKey::decode(data).unwrap();
            assert_eq!(&server_key, server, "the key of HS_SITE");
            let mut key = vec![0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
            let sent = encrypt_to(&server_key, &[&3u32.to_be_bytes()[..], &key].concat()).unwrap();
            let mut env = Envelope::request(id, 77);
            env.version = env.suggested;
            let req = Request::SessionExchangeKey {
                encrypted_key: &sent,
            };
            let header = Header {
                op_code: req.op_code(),
                op_flags: flags::CT | flags::KC,
                expiration: u32::MAX,
                ..Header::default()
            };
            let msg = idnode_handle_proto::encode_message(&env, &header, &req.encode());
            let r = tcp.call(&msg).await;
            assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
            verify_signed(&r, server);
            key
        }
    };
    ClientSession {
        id,
        key,
        counter: 0,
    }
}

/// An admin request in a fresh session: challenged once (MAC'd challenge), answered with the
/// RSA key, then later requests of the session go through without a challenge.
async fn authenticate(tcp: &mut Tcp, s: &mut ClientSession, first: &Request<'_>) -> Reply {
    let r = s
        .call(tcp, first, flags::CT | flags::RD | flags::KC, false)
        .await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED, "{:?}", r.body());
    assert_eq!(r.env.session_id, s.id, "the challenge keeps the session id");
    // CNRI's client sends its answer under the session id, unsigned.
    let signed = r.signed_challenge();
    let answer = admin_answer(&signed);
    s.open(
        tcp.call(&message(&answer, flags::CT | flags::KC, s.id))
            .await,
    )
}

async fn session_rsa_and_identity_checks(tcp: &mut Tcp, server: &PublicKey) {
    let url = |i: u32, u: &str| HandleValue::text(i, "URL", u);
    // The RSA exchanges: the client's key, a key in a handle, the server's key.
    for exchange in [
        KeyExchange::CipherClient,
        KeyExchange::CipherHandle,
        KeyExchange::CipherServer,
    ] {
        let mut s = open_session(tcp, server, exchange, ADMIN).await;
        let handle = format!("88.118.8/RSA-{}", exchange.code());
        let create = Request::Create {
            handle: &handle,
            values: vec![url(1, "https://s.example/rsa")],
        };
        let r = authenticate(tcp, &mut s, &create).await;
        assert_eq!(r.code(), rc::SUCCESS, "{exchange:?}: {:?}", r.body());
        let delete = Request::Delete { handle: &handle };
        let r = s.call(tcp, &delete, flags::CT | flags::KC, true).await;
        assert_eq!(r.code(), rc::SUCCESS, "{exchange:?}: {:?}", r.body());
    }

    // A session set up for another identity is not authenticated by this key's challenge:
    // the challenged request runs, the next one is challenged again.
    let mut s = open_session(tcp, server, KeyExchange::DiffieHellman, "88.118.8/OTHER").await;
    let create = Request::Create {
        handle: "88.118.8/SESS-9",
        values: vec![url(1, "https://s.example/9")],
    };
    let r = authenticate(tcp, &mut s, &create).await;
    assert_eq!(r.code(), rc::SUCCESS);
    let delete = Request::Delete {
        handle: "88.118.8/SESS-9",
    };
    let r = s.call(tcp, &delete, flags::CT | flags::KC, false).await;
    assert_eq!(r.code(), rc::AUTHENTICATION_NEEDED);
}

/// A certified resolution outside any session: signed with the server key.
async fn certified_resolution(n: &TestNode, tcp: &mut Tcp, server: &PublicKey) {
    let (s, _) = n
        .put(
            "/api/handles/88.118.8/CERT-1",
            Some(&n.a),
            &serde_json::json!([{"index": 1, "type": "URL", "data": "https://cert.example"}]),
        )
        .await;
    assert_eq!(s, 201);
    let resolve = Request::Resolution {
        handle: "88.118.8/CERT-1",
        indexes: vec![],
        types: vec![],
    };
    let r = tcp.call(&message(&resolve, flags::CT | flags::KC, 0)).await;
    assert_eq!(r.code(), rc::SUCCESS);
    verify_signed(&r, server);
}

async fn session_checks(n: &TestNode) {
    publish_key(n).await;
    let mut tcp = Tcp::connect(n.node.handle_addr).await;
    let server = site_key(&mut tcp).await;

    certified_resolution(n, &mut tcp, &server).await;

    // Diffie–Hellman (CNRI's default): an administrative create, then a batch of
    // modifications inside the session without further challenges.
    let mut s = open_session(&mut tcp, &server, KeyExchange::DiffieHellman, ADMIN).await;
    let url = |i: u32, u: &str| HandleValue::text(i, "URL", u);
    let create = Request::Create {
        handle: "88.118.8/SESS-1",
        values: vec![url(1, "https://s.example/1")],
    };
    let r = authenticate(&mut tcp, &mut s, &create).await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    for i in 2..6 {
        let add = Request::AddValue {
            handle: "88.118.8/SESS-1",
            values: vec![url(i, &format!("https://s.example/{i}"))],
        };
        let r = s.call(&mut tcp, &add, flags::CT | flags::KC, false).await;
        assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    }
    let modify = Request::ModifyValue {
        handle: "88.118.8/SESS-1",
        values: vec![url(2, "https://s.example/two")],
    };
    let r = s
        .call(&mut tcp, &modify, flags::CT | flags::KC, false)
        .await;
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
    let (st, v) = n.get("/api/handles/88.118.8/SESS-1", None).await;
    assert_eq!(st, 200);
    let urls = v["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["type"] == "URL")
        .count();
    assert_eq!(urls, 5, "{v}");
    assert!(v.to_string().contains("https://s.example/two"));

    // An encrypted request gets an encrypted answer.
    let del = Request::RemoveValue {
        handle: "88.118.8/SESS-1",
        indexes: vec![5],
    };
    let sent = s.request(&del, flags::CT | flags::KC, true);
    let raw = tcp.call(&sent).await;
    assert!(raw.env.encrypted, "the answer is encrypted");
    let r = s.open(raw);
    assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());

    // Replay and forgery: the same request again, and a MAC under another key.
    let r = tcp.call(&sent).await;
    assert_eq!(
        r.code(),
        rc::SESSION_MESSAGE_REJECTED,
        "a replayed counter is refused"
    );
    let mut forged = ClientSession {
        id: s.id,
        key: vec![9; 32],
        counter: s.counter + 10,
    };
    let r = tcp.call(&forged.request(&del, flags::KC, false)).await;
    assert_eq!(r.code(), rc::INVALID_SESSION_KEY);
    // A session request without its MAC cannot borrow the session's identity.
    let r = tcp.call(&message(&del, flags::KC, s.id)).await;
    assert_eq!(r.code(), rc::INVALID_SESSION_KEY);

    // Terminate: the session is gone; its MAC'd requests get RC 500, which makes CNRI's
    // client set up a new session.
    let r = s
        .call(
            &mut tcp,
            &Request::SessionTerminate,
            flags::CT | flags::KC,
            false,
        )
        .await;
    assert_eq!(r.code(), rc::SUCCESS);
    let r = tcp.call(&s.request(&modify, flags::KC, false)).await;
    assert_eq!(r.code(), rc::SESSION_TIMEOUT);

    session_rsa_and_identity_checks(&mut tcp, &server).await;
}
on_both!(handle_protocol_sessions, session_checks);

/// CNRI's HTTP transport posts the message to the URL-encoded handle (or `/%2F`).
async fn http_path_checks(n: &TestNode) {
    let (s, _) = n
        .put(
            "/api/handles/88.118.8/WEB-1",
            Some(&n.a),
            &serde_json::json!([{"index": 1, "type": "URL", "data": "https://web.example"}]),
        )
        .await;
    assert_eq!(s, 201);
    let resolve = Request::Resolution {
        handle: "88.118.8/WEB-1",
        indexes: vec![],
        types: vec![],
    };
    for path in [
        "/88.118.8%2FWEB-1",
        "/%2F",
        "/",
        "/api/handles/88.118.8/WEB-1",
    ] {
        let res = n
            .client
            .post(format!("{}{path}", n.base))
            .header("content-type", "application/x-hdl-message")
            .body(message(&resolve, 0, 0))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/x-hdl-message",
            "{path}"
        );
        let bytes = res.bytes().await.unwrap();
        let env = Envelope::decode(&bytes).unwrap();
        let m = Message::parse(env, &bytes[ENVELOPE_LEN..]).unwrap();
        assert_eq!(m.header.op_code, op::RESOLUTION);
        assert_eq!(m.header.response_code, rc::SUCCESS, "{path}");
    }
}
on_both!(handle_protocol_over_http_on_any_path, http_path_checks);
