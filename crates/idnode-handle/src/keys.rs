//! `HS_PUBKEY` payloads and challenge signatures made with them.
//!
//! Key encodings (type string, u16 flags, parts as length-prefixed strings):
//! - `RSA_PUB_KEY`: exponent, modulus (CNRI and the national SDK);
//! - `SM2_PUB_KEY`: one X.509 SubjectPublicKeyInfo (the national SDKs' SM2 keys);
//! - `EC_PUB_KEY`: one SubjectPublicKeyInfo naming its curve, P-256 or SM2 (this node's
//!   encoding for ECDSA keys: the binary format defines none).
//!
//! Challenge answers are a hash algorithm name and a signature over `nonce ‖ digest` (DER or
//! fixed `r ‖ s` for EC keys): RSA PKCS#1 v1.5 with SHA-256 or SHA-1; ECDSA P-256 with
//! SHA-256; on SM2 keys either `SM3` (an SM2 signature, signer id the GM/T 0009 default or
//! the signer's handle) or `SHA-256` (ECDSA on the SM2 curve, which is what the national
//! SDK's generic signer produces for an EC key).

use ring::signature::{self, RsaPublicKeyComponents};
use sm2::dsa::signature::Verifier as _;
use spki::der::Decode as _;

/// id-ecPublicKey.
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// The P-256 curve.
const OID_P256: &str = "1.2.840.10045.3.1.7";
/// The SM2 curve (also used as an algorithm id by some encoders).
const OID_SM2: &str = "1.2.156.10197.1.301";
/// DER of a P-256 SubjectPublicKeyInfo up to its 65-byte uncompressed point.
const SPKI_P256_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// DER of an SM2 SubjectPublicKeyInfo up to its 65-byte uncompressed point.
const SPKI_SM2_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00,
];

/// Why a signed challenge answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key value is not a key this node can use.
    #[error("unsupported or malformed public key: {0}")]
    BadKey(String),
    /// The answer is not shaped as a signature.
    #[error("malformed signed response")]
    BadResponse,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

/// A public key decoded from an `HS_PUBKEY` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// `RSA_PUB_KEY`: exponent and modulus, big-endian.
    Rsa {
        /// Public exponent.
        e: Vec<u8>,
        /// Modulus.
        n: Vec<u8>,
    },
    /// An ECDSA P-256 key: the uncompressed point.
    P256(Vec<u8>),
    /// An SM2 key: the uncompressed point.
    Sm2(Vec<u8>),
}

/// The curve and uncompressed point of a SubjectPublicKeyInfo (or of a bare SEC1 point,
/// taken as `bare`).
fn ec_key(der: &[u8], bare: fn(Vec<u8>) -> PublicKey) -> Result<PublicKey, KeyError> {
    let key = if der.len() == 65 && der[0] == 4 {
        bare(der.to_vec())
    } else {
        spki_key(der)?
    };
    match &key {
        PublicKey::Sm2(p) if sm2::PublicKey::from_sec1_bytes(p).is_err() => {
            Err(KeyError::BadKey("SM2 point is not on the curve".into()))
        }
        PublicKey::P256(p) if p.len() != 65 || p[0] != 4 => Err(KeyError::BadKey(
            "P-256 keys must be uncompressed points".into(),
        )),
        _ => Ok(key),
    }
}

/// The key in a DER SubjectPublicKeyInfo naming P-256 or SM2.
fn spki_key(der: &[u8]) -> Result<PublicKey, KeyError> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|e| KeyError::BadKey(format!("not a SubjectPublicKeyInfo: {e}")))?;
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| KeyError::BadKey("public key bit string is not whole bytes".into()))?
        .to_vec();
    let alg = spki.algorithm.oid.to_string();
    let curve = spki
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<spki::ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    match (alg.as_str(), curve.as_deref()) {
        (OID_EC_PUBLIC_KEY, Some(OID_P256)) => Ok(PublicKey::P256(point)),
        (OID_EC_PUBLIC_KEY, Some(OID_SM2)) | (OID_SM2, _) => Ok(PublicKey::Sm2(point)),
        _ => Err(KeyError::BadKey(format!(
            "unsupported key algorithm {alg} / curve {curve:?}"
        ))),
    }
}

/// `r ‖ s` (32 bytes each) from a DER `SEQUENCE { INTEGER r, INTEGER s }` or a 64-byte
/// fixed encoding.
fn fixed_signature(sig: &[u8]) -> Option<[u8; 64]> {
    let mut out = [0u8; 64];
    if sig.len() == 64 {
        out.copy_from_slice(sig);
        return Some(out);
    }
    let (&tag, rest) = sig.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != body.len() || len >= 0x80 {
        return None;
    }
    let mut body = body;
    for half in out.chunks_mut(32) {
        let (&t, r) = body.split_first()?;
        let (&l, r) = r.split_first()?;
        let l = usize::from(l);
        if t != 0x02 || l == 0 || l > r.len() || l > 33 {
            return None;
        }
        let (int, r) = r.split_at(l);
        let int = if int.len() == 33 {
            if int[0] != 0 {
                return None;
            }
            &int[1..]
        } else {
            int
        };
        half[32 - int.len()..].copy_from_slice(int);
        body = r;
    }
    body.is_empty().then_some(out)
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], KeyError> {
    if buf.len() < n {
        return Err(KeyError::BadKey("truncated".into()));
    }
    let (a, b) = buf.split_at(n);
    *buf = b;
    Ok(a)
}

fn blob<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], KeyError> {
    let l = take(buf, 4)?;
    let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
    take(buf, n)
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let i = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b[i..].to_vec()
}

/// rsaEncryption.
const OID_RSA: &str = "1.2.840.113549.1.1.1";

impl PublicKey {
    /// A key as a person uploads it: `HS_PUBKEY` data (CNRI's `hdl-keygen` writes its
    /// public key so), or a PEM `PUBLIC KEY` (SubjectPublicKeyInfo: RSA, P-256 or SM2).
    pub fn from_upload(bytes: &[u8]) -> Result<Self, KeyError> {
        let Some(text) = std::str::from_utf8(bytes)
            .ok()
            .filter(|t| t.contains("-----BEGIN PUBLIC KEY-----"))
        else {
            return Self::decode(bytes);
        };
        let body: String = text
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN PUBLIC KEY-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|_| KeyError::BadKey("the PEM body is not base64".into()))?;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&der)
            .map_err(|e| KeyError::BadKey(format!("not a SubjectPublicKeyInfo: {e}")))?;
        if spki.algorithm.oid.to_string() != OID_RSA {
            return spki_key(&der);
        }
        use rsa::pkcs8::DecodePublicKey as _;
        use rsa::traits::PublicKeyParts as _;
        let k = rsa::RsaPublicKey::from_public_key_der(&der)
            .map_err(|e| KeyError::BadKey(format!("not an RSA public key: {e}")))?;
        let key = Self::Rsa {
            e: k.e().to_bytes_be(),
            n: k.n().to_bytes_be(),
        };
        // The same checks as a stored key (2048 bits at least).
        Self::decode(&key.encode())
    }

    /// Decodes `HS_PUBKEY` data: key type string, u16 flags, key parts.
    pub fn decode(mut data: &[u8]) -> Result<Self, KeyError> {
        let kind = blob(&mut data)?;
        take(&mut data, 2)?;
        match kind {
            b"SM2_PUB_KEY" => ec_key(blob(&mut data)?, PublicKey::Sm2),
            b"EC_PUB_KEY" => ec_key(blob(&mut data)?, PublicKey::P256),
            b"RSA_PUB_KEY" => {
                let e = strip_zeros(blob(&mut data)?);
                let n = strip_zeros(blob(&mut data)?);
                if n.len() < 256 {
                    return Err(KeyError::BadKey(
                        "RSA keys shorter than 2048 bits are refused".into(),
                    ));
                }
                Ok(Self::Rsa { e, n })
            }
            other => Err(KeyError::BadKey(format!(
                "key type {:?} is not supported",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// Encodes the key as `HS_PUBKEY` data (EC keys as SubjectPublicKeyInfo).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let put = |out: &mut Vec<u8>, b: &[u8]| {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        };
        match self {
            Self::Rsa { e, n } => {
                put(&mut out, b"RSA_PUB_KEY");
                out.extend_from_slice(&[0, 0]);
                put(&mut out, e);
                put(&mut out, n);
            }
            Self::P256(point) | Self::Sm2(point) => {
                let (kind, spki_prefix): (&[u8], &[u8]) = match self {
                    Self::Sm2(_) => (b"SM2_PUB_KEY", SPKI_SM2_PREFIX),
                    _ => (b"EC_PUB_KEY", SPKI_P256_PREFIX),
                };
                put(&mut out, kind);
                out.extend_from_slice(&[0, 0]);
                put(&mut out, &[spki_prefix, point.as_slice()].concat());
            }
        }
        out
    }

    /// Checks a `HS_PUBKEY` challenge answer from `signer` (the admin handle): hash
    /// algorithm name and signature over `nonce ‖ digest`.
    pub fn verify_answer(
        &self,
        signer: &str,
        nonce: &[u8],
        digest: &[u8],
        answer: &[u8],
    ) -> Result<(), KeyError> {
        let mut a = answer;
        let alg = blob(&mut a).map_err(|_| KeyError::BadResponse)?;
        let sig = blob(&mut a).map_err(|_| KeyError::BadResponse)?;
        if !a.is_empty() {
            return Err(KeyError::BadResponse);
        }
        let mut msg = Vec::with_capacity(nonce.len() + digest.len());
        msg.extend_from_slice(nonce);
        msg.extend_from_slice(digest);
        match self {
            Self::Rsa { e, n } => {
                let params: &signature::RsaParameters = match alg {
                    b"SHA-256" | b"SHA256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                    b"SHA-1" | b"SHA1" => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                    _ => return Err(KeyError::BadResponse),
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, &msg, sig)
                    .map_err(|_| KeyError::BadSignature)
            }
            Self::P256(point) => {
                if !matches!(alg, b"SHA-256" | b"SHA256") {
                    return Err(KeyError::BadResponse);
                }
                let fixed = fixed_signature(sig).ok_or(KeyError::BadResponse)?;
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(&msg, &fixed)
                    .map_err(|_| KeyError::BadSignature)
            }
            Self::Sm2(point) => {
                let fixed = fixed_signature(sig).ok_or(KeyError::BadResponse)?;
                match alg {
                    b"SM3" => sm2_verify(point, signer, &msg, &fixed),
                    b"SHA-256" | b"SHA256" => ecdsa_sm2_sha256_verify(point, &msg, &fixed),
                    _ => Err(KeyError::BadResponse),
                }
            }
        }
    }
}

/// The GM/T 0009 default signer id, used by signers that set none.
const SM2_DEFAULT_ID: &str = "1234567812345678";

/// An SM2 signature (SM3 over `Z ‖ msg`), made with the default signer id or with the
/// signer's handle as id.
fn sm2_verify(point: &[u8], signer: &str, msg: &[u8], fixed: &[u8; 64]) -> Result<(), KeyError> {
    let sig = sm2::dsa::Signature::from_slice(fixed).map_err(|_| KeyError::BadSignature)?;
    for id in [SM2_DEFAULT_ID, signer] {
        let key = sm2::dsa::VerifyingKey::from_sec1_bytes(id, point)
            .map_err(|e| KeyError::BadKey(e.to_string()))?;
        if key.verify(msg, &sig).is_ok() {
            return Ok(());
        }
    }
    Err(KeyError::BadSignature)
}

/// ECDSA with SHA-256 on the SM2 curve: what a generic `SHA256withECDSA` signer makes
/// with an SM2 key (the national SDK's default signer for EC keys).
fn ecdsa_sm2_sha256_verify(point: &[u8], msg: &[u8], fixed: &[u8; 64]) -> Result<(), KeyError> {
    use sm2::elliptic_curve::{
        group::Group, ops::Reduce, point::AffineCoordinates, sec1::FromEncodedPoint, PrimeField,
    };
    use sm2::{AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar, U256};
    let encoded = EncodedPoint::from_bytes(point).map_err(|e| KeyError::BadKey(e.to_string()))?;
    let q = Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&encoded))
        .ok_or_else(|| KeyError::BadKey("SM2 point is not on the curve".into()))?;
    let scalar = |b: &[u8]| {
        Option::<Scalar>::from(Scalar::from_repr(*FieldBytes::from_slice(b)))
            .filter(|s| !bool::from(s.is_zero()))
            .ok_or(KeyError::BadSignature)
    };
    let (r, s) = (scalar(&fixed[..32])?, scalar(&fixed[32..])?);
    let hash = ring::digest::digest(&ring::digest::SHA256, msg);
    let e = <Scalar as Reduce<U256>>::reduce_bytes(FieldBytes::from_slice(hash.as_ref()));
    let w = Option::<Scalar>::from(s.invert()).ok_or(KeyError::BadSignature)?;
    let big_r = ProjectivePoint::generator() * (e * w) + ProjectivePoint::from(q) * (r * w);
    if bool::from(big_r.is_identity()) {
        return Err(KeyError::BadSignature);
    }
    let x = <Scalar as Reduce<U256>>::reduce_bytes(&big_r.to_affine().x());
    if x == r {
        Ok(())
    } else {
        Err(KeyError::BadSignature)
    }
}

pub use idnode_handle_proto::answer::{
    HMAC_SHA1, HMAC_SHA256, KEYED_SHA1, KEYED_SHA256, PBKDF2_HMAC_SHA1,
};
/// Most PBKDF2 iterations a client may ask the server to compute.
const MAX_PBKDF2_ITERATIONS: u32 = 100_000;

/// Java's PBKDF2 takes the secret as characters (one per byte) and encodes them as UTF-8;
/// do the same so non-ASCII secrets derive the same key.
fn java_password(secret: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(secret.len());
    for &b in secret {
        if b < 0x80 {
            out.push(b);
        } else {
            out.push(0xC0 | (b >> 6));
            out.push(0x80 | (b & 0x3F));
        }
    }
    out
}

/// Checks an `HS_SECKEY` challenge answer (first byte the algorithm, then the proof) made
/// with `secret` over `nonce ‖ digest`.
pub fn verify_secret_answer(
    secret: &[u8],
    nonce: &[u8],
    digest: &[u8],
    answer: &[u8],
) -> Result<(), KeyError> {
    use ring::{digest as rd, hmac, pbkdf2};
    let (&alg, mut proof) = answer.split_first().ok_or(KeyError::BadResponse)?;
    let mut msg = Vec::with_capacity(nonce.len() + digest.len());
    msg.extend_from_slice(nonce);
    msg.extend_from_slice(digest);
    let ok = match alg {
        HMAC_SHA256 => {
            hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), &msg, proof).is_ok()
        }
        HMAC_SHA1 => hmac::verify(
            &hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret),
            &msg,
            proof,
        )
        .is_ok(),
        PBKDF2_HMAC_SHA1 => {
            let salt = blob(&mut proof).map_err(|_| KeyError::BadResponse)?;
            let nums = take(&mut proof, 8).map_err(|_| KeyError::BadResponse)?;
            let iterations = u32::from_be_bytes([nums[0], nums[1], nums[2], nums[3]]);
            let bits = u32::from_be_bytes([nums[4], nums[5], nums[6], nums[7]]);
            let mac = blob(&mut proof).map_err(|_| KeyError::BadResponse)?;
            if !proof.is_empty()
                || iterations == 0
                || iterations > MAX_PBKDF2_ITERATIONS
                || bits == 0
                || bits % 8 != 0
                || bits > 512
            {
                return Err(KeyError::BadResponse);
            }
            let mut key = vec![0u8; bits as usize / 8];
            pbkdf2::derive(
                pbkdf2::PBKDF2_HMAC_SHA1,
                std::num::NonZeroU32::new(iterations).expect("checked above"),
                salt,
                &java_password(secret),
                &mut key,
            );
            hmac::verify(
                &hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key),
                &msg,
                mac,
            )
            .is_ok()
        }
        KEYED_SHA1 | KEYED_SHA256 => {
            let algo = if alg == KEYED_SHA1 {
                &rd::SHA1_FOR_LEGACY_USE_ONLY
            } else {
                &rd::SHA256
            };
            let mut ctx = rd::Context::new(algo);
            ctx.update(secret);
            ctx.update(&msg);
            ctx.update(secret);
            idnode_core::constant_time_eq(ctx.finish().as_ref(), proof)
        }
        _ => return Err(KeyError::BadResponse),
    };
    if ok {
        Ok(())
    } else {
        Err(KeyError::BadSignature)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ec_tests;
