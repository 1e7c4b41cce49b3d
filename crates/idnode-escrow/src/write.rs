//! Streaming deposit writer.

use std::io::Write;

use base64::Engine as _;
use idnode_core::{HandleValue, Ttl};
use quick_xml::escape::escape;

use crate::{rfc3339, DepositMeta, Kind, HANDLE_NS, HEADER_NS, INDE_NS, NODE_NS};

/// A contact person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Phone (`+CC.number`).
    pub phone: String,
    /// E-mail.
    pub email: String,
}

/// An `indeNode:node`: the secondary node (`sec`) or an enterprise node (`ent`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeObject {
    /// `sec` or `ent`.
    pub node_type: String,
    /// Its prefix.
    pub prefix: String,
    /// Name.
    pub name: String,
    /// Nature (industry).
    pub nature: String,
    /// Street address (ASCII).
    pub street: String,
    /// City.
    pub city: String,
    /// State or province.
    pub sp: String,
    /// Country code (ISO 3166 alpha-2).
    pub cc: String,
    /// Credential type (`BusinessLicense`, …).
    pub cred_type: String,
    /// Credential number (USCC).
    pub cred_no: String,
    /// Legal person's name.
    pub legal_name: String,
    /// Introduction.
    pub profile: String,
    /// Contact.
    pub contact: Contact,
    /// Registration time, unix seconds.
    pub created: i64,
}

/// An `idnh:handle`: an identifier with its values (secrets excluded by the caller).
#[derive(Debug, Clone, Copy)]
pub struct HandleObject<'a> {
    /// The handle.
    pub name: &'a str,
    /// Its values.
    pub values: &'a [HandleValue],
}

/// Writes one deposit to `W`: [`DepositWriter::begin`], objects, [`DepositWriter::finish`].
pub struct DepositWriter<W: Write> {
    w: W,
    prefix: String,
    nodes: u64,
    handles: u64,
}

fn leaf(w: &mut impl Write, tag: &str, text: &str) -> std::io::Result<()> {
    write!(w, "<{tag}>{}</{tag}>", escape(text))
}

impl<W: Write> DepositWriter<W> {
    /// Writes the deposit's opening: attributes, watermark, menu, and (DIFF) the deleted
    /// enterprise nodes and handles.
    pub fn begin(
        mut w: W,
        meta: &DepositMeta,
        deleted_nodes: &[String],
        deleted_handles: &[String],
    ) -> std::io::Result<Self> {
        write!(
            w,
            r#"<?xml version="1.0" encoding="UTF-8"?><inde:deposit xmlns:inde="{INDE_NS}" xmlns:indeNode="{NODE_NS}" xmlns:indeHeader="{HEADER_NS}" xmlns:idnh="{HANDLE_NS}" type="{}" id="{}""#,
            meta.kind.as_str(),
            escape(&meta.id)
        )?;
        if let Some(p) = &meta.prev_id {
            write!(w, r#" prevId="{}""#, escape(p))?;
        }
        write!(w, r#" resend="{}">"#, meta.resend)?;
        leaf(&mut w, "inde:watermark", &rfc3339(meta.watermark))?;
        write!(w, "<inde:indeMenu><inde:version>1.0</inde:version>")?;
        for uri in [HEADER_NS, NODE_NS, HANDLE_NS] {
            leaf(&mut w, "inde:objURI", uri)?;
        }
        write!(w, "</inde:indeMenu>")?;
        if meta.kind == Kind::Diff && (!deleted_nodes.is_empty() || !deleted_handles.is_empty()) {
            write!(w, "<inde:deletes>")?;
            if !deleted_nodes.is_empty() {
                write!(w, "<indeNode:delete>")?;
                for p in deleted_nodes {
                    leaf(&mut w, "indeNode:prefix", p)?;
                }
                write!(w, "</indeNode:delete>")?;
            }
            if !deleted_handles.is_empty() {
                write!(w, "<idnh:delete>")?;
                for h in deleted_handles {
                    leaf(&mut w, "idnh:name", h)?;
                }
                write!(w, "</idnh:delete>")?;
            }
            write!(w, "</inde:deletes>")?;
        }
        write!(w, "<inde:contents>")?;
        Ok(Self {
            w,
            prefix: meta.prefix.clone(),
            nodes: 0,
            handles: 0,
        })
    }

    /// Writes a node object.
    pub fn node(&mut self, n: &NodeObject) -> std::io::Result<()> {
        let w = &mut self.w;
        write!(w, r#"<indeNode:node type="{}">"#, escape(&n.node_type))?;
        leaf(w, "indeNode:prefix", &n.prefix)?;
        leaf(w, "indeNode:name", &n.name)?;
        leaf(w, "indeNode:nature", &n.nature)?;
        write!(w, "<indeNode:addr>")?;
        leaf(w, "indeNode:street", &n.street)?;
        leaf(w, "indeNode:city", &n.city)?;
        leaf(w, "indeNode:sp", &n.sp)?;
        leaf(w, "indeNode:cc", &n.cc)?;
        write!(w, r#"</indeNode:addr><indeNode:cred type="ent">"#)?;
        leaf(w, "indeNode:credType", &n.cred_type)?;
        leaf(w, "indeNode:credNo", &n.cred_no)?;
        write!(w, "</indeNode:cred>")?;
        leaf(w, "indeNode:legName", &n.legal_name)?;
        leaf(w, "indeNode:profile", &n.profile)?;
        write!(w, "<indeNode:contact>")?;
        leaf(w, "indeNode:name", &n.contact.name)?;
        leaf(w, "indeNode:phone", &n.contact.phone)?;
        leaf(w, "indeNode:email", &n.contact.email)?;
        write!(w, "</indeNode:contact>")?;
        leaf(w, "indeNode:crDate", &rfc3339(n.created))?;
        write!(w, "</indeNode:node>")?;
        self.nodes += 1;
        Ok(())
    }

    /// Writes a handle object.
    pub fn handle(&mut self, h: HandleObject<'_>) -> std::io::Result<()> {
        let w = &mut self.w;
        write!(w, "<idnh:handle>")?;
        leaf(w, "idnh:name", h.name)?;
        let b64 = base64::engine::general_purpose::STANDARD;
        for v in h.values {
            let ttl = match v.ttl {
                Ttl::Relative(s) => s.to_string(),
                Ttl::Absolute(t) => format!("@{t}"),
            };
            write!(
                w,
                r#"<idnh:value index="{}" type="{}" ttl="{ttl}" perms="{}" ts="{}">{}</idnh:value>"#,
                v.index,
                escape(&v.type_name),
                v.permissions.to_rest(),
                v.timestamp,
                b64.encode(&v.data)
            )?;
        }
        write!(w, "</idnh:handle>")?;
        self.handles += 1;
        Ok(())
    }

    /// Writes the header (the object counts) and closes the deposit; returns the writer
    /// and the counts (nodes, handles).
    pub fn finish(mut self) -> std::io::Result<(W, u64, u64)> {
        let w = &mut self.w;
        write!(w, "<indeHeader:header>")?;
        leaf(w, "indeHeader:prefix", &self.prefix)?;
        write!(
            w,
            r#"<indeHeader:count uri="{NODE_NS}">{}</indeHeader:count><indeHeader:count uri="{HANDLE_NS}">{}</indeHeader:count>"#,
            self.nodes, self.handles
        )?;
        write!(w, "</indeHeader:header></inde:contents></inde:deposit>")?;
        w.flush()?;
        Ok((self.w, self.nodes, self.handles))
    }
}
