//! Trace back, trace forward and recall, one store query per level of the graph for the
//! links not held in memory (`links.rs`).
//!
//! Back from an item: what it contains (aggregations and associations, with the time
//! each child was inside: from its ADD or OBSERVE to its DELETE) and what it was made of
//! (transformations, by instance and by class or lot, also across events sharing a
//! transformationID). Forward: what it went into. Each node carries the time window in
//! which it matters: a child counts only while it was inside the parent reached (a part
//! taken out of a subassembly before the subassembly was packed is not on the pallet),
//! and going back through a transformation, only what was inside the input at the moment
//! it was consumed counts. A node reached again with a wider window is expanded again;
//! windows only grow, within the event times, so a cycle in the data ends.

use foldhash::{HashMap, HashMapExt};

use idnode_epcis::Role;
use idnode_registry::Principal;
use idnode_store::{EventFilter, EventOrder, Readable, TraceLink};
use serde::Serialize;

use crate::links::Links;
use crate::window::{Window, Windows};
use crate::{Result, Traceability};

/// Which way a trace goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Towards contents and inputs.
    Back,
    /// Towards containers and outputs.
    Forward,
}

/// A node of a trace: one identifier, by the key all its URI forms share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The identifier's key (canonical GS1 Digital Link, `hdl:` handle, or the URI).
    pub id: String,
    /// Steps from the root.
    pub depth: u32,
}

/// An edge: `from` (nearer the root) relates to `to` through `kind` events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The node nearer the root.
    pub from: String,
    /// The node reached.
    pub to: String,
    /// `aggregation`, `transformation` or `association`.
    pub kind: &'static str,
    /// The eventIDs behind the edge, in time order.
    pub events: Vec<String>,
    /// For containment: since when (unix ms; absent: before any event seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// For containment: until when (absent: still inside).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

/// The answer of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// The root's key.
    pub root: String,
    /// Which way.
    pub direction: Direction,
    /// Every node reached, the root first.
    pub nodes: Vec<Node>,
    /// Every edge followed.
    pub edges: Vec<Edge>,
    /// Whether the depth or node limit cut the trace short.
    pub truncated: bool,
}

/// One item of a recall.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecallItem {
    /// The item's key.
    pub id: String,
    /// Steps from the recalled lot or item.
    pub depth: u32,
    /// Whether it contains the recalled lot or item now (`false`: it did for a while, as a
    /// subassembly a part was taken out of).
    pub current: bool,
    /// It contains the lot now and is inside nothing else (the thing to pull back).
    pub outermost: bool,
    /// Its last known location (bizLocation, else readPoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Its last known disposition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
}

/// The answer of a recall.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recall {
    /// The recalled lot or item's key.
    pub recalled: String,
    /// Everything that contains it, directly or through transformations and aggregations.
    pub items: Vec<RecallItem>,
    /// Whether a limit cut the search short.
    pub truncated: bool,
}

fn kind_of(event_type: &str) -> &'static str {
    match event_type {
        "TransformationEvent" => "transformation",
        "AssociationEvent" => "association",
        "TransactionEvent" => "transaction",
        _ => "aggregation",
    }
}

/// The roles a step leaves from and arrives at.
fn roles(direction: Direction) -> (Vec<i64>, Vec<i64>) {
    let outer = [Role::Parent, Role::Output, Role::OutputClass];
    let inner = [Role::Child, Role::ChildClass, Role::Input, Role::InputClass];
    let codes = |rs: &[Role]| rs.iter().map(|r| r.code()).collect::<Vec<_>>();
    match direction {
        Direction::Back => (codes(&outer), codes(&inner)),
        Direction::Forward => (codes(&inner), codes(&outer)),
    }
}

/// A containment span for an edge: first entry, last exit (`None`: unbounded).
type Span = (Option<i64>, Option<i64>);

/// The windows in which `to` matters, reached from a node mattering in `w` through
/// `links` (one kind, time order), and the span of the containment, for the edge (`None`
/// when no link applies in `w`).
fn reach(
    direction: Direction,
    kind: &str,
    w: &Windows,
    links: &[&TraceLink],
) -> Option<(Windows, Span)> {
    let mut reached = Windows::default();
    let mut span: Option<Span> = None;
    if kind == "transformation" {
        for l in links {
            let t = l.event_time;
            let x = match direction {
                // Going back: what the input was at the moment it was consumed.
                Direction::Back if w.reaches(t) => Window::at(t),
                // Going forward: the output from its making on.
                Direction::Forward if w.contains(t) => Window::from(t),
                _ => continue,
            };
            reached.union(&Windows::of(x));
        }
    } else {
        for c in containment(links) {
            let x = w.within(c);
            if x.is_empty() {
                continue;
            }
            reached.union(&x);
            // First entry to last exit (no exit: still inside).
            span = Some(match span {
                None => (c.start, c.end),
                Some((s, e)) => (
                    s.zip(c.start).map(|(a, b)| a.min(b)),
                    e.zip(c.end).map(|(a, b)| a.max(b)),
                ),
            });
        }
    }
    (!reached.is_empty()).then(|| (reached, span.unwrap_or_default()))
}

/// The spans a child was inside a parent: from ADD or OBSERVE to DELETE.
fn containment(links: &[&TraceLink]) -> Vec<Window> {
    let mut spans = Vec::new();
    let mut open: Option<Option<i64>> = None;
    for l in links {
        let t = l.event_time;
        match l.action.as_deref() {
            Some("DELETE") => {
                let start = open.take().unwrap_or(None);
                spans.push(Window {
                    start,
                    end: Some(t),
                });
            }
            _ => {
                if open.is_none() {
                    open = Some(Some(t));
                }
            }
        }
    }
    if let Some(start) = open {
        spans.push(Window { start, end: None });
    }
    spans
}

/// The links of one step between two nodes through one kind of event: (from, to, kind).
type Group<'a> = ((&'a str, &'a str, &'static str), Vec<&'a TraceLink>);

/// A trace being built.
struct Walk {
    nodes: Vec<Node>,
    windows: HashMap<String, Windows>,
    /// The edges in the order they were found, and where each is.
    edges: Vec<Edge>,
    edge_at: HashMap<(String, String, &'static str), usize>,
    truncated: bool,
}

impl Traceability {
    /// Traces `uri` (any form of an identifier, a lot or class) `direction`, at most
    /// `depth` steps and `nodes` nodes (each capped by the service's limits).
    pub async fn trace(
        &self,
        who: &Principal,
        uri: &str,
        direction: Direction,
        depth: Option<u32>,
        nodes: Option<usize>,
    ) -> Result<Graph> {
        let readable = self.readable(who).await?;
        let depth = depth
            .unwrap_or(self.limits.trace_depth)
            .min(self.limits.trace_depth);
        let max_nodes = nodes
            .unwrap_or(self.limits.trace_nodes)
            .min(self.limits.trace_nodes);
        let (graph, _) = self
            .walk(&readable, &self.forms.key(uri), direction, depth, max_nodes)
            .await?;
        Ok(graph)
    }

    async fn walk(
        &self,
        readable: &Readable,
        root: &str,
        direction: Direction,
        depth: u32,
        max_nodes: usize,
    ) -> Result<(Graph, HashMap<String, Windows>)> {
        let (from_roles, to_roles) = roles(direction);
        let mut walk = Walk {
            nodes: vec![Node {
                id: root.to_owned(),
                depth: 0,
            }],
            windows: [(root.to_owned(), Windows::of(Window::ALWAYS))]
                .into_iter()
                .collect(),
            edges: Vec::new(),
            edge_at: HashMap::new(),
            truncated: false,
        };
        let mut frontier = vec![root.to_owned()];
        let mut level = 0;
        while !frontier.is_empty() {
            if level == depth {
                walk.truncated = true;
                break;
            }
            level += 1;
            let chunks = self
                .step_links(&frontier, direction, &from_roles, &to_roles)
                .await?;
            let links: Vec<&TraceLink> = chunks
                .iter()
                .flat_map(|c| c.iter())
                .filter(|l| l.readable_by(readable))
                .collect();
            frontier = walk.step(direction, &links, level, max_nodes);
        }
        let graph = Graph {
            root: root.to_owned(),
            direction,
            nodes: walk.nodes,
            edges: walk.edges,
            truncated: walk.truncated,
        };
        Ok((graph, walk.windows))
    }

    /// The links of one step from `frontier`, whoever reads them, key by key in frontier
    /// order: held ones, and the others from the store (then held).
    async fn step_links(
        &self,
        frontier: &[String],
        direction: Direction,
        from_roles: &[i64],
        to_roles: &[i64],
    ) -> Result<Vec<Links>> {
        let (mut found, generation) = self.links.get(frontier, direction);
        let missing: Vec<String> = frontier
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        if !missing.is_empty() {
            let fresh = self
                .store
                .trace_links(&missing, from_roles, to_roles)
                .await?;
            let mut filled = self.links.fill(generation, direction, &missing, fresh);
            for (k, f) in frontier.iter().zip(found.iter_mut()) {
                if f.is_none() {
                    *f = filled.remove(k.as_str());
                }
            }
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// Recalls `uri`: everything it went into, the outermost items marked, each with its
    /// last known location and disposition.
    pub async fn recall(&self, who: &Principal, uri: &str) -> Result<Recall> {
        let readable = self.readable(who).await?;
        let root = self.forms.key(uri);
        let (g, windows) = self
            .walk(
                &readable,
                &root,
                Direction::Forward,
                self.limits.trace_depth,
                self.limits.trace_nodes,
            )
            .await?;
        let mut items = Vec::new();
        for n in g.nodes.iter().filter(|n| n.id != root) {
            // Contains the lot still, or did only for a while (a subassembly a part left).
            let current = windows.get(&n.id).is_some_and(Windows::open);
            let inside = g
                .edges
                .iter()
                .any(|e| e.from == n.id && (e.kind == "transformation" || e.until.is_none()));
            let (location, disposition) = self.last_known(&readable, &n.id).await?;
            items.push(RecallItem {
                id: n.id.clone(),
                depth: n.depth,
                current,
                outermost: current && !inside,
                location,
                disposition,
            });
        }
        Ok(Recall {
            recalled: root,
            items,
            truncated: g.truncated,
        })
    }

    /// The last location and disposition events readable by `readable` give `key`.
    async fn last_known(
        &self,
        readable: &Readable,
        key: &str,
    ) -> Result<(Option<String>, Option<String>)> {
        let f = EventFilter {
            readable: readable.clone(),
            keys: vec![(
                Role::ALL.iter().map(|r| r.code()).collect(),
                vec![key.to_owned()],
            )],
            order: EventOrder::EventTime,
            descending: true,
            limit: 50,
            ..EventFilter::default()
        };
        let rows = self.store.events(&f).await?;
        let location = rows
            .iter()
            .find_map(|r| r.biz_location.clone().or_else(|| r.read_point.clone()));
        let disposition = rows.iter().find_map(|r| r.disposition.clone());
        Ok((location, disposition))
    }
}

impl Walk {
    /// Takes one level's links; the next frontier.
    fn step(
        &mut self,
        direction: Direction,
        links: &[&TraceLink],
        level: u32,
        max_nodes: usize,
    ) -> Vec<String> {
        // Grouped by (from, to, kind) in the order the links come (frontier order, then
        // each key's links in their fixed order): answers list nodes and edges alike on
        // every run.
        let mut at: HashMap<(&str, &str, &'static str), usize> = HashMap::new();
        let mut groups: Vec<Group<'_>> = Vec::new();
        for &l in links {
            let key = (l.from.as_str(), l.to.as_str(), kind_of(&l.event_type));
            let i = *at.entry(key).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(l);
        }
        let mut next = Vec::new();
        for ((from, to, kind), mut group) in groups {
            group.sort_by_key(|l| (l.event_time, l.event));
            let Some(w) = self.windows.get(from) else {
                continue;
            };
            let Some((reached, span)) = reach(direction, kind, w, &group) else {
                continue;
            };
            let known = self.windows.contains_key(to);
            if !known && self.nodes.len() >= max_nodes {
                self.truncated = true;
                continue;
            }
            let i = *self
                .edge_at
                .entry((from.to_owned(), to.to_owned(), kind))
                .or_insert_with(|| {
                    self.edges.push(Edge {
                        from: from.to_owned(),
                        to: to.to_owned(),
                        kind,
                        events: Vec::new(),
                        since: None,
                        until: None,
                    });
                    self.edges.len() - 1
                });
            let edge = &mut self.edges[i];
            for l in &group {
                if !edge.events.contains(&l.event_id) {
                    edge.events.push(l.event_id.clone());
                }
            }
            if kind != "transformation" {
                (edge.since, edge.until) = span;
            }
            if !known {
                self.nodes.push(Node {
                    id: to.to_owned(),
                    depth: level,
                });
                self.windows.insert(to.to_owned(), reached);
                next.push(to.to_owned());
            } else if self.windows.get_mut(to).is_some_and(|k| k.union(&reached)) {
                // Reached in more time than before: its own links are followed again.
                next.push(to.to_owned());
            }
        }
        next.sort();
        next.dedup();
        next
    }
}
