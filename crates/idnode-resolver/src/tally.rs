//! Resolutions per prefix, front end and outcome, and the distinct clients of each prefix
//! (a HyperLogLog sketch), counted in memory on the hot path (each resolver has its
//! [`Tally`]) and taken whole by the statistics flush (`idnode-upstream`'s `Usage::flush`),
//! which adds them to the day's rows.
//!
//! Counting costs a read lock, one map look-up and two relaxed atomic operations. At most
//! [`MAX_PREFIXES`] prefixes are kept between two flushes (a client asking for random
//! prefixes cannot grow memory); the rest are counted under [`OTHER`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

use idnode_core::hll::{self, Sketch, REGISTERS};

use crate::meter::{FRONTENDS, OUTCOMES};
use crate::Outcome;

/// Prefixes counted between two flushes.
pub const MAX_PREFIXES: usize = 4096;
/// The key of resolutions beyond [`MAX_PREFIXES`] and of malformed requests.
pub const OTHER: &str = "-";

/// The counts of one prefix since the last flush.
struct PrefixTally {
    counts: [AtomicU64; FRONTENDS.len() * OUTCOMES.len()],
    registers: [AtomicU8; REGISTERS],
}

impl PrefixTally {
    fn new() -> Self {
        Self {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            registers: std::array::from_fn(|_| AtomicU8::new(0)),
        }
    }
}

/// What one prefix counted: resolutions by `(front end, outcome name)` and its clients.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixCounts {
    /// The prefix (`-`: others).
    pub prefix: String,
    /// `resolutions.<front end>.<outcome>` and how many.
    pub counts: Vec<(String, u64)>,
    /// The distinct clients.
    pub clients: Sketch,
}

type Map = HashMap<Box<str>, Arc<PrefixTally>>;

/// The resolutions counted since the last [`Tally::take`].
#[derive(Default)]
pub struct Tally {
    map: RwLock<Map>,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tally")
    }
}

impl Tally {
    /// Counts one resolution of an identifier under `prefix` (as it was asked for: it is
    /// upper-cased here) by `frontend` (an index of [`FRONTENDS`]) from `client`.
    pub(crate) fn count(
        &self,
        prefix: &str,
        frontend: usize,
        outcome: Outcome,
        client: Option<IpAddr>,
    ) {
        let o = OUTCOMES
            .iter()
            .position(|(x, _)| *x == outcome)
            .unwrap_or(0);
        let t = self.entry(prefix);
        t.counts[frontend * OUTCOMES.len() + o].fetch_add(1, Ordering::Relaxed);
        if let Some(ip) = client {
            let (i, rank) = hll::bucket(hll::client_hash(ip));
            t.registers[i].fetch_max(rank, Ordering::Relaxed);
        }
    }

    fn entry(&self, prefix: &str) -> Arc<PrefixTally> {
        let bad = prefix.is_empty() || prefix.len() > 128;
        let key: &str = if bad { OTHER } else { prefix };
        let upper = key.bytes().any(|b| b.is_ascii_lowercase());
        let owned;
        let key = if upper {
            owned = key.to_ascii_uppercase();
            owned.as_str()
        } else {
            key
        };
        if let Some(t) = self.map.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return t.clone();
        }
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let key = if map.len() >= MAX_PREFIXES && !map.contains_key(key) {
            OTHER
        } else {
            key
        };
        map.entry(key.into())
            .or_insert_with(|| Arc::new(PrefixTally::new()))
            .clone()
    }

    /// Takes everything counted since the last call.
    pub fn take(&self) -> Vec<PrefixCounts> {
        let map = std::mem::take(&mut *self.map.write().unwrap_or_else(|e| e.into_inner()));
        map.into_iter()
            .map(|(prefix, t)| {
                let mut counts = Vec::new();
                for (f, frontend) in FRONTENDS.iter().enumerate() {
                    for (o, (_, name)) in OUTCOMES.iter().enumerate() {
                        let n = t.counts[f * OUTCOMES.len() + o].load(Ordering::Relaxed);
                        if n > 0 {
                            counts.push((format!("resolutions.{frontend}.{name}"), n));
                        }
                    }
                }
                let mut clients = Sketch::default();
                for (i, r) in t.registers.iter().enumerate() {
                    clients.raise(i, r.load(Ordering::Relaxed));
                }
                PrefixCounts {
                    prefix: prefix.into(),
                    counts,
                    clients,
                }
            })
            .collect()
    }
}

/// Adds `more` to `kept` (tallies a failed flush keeps for the next one): one entry per
/// prefix, counts summed, clients merged, at most [`MAX_PREFIXES`] prefixes and [`OTHER`].
pub fn merge_counts(kept: &mut Vec<PrefixCounts>, more: Vec<PrefixCounts>) {
    for m in more {
        let at = match kept.iter().position(|k| k.prefix == m.prefix) {
            Some(i) => Some(i),
            None if kept.len() < MAX_PREFIXES => None,
            None => kept.iter().position(|k| k.prefix == OTHER),
        };
        let Some(i) = at else {
            let prefix = if kept.len() < MAX_PREFIXES {
                m.prefix.clone()
            } else {
                OTHER.to_owned()
            };
            kept.push(PrefixCounts { prefix, ..m });
            continue;
        };
        let k = &mut kept[i];
        for (metric, n) in m.counts {
            match k.counts.iter_mut().find(|(x, _)| *x == metric) {
                Some(c) => c.1 += n,
                None => k.counts.push((metric, n)),
            }
        }
        k.clients.merge(&m.clients);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_add_up_per_prefix_and_clients_are_distinct() {
        let t = Tally::default();
        for i in 0..30u8 {
            let ip = IpAddr::from([192, 0, 2, i % 10]);
            t.count("88.997.1", 0, Outcome::Ok, Some(ip));
        }
        t.count("88.997.x", 2, Outcome::NotFound, None);
        let all = t.take();
        let one = all.iter().find(|c| c.prefix == "88.997.1").unwrap();
        assert_eq!(one.counts, vec![("resolutions.http.ok".to_owned(), 30)]);
        assert_eq!(one.clients.estimate(), 10);
        let x = all.iter().find(|c| c.prefix == "88.997.X").unwrap();
        assert_eq!(x.counts, vec![("resolutions.dns.not_found".to_owned(), 1)]);
        assert!(t.take().is_empty());
    }

    #[test]
    fn kept_tallies_merge_per_prefix() {
        let t = Tally::default();
        t.count("88.1", 0, Outcome::Ok, Some(IpAddr::from([192, 0, 2, 1])));
        let mut kept = t.take();
        t.count("88.1", 0, Outcome::Ok, Some(IpAddr::from([192, 0, 2, 2])));
        t.count("88.2", 1, Outcome::Ok, None);
        merge_counts(&mut kept, t.take());
        assert_eq!(kept.len(), 2);
        let one = kept.iter().find(|k| k.prefix == "88.1").unwrap();
        assert_eq!(one.counts, vec![("resolutions.http.ok".to_owned(), 2)]);
        assert_eq!(one.clients.estimate(), 2);
    }

    #[test]
    fn prefixes_beyond_the_limit_count_as_others() {
        let t = Tally::default();
        for i in 0..MAX_PREFIXES + 10 {
            t.count(&format!("88.{i}"), 1, Outcome::NotFound, None);
        }
        t.count("", 1, Outcome::BadRequest, None);
        let all = t.take();
        assert_eq!(all.len(), MAX_PREFIXES + 1);
        let other = all.iter().find(|c| c.prefix == OTHER).unwrap();
        let n: u64 = other.counts.iter().map(|c| c.1).sum();
        assert_eq!(n, 11);
    }
}
