//! EPP (RFC 5730, framed per RFC 5734) as idnode speaks it with the national top-level node:
//! the enterprise (`ent`), enterprise-prefix (`prefix`) and identifier mappings of the CAICT
//! drafts. Documents are built and parsed here; sockets, TLS and retries live in
//! `idnode-upstream` (client) and `idnode-toplevel` (server).
//!
//! The drafts disagree on namespace URIs, so every object kind accepts a list of URIs
//! ([`Namespaces`]); the first of each list is the one written.

mod command;
mod error;
mod frame;
mod identifier;
mod response;
mod site;
mod xml;

pub use command::{Command, Document, EntChange, Request, Secret};
pub use error::EppError;
pub use frame::{body_len, encode_frame, HEADER_LEN};
pub use identifier::{
    Administrator, IdentifierChanges, IdentifierObject, IdentifierRemovals, IdentifierUpdate,
    Interface, Server, Site,
};
pub use response::{
    standard_msg, Availability, CodeClass, Greeting, MsgQueue, ResData, Response, Review,
    ServerDocument,
};

/// The EPP base namespace.
pub const EPP_NS: &str = "urn:ietf:params:xml:ns:epp-1.0";
/// Largest frame either side accepts by default (header included).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// Namespace URIs of the object mappings; the first of each list is written, all are
/// accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    /// Enterprise object (`ent`).
    pub ent: Vec<String>,
    /// Enterprise-prefix object (`prefix`).
    pub prefix: Vec<String>,
    /// Identifier object (`identifier`).
    pub identifier: Vec<String>,
}

impl Default for Namespaces {
    fn default() -> Self {
        let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Self {
            ent: v(&[
                "urn:ietf:params:xml:ns:idis-ent-1.0",
                "urn:ietf:params:xml:ns:enterprise-1.0",
            ]),
            prefix: v(&[
                "urn:ietf:params:xml:ns:idis-entprefix-1.0",
                "urn:ietf:params:xml:ns:prefix-1.0",
            ]),
            identifier: v(&["urn:ietf:params:xml:ns:identifier-1.0"]),
        }
    }
}

/// The kind of object a namespace URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Object {
    Ent,
    Prefix,
    Identifier,
}

impl Namespaces {
    pub(crate) fn object(&self, uri: &str) -> Option<Object> {
        if self.ent.iter().any(|u| u == uri) {
            Some(Object::Ent)
        } else if self.prefix.iter().any(|u| u == uri) {
            Some(Object::Prefix)
        } else if self.identifier.iter().any(|u| u == uri) {
            Some(Object::Identifier)
        } else {
            None
        }
    }

    pub(crate) fn uri(&self, o: Object) -> &str {
        let list = match o {
            Object::Ent => &self.ent,
            Object::Prefix => &self.prefix,
            Object::Identifier => &self.identifier,
        };
        list.first().map_or("", String::as_str)
    }

    /// The object URIs a client announces at login (the written one of each kind).
    pub fn login_uris(&self) -> Vec<String> {
        [Object::Ent, Object::Prefix, Object::Identifier]
            .iter()
            .map(|o| self.uri(*o).to_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests;
