//! What a Handle client sends to prove who it is: HS_PUBKEY payloads and signed or MACed
//! challenge answers. The parsers and verifiers never panic; a key that decodes re-encodes
//! to the same key. Input: u16 key length, key bytes, answer bytes.
#![no_main]

use idnode_handle::keys::{verify_secret_answer, PublicKey};
use libfuzzer_sys::fuzz_target;

const NONCE: &[u8] = &[7; 16];
const DIGEST: &[u8] = &[9; 32];

/// PBKDF2 answers asking for many iterations are legal but slow (up to 100,000 per check):
/// keep the fuzzer's executions fast by skipping them.
fn costly(answer: &[u8]) -> bool {
    if answer.first() != Some(&0x22) || answer.len() < 5 {
        return false;
    }
    let salt = u32::from_be_bytes([answer[1], answer[2], answer[3], answer[4]]) as usize;
    let at = 5usize.saturating_add(salt);
    match answer.get(at..at.saturating_add(4)) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]) > 1_000,
        None => false,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_be_bytes([data[0], data[1]])).min(data.len() - 2);
    let (key, answer) = data[2..].split_at(n);
    if let Ok(k) = PublicKey::decode(key) {
        assert_eq!(PublicKey::decode(&k.encode()).as_ref(), Ok(&k));
        let _ = k.verify_answer("88.118.8/ADMIN", NONCE, DIGEST, answer);
    }
    if !costly(answer) {
        let _ = verify_secret_answer(key, NONCE, DIGEST, answer);
    }
});
