//! The node's server key: an RSA key pair whose public half is published in the node's
//! `HS_SITE` (so clients can check what the node signs), used to sign the answers a client
//! asks to be certified (CT) and to receive the session keys clients encrypt to it
//! (RFC 3652 session setup, `KEY_EXCHANGE_CIPHER_SERVER`). The private key is kept in a
//! PKCS#8 PEM file beside the sealing key and is never logged.

use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use zeroize::Zeroizing;

use crate::keys::{KeyError, PublicKey};

/// Bits of a new server key.
pub const SERVER_KEY_BITS: usize = 2048;

/// The hash algorithm named in the credentials of server signatures.
pub const SIGNATURE_HASH: &[u8] = b"SHA-256";

/// The node's RSA server key.
pub struct ServerKey {
    signer: RsaKeyPair,
    private: rsa::RsaPrivateKey,
    public: PublicKey,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl ServerKey {
    /// A new random key and its PKCS#8 PEM form (to be stored by the caller).
    pub fn generate() -> Result<(Self, Zeroizing<String>), KeyError> {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), SERVER_KEY_BITS)
            .map_err(|e| KeyError::BadKey(format!("generating the server key: {e}")))?;
        let pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::BadKey(format!("encoding the server key: {e}")))?;
        Ok((Self::from_private(private)?, pem))
    }

    /// Reads a PKCS#8 PEM RSA private key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| KeyError::BadKey(format!("not a PKCS#8 PEM RSA private key: {e}")))?;
        Self::from_private(private)
    }

    fn from_private(private: rsa::RsaPrivateKey) -> Result<Self, KeyError> {
        if private.size() * 8 < SERVER_KEY_BITS {
            return Err(KeyError::BadKey(format!(
                "the server key must have at least {SERVER_KEY_BITS} bits"
            )));
        }
        let der = private
            .to_pkcs8_der()
            .map_err(|e| KeyError::BadKey(e.to_string()))?;
        let signer = RsaKeyPair::from_pkcs8(der.as_bytes())
            .map_err(|e| KeyError::BadKey(format!("the server key is unusable: {e}")))?;
        let public = PublicKey::Rsa {
            e: private.e().to_bytes_be(),
            n: private.n().to_bytes_be(),
        };
        Ok(Self {
            signer,
            private,
            public,
        })
    }

    /// The public key, as published in `HS_SITE` and `HS_PUBKEY` values.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` (RSA PKCS#1 v1.5 with SHA-256, `SHA256withRSA`).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.signer.public().modulus_len()];
        self.signer
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .expect("signing with a valid RSA key succeeds");
        sig
    }

    /// Decrypts what a client encrypted to the public key (RSA PKCS#1 v1.5, as CNRI's
    /// `RSA/ECB/PKCS1Padding`). A ciphertext not exactly as long as the modulus is refused
    /// (RFC 8017 §7.2.2, step 1): read as a number, a shortened one could otherwise decrypt.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if ciphertext.len() != self.private.size() {
            return Err(KeyError::BadResponse);
        }
        self.private
            .decrypt(rsa::Pkcs1v15Encrypt, ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| KeyError::BadResponse)
    }
}

/// Encrypts `plaintext` to a client's RSA public key (RSA PKCS#1 v1.5), for session keys
/// sent to the client (`KEY_EXCHANGE_CIPHER_CLIENT`, `KEY_EXCHANGE_CIPHER_HDL`).
pub fn encrypt_to(key: &PublicKey, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
    let PublicKey::Rsa { e, n } = key else {
        return Err(KeyError::BadKey(
            "session keys can only be sent to RSA keys".into(),
        ));
    };
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(e),
    )
    .map_err(|e| KeyError::BadKey(e.to_string()))?;
    public
        .encrypt(&mut rand::thread_rng(), rsa::Pkcs1v15Encrypt, plaintext)
        .map_err(|e| KeyError::BadKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_sign_and_decrypt() {
        let (key, pem) = ServerKey::generate().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = ServerKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        // Signatures verify with the published key.
        let sig = key.sign(b"message");
        let PublicKey::Rsa { e, n } = key.public_key() else {
            panic!()
        };
        ring::signature::RsaPublicKeyComponents { n, e }
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                b"message",
                &sig,
            )
            .unwrap();
        // What is encrypted to the public key comes back.
        let ct = encrypt_to(key.public_key(), b"session key").unwrap();
        assert_eq!(key.decrypt(&ct).unwrap().as_slice(), b"session key");
        assert!(key.decrypt(&ct[1..]).is_err());
        // A ciphertext with a leading zero byte, shortened by it, is the same number: it is
        // refused all the same (about one ciphertext in 256 starts with a zero byte).
        let zero_led = (0..20_000)
            .map(|_| encrypt_to(key.public_key(), b"session key").unwrap())
            .find(|ct| ct[0] == 0)
            .expect("a ciphertext starting with a zero byte");
        assert_eq!(key.decrypt(&zero_led).unwrap().as_slice(), b"session key");
        assert!(key.decrypt(&zero_led[1..]).is_err());
        // Debug output shows no private material.
        assert!(!format!("{key:?}").contains("private"));
        assert!(ServerKey::from_pkcs8_pem("not a key").is_err());
    }
}
