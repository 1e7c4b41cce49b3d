//! `HS_PUBKEY` payloads and challenge signatures made with them.

use ring::signature::{self, RsaPublicKeyComponents};

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

impl PublicKey {
    /// Decodes `HS_PUBKEY` data: key type string, u16 flags, key parts.
    pub fn decode(mut data: &[u8]) -> Result<Self, KeyError> {
        let kind = blob(&mut data)?;
        take(&mut data, 2)?;
        match kind {
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

    /// Encodes the key as `HS_PUBKEY` data.
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
        }
        out
    }

    /// Checks a `HS_PUBKEY` challenge answer: hash algorithm name and signature over
    /// `nonce ‖ digest`.
    pub fn verify_answer(
        &self,
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
        }
    }
}

/// Answer code: HMAC-SHA1 of nonce ‖ digest.
const HMAC_SHA1: u8 = 0x12;
/// Answer code: HMAC-SHA256 of nonce ‖ digest.
const HMAC_SHA256: u8 = 0x13;
/// Answer code: HMAC-SHA1 under a PBKDF2-HMAC-SHA1 key (CNRI clients' default from 2.7).
const PBKDF2_HMAC_SHA1: u8 = 0x22;
/// Answer code: SHA-1 of secret ‖ nonce ‖ digest ‖ secret (protocol 2.1–2.6 clients).
const KEYED_SHA1: u8 = 2;
/// Answer code: SHA-256 of secret ‖ nonce ‖ digest ‖ secret.
const KEYED_SHA256: u8 = 3;
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

fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
            equal(ctx.finish().as_ref(), proof)
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
mod tests {
    use super::*;
    use ring::{hmac, pbkdf2};

    const NONCE: &[u8] = &[1; 16];
    const DIGEST: &[u8] = &[2; 32];

    fn msg() -> Vec<u8> {
        [NONCE, DIGEST].concat()
    }

    #[test]
    fn hmac_sha256_answers_verify() {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"s3cret"), &msg());
        let answer = [&[HMAC_SHA256][..], tag.as_ref()].concat();
        assert_eq!(
            verify_secret_answer(b"s3cret", NONCE, DIGEST, &answer),
            Ok(())
        );
        assert_eq!(
            verify_secret_answer(b"other", NONCE, DIGEST, &answer),
            Err(KeyError::BadSignature)
        );
    }

    fn pbkdf2_answer(secret: &[u8], iterations: u32) -> Vec<u8> {
        let salt = [7u8; 16];
        let mut key = [0u8; 20];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA1,
            std::num::NonZeroU32::new(iterations).unwrap(),
            &salt,
            &java_password(secret),
            &mut key,
        );
        let mac = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key),
            &msg(),
        );
        let mut a = vec![PBKDF2_HMAC_SHA1];
        a.extend_from_slice(&16u32.to_be_bytes());
        a.extend_from_slice(&salt);
        a.extend_from_slice(&iterations.to_be_bytes());
        a.extend_from_slice(&160u32.to_be_bytes());
        a.extend_from_slice(&20u32.to_be_bytes());
        a.extend_from_slice(mac.as_ref());
        a
    }

    #[test]
    fn pbkdf2_answers_verify_and_costly_ones_are_refused() {
        let a = pbkdf2_answer(b"s3cret", 10_000);
        assert_eq!(verify_secret_answer(b"s3cret", NONCE, DIGEST, &a), Ok(()));
        assert_eq!(
            verify_secret_answer(b"s3creT", NONCE, DIGEST, &a),
            Err(KeyError::BadSignature)
        );
        let costly = pbkdf2_answer(b"s3cret", MAX_PBKDF2_ITERATIONS + 1);
        assert_eq!(
            verify_secret_answer(b"s3cret", NONCE, DIGEST, &costly),
            Err(KeyError::BadResponse)
        );
        assert_eq!(
            verify_secret_answer(b"s3cret", NONCE, DIGEST, &a[..a.len() - 1]),
            Err(KeyError::BadResponse)
        );
    }

    #[test]
    fn java_passwords_encode_high_bytes_as_utf8() {
        assert_eq!(java_password(b"ab"), b"ab");
        assert_eq!(java_password(&[0xE9]), [0xC3, 0xA9]);
    }

    #[test]
    fn unknown_or_empty_answers_are_malformed() {
        assert_eq!(
            verify_secret_answer(b"s", NONCE, DIGEST, &[]),
            Err(KeyError::BadResponse)
        );
        assert_eq!(
            verify_secret_answer(b"s", NONCE, DIGEST, &[0x99, 1]),
            Err(KeyError::BadResponse)
        );
    }
}
