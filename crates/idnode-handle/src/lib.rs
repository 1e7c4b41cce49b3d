//! The binary Handle protocol front end (RFC 3652, SPEC §5): TCP and UDP servers, and the
//! service they share with `POST application/x-hdl-message` on the HTTP port. Requests go to
//! the same resolver (cache) and registry (permissions, history) as the HTTP front end.

mod challenge;
pub mod client;
mod dispatch;
mod exchange;
mod identity;
pub mod keys;
mod posted;
mod referral;
mod secure;
pub mod server_key;
mod service;
pub mod session;
mod tcp;
mod udp;

pub use posted::MAX_POSTED;
pub use service::{Client, HandleService, ServiceConfig};
pub use tcp::{serve_tcp, TcpLimits};
pub use udp::serve_udp;
