//! Tokens in the conformance story: issued, found by hash, revoked, pruned when expired.

use crate::{Batch, Op, Store, TokenOp, TokenRecord};

fn token(hash: u8, expires_at: i64) -> TokenRecord {
    TokenRecord {
        hash: vec![hash; 32],
        handle: "0.NA/88.200.1".into(),
        index: 300,
        secret_tag: vec![7; 16],
        created_at: 1,
        expires_at,
        client: None,
    }
}

async fn write(store: &dyn Store, op: TokenOp) {
    store
        .apply(&Batch {
            actor: "300:0.NA/88.200.1".into(),
            ops: vec![Op::Token(op)],
            idempotency: None,
            origin: String::new(),
        })
        .await
        .unwrap();
}

/// A token is found by its hash until revoked; issuing one deletes those already expired.
pub(super) async fn run(store: &dyn Store) {
    let far = i64::MAX / 2;
    write(store, TokenOp::Issue(token(1, far))).await;
    write(store, TokenOp::Issue(token(2, 5))).await;
    assert_eq!(
        store.get_token(&[1; 32]).await.unwrap(),
        Some(token(1, far))
    );
    assert_eq!(store.get_token(&[2; 32]).await.unwrap(), Some(token(2, 5)));
    assert_eq!(store.get_token(&[9; 32]).await.unwrap(), None);
    // A console session keeps the address it is bound to.
    let bound = TokenRecord {
        client: Some("2001:db8::7".into()),
        ..token(4, far)
    };
    write(store, TokenOp::Issue(bound.clone())).await;
    assert_eq!(store.get_token(&[4; 32]).await.unwrap(), Some(bound));
    // The batch time is now: token 2 (expired at 5 ms after 1970) goes with the next issue.
    write(store, TokenOp::Issue(token(3, far))).await;
    assert_eq!(store.get_token(&[2; 32]).await.unwrap(), None);
    write(store, TokenOp::Revoke { hash: vec![1; 32] }).await;
    assert_eq!(store.get_token(&[1; 32]).await.unwrap(), None);
    write(store, TokenOp::Revoke { hash: vec![1; 32] }).await;
    assert!(store.get_token(&[3; 32]).await.unwrap().is_some());
}
