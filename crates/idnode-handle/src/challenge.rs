//! Challenges awaiting an answer, keyed by client address and the session id sent with the
//! challenge.
//!
//! A request that carries a session id keeps it: the national SDK picks one per connection,
//! sends it on every request and answers the challenge under it (whatever id the challenge
//! came back with). A request without one (CNRI clients) gets a fresh random id, which the
//! client echoes in its answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use idnode_handle_proto::{DigestAlg, Envelope, NONCE_LEN};
use moka::sync::Cache;
use ring::rand::{SecureRandom, SystemRandom};

/// The request an answer will release.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Who was challenged: answers from elsewhere are refused.
    pub(crate) peer: IpAddr,
    /// The original request's envelope.
    pub(crate) envelope: Envelope,
    /// The original request's message bytes (header, body, credential).
    pub(crate) message: Vec<u8>,
    /// The nonce sent.
    pub(crate) nonce: [u8; NONCE_LEN],
    /// The digest of the original request, as sent with the challenge.
    pub(crate) digest: (DigestAlg, Vec<u8>),
}

/// Outstanding challenges; each lives until answered or `ttl` passes.
pub(crate) struct Challenges {
    pending: Cache<(IpAddr, u32), (Instant, Arc<Pending>)>,
    ttl: Duration,
    rng: SystemRandom,
}

impl Challenges {
    pub(crate) fn new(ttl: Duration, capacity: u64) -> Self {
        Self {
            pending: Cache::builder()
                .time_to_live(ttl)
                .max_capacity(capacity)
                .build(),
            ttl,
            rng: SystemRandom::new(),
        }
    }

    pub(crate) fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut n)
            .expect("the system random source works");
        n
    }

    /// Stores a challenge under `requested` (the request's session id) or, when that is 0,
    /// under a fresh random id; returns the non-zero id.
    pub(crate) fn insert(&self, p: Pending, requested: u32) -> u32 {
        let peer = p.peer;
        let p = Arc::new(p);
        if requested != 0 {
            self.pending.insert((peer, requested), (Instant::now(), p));
            return requested;
        }
        loop {
            let mut b = [0u8; 4];
            self.rng
                .fill(&mut b)
                .expect("the system random source works");
            let id = u32::from_be_bytes(b) & 0x7FFF_FFFF;
            if id != 0 && !self.pending.contains_key(&(peer, id)) {
                self.pending.insert((peer, id), (Instant::now(), p));
                return id;
            }
        }
    }

    /// Takes the challenge sent to `peer` with session id `id` (each is answerable once,
    /// within the ttl: the cache may still hold an entry past its ttl, so the age is checked
    /// here).
    pub(crate) fn take(&self, peer: IpAddr, id: u32) -> Option<Arc<Pending>> {
        self.pending
            .remove(&(peer, id))
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, p)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(c: &Challenges) -> Pending {
        let env = [2, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 24];
        Pending {
            peer: PEER,
            envelope: Envelope::decode(&env).unwrap(),
            message: Vec::new(),
            nonce: c.nonce(),
            digest: (DigestAlg::Sha256, Vec::new()),
        }
    }

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_challenge_is_taken_once_and_only_by_its_client() {
        let c = Challenges::new(Duration::from_secs(60), 100);
        let id = c.insert(pending(&c), 0);
        assert_ne!(id, 0);
        assert!(c.take(IpAddr::from([10, 0, 0, 9]), id).is_none());
        assert!(c.take(PEER, id).is_some());
        assert!(c.take(PEER, id).is_none());
    }

    #[test]
    fn a_requested_session_id_is_kept() {
        let c = Challenges::new(Duration::from_secs(60), 100);
        assert_eq!(c.insert(pending(&c), 123_456), 123_456);
        assert!(c.take(PEER, 123_456).is_some());
    }

    #[test]
    fn an_expired_challenge_cannot_be_taken() {
        let c = Challenges::new(Duration::from_millis(1), 100);
        let id = c.insert(pending(&c), 0);
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.take(PEER, id).is_none());
    }
}
