//! The audit log's entries and their hash chain, computed in one place for the writer (the
//! store, inside each write's transaction) and the verifier (`idnode audit verify`).
//!
//! An entry's hash is H(prev ‖ canonical form), the canonical form being every field in a
//! fixed order: the numbers as 8 big-endian bytes, the texts and digests each after its
//! length (4 big-endian bytes). H is SM3 (GB/T 32905) or SHA-256, named in the entry.

use sm3::Digest as _;

/// The hash of the chain (`sm3` or `sha256` in configuration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditAlgorithm {
    /// SM3 (GB/T 32905-2016), the default.
    #[default]
    Sm3,
    /// SHA-256 (FIPS 180-4).
    Sha256,
}

impl AuditAlgorithm {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sm3 => "sm3",
            Self::Sha256 => "sha256",
        }
    }

    /// The algorithm a stored name names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "sm3" => Some(Self::Sm3),
            "sha256" => Some(Self::Sha256),
            _ => None,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sm3 => sm3::Sm3::digest(data).to_vec(),
            Self::Sha256 => ring::digest::digest(&ring::digest::SHA256, data)
                .as_ref()
                .to_vec(),
        }
    }
}

/// A digest computed piece by piece (nothing buffered).
pub enum AuditHasher {
    /// SM3.
    Sm3(sm3::Sm3),
    /// SHA-256.
    Sha256(ring::digest::Context),
}

impl AuditHasher {
    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sm3(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
        }
    }

    /// Adds `data` after its length (4 big-endian bytes): fields run together stay apart.
    pub fn field(&mut self, data: &[u8]) {
        self.update(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
        self.update(data);
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Self::Sm3(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finish().as_ref().to_vec(),
        }
    }
}

impl AuditAlgorithm {
    /// A digest to feed piece by piece.
    pub fn hasher(self) -> AuditHasher {
        match self {
            Self::Sm3 => AuditHasher::Sm3(sm3::Sm3::new()),
            Self::Sha256 => AuditHasher::Sha256(ring::digest::Context::new(&ring::digest::SHA256)),
        }
    }
}

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who made a write that is not a [`crate::Batch`] (an EPCIS capture, a read grant, a named
/// query, a subscription), for its audit entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// The identity (`300:0.NA/88.118.8`), or `system:…`.
    pub actor: String,
    /// The client's address ('' when not over the network).
    pub origin: String,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its number: 1, 2, 3… without gaps.
    pub seq: i64,
    /// When (unix milliseconds).
    pub at: i64,
    /// Who: the identity that wrote (`300:0.NA/88.118.8`), `cli`, `upstream`, ….
    pub actor: String,
    /// From where: the client's address, '' when the write did not come over the network.
    pub origin: String,
    /// What: the kinds of change, e.g. `identifier.create` or `identifier.create×3 identifier.update`.
    pub action: String,
    /// On what: the first thing changed (a handle, prefix, enterprise…) and how many more.
    pub target: String,
    /// Digest of what the change replaced (empty when nothing was there).
    pub before: Vec<u8>,
    /// Digest of what the change wrote.
    pub after: Vec<u8>,
    /// The chain's hash algorithm for this entry.
    pub alg: AuditAlgorithm,
    /// The previous entry's hash ([`GENESIS`] before the first).
    pub prev: Vec<u8>,
    /// H(prev ‖ canonical form).
    pub hash: Vec<u8>,
}

impl AuditEntry {
    /// The hash this entry must have: H(prev ‖ canonical form of its other fields).
    pub fn chain_hash(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(128 + self.target.len() + self.action.len());
        buf.extend_from_slice(&self.prev);
        buf.extend_from_slice(&self.seq.to_be_bytes());
        buf.extend_from_slice(&self.at.to_be_bytes());
        for field in [
            self.actor.as_bytes(),
            self.origin.as_bytes(),
            self.action.as_bytes(),
            self.target.as_bytes(),
            &self.before,
            &self.after,
            self.alg.as_str().as_bytes(),
        ] {
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(field);
        }
        self.alg.digest(&buf)
    }
}

/// Where a chain is broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct Broken {
    /// The first entry that does not hold.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

/// Walks a chain entry by entry, in order.
#[derive(Clone, Debug)]
pub struct ChainCheck {
    next_seq: i64,
    prev: Vec<u8>,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev: GENESIS.to_vec(),
        }
    }
}

impl ChainCheck {
    /// Checks the next entry: its number, its link to the one before, its own hash.
    pub fn next(&mut self, e: &AuditEntry) -> Result<(), Broken> {
        let broken = |reason: String| Broken { seq: e.seq, reason };
        if e.seq != self.next_seq {
            return Err(Broken {
                seq: self.next_seq,
                reason: format!("entry missing (the next entry found is {})", e.seq),
            });
        }
        if e.prev != self.prev {
            return Err(broken(
                "its link to the previous entry does not match that entry's hash".into(),
            ));
        }
        if e.chain_hash() != e.hash {
            return Err(broken(
                "its content does not match its hash (changed after it was written)".into(),
            ));
        }
        self.next_seq += 1;
        self.prev.clone_from(&e.hash);
        Ok(())
    }

    /// Entries checked so far.
    pub fn checked(&self) -> i64 {
        self.next_seq - 1
    }

    /// Checks the end of the chain against the recorded head (`seq`, `hash`): entries cut
    /// off the end show here.
    pub fn finish(&self, head_seq: i64, head_hash: &[u8]) -> Result<(), Broken> {
        let end = self.checked();
        let seq = match head_seq.cmp(&end) {
            std::cmp::Ordering::Greater => end + 1,
            std::cmp::Ordering::Less => head_seq + 1,
            std::cmp::Ordering::Equal if head_hash != self.prev.as_slice() => end,
            std::cmp::Ordering::Equal => return Ok(()),
        };
        Err(Broken {
            seq,
            reason: format!(
                "the recorded head is entry {head_seq} with hash {}, the log ends at entry {end}",
                head_hash
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64, alg: AuditAlgorithm) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at: 1_700_000_000_000 + seq,
                    actor: "300:0.NA/88.118.8".into(),
                    origin: "192.0.2.7".into(),
                    action: "identifier.create".into(),
                    target: format!("88.118.8/X-{seq}"),
                    before: Vec::new(),
                    after: alg.digest(b"values"),
                    alg,
                    prev: prev.clone(),
                    hash: Vec::new(),
                };
                e.hash = e.chain_hash();
                prev.clone_from(&e.hash);
                e
            })
            .collect()
    }

    fn check(entries: &[AuditEntry]) -> Result<i64, Broken> {
        let mut c = ChainCheck::default();
        for e in entries {
            c.next(e)?;
        }
        Ok(c.checked())
    }

    #[test]
    fn sm3_and_sha256_match_their_standard_vectors() {
        // GB/T 32905-2016 appendix A.1 and FIPS 180-4: "abc".
        let sm3 = AuditAlgorithm::Sm3.digest(b"abc");
        assert_eq!(
            sm3.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        let sha = AuditAlgorithm::Sha256.digest(b"abc");
        assert_eq!(sha[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    #[test]
    fn piecewise_digests_equal_whole_ones() {
        for alg in [AuditAlgorithm::Sm3, AuditAlgorithm::Sha256] {
            let mut h = alg.hasher();
            h.update(b"ab");
            h.update(b"c");
            assert_eq!(h.finish(), alg.digest(b"abc"));
        }
    }

    #[test]
    fn an_intact_chain_verifies_and_any_change_is_named() {
        for alg in [AuditAlgorithm::Sm3, AuditAlgorithm::Sha256] {
            let good = chain(5, alg);
            assert_eq!(check(&good), Ok(5));
            let mut c = ChainCheck::default();
            good.iter().for_each(|e| c.next(e).unwrap());
            assert!(c.finish(5, &good[4].hash).is_ok());
            // Cut off the end, appended behind the head, the last entry rewritten.
            assert_eq!(c.finish(6, &good[4].hash).unwrap_err().seq, 6);
            assert_eq!(c.finish(4, &good[3].hash).unwrap_err().seq, 5);
            assert_eq!(c.finish(5, &good[3].hash).unwrap_err().seq, 5);

            let mut changed = good.clone();
            changed[2].actor = "someone else".into();
            assert_eq!(check(&changed).unwrap_err().seq, 3);
            // Rehashing the changed entry breaks the link of the next one instead.
            changed[2].hash = changed[2].chain_hash();
            assert_eq!(check(&changed).unwrap_err().seq, 4);

            let mut gap = good.clone();
            gap.remove(1);
            assert_eq!(check(&gap).unwrap_err().seq, 2);
        }
    }
}
