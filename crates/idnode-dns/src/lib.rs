//! The DNS front end (SPEC §6): identifiers as names under the node's zone, answered over
//! UDP and TCP from the same resolver (cache, permissions) as HTTP and the Handle protocol.
//! Only publicly readable values are published: the DNS has no authentication.

pub mod name;
