//! The DNS front end (SPEC §6): identifiers as names under the node's zone, answered over
//! UDP and TCP from the same resolver (cache, permissions) as HTTP and the Handle protocol.
//! Only publicly readable values are published: the DNS has no authentication.

mod answer;
pub mod name;
mod service;
mod tcp;
mod udp;

pub use answer::{
    slip, DnsConfig, Facts, NaptrMapping, Prepared, Responder, Step, Transport, MAX_UDP_PAYLOAD,
};
pub use service::DnsService;
pub use tcp::serve_tcp;
pub use udp::serve_udp;

/// Why the DNS front end could not answer.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] idnode_store::StoreError),
    /// The resolver failed.
    #[error(transparent)]
    Resolve(#[from] idnode_resolver::ResolveError),
}
