//! Secret keys (salted PBKDF2 hashes only) and the authenticated principal.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use idnode_core::Identifier;
use idnode_store::{SecretHash, Store, StoreError};
use moka::sync::Cache;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{hmac, pbkdf2};

use crate::RegistryError;

/// Algorithm used for new secrets.
pub const SECRET_ALG: &str = "PBKDF2-HMAC-SHA256";
/// Iterations used for new secrets.
pub const SECRET_ITERATIONS: u32 = 100_000;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Nobody authenticated.
    Anonymous,
    /// The node operator (owns the node prefix).
    Operator {
        /// `index:handle` of the identity used.
        identity: String,
    },
    /// An enterprise.
    Enterprise {
        /// `index:handle` of the identity used.
        identity: String,
        /// The enterprise's id.
        id: i64,
    },
}

impl Principal {
    /// The identity string recorded in history (`anonymous` when none).
    pub fn actor(&self) -> &str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Operator { identity } | Self::Enterprise { identity, .. } => identity,
        }
    }
}

/// Credentials printed once at creation.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `300:0.NA/88.118.8`.
    pub identity: String,
    /// The secret in clear, never stored.
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("identity", &self.identity)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A new random secret: 32 bytes, base64url.
pub fn generate_secret() -> String {
    let mut b = [0u8; 32];
    SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    URL_SAFE_NO_PAD.encode(b)
}

/// Salts and hashes a secret.
pub fn hash_secret(secret: &[u8]) -> SecretHash {
    let mut salt = vec![0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .expect("the system random source works");
    let mut hash = vec![0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(SECRET_ITERATIONS).expect("non-zero"),
        &salt,
        secret,
        &mut hash,
    );
    SecretHash {
        alg: SECRET_ALG.into(),
        salt,
        iterations: SECRET_ITERATIONS,
        hash,
        sealed: None,
    }
}

/// Constant-time check of a secret against its stored hash.
pub fn verify_secret(stored: &SecretHash, secret: &[u8]) -> bool {
    let alg = match stored.alg.as_str() {
        "PBKDF2-HMAC-SHA256" => pbkdf2::PBKDF2_HMAC_SHA256,
        "PBKDF2-HMAC-SHA1" => pbkdf2::PBKDF2_HMAC_SHA1,
        _ => return false,
    };
    let Some(iterations) = NonZeroU32::new(stored.iterations) else {
        return false;
    };
    pbkdf2::verify(alg, iterations, &stored.salt, secret, &stored.hash).is_ok()
}

/// Parses `300:0.NA/88.118.8` into the index and the handle.
pub fn parse_identity(s: &str) -> Result<(u32, Identifier), RegistryError> {
    let (idx, handle) = s
        .split_once(':')
        .ok_or(RegistryError::AuthenticationFailed)?;
    let idx: u32 = idx
        .parse()
        .map_err(|_| RegistryError::AuthenticationFailed)?;
    let id = Identifier::parse(handle).map_err(|_| RegistryError::AuthenticationFailed)?;
    Ok((idx, id))
}

/// PBKDF2 checks one client address may cause per second (successes are then cached, so
/// well-behaved clients stay far below): wrong secrets cannot buy unlimited CPU.
pub const VERIFICATIONS_PER_SECOND: u32 = 10;
/// Burst of PBKDF2 checks allowed before the rate applies.
pub const VERIFICATION_BURST: u32 = 30;

/// How long a verified credential is remembered (a secret changed on another instance sharing
/// the database takes effect after this at the latest; changes through this node at once).
const VERIFIED_TTL: Duration = Duration::from_secs(300);

/// A credential proved by PBKDF2: the identity it proved, and the epoch of its handle's
/// secrets when the stored hash was read.
#[derive(Clone)]
struct Verified {
    identity: String,
    handle: Identifier,
    epoch: u64,
}

/// Verifies secrets once per credential: successes are remembered (keyed by an HMAC of
/// identity and secret, so no secret is kept), concurrent checks of one credential wait for a
/// single PBKDF2 computation, and a remembered credential costs no database read. Writes to an
/// identity handle (its `HS_SECKEY` changed or removed) start a new epoch for the handle,
/// which retires what was remembered under the old one.
pub(crate) struct Authenticator {
    store: Arc<dyn Store>,
    verified: moka::future::Cache<[u8; 32], Verified>,
    /// Epoch per identity handle with remembered credentials.
    epochs: Cache<String, u64>,
    next_epoch: AtomicU64,
    key: hmac::Key,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
    /// PBKDF2 computations made (also counted in `idnode_auth_secret_checks_total`).
    pub(crate) computed: AtomicU64,
}

impl Authenticator {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        let rng = SystemRandom::new();
        Self {
            store,
            verified: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(VERIFIED_TTL)
                .build(),
            epochs: Cache::builder().max_capacity(100_000).build(),
            next_epoch: AtomicU64::new(1),
            key: hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("random key"),
            limiter: RateLimiter::keyed(
                Quota::per_second(NonZeroU32::new(VERIFICATIONS_PER_SECOND).expect("non-zero"))
                    .allow_burst(NonZeroU32::new(VERIFICATION_BURST).expect("non-zero")),
            ),
            checks: AtomicU64::new(0),
            computed: AtomicU64::new(0),
        }
    }

    /// Forgets every credential remembered for identities of `handle` (called for every
    /// handle a write touched).
    pub(crate) fn forget(&self, handle: &str) {
        self.epochs.invalidate(handle);
    }

    /// Forgets every remembered credential.
    pub(crate) fn forget_all(&self) {
        self.epochs.invalidate_all();
    }

    fn epoch(&self, handle: &Identifier) -> u64 {
        self.epochs.get_with(handle.as_str().to_owned(), || {
            self.next_epoch.fetch_add(1, Ordering::Relaxed)
        })
    }

    /// Charges `client` for one secret check: beyond [`VERIFICATIONS_PER_SECOND`] (bursts of
    /// [`VERIFICATION_BURST`]) it is refused with [`RegistryError::RateLimited`].
    pub(crate) fn charge(&self, client: Option<IpAddr>) -> Result<(), RegistryError> {
        let Some(ip) = client else {
            return Ok(());
        };
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(1024)
        {
            self.limiter.retain_recent();
        }
        if self.limiter.check_key(&ip).is_err() {
            metrics::counter!("idnode_auth_secret_checks_total", "result" => "limited")
                .increment(1);
            return Err(RegistryError::RateLimited);
        }
        Ok(())
    }

    /// Checks `secret` for the `index:handle` identity; returns the normalised identity.
    /// `client` (the caller's address) is charged for every PBKDF2 computation.
    pub(crate) async fn verify(
        &self,
        identity: &str,
        secret: &str,
        client: Option<IpAddr>,
    ) -> Result<(String, Identifier), RegistryError> {
        let (idx, handle) = parse_identity(identity)?;
        let normalised = format!("{idx}:{handle}");
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in [normalised.as_bytes(), secret.as_bytes()] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let tag: [u8; 32] = ctx
            .sign()
            .as_ref()
            .try_into()
            .expect("HMAC-SHA256 is 32 bytes");
        for _ in 0..2 {
            let v = self
                .verified
                .try_get_with(tag, self.check(idx, &handle, &normalised, secret, client))
                .await
                .map_err(|e| shared_error(&e))?;
            if v.epoch == self.epoch(&v.handle) {
                return Ok((v.identity, v.handle));
            }
            // The handle's secrets changed since: check again against what is stored now.
            self.verified.invalidate(&tag).await;
        }
        Err(RegistryError::AuthenticationFailed)
    }

    /// The one PBKDF2 check of a credential (concurrent callers wait for it).
    async fn check(
        &self,
        idx: u32,
        handle: &Identifier,
        normalised: &str,
        secret: &str,
        client: Option<IpAddr>,
    ) -> Result<Verified, RegistryError> {
        // Read the epoch before the stored hash: a change in between retires this result.
        let epoch = self.epoch(handle);
        let stored = self
            .store
            .get_secret(handle.as_str(), idx)
            .await?
            .ok_or(RegistryError::AuthenticationFailed)?;
        self.charge(client)?;
        let secret = secret.as_bytes().to_vec();
        self.computed.fetch_add(1, Ordering::Relaxed);
        let ok = tokio::task::spawn_blocking(move || verify_secret(&stored, &secret))
            .await
            .unwrap_or(false);
        let result = if ok { "ok" } else { "failed" };
        metrics::counter!("idnode_auth_secret_checks_total", "result" => result).increment(1);
        if !ok {
            return Err(RegistryError::AuthenticationFailed);
        }
        Ok(Verified {
            identity: normalised.to_owned(),
            handle: handle.clone(),
            epoch,
        })
    }
}

/// The error of a shared check, for each caller that waited for it.
fn shared_error(e: &RegistryError) -> RegistryError {
    match e {
        RegistryError::RateLimited => RegistryError::RateLimited,
        RegistryError::Store(StoreError::Unavailable(m)) => {
            RegistryError::Store(StoreError::Unavailable(m.clone()))
        }
        RegistryError::Store(StoreError::Full(m)) => {
            RegistryError::Store(StoreError::Full(m.clone()))
        }
        RegistryError::Store(s) => RegistryError::Store(StoreError::Database(Box::new(
            std::io::Error::other(s.to_string()),
        ))),
        _ => RegistryError::AuthenticationFailed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_the_right_secret() {
        let s = generate_secret();
        assert_eq!(s.len(), 43);
        let h = hash_secret(s.as_bytes());
        assert!(verify_secret(&h, s.as_bytes()));
        assert!(!verify_secret(&h, b"wrong"));
        let other = hash_secret(s.as_bytes());
        assert_ne!(h.salt, other.salt, "salts are random");
        assert_ne!(h.hash, other.hash);
        assert!(!format!("{h:?}").contains(&hex::encode(&h.hash)));
    }

    #[test]
    fn identities_parse() {
        let (i, h) = parse_identity("300:0.na/88.118.8").unwrap();
        assert_eq!((i, h.as_str()), (300, "0.NA/88.118.8"));
        assert!(parse_identity("0.NA/88.118.8").is_err());
        assert!(parse_identity("x:0.NA/88.118.8").is_err());
    }
}
