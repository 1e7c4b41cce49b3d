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
