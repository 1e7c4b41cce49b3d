//! The escrow intake refuses what the escrow agent must refuse: a signature by another key,
//! counts that differ from the header, a DIFF whose predecessor was not verified.
#![allow(missing_docs)]

use std::io::Write as _;
use std::path::Path;

use idnode_escrow::{
    report_xml, sign, DepositFile, DepositMeta, DepositWriter, FileKind, Kind, NodeObject, Report,
    SigningKey, HANDLE_NS, NODE_NS,
};
use idnode_toplevel::{Namespaces, State};

/// 2026-11-26 (a Thursday), 00:00:00 UTC.
const THURSDAY: i64 = 1_795_651_200;

/// Writes the three files of a deposit into `dir`; returns the data file's name.
fn deposit(
    dir: &Path,
    key: &SigningKey,
    kind: Kind,
    rev: u16,
    claimed_nodes: Option<u64>,
) -> String {
    let meta = DepositMeta {
        id: format!("20261126{}{rev}", &kind.as_str()[..1]),
        kind,
        prev_id: (kind == Kind::Diff).then(|| "20261125F0".into()),
        resend: rev,
        watermark: THURSDAY,
        prefix: "88.118".into(),
    };
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut w = DepositWriter::begin(gz, &meta, &[], &[]).unwrap();
    w.node(&NodeObject {
        node_type: "sec".into(),
        prefix: "88.118".into(),
        ..Default::default()
    })
    .unwrap();
    let (gz, nodes, handles) = w.finish().unwrap();
    let data = gz.finish().unwrap();
    let name = |file| {
        DepositFile {
            prefix: "88.118".into(),
            date: "2026-11-26".into(),
            kind,
            series: (file != FileKind::Report).then_some(1),
            rev,
            file,
        }
        .name()
    };
    std::fs::File::create(dir.join(name(FileKind::Data)))
        .unwrap()
        .write_all(&data)
        .unwrap();
    std::fs::write(
        dir.join(name(FileKind::Signature)),
        sign(key, &data[..]).unwrap(),
    )
    .unwrap();
    let report = Report {
        id: meta.id,
        resend: rev,
        created: THURSDAY + 60,
        kind,
        watermark: THURSDAY,
        prefix: "88.118".into(),
        counts: vec![
            (NODE_NS.into(), claimed_nodes.unwrap_or(nodes)),
            (HANDLE_NS.into(), handles),
        ],
    };
    std::fs::write(dir.join(name(FileKind::Report)), report_xml(&report)).unwrap();
    name(FileKind::Data)
}

#[tokio::test]
async fn deposits_are_verified_before_they_count() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path(), Namespaces::default(), false)
        .await
        .unwrap();
    state
        .add_client("snms-88.118", "88.118", "pw")
        .await
        .unwrap();
    let node = SigningKey::from_armored(&SigningKey::generate("node <n@x>").unwrap()).unwrap();
    let other = SigningKey::from_armored(&SigningKey::generate("other <o@x>").unwrap()).unwrap();
    assert!(state
        .set_escrow_key("snms-88.118", "not a key")
        .await
        .is_err());
    state
        .set_escrow_key("snms-88.118", &node.public_key().unwrap())
        .await
        .unwrap();
    let files = dir.path().join("in");
    std::fs::create_dir_all(&files).unwrap();

    let check = |name: String| {
        let (state, files) = (&state, &files);
        async move {
            state
                .check_deposit("snms-88.118", files, &name)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let c = check(deposit(&files, &other, Kind::Full, 0, None)).await;
    assert_eq!(c.status, "DVFN");
    assert!(c.detail.contains("signature"), "{c:?}");
    let c = check(deposit(&files, &node, Kind::Full, 1, Some(5))).await;
    assert_eq!(c.status, "DVFN");
    assert!(c.detail.contains("report counts"), "{c:?}");
    // A DIFF naming a predecessor that was never verified breaks the chain.
    let c = check(deposit(&files, &node, Kind::Diff, 0, None)).await;
    assert_eq!(c.status, "DVFN");
    assert!(c.detail.contains("chain"), "{c:?}");
    let c = check(deposit(&files, &node, Kind::Full, 2, None)).await;
    assert_eq!((c.status.as_str(), c.counts[NODE_NS]), ("DVPN", 1), "{c:?}");
}
