//! The URI forms one identifier takes in events, and the one key they are indexed under:
//! GS1 identifiers (EPC URIs, Digital Links on any domain) by their canonical Digital Link,
//! this system's handles (`hdl:88.118.8/X`, `info:hdl/88.118.8/X`, the node's own resolution
//! URLs `https://<node>/88.118.8/X`, the global proxy `https://hdl.handle.net/88.118.8/X`)
//! by `hdl:` and the case-folded handle. Every form of one identifier has the same key, so
//! all of them find the same events.

use idnode_core::Identifier;
use percent_encoding::percent_decode_str;

use crate::epc::{after_scheme, canonical_gs1};

/// The global Handle proxy, a resolution URL of every handle.
const PROXY: &str = "hdl.handle.net";

/// The node's resolution URL bases, to recognise its handles in `https://` form.
#[derive(Clone, Debug, Default)]
pub struct IdentifierForms {
    /// Host names (with port, lower case) whose paths are handles.
    hosts: Vec<String>,
}

impl IdentifierForms {
    /// Forms for a node answering on `bases` (URLs such as `https://id.example.cn/` or
    /// host names).
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(bases: I) -> Self {
        let mut hosts: Vec<String> = bases
            .into_iter()
            .filter_map(|b| host_of(b.as_ref()).map(str::to_ascii_lowercase))
            .collect();
        hosts.push(PROXY.into());
        Self { hosts }
    }

    /// The handle a URI names in one of this system's forms.
    pub fn handle(&self, uri: &str) -> Option<Identifier> {
        let uri = uri.trim();
        let text = if let Some(h) = uri.strip_prefix("hdl:") {
            h.to_owned()
        } else if let Some(h) = uri.strip_prefix("info:hdl/") {
            h.to_owned()
        } else {
            let rest = after_scheme(uri)?;
            let (host, path) = rest.split_once('/')?;
            if !self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return None;
            }
            let path = path.split(['?', '#']).next().unwrap_or_default();
            percent_decode_str(path).decode_utf8().ok()?.into_owned()
        };
        Identifier::parse(&text).ok()
    }

    /// The key events are indexed under for an identifier URI.
    pub fn key(&self, uri: &str) -> String {
        if let Some(dl) = canonical_gs1(uri) {
            return dl;
        }
        match self.handle(uri) {
            Some(h) => format!("hdl:{}", h.folded()),
            None => uri.trim().to_owned(),
        }
    }
}

/// The host (with port) of a base URL, or the text itself when it is a bare host name.
fn host_of(base: &str) -> Option<&str> {
    let rest = after_scheme(base).unwrap_or(base);
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_one_handle_has_one_key() {
        let forms = IdentifierForms::new(["https://id.example.cn/", "node.example:8443"]);
        let key = "hdl:88.118.8/gbx-2026-000123";
        for uri in [
            "hdl:88.118.8/GBX-2026-000123",
            "info:hdl/88.118.8/GBX-2026-000123",
            "https://id.example.cn/88.118.8/GBX-2026-000123",
            "https://ID.EXAMPLE.CN/88.118.8/GBX-2026-000123?noredirect",
            "http://node.example:8443/88.118.8/GBX%2D2026%2D000123",
            "https://hdl.handle.net/88.118.8/GBX-2026-000123",
            " hdl:88.118.8/gbx-2026-000123 ",
        ] {
            assert_eq!(forms.key(uri), key, "{uri}");
        }
    }

    #[test]
    fn other_uris_keep_their_own_key() {
        let forms = IdentifierForms::new(["https://id.example.cn/"]);
        assert_eq!(
            forms.key("urn:epc:id:sgtin:0614141.107346.2017"),
            "https://id.gs1.org/01/10614141073464/21/2017"
        );
        assert_eq!(
            forms.key("https://other.example/88.118.8/X"),
            "https://other.example/88.118.8/X"
        );
        assert_eq!(forms.key("urn:uuid:1"), "urn:uuid:1");
        assert!(forms.handle("https://id.example.cn/no-slash").is_none());
        assert!(forms.handle("hdl:").is_none());
    }
}
