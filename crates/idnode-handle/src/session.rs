//! Protocol sessions (RFC 3652 §3.10) as CNRI's clients use them: a session key agreed by
//! Diffie–Hellman or RSA, which then authenticates every message of the session (HMAC over
//! what `covered_bytes` lists), optionally encrypts them (AES-128-CBC, a random IV in front),
//! and carries the identity a challenge proved, so later requests of the session need no
//! new challenge. Session ids are random; every message must carry the session's MAC and a
//! counter not seen before, so an id alone gives nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut as _, BlockEncryptMut as _, KeyIvInit};
use idnode_handle_proto::session::KeyExchange;
use idnode_handle_proto::Version;
use idnode_registry::Principal;
use moka::sync::Cache;
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};
use rsa::BigUint;
use zeroize::Zeroizing;

use crate::keys::PublicKey;
use crate::server_key::{encrypt_to, ServerKey};

/// CNRI's code for AES, the only session cipher served here (DES and triple DES are not).
pub const ALG_AES: u32 = 3;
/// Bytes of an AES session key made here or accepted from a client.
const AES_KEY_LEN: usize = 16;
/// Request counters remembered per session (older ones are refused).
const SEEN_WINDOW: usize = 200;
/// Smallest and largest Diffie–Hellman modulus accepted (bits).
const DH_BITS: std::ops::RangeInclusive<u64> = 1024..=4096;

/// Why a session step failed: a Handle response code and a message for the client.
pub type SessionError = (u32, String);

fn fail<T>(code: u32, msg: impl Into<String>) -> Result<T, SessionError> {
    Err((code, msg.into()))
}

/// One session.
pub struct Session {
    /// The session id (1..=2^31-1, as CNRI's clients need it positive).
    pub id: u32,
    key: Mutex<Option<Zeroizing<Vec<u8>>>>,
    /// How the key was agreed.
    pub exchange: KeyExchange,
    /// The identity named at setup, if any.
    pub identity: Option<(String, u32)>,
    principal: Mutex<Option<Principal>>,
    /// The protocol version of the session's messages.
    pub version: Version,
    counter: AtomicU32,
    seen: Mutex<VecDeque<u32>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("exchange", &self.exchange)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn key(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.key.lock().expect("session lock").clone()
    }

    /// Whether the session has its key (a server-cipher session gets it by EXCHANGEKEY).
    pub fn has_key(&self) -> bool {
        self.key.lock().expect("session lock").is_some()
    }

    /// The identity a challenge in this session proved.
    pub fn principal(&self) -> Option<Principal> {
        self.principal.lock().expect("session lock").clone()
    }

    /// Records the identity a challenge answered in this session proved.
    pub fn authenticate(&self, principal: Principal) {
        *self.principal.lock().expect("session lock") = Some(principal);
    }

    /// The counter for the next message the server signs in this session.
    pub fn next_counter(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// HMAC-SHA256 of `covered` under the session key.
    pub fn mac(&self, covered: &[u8]) -> Option<Vec<u8>> {
        let key = self.key()?;
        let k = hmac::Key::new(hmac::HMAC_SHA256, &key);
        Some(hmac::sign(&k, covered).as_ref().to_vec())
    }

    /// Checks a request's MAC (constant time) and that its counter is new.
    pub fn verify(&self, covered: &[u8], counter: u32, mac: &[u8]) -> Result<(), SessionError> {
        let Some(key) = self.key() else {
            return fail(
                idnode_handle_proto::rc::SESSION_FAILED,
                "the session has no key yet (SESSION_EXCHANGEKEY first)",
            );
        };
        let k = hmac::Key::new(hmac::HMAC_SHA256, &key);
        if hmac::verify(&k, covered, mac).is_err() {
            return fail(
                idnode_handle_proto::rc::INVALID_SESSION_KEY,
                "the message's session MAC does not verify",
            );
        }
        let mut seen = self.seen.lock().expect("session lock");
        let oldest = seen.iter().min().copied();
        let full = seen.len() >= SEEN_WINDOW;
        if seen.contains(&counter) || (full && oldest.is_some_and(|o| counter < o)) {
            return fail(
                idnode_handle_proto::rc::SESSION_MESSAGE_REJECTED,
                format!("session counter {counter} was used already"),
            );
        }
        if full {
            seen.pop_front();
        }
        seen.push_back(counter);
        Ok(())
    }

    /// Encrypts a message for the client: a random IV, then AES-128-CBC with PKCS#5 padding.
    pub fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let key = self.key()?;
        let mut iv = [0u8; 16];
        SystemRandom::new().fill(&mut iv).ok()?;
        let enc = cbc::Encryptor::<aes::Aes128>::new_from_slices(&key[..AES_KEY_LEN], &iv).ok()?;
        let mut out = iv.to_vec();
        out.extend_from_slice(&enc.encrypt_padded_vec_mut::<Pkcs7>(plain));
        Some(out)
    }

    /// Decrypts a message from the client (IV first).
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, SessionError> {
        let Some(key) = self.key() else {
            return fail(
                idnode_handle_proto::rc::SESSION_FAILED,
                "the session has no key",
            );
        };
        let bad = || {
            (
                idnode_handle_proto::rc::SESSION_FAILED,
                "the message cannot be decrypted with the session key".to_owned(),
            )
        };
        if data.len() < 32 || !data.len().is_multiple_of(16) {
            return Err(bad());
        }
        let (iv, body) = data.split_at(16);
        let dec = cbc::Decryptor::<aes::Aes128>::new_from_slices(&key[..AES_KEY_LEN], iv)
            .map_err(|_| bad())?;
        dec.decrypt_padded_vec_mut::<Pkcs7>(body).map_err(|_| bad())
    }
}

/// What a session setup answers: the new session and the data of the setup answer.
pub struct Established {
    /// The session.
    pub session: Arc<Session>,
    /// The mode's data: an encrypted session key, the server's public key, or the cipher
    /// and the server's Diffie–Hellman value.
    pub data: Vec<u8>,
}

/// The sessions of the node.
pub struct Sessions {
    table: Cache<u32, Arc<Session>>,
}

impl Sessions {
    /// Sessions that end after `idle` without a message.
    pub fn new(idle: Duration) -> Self {
        Self {
            table: Cache::builder()
                .time_to_idle(idle)
                .max_capacity(100_000)
                .build(),
        }
    }

    /// The session with this id, if it is alive.
    pub fn get(&self, id: u32) -> Option<Arc<Session>> {
        (id != 0).then(|| self.table.get(&id)).flatten()
    }

    /// Ends a session.
    pub fn remove(&self, id: u32) {
        self.table.invalidate(&id);
    }

    /// Sets up a session. `client_key` is the RSA key the session key is encrypted to (the
    /// request's own for `CipherClient`, the referenced handle value's for `CipherHandle`).
    pub fn setup(
        &self,
        exchange: KeyExchange,
        public_key: &[u8],
        client_key: Option<&PublicKey>,
        server_key: Option<&ServerKey>,
        identity: Option<(String, u32)>,
        version: Version,
    ) -> Result<Established, SessionError> {
        let (key, data) = match exchange {
            KeyExchange::DiffieHellman => {
                if version < (Version { major: 2, minor: 4 }) {
                    return fail(
                        idnode_handle_proto::rc::SESSION_FAILED,
                        "Diffie-Hellman sessions need protocol 2.4 or later",
                    );
                }
                let (key, ours) = diffie_hellman(public_key)?;
                let mut data = ALG_AES.to_be_bytes().to_vec();
                data.extend_from_slice(&ours);
                (Some(key), data)
            }
            KeyExchange::CipherClient | KeyExchange::CipherHandle => {
                let Some(pk) = client_key else {
                    return fail(
                        idnode_handle_proto::rc::NEED_RSAKEY_FOR_SESSIONEXCHANGE,
                        "no RSA key to encrypt the session key to",
                    );
                };
                let mut key = Zeroizing::new(vec![0u8; AES_KEY_LEN]);
                SystemRandom::new()
                    .fill(&mut key)
                    .map_err(|_| (idnode_handle_proto::rc::ERROR, "no randomness".to_owned()))?;
                let mut plain = Zeroizing::new(ALG_AES.to_be_bytes().to_vec());
                plain.extend_from_slice(&key);
                let data = encrypt_to(pk, &plain).map_err(|e| {
                    (
                        idnode_handle_proto::rc::NEED_RSAKEY_FOR_SESSIONEXCHANGE,
                        e.to_string(),
                    )
                })?;
                (Some(key), data)
            }
            KeyExchange::CipherServer => {
                let Some(sk) = server_key else {
                    return fail(
                        idnode_handle_proto::rc::SESSION_FAILED,
                        "this node has no server key",
                    );
                };
                (None, sk.public_key().encode())
            }
        };
        let session = Arc::new(Session {
            id: self.fresh_id(),
            key: Mutex::new(key),
            exchange,
            identity,
            principal: Mutex::new(None),
            version,
            counter: AtomicU32::new(1),
            seen: Mutex::new(VecDeque::new()),
        });
        self.table.insert(session.id, session.clone());
        Ok(Established { session, data })
    }

    /// SESSION_EXCHANGEKEY: the client's key, encrypted to the server key (`alg ‖ key`).
    pub fn exchange_key(
        &self,
        session: &Session,
        server_key: Option<&ServerKey>,
        encrypted: &[u8],
    ) -> Result<(), SessionError> {
        if session.exchange != KeyExchange::CipherServer {
            return fail(
                idnode_handle_proto::rc::SESSION_FAILED,
                "SESSION_EXCHANGEKEY belongs to server-cipher sessions",
            );
        }
        let plain = server_key
            .ok_or((
                idnode_handle_proto::rc::SESSION_FAILED,
                "this node has no server key".to_owned(),
            ))?
            .decrypt(encrypted)
            .map_err(|_| {
                (
                    idnode_handle_proto::rc::SESSION_FAILED,
                    "the session key cannot be decrypted with the server key".to_owned(),
                )
            })?;
        let (alg, key) = plain.split_at(plain.len().min(4));
        if alg != ALG_AES.to_be_bytes() || key.len() < AES_KEY_LEN {
            return fail(
                idnode_handle_proto::rc::SESSION_FAILED,
                "only AES session keys are accepted",
            );
        }
        let mut slot = session.key.lock().expect("session lock");
        if slot.is_some() {
            // Once only: an unsigned exchange must not replace the key of a session in use.
            return fail(
                idnode_handle_proto::rc::SESSION_FAILED,
                "the session has its key already",
            );
        }
        *slot = Some(Zeroizing::new(key.to_vec()));
        Ok(())
    }

    fn fresh_id(&self) -> u32 {
        let rng = SystemRandom::new();
        loop {
            let mut b = [0u8; 4];
            rng.fill(&mut b).expect("the system random source works");
            let id = u32::from_be_bytes(b) & 0x7fff_ffff;
            if id != 0 && !self.table.contains_key(&id) {
                return id;
            }
        }
    }
}

/// A client's Diffie–Hellman public value and its group.
pub struct DhPublic {
    /// The public value.
    pub y: BigUint,
    /// The prime modulus.
    pub p: BigUint,
    /// The generator.
    pub g: BigUint,
}

impl DhPublic {
    /// Reads a `DH_PUB_KEY` (type, two flag bytes, y, p, g) and checks it is usable: a
    /// modulus of 1024 to 4096 bits, generator and value in 2..p-2.
    pub fn parse(data: &[u8]) -> Result<Self, SessionError> {
        let bad = |m: &str| {
            (
                idnode_handle_proto::rc::SESSION_FAILED,
                format!("bad Diffie-Hellman key: {m}"),
            )
        };
        let mut r = data;
        if take_blob(&mut r) != Some(&b"DH_PUB_KEY"[..]) {
            return Err(bad("not a DH_PUB_KEY"));
        }
        r = r.get(2..).ok_or_else(|| bad("truncated"))?;
        let mut part = |what: &str| take_blob(&mut r).ok_or_else(|| bad(what));
        let y = BigUint::from_bytes_be(part("y")?);
        let p = BigUint::from_bytes_be(part("p")?);
        let g = BigUint::from_bytes_be(part("g")?);
        let one = BigUint::from(1u8);
        if !DH_BITS.contains(&(p.bits() as u64)) {
            return Err(bad("modulus size out of range"));
        }
        let p_minus_1 = &p - &one;
        if g <= one || g >= p_minus_1 || y <= one || y >= p_minus_1 {
            return Err(bad("value out of range"));
        }
        Ok(Self { y, p, g })
    }
}

/// Reads a `DH_PUB_KEY` (y, p, g), answers with ours over the same group, and derives the
/// session key as CNRI does for AES: the shared secret as a big-endian number of the
/// modulus' length, leading zeros skipped, its first 32 bytes.
fn diffie_hellman(client: &[u8]) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), SessionError> {
    let DhPublic { y, p, g } = DhPublic::parse(client)?;
    let bad = |m: &str| {
        (
            idnode_handle_proto::rc::SESSION_FAILED,
            format!("bad Diffie-Hellman key: {m}"),
        )
    };
    let x_bytes = (p.bits().saturating_sub(1)).min(512) / 8;
    let mut x = Zeroizing::new(vec![0u8; x_bytes]);
    SystemRandom::new()
        .fill(&mut x)
        .map_err(|_| bad("no randomness"))?;
    let x = BigUint::from_bytes_be(&x);
    let ours = g.modpow(&x, &p);
    let shared = Zeroizing::new(y.modpow(&x, &p).to_bytes_be());
    let len = p.bits().div_ceil(8);
    let mut padded = Zeroizing::new(vec![0u8; len - shared.len()]);
    padded.extend_from_slice(&shared);
    let mut i = 0;
    while i + 32 < padded.len() && padded[i] == 0 {
        i += 1;
    }
    let key = Zeroizing::new(padded[i..(i + 32).min(padded.len())].to_vec());
    Ok((key, dh_public(&ours, &p, &g)))
}

fn take_blob<'a>(r: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(r.get(..4)?.try_into().ok()?) as usize;
    let v = r.get(4..4usize.checked_add(len)?)?;
    *r = &r[4 + len..];
    Some(v)
}

fn put_blob(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

/// Encodes a `DH_PUB_KEY`: type, two flag bytes, y, p, g.
pub fn dh_public(y: &BigUint, p: &BigUint, g: &BigUint) -> Vec<u8> {
    let mut out = Vec::new();
    put_blob(&mut out, b"DH_PUB_KEY");
    out.extend_from_slice(&[0, 0]);
    for n in [y, p, g] {
        put_blob(&mut out, &n.to_bytes_be());
    }
    out
}

#[cfg(test)]
mod tests;
