//! The identifier object of draft-chen-epp-identifier-mapping: name, type, contacts, URLs,
//! administrators (HS_ADMIN keys) and sites (HS_SITE).

use serde::{Deserialize, Serialize};

use crate::xml::{Element, Writer};
use crate::EppError;

/// An administrator: an authentication key and what it may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Administrator {
    /// Index of the key (`adminIndex`).
    pub index: u32,
    /// `dsa_pub_key`, `rsa_pub_key` or `secret_key`.
    pub key_type: String,
    /// The key, base64.
    pub key: String,
    /// Permissions (`add_handle`, `modify_value`, …).
    pub permissions: Vec<String>,
}

/// A service interface of a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// `query` or `admin`.
    pub service: String,
    /// `tcp`, `udp` or `http`.
    pub protocol: String,
    /// Port.
    pub port: u16,
}

/// One server of a site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    /// Server id.
    pub id: u32,
    /// IPv4 or IPv6 addresses (text).
    pub addrs: Vec<String>,
    /// The server's public key: type and base64 data.
    pub key: Option<(String, String)>,
    /// Interfaces.
    pub interfaces: Vec<Interface>,
}

/// A site (HS_SITE) serving the identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// Index of the HS_SITE value.
    pub index: u32,
    /// Protocol version (`2.10`).
    pub protocol_version: String,
    /// Servers.
    pub servers: Vec<Server>,
}

/// An identifier object (`identifier:create`, `identifier:infData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierObject {
    /// The identifier (`88.118.8` or `88.118.8/GBX-1`).
    pub name: String,
    /// `handle`, `oid`, `ecode`, `epc` or `other`.
    pub kind: String,
    /// Status values (infData only).
    pub status: Vec<String>,
    /// Contacts: type (`admin`, `billing`, `tech` or empty) and client id.
    pub contacts: Vec<(String, String)>,
    /// URLs.
    pub urls: Vec<String>,
    /// Administrators.
    pub admins: Vec<Administrator>,
    /// Sites.
    pub sites: Vec<Site>,
}

/// What an `identifier:update` adds (`add`) or changes (`chg`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierChanges {
    /// Contacts (add only).
    pub contacts: Vec<(String, String)>,
    /// URLs (add only).
    pub urls: Vec<String>,
    /// Administrators.
    pub admins: Vec<Administrator>,
    /// Sites.
    pub sites: Vec<Site>,
    /// New status (chg only).
    pub status: Option<String>,
}

/// What an `identifier:update` removes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierRemovals {
    /// Contacts.
    pub contacts: Vec<(String, String)>,
    /// URLs.
    pub urls: Vec<String>,
    /// Administrator indexes.
    pub admin_indexes: Vec<u32>,
    /// Site indexes.
    pub site_indexes: Vec<u32>,
}

/// An `identifier:update`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierUpdate {
    /// The identifier.
    pub name: String,
    /// Added parts.
    pub add: IdentifierChanges,
    /// Removed parts.
    pub rem: IdentifierRemovals,
    /// Changed parts.
    pub chg: IdentifierChanges,
}

impl IdentifierChanges {
    fn is_empty(&self) -> bool {
        self.contacts.is_empty()
            && self.urls.is_empty()
            && self.admins.is_empty()
            && self.sites.is_empty()
            && self.status.is_none()
    }
}

impl IdentifierRemovals {
    fn is_empty(&self) -> bool {
        self.contacts.is_empty()
            && self.urls.is_empty()
            && self.admin_indexes.is_empty()
            && self.site_indexes.is_empty()
    }
}

const P: &str = "identifier:";

fn tag(name: &str) -> String {
    format!("{P}{name}")
}

fn write_contacts(w: &mut Writer, contacts: &[(String, String)]) {
    for (kind, id) in contacts {
        if kind.is_empty() {
            w.leaf(&tag("contact"), id);
        } else {
            w.leaf_with(&tag("contact"), &[("type", kind)], id);
        }
    }
}

fn write_admin(w: &mut Writer, a: &Administrator) {
    w.open(&tag("administrator"), &[]);
    w.leaf(&tag("adminIndex"), &a.index.to_string());
    w.leaf_with(&tag("pubkey"), &[("type", &a.key_type)], &a.key);
    w.open(&tag("permissionList"), &[]);
    for p in &a.permissions {
        w.leaf(&tag("permission"), p);
    }
    w.close(&tag("permissionList"));
    w.close(&tag("administrator"));
}

fn write_site(w: &mut Writer, s: &Site) {
    w.open(&tag("siteInfo"), &[]);
    w.leaf(&tag("siteIndex"), &s.index.to_string());
    w.leaf(&tag("protocolVersion"), &s.protocol_version);
    for server in &s.servers {
        w.open(&tag("serviceInfo"), &[]);
        w.leaf(&tag("serverID"), &server.id.to_string());
        for a in &server.addrs {
            let ip = if a.contains(':') { "v6" } else { "v4" };
            w.leaf_with(&tag("addr"), &[("ip", ip)], a);
        }
        if let Some((kind, key)) = &server.key {
            w.leaf_with(&tag("pubkey"), &[("type", kind)], key);
        }
        for i in &server.interfaces {
            w.open(&tag("serviceInterfaces"), &[]);
            w.leaf(&tag("serviceType"), &i.service);
            w.leaf(&tag("protocol"), &i.protocol);
            w.leaf(&tag("port"), &i.port.to_string());
            w.close(&tag("serviceInterfaces"));
        }
        w.close(&tag("serviceInfo"));
    }
    w.close(&tag("siteInfo"));
}

fn write_lists(w: &mut Writer, admins: &[Administrator], sites: &[Site]) {
    if !admins.is_empty() {
        w.open(&tag("administratorList"), &[]);
        admins.iter().for_each(|a| write_admin(w, a));
        w.close(&tag("administratorList"));
    }
    if !sites.is_empty() {
        w.open(&tag("siteList"), &[]);
        sites.iter().for_each(|s| write_site(w, s));
        w.close(&tag("siteList"));
    }
}

impl IdentifierObject {
    /// Writes the object's children (inside `create` or `infData`).
    pub(crate) fn write(&self, w: &mut Writer) {
        w.leaf(&tag("name"), &self.name);
        w.leaf(&tag("type"), &self.kind);
        for s in &self.status {
            w.empty(&tag("status"), &[("s", s)]);
        }
        write_contacts(w, &self.contacts);
        for u in &self.urls {
            w.leaf(&tag("url"), u);
        }
        write_lists(w, &self.admins, &self.sites);
    }

    /// Reads the object from a `create` or `infData` element.
    pub(crate) fn read(e: &Element) -> Result<Self, EppError> {
        let name = e.req_text("name")?;
        check_name(&name)?;
        Ok(Self {
            name,
            kind: e.text_of("type"),
            status: e
                .all("status")
                .filter_map(|s| s.attr("s").map(str::to_owned))
                .collect(),
            contacts: read_contacts(e),
            urls: e.all("url").map(|u| u.text.trim().to_owned()).collect(),
            admins: match e.child("administratorList") {
                Some(l) => l
                    .all("administrator")
                    .map(read_admin)
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
            sites: match e.child("siteList") {
                Some(l) => l.all("siteInfo").map(read_site).collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
        })
    }
}

impl IdentifierUpdate {
    pub(crate) fn write(&self, w: &mut Writer) {
        w.leaf(&tag("name"), &self.name);
        if !self.add.is_empty() {
            w.open(&tag("add"), &[]);
            write_contacts(w, &self.add.contacts);
            for u in &self.add.urls {
                w.leaf(&tag("url"), u);
            }
            self.add.admins.iter().for_each(|a| write_admin(w, a));
            self.add.sites.iter().for_each(|s| write_site(w, s));
            w.close(&tag("add"));
        }
        if !self.rem.is_empty() {
            w.open(&tag("rem"), &[]);
            write_contacts(w, &self.rem.contacts);
            for u in &self.rem.urls {
                w.leaf(&tag("url"), u);
            }
            for i in &self.rem.admin_indexes {
                w.leaf(&tag("adminIndex"), &i.to_string());
            }
            for i in &self.rem.site_indexes {
                w.leaf(&tag("siteIndex"), &i.to_string());
            }
            w.close(&tag("rem"));
        }
        if !self.chg.is_empty() {
            w.open(&tag("chg"), &[]);
            if let Some(s) = &self.chg.status {
                w.empty(&tag("status"), &[("s", s)]);
            }
            self.chg.admins.iter().for_each(|a| write_admin(w, a));
            self.chg.sites.iter().for_each(|s| write_site(w, s));
            w.close(&tag("chg"));
        }
    }

    pub(crate) fn read(e: &Element) -> Result<Self, EppError> {
        let name = e.req_text("name")?;
        check_name(&name)?;
        let changes = |part: Option<&Element>| -> Result<IdentifierChanges, EppError> {
            let Some(p) = part else {
                return Ok(IdentifierChanges::default());
            };
            Ok(IdentifierChanges {
                contacts: read_contacts(p),
                urls: p.all("url").map(|u| u.text.trim().to_owned()).collect(),
                admins: p
                    .all("administrator")
                    .map(read_admin)
                    .collect::<Result<_, _>>()?,
                sites: p.all("siteInfo").map(read_site).collect::<Result<_, _>>()?,
                status: p
                    .child("status")
                    .and_then(|s| s.attr("s"))
                    .map(str::to_owned),
            })
        };
        let rem = match e.child("rem") {
            None => IdentifierRemovals::default(),
            Some(r) => IdentifierRemovals {
                contacts: read_contacts(r),
                urls: r.all("url").map(|u| u.text.trim().to_owned()).collect(),
                admin_indexes: r.all("adminIndex").map(number).collect::<Result<_, _>>()?,
                site_indexes: r.all("siteIndex").map(number).collect::<Result<_, _>>()?,
            },
        };
        let update = Self {
            name,
            add: changes(e.child("add"))?,
            rem,
            chg: changes(e.child("chg"))?,
        };
        if update.add.is_empty() && update.rem.is_empty() && update.chg.is_empty() {
            return Err(EppError::syntax("identifier:update needs add, rem or chg"));
        }
        Ok(update)
    }
}

/// Checks an identifier name: 1 to 255 bytes (eppcom:labelType).
pub(crate) fn check_name(name: &str) -> Result<(), EppError> {
    if name.is_empty() || name.len() > 255 {
        return Err(EppError::syntax("an identifier name has 1 to 255 bytes"));
    }
    Ok(())
}

fn number<T: std::str::FromStr>(e: &Element) -> Result<T, EppError> {
    e.text
        .trim()
        .parse()
        .map_err(|_| EppError::syntax(format!("<{}> is not a number", e.name)))
}

fn read_contacts(e: &Element) -> Vec<(String, String)> {
    e.all("contact")
        .map(|c| {
            (
                c.attr("type").unwrap_or_default().to_owned(),
                c.text.trim().to_owned(),
            )
        })
        .collect()
}

fn read_admin(e: &Element) -> Result<Administrator, EppError> {
    let key = e.req("pubkey")?;
    Ok(Administrator {
        index: number(e.req("adminIndex")?)?,
        key_type: key.attr("type").unwrap_or_default().to_owned(),
        key: key.text.trim().to_owned(),
        permissions: e
            .child("permissionList")
            .map(|l| {
                l.all("permission")
                    .map(|p| p.text.trim().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn read_site(e: &Element) -> Result<Site, EppError> {
    let servers = e
        .all("serviceInfo")
        .map(|s| {
            Ok(Server {
                id: number(s.req("serverID")?)?,
                addrs: s.all("addr").map(|a| a.text.trim().to_owned()).collect(),
                key: s.child("pubkey").map(|k| {
                    (
                        k.attr("type").unwrap_or_default().to_owned(),
                        k.text.trim().to_owned(),
                    )
                }),
                interfaces: s
                    .all("serviceInterfaces")
                    .map(|i| {
                        Ok(Interface {
                            service: i.req_text("serviceType")?,
                            protocol: i.req_text("protocol")?,
                            port: number(i.req("port")?)?,
                        })
                    })
                    .collect::<Result<_, EppError>>()?,
            })
        })
        .collect::<Result<_, EppError>>()?;
    Ok(Site {
        index: number(e.req("siteIndex")?)?,
        protocol_version: e.text_of("protocolVersion"),
        servers,
    })
}
