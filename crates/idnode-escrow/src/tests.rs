use idnode_core::HandleValue;

use crate::*;

/// 2026-11-26 (a Thursday) and 2026-11-29 (a Sunday), 00:00:00 UTC.
const THURSDAY: i64 = 1_795_651_200;
const SUNDAY: i64 = THURSDAY + 3 * 86_400;

fn meta(kind: Kind, watermark: i64) -> DepositMeta {
    DepositMeta {
        id: "20261126F0".into(),
        kind,
        prev_id: (kind == Kind::Diff).then(|| "20261125F0".into()),
        resend: 0,
        watermark,
        prefix: "88.118".into(),
    }
}

fn deposit(kind: Kind, watermark: i64, handles: usize) -> Vec<u8> {
    let mut w = DepositWriter::begin(
        Vec::new(),
        &meta(kind, watermark),
        &["88.118.3".to_owned()],
        &["88.118.8/GONE".to_owned()],
    )
    .unwrap();
    w.node(&NodeObject {
        node_type: "sec".into(),
        prefix: "88.118".into(),
        name: "重庆 <node> & co".into(),
        ..Default::default()
    })
    .unwrap();
    let values = vec![HandleValue::text(1, "URL", "https://a/?b&c")];
    for k in 0..handles {
        w.handle(HandleObject {
            name: &format!("88.118.8/H-{k}"),
            values: &values,
        })
        .unwrap();
    }
    let (out, nodes, n) = w.finish().unwrap();
    assert_eq!((nodes, n), (1, handles as u64));
    out
}

#[test]
fn a_written_deposit_verifies_with_its_counts() {
    assert!(is_sunday(SUNDAY) && !is_sunday(THURSDAY));
    let xml = deposit(Kind::Full, SUNDAY, 3);
    let s = verify_deposit(&xml[..], SUNDAY + 3600).unwrap();
    assert_eq!(
        (s.meta.id.as_str(), s.meta.kind, s.meta.prefix.as_str()),
        ("20261126F0", Kind::Full, "88.118")
    );
    assert_eq!(s.counts[NODE_NS], 1);
    assert_eq!(s.counts[HANDLE_NS], 3);
    let diff = deposit(Kind::Diff, THURSDAY, 2);
    let s = verify_deposit(&diff[..], THURSDAY + 60).unwrap();
    assert_eq!(
        (s.meta.prev_id.as_deref(), s.deletes),
        (Some("20261125F0"), 2)
    );
}

#[test]
fn broken_deposits_are_refused_with_the_interface_codes() {
    let xml = String::from_utf8(deposit(Kind::Full, THURSDAY, 3)).unwrap();
    // One handle less than the header says.
    let start = xml.find("<idnh:handle>").unwrap();
    let end = xml[start..].find("</idnh:handle>").unwrap() + start + "</idnh:handle>".len();
    let short = format!("{}{}", &xml[..start], &xml[end..]);
    let e = verify_deposit(short.as_bytes(), THURSDAY).unwrap_err();
    assert!(
        matches!(
            e,
            EscrowError::CountMismatch {
                found: 2,
                header: 3,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.code(), 2001);
    // Dates, kinds and chains.
    let e = verify_deposit(&deposit(Kind::Full, THURSDAY, 1)[..], THURSDAY - 86_400).unwrap_err();
    assert_eq!(e.code(), 2002);
    let e = verify_deposit(&deposit(Kind::Diff, SUNDAY, 1)[..], SUNDAY).unwrap_err();
    assert_eq!(e.code(), 2202);
    let no_prev = String::from_utf8(deposit(Kind::Diff, THURSDAY, 1))
        .unwrap()
        .replace(r#" prevId="20261125F0""#, "");
    assert!(matches!(
        verify_deposit(no_prev.as_bytes(), THURSDAY),
        Err(EscrowError::Chain(_))
    ));
    let twice = xml.replace(
        "</indeHeader:header>",
        &format!(r#"<indeHeader:count uri="{NODE_NS}">1</indeHeader:count></indeHeader:header>"#),
    );
    assert_eq!(
        verify_deposit(twice.as_bytes(), THURSDAY)
            .unwrap_err()
            .code(),
        2204
    );
    let no_prefix = xml.replace("<indeHeader:prefix>88.118</indeHeader:prefix>", "");
    assert_eq!(
        verify_deposit(no_prefix.as_bytes(), THURSDAY)
            .unwrap_err()
            .code(),
        2203
    );
    let v2 = xml.replace(
        "<inde:version>1.0</inde:version>",
        "<inde:version>2.0</inde:version>",
    );
    assert_eq!(
        verify_deposit(v2.as_bytes(), THURSDAY).unwrap_err().code(),
        2003
    );
    for bad in ["", "<x/>", &xml[..xml.len() / 2], "<!DOCTYPE x><x/>"] {
        assert!(verify_deposit(bad.as_bytes(), THURSDAY).is_err(), "{bad}");
    }
}

#[test]
fn signatures_detect_any_change() {
    let armored = SigningKey::generate("idnode 88.118 <escrow@88.118>").unwrap();
    assert!(armored.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    let key = SigningKey::from_armored(&armored).unwrap();
    let public = key.public_key().unwrap();
    assert!(public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert_eq!(public_key_of(&armored).unwrap(), public);
    let data = deposit(Kind::Full, THURSDAY, 2);
    let sig = sign(&key, &data[..]).unwrap();
    // A binary OpenPGP signature packet (tag 2), not armored.
    let tag = if sig[0] & 0x40 != 0 {
        sig[0] & 0x3f
    } else {
        (sig[0] >> 2) & 0x0f
    };
    assert_eq!(tag, 2, "{:x}", sig[0]);
    verify_signature(&public, &data[..], &sig).unwrap();
    let mut changed = data.clone();
    changed[100] ^= 1;
    assert!(matches!(
        verify_signature(&public, &changed[..], &sig),
        Err(EscrowError::Signature)
    ));
    let other = SigningKey::from_armored(&SigningKey::generate("other <o@x>").unwrap()).unwrap();
    assert!(verify_signature(&other.public_key().unwrap(), &data[..], &sig).is_err());
    assert!(verify_signature(&public, &data[..], b"garbage").is_err());
}

#[test]
fn reports_round_trip_and_are_checked() {
    let r = Report {
        id: "20261126F0".into(),
        resend: 1,
        created: THURSDAY + 300,
        kind: Kind::Full,
        watermark: THURSDAY,
        prefix: "88.118".into(),
        counts: vec![(NODE_NS.into(), 3), (HANDLE_NS.into(), 10_000)],
    };
    let xml = report_xml(&r);
    assert_eq!(parse_report(xml.as_bytes()).unwrap(), r);
    let v2 = xml.replace("<indeReport:version>1<", "<indeReport:version>2<");
    assert_eq!(parse_report(v2.as_bytes()).unwrap_err().code(), 2003);
    let dup = xml.replace(HANDLE_NS, NODE_NS);
    assert_eq!(parse_report(dup.as_bytes()).unwrap_err().code(), 2204);
    assert!(parse_report(b"<x/>").is_err());
}
