//! Bearer tokens through the registry: issued for a secret or its daily hash, standing for
//! the identity's principal, void when revoked, expired, or when the secret changes.

use std::time::Duration;

use super::*;
use crate::{daily_password, TokenProof};

/// A node with a sealing key (the daily form needs the secret) and an enterprise; tokens live
/// for `lifetime`.
async fn sealed_node(lifetime: Duration) -> (tempfile::TempDir, Registry, Principal, String) {
    let dir = tempfile::tempdir().unwrap();
    let (_, reg) = sqlite_registry(&dir).await;
    let reg = reg
        .with_sealing_key(SealingKey::new(&SealingKey::generate()))
        .with_token_lifetime(lifetime);
    let op = operator(&reg).await;
    let (_, c) = reg
        .create_enterprise(&op, "Gearbox Co", "88.118.8", Default::default())
        .await
        .unwrap();
    (dir, reg, op, c.secret)
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap())
        .date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn tokens_stand_for_their_identity_until_revoked_or_the_secret_changes() {
    let (_dir, reg, op, secret) = sealed_node(DEFAULT_TOKEN_LIFETIME).await;
    let plain = reg
        .issue_token("300:0.NA/88.118.8", TokenProof::Secret(&secret), None)
        .await
        .unwrap();
    let daily = daily_password(secret.as_bytes(), &today());
    let hashed = reg
        .issue_token("0.NA/88.118.8", TokenProof::Daily(&daily), None)
        .await
        .unwrap();
    assert_ne!(plain.token, hashed.token);
    for t in [&plain.token, &hashed.token] {
        let p = reg.token_principal(t, None).await.unwrap();
        assert!(
            matches!(&p, Principal::Enterprise { identity, .. } if identity == "300:0.NA/88.118.8"),
            "{p:?}"
        );
    }
    // Wrong proofs get no token.
    for proof in [
        TokenProof::Secret("wrong"),
        TokenProof::Daily(&daily_password(b"wrong", &today())),
        TokenProof::Daily(&secret),
    ] {
        let e = reg.issue_token("0.NA/88.118.8", proof, None).await;
        assert!(
            matches!(e, Err(RegistryError::AuthenticationFailed)),
            "{e:?}"
        );
    }
    assert!(matches!(
        reg.token_principal("not-a-token", None).await,
        Err(RegistryError::AuthenticationFailed)
    ));
    // Revoking one leaves the other.
    reg.revoke_token(&plain.token, None).await.unwrap();
    assert!(matches!(
        reg.token_principal(&plain.token, None).await,
        Err(RegistryError::AuthenticationFailed)
    ));
    reg.token_principal(&hashed.token, None).await.unwrap();
    // A new secret voids every token issued under the old one.
    reg.put_handle(
        &op,
        "0.NA/88.118.8",
        vec![HandleValue::text(300, "HS_SECKEY", "a-new-secret")],
        PutMode::Values {
            indexes: Some(vec![300]),
            overwrite: true,
        },
        false,
    )
    .await
    .unwrap();
    assert!(matches!(
        reg.token_principal(&hashed.token, None).await,
        Err(RegistryError::AuthenticationFailed)
    ));
    let fresh = reg
        .issue_token("0.NA/88.118.8", TokenProof::Secret("a-new-secret"), None)
        .await
        .unwrap();
    reg.token_principal(&fresh.token, None).await.unwrap();
}

#[tokio::test]
async fn tokens_expire() {
    let (_dir, reg, _op, secret) = sealed_node(Duration::from_millis(1)).await;
    let t = reg
        .issue_token("0.NA/88.118.8", TokenProof::Secret(&secret), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(matches!(
        reg.token_principal(&t.token, None).await,
        Err(RegistryError::TokenExpired)
    ));
}

#[tokio::test]
async fn console_sessions_hold_only_from_their_address() {
    let (_dir, reg, _op, secret) = sealed_node(Duration::from_secs(60)).await;
    let home: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let mapped: std::net::IpAddr = "::ffff:192.0.2.7".parse().unwrap();
    let elsewhere: std::net::IpAddr = "198.51.100.9".parse().unwrap();
    let s = reg
        .open_console_session("0.NA/88.118.8", &secret, home, Duration::from_secs(60))
        .await
        .unwrap();
    let p = reg.token_principal(&s.token, Some(home)).await.unwrap();
    assert_eq!(p.actor(), "300:0.NA/88.118.8");
    // The same address seen through an IPv6 socket is the same client.
    reg.token_principal(&s.token, Some(mapped)).await.unwrap();
    for other in [Some(elsewhere), None] {
        assert!(matches!(
            reg.token_principal(&s.token, other).await,
            Err(RegistryError::AuthenticationFailed)
        ));
    }
    // A wrong secret opens nothing.
    assert!(reg
        .open_console_session("0.NA/88.118.8", "wrong", home, Duration::from_secs(60))
        .await
        .is_err());
    reg.revoke_token(&s.token, Some(home)).await.unwrap();
    assert!(reg.token_principal(&s.token, Some(home)).await.is_err());
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_and_ends_its_sessions() {
    let (_dir, reg, _op, secret) = sealed_node(Duration::from_secs(60)).await;
    let home: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let s = reg
        .open_console_session("0.NA/88.118.8", &secret, home, Duration::from_secs(60))
        .await
        .unwrap();
    let p = reg.token_principal(&s.token, Some(home)).await.unwrap();
    let fresh = reg.rotate_secret(&p).await.unwrap();
    assert_eq!(fresh.identity, "300:0.NA/88.118.8");
    assert_ne!(fresh.secret, secret);
    assert!(reg.token_principal(&s.token, Some(home)).await.is_err());
    assert!(reg
        .authenticate("300:0.NA/88.118.8", &secret)
        .await
        .is_err());
    reg.authenticate("300:0.NA/88.118.8", &fresh.secret)
        .await
        .unwrap();
    assert!(matches!(
        reg.rotate_secret(&Principal::Anonymous).await,
        Err(RegistryError::AuthenticationNeeded)
    ));
}
