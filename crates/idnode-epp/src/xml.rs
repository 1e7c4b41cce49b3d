//! A small element tree read with quick-xml (namespaces resolved, no DTDs, bounded depth
//! and size) and a writer that escapes every text and attribute.

use quick_xml::encoding::Decoder;
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::EppError;

/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 24;
/// Most elements in one document.
const MAX_ELEMENTS: usize = 20_000;

/// One element: resolved namespace, local name, attributes (local names), text, children.
#[derive(Debug, Default, Clone)]
pub(crate) struct Element {
    pub(crate) ns: String,
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) text: String,
    pub(crate) children: Vec<Self>,
}

impl Element {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Self> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Self> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child named `name`, or a syntax error naming it.
    pub(crate) fn req(&self, name: &str) -> Result<&Self, EppError> {
        self.child(name)
            .ok_or_else(|| EppError::syntax(format!("<{}> lacks <{name}>", self.name)))
    }

    /// The trimmed text of child `name`, empty when absent.
    pub(crate) fn text_of(&self, name: &str) -> String {
        self.child(name)
            .map(|c| c.text.trim().to_owned())
            .unwrap_or_default()
    }

    /// The trimmed text of child `name`, which must be present.
    pub(crate) fn req_text(&self, name: &str) -> Result<String, EppError> {
        Ok(self.req(name)?.text.trim().to_owned())
    }

    /// An attribute by local name.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The only element child, if there is exactly one.
    pub(crate) fn only_child(&self) -> Result<&Self, EppError> {
        match self.children.as_slice() {
            [one] => Ok(one),
            _ => Err(EppError::syntax(format!(
                "<{}> must hold exactly one element",
                self.name
            ))),
        }
    }
}

fn xml_err(e: impl std::fmt::Display) -> EppError {
    EppError::Xml(e.to_string())
}

fn open(decoder: Decoder, ns: &ResolveResult<'_>, e: &BytesStart<'_>) -> Result<Element, EppError> {
    let ns = match ns {
        ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(p) => {
            return Err(EppError::Xml(format!(
                "undeclared namespace prefix {}",
                String::from_utf8_lossy(p)
            )))
        }
    };
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(xml_err)?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        if a.key.as_namespace_binding().is_some() {
            continue;
        }
        let value = a
            .decode_and_unescape_value(decoder)
            .map_err(xml_err)?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        ns,
        name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
        attrs,
        ..Element::default()
    })
}

/// Parses one document into its root element.
pub(crate) fn parse(doc: &[u8]) -> Result<Element, EppError> {
    let mut reader = NsReader::from_reader(doc);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut root = None;
    let decoder = reader.decoder();
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml_err)?;
        match event {
            Event::Start(e) => {
                if root.is_some() {
                    return Err(EppError::Xml("content after the root element".into()));
                }
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(EppError::Xml("document too deep or too large".into()));
                }
                let el = open(decoder, &ns, &e)?;
                stack.push(el);
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| EppError::Xml("stray end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(xml_err)?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(EppError::Xml("text outside the root element".into())),
                }
            }
            Event::CData(t) => {
                let el = stack
                    .last_mut()
                    .ok_or_else(|| EppError::Xml("CDATA outside the root element".into()))?;
                el.text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::DocType(_) => return Err(EppError::Xml("DOCTYPE is not allowed".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::Empty(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(EppError::Xml("unclosed element".into()));
    }
    root.ok_or_else(|| EppError::Xml("no root element".into()))
}

/// Builds a document; every text and attribute value is escaped.
#[derive(Default)]
pub(crate) struct Writer {
    out: String,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self {
            out: String::from(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#),
        }
    }

    /// `<name a="v" …>`
    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&escape(*v));
            self.out.push('"');
        }
        self.out.push('>');
        self
    }

    /// `</name>`
    pub(crate) fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name a="v"/>`
    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.open(name, attrs);
        self.out.pop();
        self.out.push_str("/>");
        self
    }

    /// `<name a="v">text</name>`
    pub(crate) fn leaf_with(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> &mut Self {
        self.open(name, attrs);
        self.out.push_str(&escape(text));
        self.close(name)
    }

    /// `<name>text</name>`
    pub(crate) fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.leaf_with(name, &[], text)
    }

    /// `<name>text</name>` unless `text` is empty.
    pub(crate) fn opt(&mut self, name: &str, text: &str) -> &mut Self {
        if !text.is_empty() {
            self.leaf(name, text);
        }
        self
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_text_and_attributes() {
        let doc = br#"<?xml version="1.0"?>
            <epp xmlns="urn:ietf:params:xml:ns:epp-1.0" xmlns:x="urn:x">
              <x:a k="1 &amp; 2"><x:b>t &lt;</x:b><x:b/><![CDATA[<raw>]]></x:a>
            </epp>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "epp");
        assert_eq!(root.ns, "urn:ietf:params:xml:ns:epp-1.0");
        let a = root.child("a").unwrap();
        assert_eq!(a.ns, "urn:x");
        assert_eq!(a.attr("k"), Some("1 & 2"));
        assert_eq!(a.all("b").count(), 2);
        assert_eq!(a.text_of("b"), "t <");
        assert_eq!(a.text, "<raw>");
    }

    #[test]
    fn refuses_doctype_bad_nesting_and_depth() {
        assert!(parse(br#"<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>"#).is_err());
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a></a><b></b>").is_err());
        assert!(parse(b"<u:a/>").is_err());
        assert!(parse(b"").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn writer_escapes() {
        let mut w = Writer::new();
        w.open("r", &[("a", "\"<&")])
            .leaf("t", "<&>")
            .empty("e", &[])
            .close("r");
        let s = w.finish();
        let root = parse(s.as_bytes()).unwrap();
        assert_eq!(root.attr("a"), Some("\"<&"));
        assert_eq!(root.text_of("t"), "<&>");
        assert!(root.child("e").is_some());
    }
}
