//! Secret-key answers: HMAC, PBKDF2, Java password encoding.

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
