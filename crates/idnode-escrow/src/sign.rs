//! Detached OpenPGP signatures (RFC 4880 / 9580, binary, SHA-256), as the escrow interface
//! draft asks: the node signs each processed file with its key; the escrow agent verifies with
//! the node's public key, exchanged out of band (ASCII-armored). rPGP, pure Rust.

use std::io::Read;

use pgp::composed::{
    Deserializable, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
    StandaloneSignature,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::ser::Serialize;
use pgp::types::KeyDetails;

use crate::EscrowError;

/// The node's escrow signing key (an OpenPGP Ed25519 signing key).
pub struct SigningKey {
    key: SignedSecretKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

fn key_err(e: impl std::fmt::Display) -> EscrowError {
    EscrowError::Key(e.to_string())
}

impl SigningKey {
    /// A new key for `user_id` (e.g. `idnode 88.118 <escrow@88.118>`), as an ASCII-armored
    /// secret key (to keep in a file).
    pub fn generate(user_id: &str) -> Result<String, EscrowError> {
        let mut rng = rand::thread_rng();
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_sign(true)
            .primary_user_id(user_id.into())
            .passphrase(None)
            .build()
            .map_err(key_err)?;
        let key = params
            .generate(&mut rng)
            .and_then(|k| k.sign(&mut rng, &"".into()))
            .map_err(key_err)?;
        key.to_armored_string(Default::default()).map_err(key_err)
    }

    /// The key of its ASCII-armored form.
    pub fn from_armored(text: &str) -> Result<Self, EscrowError> {
        let (key, _) = SignedSecretKey::from_string(text).map_err(key_err)?;
        Ok(Self { key })
    }

    /// The ASCII-armored public key, which the escrow agent is given.
    pub fn public_key(&self) -> Result<String, EscrowError> {
        self.key
            .signed_public_key()
            .to_armored_string(Default::default())
            .map_err(key_err)
    }
}

/// Signs what `r` yields: a binary detached OpenPGP signature (SHA-256).
pub fn sign(key: &SigningKey, r: impl Read) -> Result<Vec<u8>, EscrowError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let created = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
        .ok_or_else(|| key_err("clock out of range"))?;
    let k = &key.key;
    let mut config =
        SignatureConfig::v4(SignatureType::Binary, k.algorithm(), HashAlgorithm::Sha256);
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(created)).map_err(key_err)?,
        Subpacket::regular(SubpacketData::Issuer(k.key_id())).map_err(key_err)?,
    ];
    let signature = config
        .sign(&k.primary_key, &"".into(), r)
        .map_err(key_err)?;
    StandaloneSignature::new(signature)
        .to_bytes()
        .map_err(key_err)
}

/// Checks the detached `signature` over what `r` yields against the ASCII-armored
/// `public_key`.
pub fn verify_signature(
    public_key: &str,
    r: impl Read,
    signature: &[u8],
) -> Result<(), EscrowError> {
    let (key, _) = SignedPublicKey::from_string(public_key).map_err(key_err)?;
    let sig = StandaloneSignature::from_bytes(signature).map_err(|_| EscrowError::Signature)?;
    sig.signature
        .verify(&key, r)
        .map_err(|_| EscrowError::Signature)
}

/// The ASCII-armored public key of an ASCII-armored secret key.
pub fn public_key_of(secret: &str) -> Result<String, EscrowError> {
    SigningKey::from_armored(secret)?.public_key()
}

/// Checks that `text` is an ASCII-armored OpenPGP public key.
pub fn check_public_key(text: &str) -> Result<(), EscrowError> {
    SignedPublicKey::from_string(text)
        .map(|_| ())
        .map_err(key_err)
}
