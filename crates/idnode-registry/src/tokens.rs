//! Bearer tokens (the SNMS `/identity/token` API): issued to an identity that proves its
//! secret, expiring, revocable, and void as soon as the identity's secret changes.
//!
//! Only a token's SHA-256 is stored, with the identity and a digest of the stored hash of
//! the secret that issued it ([`idnode_store::TokenRecord`]); every use reads both, so a
//! revocation or a new secret holds at once on every instance sharing the database.

use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use idnode_core::{constant_time_eq, Identifier};
use idnode_store::{now_millis, Op, SecretHash, TokenOp, TokenRecord};
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{parse_identity, Principal, Registry, RegistryError, Result};

/// Lifetime of a token unless configured otherwise (SNMS: 24 hours).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Longest token text looked up.
const MAX_TOKEN_LEN: usize = 512;
/// The first bytes of the tag of a token issued to a key (an `HS_PUBKEY` answer) rather
/// than a secret: a secret's tag is 16 bytes, never this 20-byte form.
const KEY_TAG: &[u8; 4] = b"key:";
/// Index of the secret an identity names when it gives only a handle.
const DEFAULT_SECRET_INDEX: u32 = 300;

/// How a caller proves its secret when asking for a token.
#[derive(Clone, Copy, Debug)]
pub enum TokenProof<'a> {
    /// The secret itself (SNMS `POST /identity/token`).
    Secret(&'a str),
    /// `hex(sha256(hex(sha256(secret)) + date))`, `date` being today as `yyyy-MM-dd` in
    /// China (UTC+8) or in UTC (SNMS `POST /identity/token/v1`).
    Daily(&'a str),
}

/// A token just issued.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The bearer token (shown once; only its hash is kept).
    pub token: String,
    /// Expiry, unix ms.
    pub expires_at: i64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// `index:handle`, or a bare handle naming its secret at index 300.
fn parse_username(username: &str) -> Result<(u32, Identifier)> {
    if username.contains(':') {
        return parse_identity(username);
    }
    let id = Identifier::parse(username).map_err(|_| RegistryError::AuthenticationFailed)?;
    Ok((DEFAULT_SECRET_INDEX, id))
}

/// Digest of a stored secret hash: changes whenever the secret is set again (new salt).
fn secret_tag(stored: &SecretHash) -> Vec<u8> {
    let mut input = Vec::with_capacity(stored.salt.len() + stored.hash.len() + 32);
    for part in [stored.alg.as_bytes(), &stored.salt, &stored.hash] {
        input.extend_from_slice(&(part.len() as u64).to_be_bytes());
        input.extend_from_slice(part);
    }
    digest(&SHA256, &input).as_ref()[..16].to_vec()
}

fn token_hash(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// `yyyy-MM-dd` of unix ms `at` at `offset_hours` east of UTC.
fn date_at(at: i64, offset_hours: i8) -> Option<String> {
    let offset = time::UtcOffset::from_hms(offset_hours, 0, 0).ok()?;
    let d = time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
        .ok()?
        .to_offset(offset)
        .date();
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

/// The daily password of `secret` on `date`: `hex(sha256(hex(sha256(secret)) + date))`.
pub fn daily_password(secret: &[u8], date: &str) -> String {
    let inner = hex::encode(digest(&SHA256, secret));
    hex::encode(digest(&SHA256, format!("{inner}{date}").as_bytes()))
}

/// Whether `given` is the daily password of `secret` today (China or UTC date), compared in
/// constant time.
fn daily_password_ok(secret: &[u8], given: &str, now: i64) -> bool {
    let given = given.trim().to_ascii_lowercase();
    let mut ok = false;
    for offset in [8, 0] {
        if let Some(date) = date_at(now, offset) {
            let want = daily_password(secret, &date);
            ok |= constant_time_eq(want.as_bytes(), given.as_bytes());
        }
    }
    ok
}

impl Registry {
    /// Tokens issued from now on live for `lifetime`.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Issues a bearer token to `username` (`index:handle`, or a handle meaning index 300)
    /// once it proves its secret; `client` is charged for the check like any secret check.
    pub async fn issue_token(
        &self,
        username: &str,
        proof: TokenProof<'_>,
        client: Option<IpAddr>,
    ) -> Result<IssuedToken> {
        self.issue(username, proof, client, None, self.token_lifetime)
            .await
    }

    /// Opens a web console session for `username` proving its secret from `client`: a
    /// token living `lifetime` that only `client` may present ([`Self::token_principal`]
    /// refuses it from any other address). Sign-ins are charged to `client` like every
    /// secret check, so guessing is rate-limited.
    pub async fn open_console_session(
        &self,
        username: &str,
        secret: &str,
        client: IpAddr,
        lifetime: Duration,
    ) -> Result<IssuedToken> {
        self.issue(
            username,
            TokenProof::Secret(secret),
            Some(client),
            Some(client),
            lifetime,
        )
        .await
    }

    /// Opens a web console session for `principal`, which proved `identity`
    /// (`index:handle`) with its private key (an `HS_PUBKEY` answer, as a Handle.Net REST
    /// session checks it), from `client`: bound to that address, living `lifetime`, and void
    /// as soon as that value no longer holds the same public key.
    pub async fn open_console_session_by_key(
        &self,
        principal: &Principal,
        identity: &str,
        client: IpAddr,
        lifetime: Duration,
    ) -> Result<IssuedToken> {
        let (index, handle) = parse_identity(identity)?;
        if principal.actor() != identity {
            return Err(RegistryError::AuthenticationFailed);
        }
        let tag = self
            .key_tag(&handle, index)
            .await?
            .ok_or(RegistryError::AuthenticationFailed)?;
        self.store_token(principal, &handle, index, tag, Some(client), lifetime)
            .await
    }

    /// `KEY_TAG` and a digest of the `HS_PUBKEY` value `index` of `handle`, when it has one.
    async fn key_tag(&self, handle: &Identifier, index: u32) -> Result<Option<Vec<u8>>> {
        let Some(rec) = self.store.get_handle(handle.as_str()).await? else {
            return Ok(None);
        };
        Ok(rec
            .values
            .iter()
            .find(|v| v.index == index && v.type_name == "HS_PUBKEY")
            .map(|v| {
                let mut tag = KEY_TAG.to_vec();
                tag.extend_from_slice(&digest(&SHA256, &v.data).as_ref()[..16]);
                tag
            }))
    }

    async fn issue(
        &self,
        username: &str,
        proof: TokenProof<'_>,
        client: Option<IpAddr>,
        bind_to: Option<IpAddr>,
        lifetime: Duration,
    ) -> Result<IssuedToken> {
        let (index, handle) = parse_username(username)?;
        let identity = format!("{index}:{handle}");
        let now = now_millis();
        match proof {
            TokenProof::Secret(secret) => {
                self.auth.verify(&identity, secret, client).await?;
            }
            TokenProof::Daily(given) => {
                self.auth.charge(client)?;
                let secret = self
                    .handle_secret(&handle, index)
                    .await?
                    .ok_or(RegistryError::AuthenticationFailed)?;
                if !daily_password_ok(&secret, given, now) {
                    return Err(RegistryError::AuthenticationFailed);
                }
            }
        }
        let stored = self
            .store
            .get_secret(handle.as_str(), index)
            .await?
            .ok_or(RegistryError::AuthenticationFailed)?;
        let principal = self.principal_of(identity, &handle).await?;
        self.store_token(
            &principal,
            &handle,
            index,
            secret_tag(&stored),
            bind_to,
            lifetime,
        )
        .await
    }

    /// Stores a new token for `principal` (identity `index:handle`, checked later against
    /// `tag`), bound to `bind_to` when given.
    async fn store_token(
        &self,
        principal: &Principal,
        handle: &Identifier,
        index: u32,
        tag: Vec<u8>,
        bind_to: Option<IpAddr>,
        lifetime: Duration,
    ) -> Result<IssuedToken> {
        let now = now_millis();
        let mut raw = [0u8; 32];
        SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| RegistryError::BadRequest("no random source".into()))?;
        let token = URL_SAFE_NO_PAD.encode(raw);
        let lifetime = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX / 4);
        let expires_at = now.saturating_add(lifetime);
        let record = TokenRecord {
            hash: token_hash(&token),
            handle: handle.as_str().to_owned(),
            index,
            secret_tag: tag,
            created_at: now,
            expires_at,
            client: bind_to.map(|ip| ip.to_canonical().to_string()),
        };
        self.commit(principal, vec![Op::Token(TokenOp::Issue(record))])
            .await?;
        Ok(IssuedToken { token, expires_at })
    }

    /// The principal a bearer token presented by `client` stands for:
    /// [`RegistryError::TokenExpired`] past its lifetime,
    /// [`RegistryError::AuthenticationFailed`] when unknown, revoked, issued under a secret
    /// that has since changed, or bound to another address than `client` (a console session
    /// carried off to another machine).
    pub async fn token_principal(&self, token: &str, client: Option<IpAddr>) -> Result<Principal> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(RegistryError::AuthenticationFailed);
        }
        let record = self
            .store
            .get_token(&token_hash(token))
            .await?
            .ok_or(RegistryError::AuthenticationFailed)?;
        if record.expires_at <= now_millis() {
            return Err(RegistryError::TokenExpired);
        }
        if let Some(bound) = &record.client {
            let from = client.map(|ip| ip.to_canonical().to_string());
            if from.as_deref() != Some(bound.as_str()) {
                return Err(RegistryError::AuthenticationFailed);
            }
        }
        let handle =
            Identifier::parse(&record.handle).map_err(|_| RegistryError::AuthenticationFailed)?;
        let current = if record.secret_tag.starts_with(KEY_TAG) {
            self.key_tag(&handle, record.index).await?
        } else {
            self.store
                .get_secret(&record.handle, record.index)
                .await?
                .map(|stored| secret_tag(&stored))
        };
        if !current.is_some_and(|tag| constant_time_eq(&tag, &record.secret_tag)) {
            return Err(RegistryError::AuthenticationFailed);
        }
        self.principal_of(format!("{}:{}", record.index, record.handle), &handle)
            .await
    }

    /// Gives the caller's identity a new random secret (its `HS_SECKEY` value, replaced in
    /// one change); the old secret, and every token and console session issued under it,
    /// stop working at once. The new secret is returned once and never stored in clear.
    pub async fn rotate_secret(&self, p: &Principal) -> Result<crate::Credentials> {
        if matches!(p, Principal::Anonymous) {
            return Err(RegistryError::AuthenticationNeeded);
        }
        let (index, handle) = parse_identity(p.actor())?;
        let secret = crate::generate_secret();
        let mut key = idnode_core::HandleValue::bytes(index, "HS_SECKEY", Vec::new());
        key.permissions = idnode_core::Permissions::SECRET;
        let extra = self.secret_op(handle.as_str(), index, secret.as_bytes());
        self.set_own_value(p, &handle, key, vec![extra]).await?;
        Ok(crate::Credentials {
            identity: format!("{index}:{handle}"),
            secret,
        })
    }

    /// Adds public key `data` (`HS_PUBKEY` value data) to the caller's identity handle at the
    /// lowest free index from 301; the identity `index:handle` it signs in as is returned.
    pub async fn add_public_key(&self, p: &Principal, data: Vec<u8>) -> Result<String> {
        if matches!(p, Principal::Anonymous) {
            return Err(RegistryError::AuthenticationNeeded);
        }
        let (_, handle) = parse_identity(p.actor())?;
        let rec = self
            .store
            .get_handle(handle.as_str())
            .await?
            .ok_or(RegistryError::HandleNotFound)?;
        let index = (301..)
            .find(|i| rec.values.iter().all(|v| v.index != *i))
            .unwrap_or(u32::MAX);
        let key = idnode_core::HandleValue::bytes(index, "HS_PUBKEY", data);
        self.set_own_value(p, &handle, key, Vec::new()).await?;
        Ok(format!("{index}:{handle}"))
    }

    /// Sets `value` (replacing the one at its index) on the caller's own identity handle,
    /// with `extra` operations, in one change. The caller proved this identity; prefix
    /// handles are otherwise the operator's to write, so this does not go through
    /// `put_handle`.
    async fn set_own_value(
        &self,
        p: &Principal,
        handle: &Identifier,
        mut value: idnode_core::HandleValue,
        extra: Vec<Op>,
    ) -> Result<()> {
        let rec = self
            .store
            .get_handle(handle.as_str())
            .await?
            .ok_or(RegistryError::HandleNotFound)?;
        value.timestamp = crate::handles::now_secs();
        let mut values: Vec<idnode_core::HandleValue> = rec
            .values
            .iter()
            .filter(|v| v.index != value.index)
            .cloned()
            .collect();
        values.push(value);
        values.sort_by_key(|v| v.index);
        idnode_core::validate_record(&values)?;
        let mut ops = vec![Op::Update {
            handle: handle.clone(),
            expected_version: rec.version,
            before: rec.values,
            values,
        }];
        ops.extend(extra);
        self.commit(p, ops).await?;
        Ok(())
    }

    /// Revokes a bearer token presented by `client` (its holder signs out); the token must
    /// be valid.
    pub async fn revoke_token(&self, token: &str, client: Option<IpAddr>) -> Result<()> {
        let principal = self.token_principal(token, client).await?;
        let op = Op::Token(TokenOp::Revoke {
            hash: token_hash(token),
        });
        Ok(self.commit(&principal, vec![op]).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_daily_password() {
        // SNMS identity-auth.md: sha256(sha256('123456') + '2019-08-15').
        assert_eq!(
            daily_password(b"123456", "2019-08-15"),
            "58e2c92c46485fdbc35fdcd0814d6c0f000cad5aa156848ca5edaf29406b7661"
        );
    }

    #[test]
    fn daily_passwords_hold_for_the_china_or_utc_date_only() {
        // 2019-08-14T20:00:00Z is 2019-08-15 04:00 in China.
        let at = 1_565_812_800_000;
        assert_eq!(date_at(at, 0).unwrap(), "2019-08-14");
        assert_eq!(date_at(at, 8).unwrap(), "2019-08-15");
        for date in ["2019-08-14", "2019-08-15"] {
            let p = daily_password(b"s3cret", date);
            assert!(daily_password_ok(b"s3cret", &p, at), "{date}");
            assert!(daily_password_ok(b"s3cret", &p.to_uppercase(), at));
            assert!(!daily_password_ok(b"other", &p, at));
        }
        assert!(!daily_password_ok(
            b"s3cret",
            &daily_password(b"s3cret", "2019-08-16"),
            at
        ));
        assert!(!daily_password_ok(b"s3cret", "", at));
    }

    #[test]
    fn usernames_name_an_identity() {
        let (i, h) = parse_username("88.118.8/app").unwrap();
        assert_eq!((i, h.as_str()), (300, "88.118.8/app"));
        let (i, h) = parse_username("301:0.NA/88.118.8").unwrap();
        assert_eq!((i, h.as_str()), (301, "0.NA/88.118.8"));
        assert!(parse_username("admin").is_err());
    }
}
