//! The binary Handle protocol front end (RFC 3652, SPEC §5): TCP and UDP servers, and the
//! service they share with `POST application/x-hdl-message` on the HTTP port. Requests go to
//! the same resolver (cache) and registry (permissions, history) as the HTTP front end.

mod challenge;
pub mod client;
pub mod keys;
mod referral;
mod service;
mod tcp;
mod udp;

pub use service::{HandleService, ServiceConfig};
pub use tcp::{serve_tcp, TcpLimits};
pub use udp::serve_udp;
