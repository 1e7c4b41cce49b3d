//! The cache's warm-start snapshot: the public answers it holds, written to a file now and
//! then and read back when a node starts, so that a node restarting without its database
//! still answers its hot set (stale, counted, within `stale_if_down` of each answer's read).
//!
//! Format (no I/O here; big-endian numbers): the magic `IDNSNAP1`; the unix time of the
//! snapshot in milliseconds (u64); the node prefix (u16 length, bytes); the number of
//! entries (u32); per entry its handle (u16 length, bytes), flags (u8: 1 = restricted),
//! its age when written in milliseconds (u32) and its packed values (u32 length, bytes);
//! then the SHA-256 of everything before. A file that fails any check is refused whole.

use std::sync::Arc;
use std::time::Duration;

use idnode_core::Identifier;

use crate::{Entry, ResolveError, View};

const MAGIC: &[u8; 8] = b"IDNSNAP1";
const DIGEST: usize = 32;

/// What a snapshot says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// Unix time of the snapshot, milliseconds.
    pub written_ms: u64,
    /// The node prefix of the node that wrote it.
    pub node_prefix: String,
    /// Entries it holds.
    pub entries: u32,
}

/// One answer of a snapshot.
pub(crate) struct Saved<'a> {
    pub(crate) handle: &'a str,
    pub(crate) restricted: bool,
    pub(crate) age: Duration,
    pub(crate) packed: &'a [u8],
}

/// Encodes `entries` (public answers) as a snapshot of `node_prefix` taken at `written_ms`.
pub(crate) fn encode<'a>(
    node_prefix: &str,
    written_ms: u64,
    entries: impl Iterator<Item = Saved<'a>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&written_ms.to_be_bytes());
    put_u16_bytes(&mut out, node_prefix.as_bytes());
    let count_at = out.len();
    out.extend_from_slice(&0u32.to_be_bytes());
    let mut count = 0u32;
    for e in entries {
        let (Ok(_), Ok(len)) = (u16::try_from(e.handle.len()), u32::try_from(e.packed.len()))
        else {
            continue;
        };
        put_u16_bytes(&mut out, e.handle.as_bytes());
        out.push(u8::from(e.restricted));
        let age = u32::try_from(e.age.as_millis()).unwrap_or(u32::MAX);
        out.extend_from_slice(&age.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e.packed);
        count = count.saturating_add(1);
    }
    out[count_at..count_at + 4].copy_from_slice(&count.to_be_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &out);
    out.extend_from_slice(digest.as_ref());
    out
}

fn put_u16_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

/// A reader over the checked body of a snapshot.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ResolveError> {
        if self.0.len() < n {
            return Err(bad("it ends inside an entry"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<usize, ResolveError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self) -> Result<u32, ResolveError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn text(&mut self) -> Result<&'a str, ResolveError> {
        let n = self.u16()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| bad("a name is not UTF-8"))
    }
}

fn bad(why: &str) -> ResolveError {
    ResolveError::Snapshot(format!("not a valid cache snapshot: {why}"))
}

/// The header of a snapshot and a reader at its first entry, once its digest and magic
/// are checked.
fn open(bytes: &[u8]) -> Result<(SnapshotHeader, Reader<'_>), ResolveError> {
    if bytes.len() < MAGIC.len() + 8 + 2 + 4 + DIGEST {
        return Err(bad("too short"));
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST);
    if ring::digest::digest(&ring::digest::SHA256, body).as_ref() != digest {
        return Err(bad("its checksum does not match (a torn or damaged file)"));
    }
    let mut r = Reader(body);
    if r.take(MAGIC.len())? != MAGIC {
        return Err(bad("it does not start with IDNSNAP1"));
    }
    let t = r.take(8)?;
    let written_ms = u64::from_be_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]]);
    let node_prefix = r.text()?.to_owned();
    let entries = r.u32()?;
    Ok((
        SnapshotHeader {
            written_ms,
            node_prefix,
            entries,
        },
        r,
    ))
}

/// The header of a snapshot, once its checksum is checked.
pub fn header(bytes: &[u8]) -> Result<SnapshotHeader, ResolveError> {
    open(bytes).map(|(h, _)| h)
}

/// How many answers of a snapshot of the node `node_prefix` pass every check a restore
/// makes (whatever their age).
pub fn entries(bytes: &[u8], node_prefix: &str) -> Result<usize, ResolveError> {
    decode(bytes, node_prefix, 0, Duration::MAX).map(|e| e.len())
}

/// The entries of a snapshot taken by the node of `node_prefix`, aged by the time since
/// it was written (`now_ms`), those older than `oldest` left out. Each entry is checked
/// (its handle parses, its values unpack) before any is returned.
pub(crate) fn decode(
    bytes: &[u8],
    node_prefix: &str,
    now_ms: u64,
    oldest: Duration,
) -> Result<Vec<Entry>, ResolveError> {
    let (head, mut r) = open(bytes)?;
    if head.node_prefix != node_prefix {
        return Err(ResolveError::Snapshot(format!(
            "the cache snapshot is of node {}, not {node_prefix}",
            head.node_prefix
        )));
    }
    let since = Duration::from_millis(now_ms.saturating_sub(head.written_ms));
    let mut out = Vec::new();
    for _ in 0..head.entries {
        let handle = r.text()?;
        let flags = r.take(1)?[0];
        let age = Duration::from_millis(u64::from(r.u32()?)).saturating_add(since);
        let len = r.u32()? as usize;
        let packed = r.take(len)?;
        let id = Identifier::parse(handle).map_err(|_| bad("an entry's handle is invalid"))?;
        idnode_core::packed::unpack(packed).map_err(|_| bad("an entry's values are invalid"))?;
        if age < oldest {
            out.push(Entry::restored(
                Arc::from(id.as_str()),
                packed,
                flags & 1 == 1,
                age,
            ));
        }
    }
    if !r.0.is_empty() {
        return Err(bad("bytes follow its last entry"));
    }
    Ok(out)
}

impl Entry {
    /// An entry of a snapshot, `age` old.
    fn restored(handle: Arc<str>, packed: &[u8], restricted: bool, age: Duration) -> Self {
        Self {
            handle,
            packed: packed.into(),
            restricted,
            view: View::Public,
            born: std::time::Instant::now(),
            aged_ms: u32::try_from(age.as_millis()).unwrap_or(u32::MAX),
            epoch: 0,
        }
    }

    /// The entry as a snapshot saves it.
    pub(crate) fn saved(&self) -> Saved<'_> {
        Saved {
            handle: &self.handle,
            restricted: self.restricted,
            age: self.age(),
            packed: &self.packed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idnode_core::HandleValue;

    fn entry(h: &str, url: &str) -> Entry {
        Entry::build(h, &[HandleValue::text(1, "URL", url)], View::Public)
    }

    #[test]
    fn entries_come_back_aged_and_checked() {
        let (a, b) = (
            entry("88.118.8/A", "https://a/"),
            entry("88.118.8/B", "https://b/"),
        );
        let bytes = encode("88.118", 1_000_000, [a.saved(), b.saved()].into_iter());
        let h = header(&bytes).unwrap();
        assert_eq!(
            (h.node_prefix.as_str(), h.entries, h.written_ms),
            ("88.118", 2, 1_000_000)
        );
        // Read back 10 s after it was written.
        let got = decode(&bytes, "88.118", 1_010_000, Duration::from_secs(3600)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(&*got[1].handle, "88.118.8/B");
        assert_eq!(got[1].values(), b.values());
        assert!(got[0].age() >= Duration::from_secs(10));
        // Older than the bound: left out.
        let got = decode(&bytes, "88.118", 1_010_000, Duration::from_secs(5)).unwrap();
        assert!(got.is_empty());
        // Another node's snapshot is refused.
        assert!(decode(&bytes, "88.119", 1_010_000, Duration::from_secs(3600)).is_err());
    }

    #[test]
    fn damaged_snapshots_are_refused_whole() {
        let a = entry("88.118.8/A", "https://a/");
        let bytes = encode("88.118", 5, std::iter::once(a.saved()));
        for cut in 0..bytes.len() {
            assert!(
                decode(&bytes[..cut], "88.118", 5, Duration::MAX).is_err(),
                "cut {cut}"
            );
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(decode(&b, "88.118", 5, Duration::MAX).is_err(), "flip {i}");
        }
        // A well-formed checksum over a body that lies about its count.
        let mut body = bytes[..bytes.len() - DIGEST].to_vec();
        let at = MAGIC.len() + 8 + 2 + "88.118".len();
        body[at..at + 4].copy_from_slice(&2u32.to_be_bytes());
        let d = ring::digest::digest(&ring::digest::SHA256, &body);
        body.extend_from_slice(d.as_ref());
        assert!(decode(&body, "88.118", 5, Duration::MAX).is_err());
    }
}
