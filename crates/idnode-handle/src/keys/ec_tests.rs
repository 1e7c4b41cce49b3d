//! Elliptic-curve keys: P-256 and SM2, fixed and DER signatures.

use super::*;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair};
use sm2::dsa::signature::Signer as _;
use sm2::elliptic_curve::{ops::Reduce, point::AffineCoordinates, PrimeField};
use sm2::{FieldBytes, ProjectivePoint, Scalar, U256};

const NONCE: &[u8] = &[5; 16];
const DIGEST: &[u8] = &[6; 32];
const SIGNER: &str = "88.118.8/ADMIN";

fn answer(alg: &[u8], sig: &[u8]) -> Vec<u8> {
    let mut a = Vec::new();
    for part in [alg, sig] {
        a.extend_from_slice(&(part.len() as u32).to_be_bytes());
        a.extend_from_slice(part);
    }
    a
}

fn msg() -> Vec<u8> {
    [NONCE, DIGEST].concat()
}

#[test]
fn p256_keys_round_trip_and_verify_fixed_and_der_signatures() {
    let rng = SystemRandom::new();
    for (alg, der) in [
        (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, false),
        (&signature::ECDSA_P256_SHA256_ASN1_SIGNING, true),
    ] {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let key = PublicKey::P256(pair.public_key().as_ref().to_vec());
        let decoded = PublicKey::decode(&key.encode()).unwrap();
        assert_eq!(decoded, key);
        let sig = pair.sign(&rng, &msg()).unwrap();
        assert_eq!(sig.as_ref()[0] == 0x30, der);
        let ok = answer(b"SHA-256", sig.as_ref());
        assert_eq!(decoded.verify_answer(SIGNER, NONCE, DIGEST, &ok), Ok(()));
        let other = [NONCE, &[7; 32][..]].concat();
        let sig = pair.sign(&rng, &other).unwrap();
        let wrong = answer(b"SHA-256", sig.as_ref());
        assert_eq!(
            decoded.verify_answer(SIGNER, NONCE, DIGEST, &wrong),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            decoded.verify_answer(SIGNER, NONCE, DIGEST, &answer(b"MD5", sig.as_ref())),
            Err(KeyError::BadResponse)
        );
    }
}

fn sm2_secret() -> [u8; 32] {
    let mut d = [0x3Cu8; 32];
    d[0] = 0x12;
    d
}

fn sm2_key() -> PublicKey {
    let signing = sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_ID, &sm2_secret()).unwrap();
    PublicKey::Sm2(signing.verifying_key().to_sec1_bytes().to_vec())
}

#[test]
fn sm2_keys_round_trip_through_spki_and_bare_points() {
    let key = sm2_key();
    let data = key.encode();
    assert_eq!(PublicKey::decode(&data).unwrap(), key);
    let PublicKey::Sm2(point) = &key else {
        unreachable!()
    };
    let mut bare = Vec::new();
    bare.extend_from_slice(&11u32.to_be_bytes());
    bare.extend_from_slice(b"SM2_PUB_KEY");
    bare.extend_from_slice(&[0, 0]);
    bare.extend_from_slice(&65u32.to_be_bytes());
    bare.extend_from_slice(point);
    assert_eq!(PublicKey::decode(&bare).unwrap(), key);
    // A point off the curve is refused.
    let mut off = point.clone();
    off[64] ^= 1;
    let mut bad = bare.clone();
    let n = bad.len();
    bad[n - 65..].copy_from_slice(&off);
    assert!(matches!(PublicKey::decode(&bad), Err(KeyError::BadKey(_))));
}

#[test]
fn sm2_signatures_verify_with_default_or_handle_id() {
    let key = sm2_key();
    for id in [SM2_DEFAULT_ID, SIGNER] {
        let signing = sm2::dsa::SigningKey::from_slice(id, &sm2_secret()).unwrap();
        let sig: sm2::dsa::Signature = signing.sign(&msg());
        let a = answer(b"SM3", &sig.to_bytes());
        assert_eq!(
            key.verify_answer(SIGNER, NONCE, DIGEST, &a),
            Ok(()),
            "id {id}"
        );
    }
    let stranger = sm2::dsa::SigningKey::from_slice("someone else", &sm2_secret()).unwrap();
    let sig: sm2::dsa::Signature = stranger.sign(&msg());
    assert_eq!(
        key.verify_answer(SIGNER, NONCE, DIGEST, &answer(b"SM3", &sig.to_bytes())),
        Err(KeyError::BadSignature)
    );
}

/// ECDSA on the SM2 curve, signed by hand with a fixed nonce (test only).
fn ecdsa_sm2_sign(msg: &[u8], k: u8) -> Vec<u8> {
    let d = Scalar::from_repr(*FieldBytes::from_slice(&sm2_secret())).unwrap();
    let k = Scalar::from(u64::from(k) + 1_000_003);
    let r =
        <Scalar as Reduce<U256>>::reduce_bytes(&(ProjectivePoint::GENERATOR * k).to_affine().x());
    let hash = ring::digest::digest(&ring::digest::SHA256, msg);
    let e = <Scalar as Reduce<U256>>::reduce_bytes(FieldBytes::from_slice(hash.as_ref()));
    let s = k.invert().unwrap() * (e + r * d);
    [r.to_repr().as_slice(), s.to_repr().as_slice()].concat()
}

#[test]
fn ecdsa_sha256_on_sm2_keys_verifies() {
    let key = sm2_key();
    let sig = ecdsa_sm2_sign(&msg(), 1);
    assert_eq!(
        key.verify_answer(SIGNER, NONCE, DIGEST, &answer(b"SHA-256", &sig)),
        Ok(())
    );
    let other = ecdsa_sm2_sign(&[NONCE, &[9; 32][..]].concat(), 2);
    assert_eq!(
        key.verify_answer(SIGNER, NONCE, DIGEST, &answer(b"SHA-256", &other)),
        Err(KeyError::BadSignature)
    );
    // An SM2-scheme signature does not pass as ECDSA, nor the other way round.
    assert_eq!(
        key.verify_answer(SIGNER, NONCE, DIGEST, &answer(b"SM3", &sig)),
        Err(KeyError::BadSignature)
    );
    assert_eq!(
        key.verify_answer(SIGNER, NONCE, DIGEST, &answer(b"SHA-256", &[0u8; 64])),
        Err(KeyError::BadSignature)
    );
}

#[test]
fn der_signatures_convert_to_fixed_and_junk_is_refused() {
    let mut der = vec![0x30, 0x45, 0x02, 0x21, 0x00];
    der.extend_from_slice(&[0x80; 32]);
    der.extend_from_slice(&[0x02, 0x20]);
    der.extend_from_slice(&[0x01; 32]);
    let fixed = fixed_signature(&der).unwrap();
    assert_eq!(&fixed[..32], &[0x80; 32]);
    assert_eq!(&fixed[32..], &[0x01; 32]);
    assert_eq!(fixed_signature(&der[..der.len() - 1]), None);
    assert_eq!(fixed_signature(&[0x30]), None);
    assert_eq!(fixed_signature(&[]), None);
}
