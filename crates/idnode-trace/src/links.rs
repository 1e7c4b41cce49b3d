//! The links of trace steps, held in memory. A trace back through a 10,000-node genealogy
//! asks the store for every node's links (PostgreSQL needs ~80 ms for them, as one
//! recursive query does); held here, the same walk is a few milliseconds of lookups.
//!
//! An entry holds every link of one key in one direction, whoever reads it: each link says
//! whose events are behind it and whether they count, and a reader gets those that hold for
//! it ([`TraceLink::readable_by`]), so grants apply at once. A capture through this service
//! forgets every key its events name; one with a transformationID (which joins events
//! captured apart) or an error declaration (which withdraws an event that may name other
//! keys) forgets everything. A fill that began before a capture forgot anything is not
//! kept. A capture made through another instance on the same database forgets everything
//! when its announcement arrives (`TraceService::heard`).

use std::collections::VecDeque;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use foldhash::HashMap;
use idnode_store::{NewEvent, TraceLink};

use crate::graph::Direction;

/// The links of one key in one direction, in a fixed order (by key reached, time, event).
pub(crate) type Links = Arc<[TraceLink]>;

/// The trace links held in memory.
pub(crate) struct LinkCache {
    /// Most links held (each key also weighs one); 0: none.
    capacity: u64,
    /// Longest a key's links are used.
    ttl: Duration,
    held: RwLock<Held>,
}

#[derive(Default)]
struct Held {
    /// Back, forward: key → its links.
    maps: [HashMap<Arc<str>, Entry>; 2],
    /// Keys in the order they were filled (with their stamp), for eviction.
    order: VecDeque<(Direction, Arc<str>, u64)>,
    /// Links and keys held.
    weight: u64,
    /// Bumped by every forgetting; a fill that began before one is not kept.
    generation: u64,
    /// Numbers the fills.
    stamp: u64,
}

struct Entry {
    links: Links,
    at: Instant,
    stamp: u64,
}

const fn slot(d: Direction) -> usize {
    match d {
        Direction::Back => 0,
        Direction::Forward => 1,
    }
}

impl LinkCache {
    /// A cache of at most `capacity` links (each key's entry weighs its links and one),
    /// each key's kept at most `ttl`; `capacity` 0 disables it.
    pub(crate) fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            capacity,
            ttl,
            held: RwLock::new(Held::default()),
        }
    }

    /// The held links of each of `keys` going `d` (`None`: not held), and the generation
    /// a fill of the others starts in.
    pub(crate) fn get(&self, keys: &[String], d: Direction) -> (Vec<Option<Links>>, u64) {
        let held = self.held.read().unwrap_or_else(PoisonError::into_inner);
        if self.capacity == 0 {
            return (vec![None; keys.len()], held.generation);
        }
        let now = Instant::now();
        let map = &held.maps[slot(d)];
        let found = keys
            .iter()
            .map(|k| {
                map.get(k.as_str())
                    .filter(|e| now.duration_since(e.at) < self.ttl)
                    .map(|e| e.links.clone())
            })
            .collect();
        (found, held.generation)
    }

    /// The links the store gave for `keys` going `d`, per key in a fixed order; kept
    /// (a key without any as such) unless something was forgotten since `generation`.
    pub(crate) fn fill(
        &self,
        generation: u64,
        d: Direction,
        keys: &[String],
        links: Vec<TraceLink>,
    ) -> HashMap<String, Links> {
        let mut by_key: HashMap<&str, Vec<TraceLink>> =
            keys.iter().map(|k| (k.as_str(), Vec::new())).collect();
        for l in links {
            if let Some(v) = by_key.get_mut(l.from.as_str()) {
                v.push(l);
            }
        }
        let filled: HashMap<String, Links> = by_key
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by(|a, b| {
                    (&a.to, a.event_time, a.event).cmp(&(&b.to, b.event_time, b.event))
                });
                (k.to_owned(), v.into())
            })
            .collect();
        if self.capacity > 0 {
            let mut held = self.held.write().unwrap_or_else(PoisonError::into_inner);
            if held.generation == generation {
                for (k, v) in &filled {
                    held.insert(d, k, v.clone());
                }
                held.evict(self.capacity);
            }
        }
        filled
    }

    /// Forgets every link held.
    pub(crate) fn forget_all(&self) {
        let mut held = self.held.write().unwrap_or_else(PoisonError::into_inner);
        let generation = held.generation + 1;
        *held = Held {
            generation,
            ..Held::default()
        };
    }

    /// Forgets what a capture of `events` changes.
    pub(crate) fn forget(&self, events: &[NewEvent]) {
        let mut held = self.held.write().unwrap_or_else(PoisonError::into_inner);
        held.generation += 1;
        if events
            .iter()
            .any(|e| e.declares_error || e.transformation_id.is_some())
        {
            let generation = held.generation;
            *held = Held {
                generation,
                ..Held::default()
            };
            return;
        }
        for e in events {
            for (_, key) in &e.keys {
                for d in [Direction::Back, Direction::Forward] {
                    held.remove(d, key);
                }
            }
        }
    }
}

fn weight(links: &Links) -> u64 {
    links.len() as u64 + 1
}

impl Held {
    fn insert(&mut self, d: Direction, key: &str, links: Links) {
        self.stamp += 1;
        let stamp = self.stamp;
        self.weight += weight(&links);
        let entry = Entry {
            links,
            at: Instant::now(),
            stamp,
        };
        let key: Arc<str> = key.into();
        if let Some(old) = self.maps[slot(d)].insert(key.clone(), entry) {
            self.weight -= weight(&old.links);
        }
        self.order.push_back((d, key, stamp));
    }

    fn remove(&mut self, d: Direction, key: &str) {
        if let Some(old) = self.maps[slot(d)].remove(key) {
            self.weight -= weight(&old.links);
        }
    }

    /// Drops the keys filled first until the rest fit in `capacity`.
    fn evict(&mut self, capacity: u64) {
        while self.weight > capacity {
            let Some((d, key, stamp)) = self.order.pop_front() else {
                break;
            };
            let map = &mut self.maps[slot(d)];
            if map.get(&*key).is_some_and(|e| e.stamp == stamp) {
                if let Some(old) = map.remove(&*key) {
                    self.weight -= weight(&old.links);
                }
            }
        }
        // Keys forgotten or filled again leave stale places behind.
        if self.order.len() > 2 * (self.maps[0].len() + self.maps[1].len()) + 1024 {
            let maps = &self.maps;
            self.order
                .retain(|(d, k, s)| maps[slot(*d)].get(&**k).is_some_and(|e| e.stamp == *s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(from: &str, to: &str) -> TraceLink {
        TraceLink {
            from: from.into(),
            from_role: 2,
            to: to.into(),
            to_role: 3,
            event: 1,
            event_id: "e".into(),
            event_type: "AggregationEvent".into(),
            event_time: 0,
            action: Some("ADD".into()),
            owner: 1,
            biz_step: None,
            usable: true,
            from_event: 1,
            from_owner: 1,
            from_biz_step: None,
            from_usable: true,
            transformation_id: None,
        }
    }

    fn event(keys: &[&str], tid: Option<&str>) -> NewEvent {
        NewEvent {
            keys: keys.iter().map(|k| (2, (*k).to_owned())).collect(),
            transformation_id: tid.map(str::to_owned),
            ..NewEvent::default()
        }
    }

    fn one(c: &LinkCache, key: &str, d: Direction) -> Option<Links> {
        c.get(&[key.to_owned()], d).0.remove(0)
    }

    #[test]
    fn fills_forget_and_races_lose() {
        let c = LinkCache::new(1_000, Duration::from_secs(60));
        let (_, g) = c.get(&[], Direction::Back);
        let keys = ["A".to_owned(), "B".to_owned(), "C".to_owned()];
        let filled = c.fill(
            g,
            Direction::Back,
            &keys,
            vec![link("A", "X2"), link("B", "Y"), link("A", "X1")],
        );
        assert_eq!(filled.len(), 3);
        let a = one(&c, "A", Direction::Back).unwrap();
        assert_eq!((a[0].to.as_str(), a[1].to.as_str()), ("X1", "X2"));
        assert_eq!(one(&c, "C", Direction::Back).unwrap().len(), 0);
        assert!(one(&c, "A", Direction::Forward).is_none());
        // A capture naming B forgets B only.
        c.forget(&[event(&["B"], None)]);
        assert!(one(&c, "B", Direction::Back).is_none());
        assert!(one(&c, "A", Direction::Back).is_some());
        // A fill that began before that capture is not kept (but answers its trace).
        let filled = c.fill(g, Direction::Back, &["B".to_owned()], vec![link("B", "Y")]);
        assert_eq!(filled["B"].len(), 1);
        assert!(one(&c, "B", Direction::Back).is_none());
        // A transformationID forgets everything.
        c.forget(&[event(&["Z"], Some("t-1"))]);
        assert!(one(&c, "A", Direction::Back).is_none());
        assert!(one(&c, "C", Direction::Back).is_none());
    }

    #[test]
    fn the_first_filled_leave_first_and_old_ones_expire() {
        let c = LinkCache::new(4, Duration::from_secs(60));
        let (_, g) = c.get(&[], Direction::Back);
        c.fill(g, Direction::Back, &["A".to_owned()], vec![link("A", "X")]);
        c.fill(g, Direction::Back, &["B".to_owned()], vec![link("B", "Y")]);
        c.fill(g, Direction::Back, &["C".to_owned()], vec![link("C", "Z")]);
        assert!(one(&c, "A", Direction::Back).is_none());
        assert!(one(&c, "B", Direction::Back).is_some());
        assert!(one(&c, "C", Direction::Back).is_some());
        let c = LinkCache::new(100, Duration::ZERO);
        c.fill(g, Direction::Back, &["A".to_owned()], vec![link("A", "X")]);
        assert!(one(&c, "A", Direction::Back).is_none());
    }

    #[test]
    fn a_disabled_cache_holds_nothing() {
        let c = LinkCache::new(0, Duration::from_secs(60));
        c.fill(0, Direction::Back, &["A".to_owned()], vec![link("A", "X")]);
        assert!(one(&c, "A", Direction::Back).is_none());
        c.forget(&[event(&["A"], None)]);
    }
}
