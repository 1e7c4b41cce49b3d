//! A minimal Handle protocol client for the tests: builds requests with the codec and talks
//! over real UDP and TCP sockets.

use std::net::SocketAddr;
use std::time::Duration;

use idnode_handle_proto::udp::Assembly;
use idnode_handle_proto::{
    encode_message, Decoded, Envelope, Header, Message, Request, Response, ENVELOPE_LEN,
};
use ring::rand::SystemRandom;
use ring::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

static NEXT_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// A request message as CNRI and national SDK clients send it: a 2.3 envelope suggesting
/// 2.10.
pub fn message(req: &Request<'_>, flags: u32, session: u32) -> Vec<u8> {
    let env = Envelope::request(
        session,
        NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    );
    let header = Header {
        op_code: req.op_code(),
        op_flags: flags,
        expiration: u32::MAX,
        ..Header::default()
    };
    encode_message(&env, &header, &req.encode())
}

/// One response message.
#[derive(Debug)]
pub struct Reply {
    pub env: Envelope,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn message(&self) -> Message<'_> {
        Message::parse(self.env, &self.bytes).expect("the server sends well-formed messages")
    }
    pub fn code(&self) -> u32 {
        self.message().header.response_code
    }
    pub fn response(&self) -> Response<'_> {
        Response::decode(&self.message()).expect("the server sends well-formed bodies")
    }
    pub fn body(&self) -> Decoded<'_> {
        self.response().body
    }
    /// The test key's signature over the challenge this reply carries (nonce and digest).
    pub fn signed_challenge(&self) -> Vec<u8> {
        let resp = self.response();
        let (_, digest) = resp.digest.expect("a challenge carries the request digest");
        let Decoded::Challenge(nonce) = resp.body else {
            panic!("not a challenge: {:?}", resp.body)
        };
        sign(&test_key(), nonce, digest)
    }
}

/// The answer of `300:88.118.8/ADMIN` (the test key) carrying `response`.
pub fn admin_answer(response: &[u8]) -> Request<'_> {
    Request::ChallengeAnswer {
        auth_type: "HS_PUBKEY",
        admin: "88.118.8/ADMIN",
        index: 300,
        response,
    }
}

/// Sends `msg` over UDP and assembles the (possibly multi-packet) reply.
pub async fn udp(addr: SocketAddr, msg: &[u8]) -> Reply {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut packets = Vec::new();
    idnode_handle_proto::udp::split(msg, |p| packets.push(p.to_vec()));
    for p in &packets {
        sock.send_to(p, addr).await.unwrap();
    }
    udp_receive(&sock).await
}

pub async fn udp_receive(sock: &UdpSocket) -> Reply {
    let mut buf = vec![0u8; 2048];
    let mut assembly: Option<Assembly> = None;
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
            .await
            .expect("a UDP reply within 5 s")
            .unwrap();
        assert!(n <= 512, "UDP packets stay within 512 bytes, got {n}");
        let env = Envelope::decode(&buf[..n]).unwrap();
        let data = &buf[ENVELOPE_LEN..n];
        if !env.truncated && data.len() == env.message_length as usize {
            return Reply {
                env,
                bytes: data.to_vec(),
            };
        }
        let a = assembly.get_or_insert_with(|| Assembly::new(env));
        if a.add(&env, data).unwrap() {
            let (env, bytes) = assembly.take().unwrap().finish();
            return Reply { env, bytes };
        }
    }
}

/// A TCP connection.
pub struct Tcp(pub TcpStream);

impl Tcp {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self(TcpStream::connect(addr).await.unwrap())
    }

    pub async fn send(&mut self, msg: &[u8]) {
        self.0.write_all(msg).await.unwrap();
    }

    pub async fn read(&mut self) -> Option<Reply> {
        let mut env = [0u8; ENVELOPE_LEN];
        let r = tokio::time::timeout(Duration::from_secs(10), self.0.read_exact(&mut env))
            .await
            .expect("a TCP reply within 10 s");
        if r.is_err() {
            return None;
        }
        let env = Envelope::decode(&env).unwrap();
        let mut bytes = vec![0u8; env.message_length as usize];
        self.0.read_exact(&mut bytes).await.unwrap();
        Some(Reply { env, bytes })
    }

    pub async fn call(&mut self, msg: &[u8]) -> Reply {
        self.send(msg).await;
        self.read().await.expect("the server answers")
    }
}

/// The tests' RSA admin key: 2048 bits, made once per test run (no key is kept in the tree).
pub fn test_key() -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(test_key_pkcs8()).unwrap()
}

/// The tests' RSA admin key as PKCS#8 DER.
pub fn test_key_pkcs8() -> &'static [u8] {
    static KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs8::EncodePrivateKey as _;
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        key.to_pkcs8_der().unwrap().as_bytes().to_vec()
    })
}

/// `HS_PUBKEY` data for a key pair.
pub fn pubkey_data(key: &RsaKeyPair) -> Vec<u8> {
    let public = key.public_key();
    let comps: ring::rsa::PublicKeyComponents<Vec<u8>> = public.into();
    idnode_handle::keys::PublicKey::Rsa {
        e: comps.e,
        n: comps.n,
    }
    .encode()
}

/// The signed response to a challenge: hash algorithm name and signature over
/// nonce ‖ digest.
pub fn sign(key: &RsaKeyPair, nonce: &[u8], digest: &[u8]) -> Vec<u8> {
    let mut msg = nonce.to_vec();
    msg.extend_from_slice(digest);
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &msg, &mut sig)
        .unwrap();
    let mut out = Vec::new();
    for part in [&b"SHA-256"[..], &sig] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}
