use idnode_core::{Contact, EnterpriseProfile, LegalPerson};
use proptest::prelude::*;

use crate::*;

fn profile() -> EnterpriseProfile {
    EnterpriseProfile {
        ent_type: "1".into(),
        credit_code: "91500000MA5U0000X1".into(),
        cert_img: "aGVsbG8=".into(),
        cert_img_type: "png".into(),
        name_cn: "重庆阀门 & 管件有限公司".into(),
        province: "500000".into(),
        city: "500100".into(),
        county: "500103".into(),
        addr_cn: "重庆市渝中区 <1> 号".into(),
        name_en: "Chongqing Valve".into(),
        addr_en: "1 Road".into(),
        website: "https://valve.example".into(),
        description: "valves".into(),
        nature: String::new(),
        contact: Contact {
            name: "Li".into(),
            email: "li@valve.example".into(),
            phone: "+86.2300000000".into(),
        },
        legal_person: LegalPerson {
            name: "Wang".into(),
            id_type: "1".into(),
            id_no: "500000199001010000".into(),
            id_img_type: "png".into(),
            id_img: "aGk=".into(),
        },
    }
}

fn site() -> Site {
    Site {
        index: 500,
        protocol_version: "2.10".into(),
        servers: vec![Server {
            id: 1,
            addrs: vec!["192.0.2.1".into(), "2001:db8::1".into()],
            key: Some(("rsa_pub_key".into(), "AAAA".into())),
            interfaces: vec![Interface {
                service: "query".into(),
                protocol: "tcp".into(),
                port: 2641,
            }],
        }],
    }
}

fn object() -> IdentifierObject {
    IdentifierObject {
        name: "88.118.8".into(),
        kind: "handle".into(),
        status: vec![],
        contacts: vec![("admin".into(), "snms-88.118".into())],
        urls: vec!["https://valve.example/a?b=1&c=2".into()],
        admins: vec![Administrator {
            index: 100,
            key_type: "secret_key".into(),
            key: "c2VjcmV0".into(),
            permissions: vec!["add_handle".into(), "modify_value".into()],
        }],
        sites: vec![site()],
    }
}

fn commands() -> Vec<Command> {
    vec![
        Command::Login {
            cl_id: "snms-88.118".into(),
            pw: Secret("pw<&>".into()),
            obj_uris: Namespaces::default().login_uris(),
        },
        Command::Logout,
        Command::EntCheck {
            shr_user_id: "shrUser001".into(),
            crt_type: "1".into(),
            crt_code: "91500000MA5U0000X1".into(),
        },
        Command::EntCreate {
            shr_prefix: "88.118".into(),
            profile: Box::new(profile()),
        },
        Command::EntUpdate {
            ent_id: "E1".into(),
            change: EntChange::All {
                shr_prefix: "88.118".into(),
                profile: Box::new(profile()),
            },
        },
        Command::PrefixCheck {
            shr_prefix: "88.118".into(),
            prefix: "88.118.8".into(),
        },
        Command::PrefixCreate {
            shr_prefix: "88.118".into(),
            ent_id: "E1".into(),
            prefix: "88.118.8".into(),
        },
        Command::PollReq,
        Command::PollAck {
            msg_id: "12345".into(),
        },
        Command::IdentifierCheck {
            names: vec!["88.118.8".into(), "88.118.9".into()],
        },
        Command::IdentifierInfo {
            name: "88.118.8".into(),
        },
        Command::IdentifierCreate(Box::new(object())),
        Command::IdentifierUpdate(Box::new(IdentifierUpdate {
            name: "88.118.8".into(),
            add: IdentifierChanges {
                urls: vec!["https://new".into()],
                sites: vec![site()],
                ..Default::default()
            },
            rem: IdentifierRemovals {
                urls: vec!["https://old".into()],
                site_indexes: vec![500],
                ..Default::default()
            },
            chg: IdentifierChanges {
                status: Some("clientUpdateProhibited".into()),
                ..Default::default()
            },
        })),
        Command::IdentifierDelete {
            name: "88.118.8/GBX-1".into(),
        },
    ]
}

#[test]
fn every_command_round_trips() {
    let ns = Namespaces::default();
    for (k, command) in commands().into_iter().enumerate() {
        let r = Request {
            command,
            cl_trid: format!("idn-{k}"),
        };
        let xml = r.to_xml(&ns);
        let back = Document::parse(xml.as_bytes(), &ns).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert_eq!(back, Document::Command(r), "{xml}");
    }
    let hello = Document::Hello.to_xml(&ns);
    assert_eq!(Document::parse(hello.as_bytes(), &ns), Ok(Document::Hello));
}

#[test]
fn incremental_update_leaves_out_empty_fields() {
    let ns = Namespaces::default();
    let change = EnterpriseProfile {
        website: "https://new.example".into(),
        ..Default::default()
    };
    let r = Request {
        command: Command::EntUpdate {
            ent_id: "E1".into(),
            change: EntChange::Partial {
                shr_user_id: "u".into(),
                profile: Box::new(change),
            },
        },
        cl_trid: "t".into(),
    };
    let xml = r.to_xml(&ns);
    assert!(xml.contains("<ent:entWebSite>https://new.example</ent:entWebSite>"));
    assert!(!xml.contains("entAddrCn") && !xml.contains("contact"));
    assert_eq!(
        Document::parse(xml.as_bytes(), &ns),
        Ok(Document::Command(r))
    );
}

#[test]
fn the_drafts_alternative_namespaces_are_accepted() {
    let ns = Namespaces::default();
    let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create>
  <prefix:create xmlns:prefix="urn:ietf:params:xml:ns:prefix-1.0">
    <prefix:shrPrefix>88.1000</prefix:shrPrefix><prefix:entId>E9</prefix:entId>
    <prefix:prefix>88.1000.1</prefix:prefix></prefix:create>
</create><clTRID>ABC-12345</clTRID></command></epp>"#;
    let Document::Command(r) = Document::parse(doc.as_bytes(), &ns).unwrap() else {
        panic!("not a command")
    };
    assert_eq!(r.cl_trid, "ABC-12345");
    assert_eq!(
        r.command,
        Command::PrefixCreate {
            shr_prefix: "88.1000".into(),
            ent_id: "E9".into(),
            prefix: "88.1000.1".into()
        }
    );
    let unknown = doc.replace("urn:ietf:params:xml:ns:prefix-1.0", "urn:x");
    let err = Document::parse(unknown.as_bytes(), &ns).unwrap_err();
    assert_eq!(err.result_code(), 2307);
}

#[test]
fn the_drafts_poll_answer_parses() {
    // The poll response of draft-chen-top-level-interface-protocol-03, §1.4.
    let doc = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response>
 <result code="1301"><msg>Command completed successfully; ack to dequeue</msg></result>
 <msgQ count="5" id="12345"><qDate>2018-10-19T15:09:37.393+08:00</qDate>
  <msg>Pending action completed successfully.</msg></msgQ>
 <resData><prefix:resData xmlns:prefix="urn:ietf:params:xml:ns:idis-entprefix-1.0">
  <prefix:clTRID>ABC-12345</prefix:clTRID><prefix:svTRID>54321-XYZ</prefix:svTRID>
  <prefix:entId>1001</prefix:entId><prefix:prefix>88.1000.1</prefix:prefix>
  <prefix:state>1</prefix:state><prefix:auditResult>1</prefix:auditResult>
  <prefix:auditResultMsg></prefix:auditResultMsg></prefix:resData></resData>
 <trID><clTRID>BCD-23456</clTRID><svTRID>65432-WXY</svTRID></trID>
</response></epp>"#;
    let ServerDocument::Response(r) =
        ServerDocument::parse(doc.as_bytes(), &Namespaces::default()).unwrap()
    else {
        panic!("not a response")
    };
    assert_eq!(r.class(), CodeClass::Queued);
    assert_eq!(
        r.msgq.as_ref().map(|q| (q.count, q.id.as_str())),
        Some((5, "12345"))
    );
    let ResData::Review(review) = &r.data else {
        panic!("no review")
    };
    assert!(review.approved());
    assert_eq!(review.prefix, "88.1000.1");
    assert_eq!(r.cl_trid.as_deref(), Some("BCD-23456"));
}

#[test]
fn every_response_round_trips() {
    let ns = Namespaces::default();
    let datas = vec![
        ResData::None,
        ResData::EntChecked("E1".into()),
        ResData::EntCreated("E2".into()),
        ResData::Review(Review {
            cl_trid: "a".into(),
            sv_trid: "b".into(),
            ent_id: "E1".into(),
            prefix: "88.118.8".into(),
            state: "1".into(),
            audit_result: "2".into(),
            audit_msg: "材料不全 <incomplete>".into(),
        }),
        ResData::IdentifierChecked(vec![
            Availability {
                name: "88.118.8".into(),
                avail: false,
                reason: Some("In use".into()),
            },
            Availability {
                name: "88.118.9".into(),
                avail: true,
                reason: None,
            },
        ]),
        ResData::IdentifierInfo(Box::new(IdentifierObject {
            status: vec!["ok".into()],
            ..object()
        })),
    ];
    for data in datas {
        let mut r = Response::new(1000, Some("c".into()), "s");
        r.data = data;
        r.msgq = Some(MsgQueue {
            count: 2,
            id: "7".into(),
            date: Some("2026-11-26T00:00:00Z".into()),
            msg: Some("m".into()),
        });
        r.reason = Some("why".into());
        let xml = r.to_xml(&ns);
        let back = ServerDocument::parse(xml.as_bytes(), &ns).unwrap();
        assert_eq!(back, ServerDocument::Response(Box::new(r)), "{xml}");
    }
    let g = Greeting {
        sv_id: "toplevel".into(),
        sv_date: "2026-11-26T00:00:00Z".into(),
        versions: vec!["1.0".into()],
        obj_uris: ns.login_uris(),
    };
    let back = ServerDocument::parse(g.to_xml().as_bytes(), &ns).unwrap();
    assert_eq!(back, ServerDocument::Greeting(g));
}

#[test]
fn codes_are_classified() {
    assert_eq!(CodeClass::of(1000), CodeClass::Success);
    assert_eq!(CodeClass::of(2302), CodeClass::Refused);
    assert_eq!(CodeClass::of(2500), CodeClass::Transient);
    assert_eq!(CodeClass::of(2400), CodeClass::Transient);
    assert_eq!(CodeClass::of(3123), CodeClass::Unknown);
    assert_eq!(CodeClass::of(2999), CodeClass::Unknown);
}

#[test]
fn hostile_documents_are_errors() {
    let ns = Namespaces::default();
    for doc in [
        "",
        "<epp/>",
        "<notepp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello/></notepp>",
        "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><response><result code=\"x\"/></response></epp>",
        "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><response><result code=\"10000\"/></response></epp>",
        "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><poll op=\"x\"/></command></epp>",
        "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><clTRID>1</clTRID></command></epp>",
        "<!DOCTYPE epp [<!ENTITY x \"y\">]><epp/>",
    ] {
        assert!(Document::parse(doc.as_bytes(), &ns).is_err(), "{doc}");
        assert!(ServerDocument::parse(doc.as_bytes(), &ns).is_err(), "{doc}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let ns = Namespaces::default();
        let _ = Document::parse(&bytes, &ns);
        let _ = ServerDocument::parse(&bytes, &ns);
    }

    #[test]
    fn arbitrary_text_survives_escaping(name in "[^\u{0}-\u{1f}]{1,60}", trid in "[a-zA-Z0-9-]{1,40}") {
        let ns = Namespaces::default();
        let r = Request {
            command: Command::IdentifierDelete { name: name.trim().to_owned() },
            cl_trid: trid,
        };
        prop_assume!(!name.trim().is_empty());
        let xml = r.to_xml(&ns);
        prop_assert_eq!(Document::parse(xml.as_bytes(), &ns), Ok(Document::Command(r)));
    }
}
