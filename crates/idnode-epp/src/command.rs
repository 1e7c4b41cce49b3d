//! Client documents: `<hello>` and commands (login, logout, the object commands, poll).

use idnode_core::{Contact, EnterpriseProfile, LegalPerson};

use crate::identifier::{check_name, IdentifierObject, IdentifierUpdate};
use crate::xml::{self, Element, Writer};
use crate::{EppError, Namespaces, Object, EPP_NS};

/// A password that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How `ent:update` changes an enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntChange {
    /// Full update (`chgAll`): every field, required when core data changes.
    All {
        /// The secondary node's prefix.
        shr_prefix: String,
        /// The complete material.
        profile: Box<EnterpriseProfile>,
    },
    /// Incremental update (`chg`) of contact, address, codes, English name, site, description;
    /// empty fields are left out.
    Partial {
        /// The secondary node's user in charge.
        shr_user_id: String,
        /// The changed material.
        profile: Box<EnterpriseProfile>,
    },
}

/// An EPP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Opens a session.
    Login {
        /// Client id.
        cl_id: String,
        /// Password.
        pw: Secret,
        /// Object URIs the client will use.
        obj_uris: Vec<String>,
    },
    /// Ends the session.
    Logout,
    /// Is this enterprise on file? (answer: its `entId`)
    EntCheck {
        /// The secondary node's user in charge.
        shr_user_id: String,
        /// Certificate type (`1`: Unified Social Credit Code).
        crt_type: String,
        /// Certificate code.
        crt_code: String,
    },
    /// Registers an enterprise (answer: its `entId`).
    EntCreate {
        /// The secondary node's prefix.
        shr_prefix: String,
        /// The material.
        profile: Box<EnterpriseProfile>,
    },
    /// Changes an enterprise.
    EntUpdate {
        /// The enterprise.
        ent_id: String,
        /// The change.
        change: EntChange,
    },
    /// Is this prefix free?
    PrefixCheck {
        /// The secondary node's prefix.
        shr_prefix: String,
        /// The prefix asked for.
        prefix: String,
    },
    /// Applies for an enterprise prefix (the review result comes by poll).
    PrefixCreate {
        /// The secondary node's prefix.
        shr_prefix: String,
        /// The enterprise.
        ent_id: String,
        /// The prefix asked for.
        prefix: String,
    },
    /// Asks for the next queued message.
    PollReq,
    /// Dequeues a message.
    PollAck {
        /// Its id (`msgQ/@id`).
        msg_id: String,
    },
    /// Are these identifiers free?
    IdentifierCheck {
        /// Names.
        names: Vec<String>,
    },
    /// An identifier object.
    IdentifierInfo {
        /// Name.
        name: String,
    },
    /// Provisions an identifier object.
    IdentifierCreate(Box<IdentifierObject>),
    /// Changes an identifier object.
    IdentifierUpdate(Box<IdentifierUpdate>),
    /// Removes an identifier object.
    IdentifierDelete {
        /// Name.
        name: String,
    },
}

/// A command with its client transaction id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The command.
    pub command: Command,
    /// Client transaction id: unique per action, reused on redelivery so the server can
    /// answer a repeat without applying it twice.
    pub cl_trid: String,
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// `<hello/>` (keep-alive; answered with a greeting).
    Hello,
    /// A command.
    Command(Request),
}

fn write_profile(w: &mut Writer, p: &EnterpriseProfile, full: bool) {
    let t = |n: &str| format!("ent:{n}");
    let field = |w: &mut Writer, n: &str, v: &str| {
        if full {
            w.leaf(&t(n), v);
        } else {
            w.opt(&t(n), v);
        }
    };
    if full {
        field(w, "entType", &p.ent_type);
        field(w, "entCrCode", &p.credit_code);
        field(w, "entCrtImg", &p.cert_img);
        field(w, "entCrtImgType", &p.cert_img_type);
        field(w, "entNameCn", &p.name_cn);
    }
    field(w, "entProvinceCode", &p.province);
    field(w, "entCityCode", &p.city);
    field(w, "entCountyCode", &p.county);
    field(w, "entAddrCn", &p.addr_cn);
    field(w, "entNameEn", &p.name_en);
    field(w, "entAddrEn", &p.addr_en);
    field(w, "entWebSite", &p.website);
    field(w, "entDesc", &p.description);
    if full || !p.contact.name.is_empty() {
        w.open(&t("contact"), &[]);
        w.leaf(&t("name"), &p.contact.name);
        w.leaf(&t("email"), &p.contact.email);
        w.leaf(&t("phone"), &p.contact.phone);
        w.close(&t("contact"));
    }
    if full {
        let l = &p.legal_person;
        w.open(&t("legalPerson"), &[]);
        w.leaf(&t("name"), &l.name);
        w.leaf(&t("idType"), &l.id_type);
        w.leaf(&t("idNo"), &l.id_no);
        w.leaf(&t("idImgType"), &l.id_img_type);
        w.leaf(&t("idImg"), &l.id_img);
        w.close(&t("legalPerson"));
    }
}

fn read_profile(e: &Element) -> EnterpriseProfile {
    let contact = e
        .child("contact")
        .map_or_else(Contact::default, |c| Contact {
            name: c.text_of("name"),
            email: c.text_of("email"),
            phone: c.text_of("phone"),
        });
    let legal_person = e
        .child("legalPerson")
        .map_or_else(LegalPerson::default, |l| LegalPerson {
            name: l.text_of("name"),
            id_type: l.text_of("idType"),
            id_no: l.text_of("idNo"),
            id_img_type: l.text_of("idImgType"),
            id_img: l.text_of("idImg"),
        });
    EnterpriseProfile {
        ent_type: e.text_of("entType"),
        credit_code: e.text_of("entCrCode"),
        cert_img: e.text_of("entCrtImg"),
        cert_img_type: e.text_of("entCrtImgType"),
        name_cn: e.text_of("entNameCn"),
        province: e.text_of("entProvinceCode"),
        city: e.text_of("entCityCode"),
        county: e.text_of("entCountyCode"),
        addr_cn: e.text_of("entAddrCn"),
        name_en: e.text_of("entNameEn"),
        addr_en: e.text_of("entAddrEn"),
        website: e.text_of("entWebSite"),
        description: e.text_of("entDesc"),
        nature: String::new(),
        contact,
        legal_person,
    }
}

/// `<login>` with the EPP version, language and the object URIs of the session.
fn write_login(w: &mut Writer, cl_id: &str, pw: &str, obj_uris: &[String]) {
    w.open("login", &[]).leaf("clID", cl_id).leaf("pw", pw);
    w.open("options", &[])
        .leaf("version", "1.0")
        .leaf("lang", "en");
    w.close("options").open("svcs", &[]);
    for u in obj_uris {
        w.leaf("objURI", u);
    }
    w.close("svcs").close("login");
}

/// The body of `<ent:update>`: all material (`chgAll`) or the fields that change (`chg`).
fn write_ent_update(w: &mut Writer, ent_id: &str, change: &EntChange) {
    match change {
        EntChange::All {
            shr_prefix,
            profile,
        } => {
            w.leaf("ent:shrPrefix", shr_prefix)
                .leaf("ent:entId", ent_id);
            w.open("ent:chgAll", &[]);
            write_profile(w, profile, true);
            w.close("ent:chgAll");
        }
        EntChange::Partial {
            shr_user_id,
            profile,
        } => {
            w.leaf("ent:shrUserId", shr_user_id)
                .leaf("ent:entId", ent_id);
            w.open("ent:chg", &[]);
            write_profile(w, profile, false);
            w.close("ent:chg");
        }
    }
}

impl Request {
    /// The command as an EPP document.
    pub fn to_xml(&self, ns: &Namespaces) -> String {
        let mut w = Writer::new();
        w.open("epp", &[("xmlns", EPP_NS)]).open("command", &[]);
        let obj = |w: &mut Writer, verb: &str, o: Object, body: &dyn Fn(&mut Writer)| {
            let p = match o {
                Object::Ent => "ent",
                Object::Prefix => "prefix",
                Object::Identifier => "identifier",
            };
            let el = format!("{p}:{verb}");
            w.open(verb, &[]);
            w.open(&el, &[(&format!("xmlns:{p}"), ns.uri(o))]);
            body(w);
            w.close(&el);
            w.close(verb);
        };
        match &self.command {
            Command::Login {
                cl_id,
                pw,
                obj_uris,
            } => write_login(&mut w, cl_id, &pw.0, obj_uris),
            Command::Logout => {
                w.empty("logout", &[]);
            }
            Command::EntCheck {
                shr_user_id,
                crt_type,
                crt_code,
            } => obj(&mut w, "check", Object::Ent, &|w| {
                w.leaf("ent:shrUserId", shr_user_id)
                    .leaf("ent:entCrtType", crt_type)
                    .leaf("ent:entCrtCode", crt_code);
            }),
            Command::EntCreate {
                shr_prefix,
                profile,
            } => obj(&mut w, "create", Object::Ent, &|w| {
                w.leaf("ent:shrPrefix", shr_prefix);
                write_profile(w, profile, true);
            }),
            Command::EntUpdate { ent_id, change } => {
                obj(&mut w, "update", Object::Ent, &|w| {
                    write_ent_update(w, ent_id, change)
                });
            }
            Command::PrefixCheck { shr_prefix, prefix } => {
                obj(&mut w, "check", Object::Prefix, &|w| {
                    w.leaf("prefix:shrPrefix", shr_prefix)
                        .leaf("prefix:prefix", prefix);
                });
            }
            Command::PrefixCreate {
                shr_prefix,
                ent_id,
                prefix,
            } => obj(&mut w, "create", Object::Prefix, &|w| {
                w.leaf("prefix:shrPrefix", shr_prefix)
                    .leaf("prefix:entId", ent_id)
                    .leaf("prefix:prefix", prefix);
            }),
            Command::PollReq => {
                w.empty("poll", &[("op", "req")]);
            }
            Command::PollAck { msg_id } => {
                w.empty("poll", &[("op", "ack"), ("msgID", msg_id)]);
            }
            Command::IdentifierCheck { names } => {
                obj(&mut w, "check", Object::Identifier, &|w| {
                    for n in names {
                        w.leaf("identifier:name", n);
                    }
                });
            }
            Command::IdentifierInfo { name } => obj(&mut w, "info", Object::Identifier, &|w| {
                w.leaf("identifier:name", name);
            }),
            Command::IdentifierCreate(o) => {
                obj(&mut w, "create", Object::Identifier, &|w| o.write(w));
            }
            Command::IdentifierUpdate(u) => {
                obj(&mut w, "update", Object::Identifier, &|w| u.write(w));
            }
            Command::IdentifierDelete { name } => {
                obj(&mut w, "delete", Object::Identifier, &|w| {
                    w.leaf("identifier:name", name);
                });
            }
        }
        w.leaf("clTRID", &self.cl_trid)
            .close("command")
            .close("epp");
        w.finish()
    }
}

/// The `<epp>` root of a document, checked.
pub(crate) fn epp_root(doc: &[u8]) -> Result<Element, EppError> {
    let root = xml::parse(doc)?;
    if root.name != "epp" || !(root.ns == EPP_NS || root.ns.is_empty()) {
        return Err(EppError::syntax(format!(
            "root element <{}> in namespace '{}' is not <epp>",
            root.name, root.ns
        )));
    }
    Ok(root)
}

impl Document {
    /// Parses a client document (server side).
    pub fn parse(doc: &[u8], ns: &Namespaces) -> Result<Self, EppError> {
        let root = epp_root(doc)?;
        let top = root.only_child()?;
        match top.name.as_str() {
            "hello" => Ok(Self::Hello),
            "command" => parse_command(top, ns).map(Self::Command),
            other => Err(EppError::syntax(format!(
                "<{other}> is not a client element"
            ))),
        }
    }

    /// The document as XML (client side).
    pub fn to_xml(&self, ns: &Namespaces) -> String {
        match self {
            Self::Hello => {
                let mut w = Writer::new();
                w.open("epp", &[("xmlns", EPP_NS)])
                    .empty("hello", &[])
                    .close("epp");
                w.finish()
            }
            Self::Command(r) => r.to_xml(ns),
        }
    }
}

fn parse_command(cmd: &Element, ns: &Namespaces) -> Result<Request, EppError> {
    let cl_trid = cmd.text_of("clTRID");
    if cl_trid.len() > 64 {
        return Err(EppError::syntax("clTRID has at most 64 characters"));
    }
    let verb = cmd
        .children
        .iter()
        .find(|c| c.name != "clTRID" && c.name != "extension")
        .ok_or_else(|| EppError::syntax("<command> holds no command"))?;
    let command = match verb.name.as_str() {
        "login" => Command::Login {
            cl_id: verb.req_text("clID")?,
            pw: Secret(verb.req_text("pw")?),
            obj_uris: verb
                .child("svcs")
                .map(|s| s.all("objURI").map(|u| u.text.trim().to_owned()).collect())
                .unwrap_or_default(),
        },
        "logout" => Command::Logout,
        "poll" => match verb.attr("op") {
            Some("req") => Command::PollReq,
            Some("ack") => Command::PollAck {
                msg_id: verb
                    .attr("msgID")
                    .ok_or_else(|| EppError::syntax("poll ack lacks msgID"))?
                    .to_owned(),
            },
            _ => return Err(EppError::syntax("poll op is req or ack")),
        },
        v @ ("check" | "info" | "create" | "update" | "delete") => {
            let body = verb.only_child()?;
            let object = ns
                .object(&body.ns)
                .ok_or_else(|| EppError::UnknownObject(body.ns.clone()))?;
            object_command(v, object, body)?
        }
        other => return Err(EppError::syntax(format!("unknown command <{other}>"))),
    };
    Ok(Request { command, cl_trid })
}

fn object_command(verb: &str, object: Object, b: &Element) -> Result<Command, EppError> {
    Ok(match (object, verb) {
        (Object::Ent, "check") => Command::EntCheck {
            shr_user_id: b.text_of("shrUserId"),
            crt_type: b.text_of("entCrtType"),
            crt_code: b.req_text("entCrtCode")?,
        },
        (Object::Ent, "create") => Command::EntCreate {
            shr_prefix: b.req_text("shrPrefix")?,
            profile: Box::new(read_profile(b)),
        },
        (Object::Ent, "update") => {
            let ent_id = b.req_text("entId")?;
            let change = if let Some(all) = b.child("chgAll") {
                EntChange::All {
                    shr_prefix: b.req_text("shrPrefix")?,
                    profile: Box::new(read_profile(all)),
                }
            } else {
                EntChange::Partial {
                    shr_user_id: b.text_of("shrUserId"),
                    profile: Box::new(read_profile(b.req("chg")?)),
                }
            };
            Command::EntUpdate { ent_id, change }
        }
        (Object::Prefix, "check") => Command::PrefixCheck {
            shr_prefix: b.req_text("shrPrefix")?,
            prefix: b.req_text("prefix")?,
        },
        (Object::Prefix, "create") => Command::PrefixCreate {
            shr_prefix: b.req_text("shrPrefix")?,
            ent_id: b.req_text("entId")?,
            prefix: b.req_text("prefix")?,
        },
        (Object::Identifier, "check") => {
            let names: Vec<String> = b.all("name").map(|n| n.text.trim().to_owned()).collect();
            if names.is_empty() {
                return Err(EppError::syntax("identifier:check names no identifier"));
            }
            names.iter().try_for_each(|n| check_name(n))?;
            Command::IdentifierCheck { names }
        }
        (Object::Identifier, "info") => Command::IdentifierInfo {
            name: b.req_text("name")?,
        },
        (Object::Identifier, "create") => {
            Command::IdentifierCreate(Box::new(IdentifierObject::read(b)?))
        }
        (Object::Identifier, "update") => {
            Command::IdentifierUpdate(Box::new(IdentifierUpdate::read(b)?))
        }
        (Object::Identifier, "delete") => Command::IdentifierDelete {
            name: b.req_text("name")?,
        },
        (o, v) => {
            return Err(EppError::UnknownObject(format!(
                "{v} is not defined for the {o:?} object"
            )))
        }
    })
}
