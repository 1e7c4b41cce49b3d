//! Detached signatures: ECDSA P-256 over the SHA-256 digest of the file (so that files of
//! any size are signed while streaming).

use std::io::Read;

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING,
};

use crate::EscrowError;

/// The node's escrow signing key.
pub struct SigningKey {
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// A new key, as PKCS#8 bytes (to keep in a file).
    pub fn generate() -> Result<Vec<u8>, EscrowError> {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| EscrowError::Key("cannot generate".into()))?;
        Ok(doc.as_ref().to_vec())
    }

    /// The key of PKCS#8 bytes.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, EscrowError> {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &SystemRandom::new())
                .map_err(|e| EscrowError::Key(e.to_string()))?;
        Ok(Self { pair })
    }

    /// The public key (uncompressed point), which the escrow agent is given.
    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }
}

fn digest_of(mut r: impl Read) -> Result<ring::digest::Digest, EscrowError> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(ctx.finish());
        }
        ctx.update(&buf[..n]);
    }
}

/// The public key of PKCS#8 bytes.
pub fn public_key_of(pkcs8: &[u8]) -> Result<Vec<u8>, EscrowError> {
    Ok(SigningKey::from_pkcs8(pkcs8)?.public_key())
}

/// Signs what `r` yields: the DER signature.
pub fn sign(key: &SigningKey, r: impl Read) -> Result<Vec<u8>, EscrowError> {
    let d = digest_of(r)?;
    let sig = key
        .pair
        .sign(&SystemRandom::new(), d.as_ref())
        .map_err(|_| EscrowError::Key("signing failed".into()))?;
    Ok(sig.as_ref().to_vec())
}

/// Checks `signature` over what `r` yields against `public_key`.
pub fn verify_signature(
    public_key: &[u8],
    r: impl Read,
    signature: &[u8],
) -> Result<(), EscrowError> {
    let d = digest_of(r)?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
        .verify(d.as_ref(), signature)
        .map_err(|_| EscrowError::Signature)
}
