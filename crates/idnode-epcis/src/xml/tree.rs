//! An XML document read into a tree of elements, namespaces resolved. No DTD is processed
//! and no entity beyond XML's five expanded (quick-xml leaves them alone: an undeclared
//! entity is an error); nesting is bounded.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::invalid;
use crate::EpcisError;

/// The EPCIS 2.0 capture namespace.
pub(super) const EPCIS: &str = "urn:epcglobal:epcis:xsd:2";
/// The EPCIS 2.0 query namespace.
pub(super) const EPCIS_QUERY: &str = "urn:epcglobal:epcis-query:xsd:2";
/// The XML Schema instance namespace (`xsi:type`, `xsi:nil`).
pub(super) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Deepest element nesting read (a document is about eight levels deep; extensions nest).
const MAX_DEPTH: usize = 64;

/// An element as read: its namespace, the prefix it was written with, its local name, its
/// attributes, its child elements and its text.
#[derive(Debug, Default)]
pub(super) struct Node {
    pub(super) ns: Option<String>,
    pub(super) prefix: Option<String>,
    pub(super) name: String,
    pub(super) attrs: Vec<Attr>,
    pub(super) children: Vec<Self>,
    pub(super) text: String,
}

/// An attribute as read.
#[derive(Debug)]
pub(super) struct Attr {
    pub(super) ns: Option<String>,
    pub(super) prefix: Option<String>,
    pub(super) name: String,
    pub(super) value: String,
}

/// Whether an element is a standard one (unqualified, or in an EPCIS namespace).
pub(super) fn standard(n: &Node) -> bool {
    matches!(n.ns.as_deref(), None | Some(EPCIS) | Some(EPCIS_QUERY))
}

/// Reads the document into a tree (its root element).
pub(super) fn parse(bytes: &[u8]) -> Result<Node, EpcisError> {
    let text = std::str::from_utf8(bytes).map_err(|e| invalid("", &format!("not UTF-8: {e}")))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = Vec::new();
    let fault = |reader: &NsReader<&[u8]>, what: String| {
        invalid(
            "",
            &format!("not XML: {what} (at byte {})", reader.buffer_position()),
        )
    };
    loop {
        let (resolved, event) = match reader.read_resolved_event() {
            Ok((r, e)) => (namespace(&r), e),
            Err(e) => return Err(fault(&reader, e.to_string())),
        };
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(fault(&reader, format!("nested deeper than {MAX_DEPTH}")));
                }
                let mut node = Node {
                    ns: resolved,
                    prefix: e.name().prefix().map(|p| lossy(p.as_ref())),
                    name: lossy(e.local_name().as_ref()),
                    ..Node::default()
                };
                for a in e.attributes() {
                    let a = a.map_err(|e| fault(&reader, e.to_string()))?;
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let (ns, local) = reader.resolve_attribute(a.key);
                    let value = a
                        .unescape_value()
                        .map_err(|e| fault(&reader, e.to_string()))?;
                    node.attrs.push(Attr {
                        ns: namespace(&ns),
                        prefix: a.key.prefix().map(|p| lossy(p.as_ref())),
                        name: lossy(local.as_ref()),
                        value: value.into_owned(),
                    });
                }
                if empty {
                    if let Some(root) = close(&mut stack, node) {
                        return Ok(root);
                    }
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| fault(&reader, "stray end".into()))?;
                if let Some(root) = close(&mut stack, node) {
                    return Ok(root);
                }
            }
            Event::Text(t) => {
                let t = t.unescape().map_err(|e| fault(&reader, e.to_string()))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&lossy(&c));
                }
            }
            Event::Eof => return Err(fault(&reader, "no root element".into())),
            // Declarations, comments, processing instructions and the DOCTYPE (never
            // processed) carry no data.
            _ => {}
        }
    }
}

/// Closes an element: it joins its parent, or is the root.
fn close(stack: &mut [Node], node: Node) -> Option<Node> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(node);
            None
        }
        None => Some(node),
    }
}

fn namespace(r: &ResolveResult<'_>) -> Option<String> {
    match r {
        ResolveResult::Bound(ns) => Some(lossy(ns.as_ref())),
        _ => None,
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A node's children, reading through EPCIS 1.x `extension` and `baseExtension` wrappers.
pub(super) fn flattened(n: &Node) -> Box<dyn Iterator<Item = &Node> + '_> {
    Box::new(n.children.iter().flat_map(|c| {
        if standard(c) && (c.name == "extension" || c.name == "baseExtension") {
            flattened(c)
        } else {
            Box::new(std::iter::once(c))
        }
    }))
}

/// The first standard child named `name`.
pub(super) fn child<'a>(n: &'a Node, name: &str) -> Option<&'a Node> {
    n.children.iter().find(|c| c.name == name)
}

/// Whether an element is `xsi:nil="true"`.
pub(super) fn nil(n: &Node) -> bool {
    n.attrs
        .iter()
        .any(|a| a.ns.as_deref() == Some(XSI) && a.name == "nil" && a.value.trim() == "true")
}
