//! `[epcis]`: the traceability service's settings, and the service built from them.

use std::sync::Arc;

use idnode_epcis::IdentifierForms;
use idnode_registry::Registry;
use idnode_store::Store;
use idnode_trace::{Limits, Traceability};
use serde::{Deserialize, Serialize};

/// `[epcis]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EpcisSection {
    /// URL bases under which this node's identifiers resolve (`https://id.example.cn/`):
    /// events naming `https://id.example.cn/88.118.8/X` are found under `88.118.8/X`.
    pub base_urls: Vec<String>,
    /// Most events in one capture document.
    pub capture_events: usize,
    /// Most bytes of one capture document.
    pub capture_bytes: usize,
    /// Deepest trace, steps.
    pub trace_depth: u32,
    /// Most nodes in one trace answer.
    pub trace_nodes: usize,
    /// Most trace links held in memory (0: none).
    pub trace_cache_links: u64,
    /// Longest a held trace link is used, seconds (bounds how late traces here see
    /// captures made through another instance on the same database).
    pub trace_cache_secs: u64,
    /// Whether subscription webhooks may be on loopback or private addresses (off by
    /// default: the node posts nowhere inside its own network).
    pub webhook_private: bool,
    /// How long before a scheduled subscription's run its window of record times ends, ms
    /// (a capture still committing is not missed).
    pub schedule_settle_ms: i64,
}

impl Default for EpcisSection {
    fn default() -> Self {
        let l = Limits::default();
        Self {
            base_urls: Vec::new(),
            capture_events: l.capture_events,
            capture_bytes: l.capture_bytes,
            trace_depth: l.trace_depth,
            trace_nodes: l.trace_nodes,
            trace_cache_links: l.trace_cache_links,
            trace_cache_secs: l.trace_cache_secs,
            webhook_private: l.webhook_private,
            schedule_settle_ms: l.schedule_settle_ms,
        }
    }
}

impl EpcisSection {
    /// The service over `store`, the registry supplying lifecycle histories; `listen` (the
    /// HTTP address, whose `/{handle}` answers resolve) counts as a base URL too.
    pub fn service(
        &self,
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        listen: std::net::SocketAddr,
    ) -> Traceability {
        let limits = Limits {
            capture_events: self.capture_events.max(1),
            capture_bytes: self.capture_bytes.max(1024),
            trace_depth: self.trace_depth.max(1),
            trace_nodes: self.trace_nodes.max(1),
            trace_cache_links: self.trace_cache_links,
            trace_cache_secs: self.trace_cache_secs,
            webhook_private: self.webhook_private,
            schedule_settle_ms: self.schedule_settle_ms.max(0),
            ..Limits::default()
        };
        let mut bases = self.base_urls.clone();
        bases.push(listen.to_string());
        Traceability::new(store, registry, IdentifierForms::new(&bases), limits)
    }
}
