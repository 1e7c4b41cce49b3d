//! Client passwords of the stand-in: salted PBKDF2-HMAC-SHA256, checked in constant time.
//! (The real top-level node keeps its own accounts; so does its stand-in.)

use std::num::NonZeroU32;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::pbkdf2;
use ring::rand::{SecureRandom as _, SystemRandom};

/// The only algorithm stored.
pub(crate) const ALG: &str = "PBKDF2-HMAC-SHA256";
const ITERATIONS: u32 = 100_000;

/// A stored password.
pub(crate) struct Stored {
    pub(crate) salt: Vec<u8>,
    pub(crate) iterations: u32,
    pub(crate) hash: Vec<u8>,
}

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    b
}

/// A fresh random password (256 bits, URL-safe base64).
pub fn generate() -> String {
    URL_SAFE_NO_PAD.encode(random(32))
}

/// Salts and hashes a password.
pub(crate) fn hash(password: &str) -> Stored {
    let salt = random(16);
    let mut hash = vec![0u8; 32];
    let iterations = NonZeroU32::new(ITERATIONS).expect("non-zero");
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &mut hash,
    );
    Stored {
        salt,
        iterations: ITERATIONS,
        hash,
    }
}

/// Whether `password` is the stored one.
pub(crate) fn verify(alg: &str, stored: &Stored, password: &str) -> bool {
    let Some(iterations) = NonZeroU32::new(stored.iterations) else {
        return false;
    };
    alg == ALG
        && pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &stored.salt,
            password.as_bytes(),
            &stored.hash,
        )
        .is_ok()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_wrong_ones_do_not() {
        let p = generate();
        let stored = hash(&p);
        assert!(verify(ALG, &stored, &p));
        assert!(!verify(ALG, &stored, "not it"));
        assert!(!verify("PBKDF2-HMAC-SHA1", &stored, &p));
    }
}
