//! Server documents: the greeting and responses (result, message queue, object data).

use serde::{Deserialize, Serialize};

use crate::command::epp_root;
use crate::identifier::IdentifierObject;
use crate::xml::{Element, Writer};
use crate::{EppError, Namespaces, Object, EPP_NS};

/// The server greeting (answer to connecting and to `<hello>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Greeting {
    /// Server name.
    pub sv_id: String,
    /// Server time (RFC 3339, UTC).
    pub sv_date: String,
    /// Protocol versions offered.
    pub versions: Vec<String>,
    /// Object URIs served.
    pub obj_uris: Vec<String>,
}

/// The message queue state in a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsgQueue {
    /// Messages queued.
    pub count: u32,
    /// Id of the message shown (or acknowledged).
    pub id: String,
    /// When it was queued.
    pub date: Option<String>,
    /// Its text.
    pub msg: Option<String>,
}

/// The top-level node's review of a prefix application (`prefix:resData` in a poll answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Client transaction id of the `prefix:create`.
    pub cl_trid: String,
    /// Server transaction id of the `prefix:create`.
    pub sv_trid: String,
    /// Enterprise.
    pub ent_id: String,
    /// The prefix reviewed.
    pub prefix: String,
    /// `1`: normal.
    pub state: String,
    /// `1`: approved; anything else is a rejection.
    pub audit_result: String,
    /// Reviewer's note.
    pub audit_msg: String,
}

impl Review {
    /// Whether the application was approved.
    pub fn approved(&self) -> bool {
        self.audit_result == "1"
    }
}

/// One answer of `identifier:check`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Availability {
    /// The name.
    pub name: String,
    /// Free to create.
    pub avail: bool,
    /// Why not.
    pub reason: Option<String>,
}

/// Object data of a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ResData {
    /// None.
    #[default]
    None,
    /// `ent:chkData`: the enterprise on file.
    EntChecked(String),
    /// `ent:creData`: the new enterprise.
    EntCreated(String),
    /// `prefix:resData`: a review result (poll).
    Review(Review),
    /// `identifier:chkData`.
    IdentifierChecked(Vec<Availability>),
    /// `identifier:infData`.
    IdentifierInfo(Box<IdentifierObject>),
}

/// A response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Result code.
    pub code: u16,
    /// Result message.
    pub msg: String,
    /// Extra reason (`extValue/reason`), if any.
    pub reason: Option<String>,
    /// Message queue state.
    pub msgq: Option<MsgQueue>,
    /// Object data.
    pub data: ResData,
    /// Echo of the client transaction id.
    pub cl_trid: Option<String>,
    /// Server transaction id.
    pub sv_trid: String,
}

/// What a server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerDocument {
    /// Greeting.
    Greeting(Greeting),
    /// Response.
    Response(Box<Response>),
}

/// How a client should treat a result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClass {
    /// 1000: done.
    Success,
    /// 1001: accepted, pending review.
    Pending,
    /// 1300: no messages.
    Empty,
    /// 1301: a message is queued.
    Queued,
    /// 1500: session ended.
    Ended,
    /// 2400 and 2500–2502: failed for now (server trouble, session closed); retry.
    Transient,
    /// Any other RFC 5730 error: the command itself was refused; retrying won't help.
    Refused,
    /// A code RFC 5730 does not define.
    Unknown,
}

/// The standard text of an RFC 5730 result code.
pub fn standard_msg(code: u16) -> Option<&'static str> {
    Some(match code {
        1000 => "Command completed successfully",
        1001 => "Command completed successfully; action pending",
        1300 => "Command completed successfully; no messages",
        1301 => "Command completed successfully; ack to dequeue",
        1500 => "Command completed successfully; ending session",
        2000 => "Unknown command",
        2001 => "Command syntax error",
        2002 => "Command use error",
        2003 => "Required parameter missing",
        2004 => "Parameter value range error",
        2005 => "Parameter value syntax error",
        2100 => "Unimplemented protocol version",
        2101 => "Unimplemented command",
        2102 => "Unimplemented option",
        2103 => "Unimplemented extension",
        2104 => "Billing failure",
        2105 => "Object is not eligible for renewal",
        2106 => "Object is not eligible for transfer",
        2200 => "Authentication error",
        2201 => "Authorization error",
        2202 => "Invalid authorization information",
        2300 => "Object pending transfer",
        2301 => "Object not pending transfer",
        2302 => "Object exists",
        2303 => "Object does not exist",
        2304 => "Object status prohibits operation",
        2305 => "Object association prohibits operation",
        2306 => "Parameter value policy error",
        2307 => "Unimplemented object service",
        2308 => "Data management policy violation",
        2400 => "Command failed",
        2500 => "Command failed; server closing connection",
        2501 => "Authentication error; server closing connection",
        2502 => "Session limit exceeded; server closing connection",
        _ => return None,
    })
}

impl CodeClass {
    /// The class of `code`.
    pub fn of(code: u16) -> Self {
        match code {
            1000 => Self::Success,
            1001 => Self::Pending,
            1300 => Self::Empty,
            1301 => Self::Queued,
            1500 => Self::Ended,
            2400 | 2500..=2502 => Self::Transient,
            c if standard_msg(c).is_some() => Self::Refused,
            _ => Self::Unknown,
        }
    }
}

impl Greeting {
    /// The greeting as XML.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::new();
        w.open("epp", &[("xmlns", EPP_NS)]).open("greeting", &[]);
        w.leaf("svID", &self.sv_id).leaf("svDate", &self.sv_date);
        w.open("svcMenu", &[]);
        for v in &self.versions {
            w.leaf("version", v);
        }
        w.leaf("lang", "en");
        for u in &self.obj_uris {
            w.leaf("objURI", u);
        }
        w.close("svcMenu");
        w.open("dcp", &[])
            .open("access", &[])
            .empty("all", &[])
            .close("access");
        w.open("statement", &[])
            .open("purpose", &[])
            .empty("admin", &[])
            .empty("prov", &[]);
        w.close("purpose")
            .open("recipient", &[])
            .empty("ours", &[])
            .close("recipient");
        w.open("retention", &[])
            .empty("stated", &[])
            .close("retention");
        w.close("statement")
            .close("dcp")
            .close("greeting")
            .close("epp");
        w.finish()
    }
}

impl Response {
    /// A response with code `code` and its standard message.
    pub fn new(code: u16, cl_trid: Option<String>, sv_trid: impl Into<String>) -> Self {
        Self {
            code,
            msg: standard_msg(code).unwrap_or("Command failed").to_owned(),
            cl_trid,
            sv_trid: sv_trid.into(),
            ..Self::default()
        }
    }

    /// The class of the result code.
    pub fn class(&self) -> CodeClass {
        CodeClass::of(self.code)
    }

    /// The response as XML.
    pub fn to_xml(&self, ns: &Namespaces) -> String {
        let mut w = Writer::new();
        w.open("epp", &[("xmlns", EPP_NS)]).open("response", &[]);
        w.open("result", &[("code", &self.code.to_string())]);
        w.leaf("msg", &self.msg);
        if let Some(r) = &self.reason {
            w.open("extValue", &[])
                .empty("value", &[])
                .leaf("reason", r);
            w.close("extValue");
        }
        w.close("result");
        if let Some(q) = &self.msgq {
            w.open("msgQ", &[("count", &q.count.to_string()), ("id", &q.id)]);
            if let Some(d) = &q.date {
                w.leaf("qDate", d);
            }
            if let Some(m) = &q.msg {
                w.leaf("msg", m);
            }
            w.close("msgQ");
        }
        self.write_data(&mut w, ns);
        w.open("trID", &[]);
        if let Some(c) = &self.cl_trid {
            w.leaf("clTRID", c);
        }
        w.leaf("svTRID", &self.sv_trid).close("trID");
        w.close("response").close("epp");
        w.finish()
    }

    fn write_data(&self, w: &mut Writer, ns: &Namespaces) {
        let open = |w: &mut Writer, el: &str, o: Object| {
            let p = el.split(':').next().unwrap_or_default();
            w.open("resData", &[]);
            w.open(el, &[(&format!("xmlns:{p}"), ns.uri(o))]);
        };
        let close = |w: &mut Writer, el: &str| {
            w.close(el).close("resData");
        };
        match &self.data {
            ResData::None => {}
            ResData::EntChecked(id) | ResData::EntCreated(id) => {
                let el = if matches!(self.data, ResData::EntChecked(_)) {
                    "ent:chkData"
                } else {
                    "ent:creData"
                };
                open(w, el, Object::Ent);
                w.leaf("ent:entId", id);
                close(w, el);
            }
            ResData::Review(r) => {
                open(w, "prefix:resData", Object::Prefix);
                w.leaf("prefix:clTRID", &r.cl_trid)
                    .leaf("prefix:svTRID", &r.sv_trid)
                    .leaf("prefix:entId", &r.ent_id)
                    .leaf("prefix:prefix", &r.prefix)
                    .leaf("prefix:state", &r.state)
                    .leaf("prefix:auditResult", &r.audit_result)
                    .leaf("prefix:auditResultMsg", &r.audit_msg);
                close(w, "prefix:resData");
            }
            ResData::IdentifierChecked(list) => {
                open(w, "identifier:chkData", Object::Identifier);
                for a in list {
                    w.open("identifier:cd", &[]);
                    let avail = if a.avail { "1" } else { "0" };
                    w.leaf_with("identifier:name", &[("avail", avail)], &a.name);
                    if let Some(r) = &a.reason {
                        w.leaf("identifier:reason", r);
                    }
                    w.close("identifier:cd");
                }
                close(w, "identifier:chkData");
            }
            ResData::IdentifierInfo(o) => {
                open(w, "identifier:infData", Object::Identifier);
                o.write(w);
                close(w, "identifier:infData");
            }
        }
    }
}

impl ServerDocument {
    /// Parses a server document (client side).
    pub fn parse(doc: &[u8], ns: &Namespaces) -> Result<Self, EppError> {
        let root = epp_root(doc)?;
        let top = root.only_child()?;
        match top.name.as_str() {
            "greeting" => Ok(Self::Greeting(Greeting {
                sv_id: top.text_of("svID"),
                sv_date: top.text_of("svDate"),
                versions: menu(top, "version"),
                obj_uris: menu(top, "objURI"),
            })),
            "response" => parse_response(top, ns).map(|r| Self::Response(Box::new(r))),
            other => Err(EppError::syntax(format!(
                "<{other}> is not a server element"
            ))),
        }
    }
}

fn menu(greeting: &Element, name: &str) -> Vec<String> {
    greeting
        .child("svcMenu")
        .map(|m| m.all(name).map(|v| v.text.trim().to_owned()).collect())
        .unwrap_or_default()
}

fn parse_response(r: &Element, ns: &Namespaces) -> Result<Response, EppError> {
    let result = r.req("result")?;
    let code: u16 = result
        .attr("code")
        .and_then(|c| c.parse().ok())
        .filter(|c| (1000..=9999).contains(c))
        .ok_or_else(|| EppError::syntax("<result> lacks a four-digit code"))?;
    let msgq = match r.child("msgQ") {
        None => None,
        Some(q) => Some(MsgQueue {
            count: q
                .attr("count")
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| EppError::syntax("<msgQ> lacks a count"))?,
            id: q.attr("id").unwrap_or_default().to_owned(),
            date: q.child("qDate").map(|d| d.text.trim().to_owned()),
            msg: q.child("msg").map(|d| d.text.trim().to_owned()),
        }),
    };
    let data = match r.child("resData") {
        None => ResData::None,
        Some(d) => parse_data(d.only_child()?, ns)?,
    };
    let tr = r.child("trID");
    Ok(Response {
        code,
        msg: result.text_of("msg"),
        reason: result
            .child("extValue")
            .map(|e| e.text_of("reason"))
            .filter(|s| !s.is_empty()),
        msgq,
        data,
        cl_trid: tr
            .and_then(|t| t.child("clTRID"))
            .map(|c| c.text.trim().to_owned()),
        sv_trid: tr.map(|t| t.text_of("svTRID")).unwrap_or_default(),
    })
}

fn parse_data(d: &Element, ns: &Namespaces) -> Result<ResData, EppError> {
    let object = ns
        .object(&d.ns)
        .ok_or_else(|| EppError::UnknownObject(d.ns.clone()))?;
    Ok(match (object, d.name.as_str()) {
        (Object::Ent, "chkData") => ResData::EntChecked(d.req_text("entId")?),
        (Object::Ent, "creData") => ResData::EntCreated(d.req_text("entId")?),
        (Object::Prefix, "resData") => ResData::Review(Review {
            cl_trid: d.text_of("clTRID"),
            sv_trid: d.text_of("svTRID"),
            ent_id: d.text_of("entId"),
            prefix: d.req_text("prefix")?,
            state: d.text_of("state"),
            audit_result: d.req_text("auditResult")?,
            audit_msg: d.text_of("auditResultMsg"),
        }),
        (Object::Identifier, "chkData") => ResData::IdentifierChecked(
            d.all("cd")
                .map(|cd| {
                    let name = cd.req("name")?;
                    Ok(Availability {
                        name: name.text.trim().to_owned(),
                        avail: matches!(name.attr("avail"), Some("1" | "true")),
                        reason: cd.child("reason").map(|r| r.text.trim().to_owned()),
                    })
                })
                .collect::<Result<_, EppError>>()?,
        ),
        (Object::Identifier, "infData") => {
            ResData::IdentifierInfo(Box::new(IdentifierObject::read(d)?))
        }
        (_, other) => return Err(EppError::syntax(format!("unknown object data <{other}>"))),
    })
}
