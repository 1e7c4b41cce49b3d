//! The three-level gearbox (raw lots → gears → subassemblies → gearboxes on a pallet),
//! traced back and forward, recalled, and read under grants, on SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::sync::Arc;

use idnode_epcis::{Binding, IdentifierForms, Namespaces, Query};
use idnode_registry::{Principal, Registry};
use idnode_resolver::{CacheConfig, Resolver};
use idnode_store::Store;
use idnode_trace::{Direction, Graph, Limits, TraceError, Traceability};

const GEARBOX: &str = include_str!("data/gearbox.jsonld");
const LOT_A: &str = "urn:epc:class:lgtin:4012345.011111.LOTA";
const LOT_B: &str = "urn:epc:class:lgtin:4012345.011111.LOTB";
const PALLET: &str = "https://id.gs1.org/00/040123450000000016";

struct Node {
    trace: Traceability,
    registry: Arc<Registry>,
    factory_id: i64,
    factory: Principal,
    partner: Principal,
    partner_id: i64,
    operator: Principal,
}

async fn node(store: Arc<dyn Store>) -> Node {
    let resolver = Arc::new(Resolver::new(
        store.clone(),
        vec!["88.118".into()],
        &CacheConfig::default(),
    ));
    let reg = Arc::new(Registry::new(store.clone(), resolver, "88.118"));
    let op = reg.init_node(Some("operator-secret".into())).await.unwrap();
    let operator = reg
        .authenticate(&op.identity, "operator-secret")
        .await
        .unwrap();
    let mut who = Vec::new();
    for (name, prefix) in [("Gearbox Co", "88.118.8"), ("Wind Farm Co", "88.118.9")] {
        let (e, c) = reg
            .create_enterprise(&operator, name, prefix, Default::default())
            .await
            .unwrap();
        who.push((
            e.id,
            reg.authenticate(&c.identity, &c.secret).await.unwrap(),
        ));
    }
    let (factory_id, factory) = who.remove(0);
    let (partner_id, partner) = who.remove(0);
    let trace = Traceability::new(
        store,
        reg.clone(),
        IdentifierForms::new(["https://id.example.cn/"]),
        Limits::default(),
    );
    Node {
        trace,
        registry: reg,
        factory_id,
        factory,
        partner,
        partner_id,
        operator,
    }
}

fn ids(g: &Graph) -> BTreeSet<String> {
    g.nodes.iter().map(|n| n.id.clone()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn gear(n: u32) -> String {
    format!("https://id.gs1.org/01/04012345222227/21/{n}")
}

fn lot(l: &str) -> String {
    format!("https://id.gs1.org/01/04012345111118/10/{l}")
}

async fn story(store: Arc<dyn Store>) {
    let n = node(store).await;
    let job = n
        .trace
        .capture(&n.factory, GEARBOX.as_bytes().to_vec(), Binding::Json, true)
        .await
        .unwrap();
    assert_eq!((job.events, job.stored), (11, 11));

    // Back from the pallet: both shipped gearboxes, their subassemblies, the gears inside
    // them when they were assembled, the lots the gears were made of. Not gear 2, which
    // left subassembly 3 before it was assembled, nor gearbox 3.
    let back = n
        .trace
        .trace(
            &n.factory,
            "urn:epc:id:sscc:4012345.0000000001",
            Direction::Back,
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&back),
        set(&[
            PALLET,
            "hdl:88.118.8/gbx-2026-000001",
            "hdl:88.118.8/gbx-2026-000002",
            "hdl:88.118.8/sub-1",
            "hdl:88.118.8/sub-2",
            &gear(1),
            &gear(3),
            &gear(4),
            &lot("LOTA"),
            &lot("LOTB"),
        ])
    );
    assert!(!back.truncated);
    let edge = back
        .edges
        .iter()
        .find(|e| e.to == "hdl:88.118.8/sub-1")
        .unwrap();
    assert_eq!(edge.kind, "transformation");
    assert_eq!(
        edge.events,
        ["urn:uuid:6f1e0c4a-0000-4000-8000-000000000007"]
    );

    // Forward from gear 2: into subassembly 3 and out again before the assembly.
    let fwd = n
        .trace
        .trace(&n.factory, &gear(2), Direction::Forward, None, None)
        .await
        .unwrap();
    assert_eq!(ids(&fwd), set(&[&gear(2), "hdl:88.118.8/sub-3"]));
    let out = &fwd.edges[0];
    assert_eq!((out.kind, out.until.is_some()), ("aggregation", true));

    recalls(&n).await;
    visibility(&n).await;
    cycle(&n).await;
    held_links_follow_captures(&n).await;
    suspended_enterprises_write_nothing(&n).await;
}

/// A suspended enterprise captures, grants and subscribes nothing, and still reads its
/// events (as everywhere in the node: suspension refuses writes).
async fn suspended_enterprises_write_nothing(n: &Node) {
    let status = |s| {
        n.registry
            .set_enterprise_status(&n.operator, n.factory_id, s)
    };
    status(idnode_store::EnterpriseStatus::Suspended)
        .await
        .unwrap();
    let pack = r#"{"type": "ObjectEvent", "eventTime": "2026-03-06T09:00:00Z",
        "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "epcList": ["urn:epc:id:sgtin:4012345.022222.98"]}"#;
    let refused = |r: Result<(), TraceError>| matches!(r, Err(TraceError::Forbidden(_)));
    assert!(refused(
        n.trace
            .capture(&n.factory, document(pack), Binding::Json, true)
            .await
            .map(|_| ())
    ));
    assert!(refused(
        n.trace
            .grant(&n.factory, n.partner_id, "")
            .await
            .map(|_| ())
    ));
    assert!(refused(
        n.trace
            .create_query(&n.factory, "suspended", &serde_json::json!({}), "")
            .await
            .map(|_| ())
    ));
    assert!(n
        .trace
        .trace(&n.factory, PALLET, Direction::Back, None, None)
        .await
        .is_ok());
    status(idnode_store::EnterpriseStatus::Active)
        .await
        .unwrap();
    let job = n
        .trace
        .capture(&n.factory, document(pack), Binding::Json, true)
        .await
        .unwrap();
    assert_eq!(job.stored, 1);
}

/// One event as a document of its own.
fn document(event: &str) -> Vec<u8> {
    format!(
        r#"{{"@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-05T00:00:00Z",
        "epcisBody": {{"eventList": [{event}]}}}}"#
    )
    .into_bytes()
}

/// Traces answered from links held in memory see every later capture: a transformation
/// reported in two events sharing a transformationID (the second naming nothing the first
/// did), then a packing.
async fn held_links_follow_captures(n: &Node) {
    const LOT_Z: &str = "urn:epc:class:lgtin:4012345.011111.LOTZ";
    let forward = || async {
        let g = n
            .trace
            .trace(&n.factory, LOT_Z, Direction::Forward, None, None)
            .await
            .unwrap();
        ids(&g)
    };
    let capture = |event: &str| {
        n.trace
            .capture(&n.factory, document(event), Binding::Json, true)
    };
    assert_eq!(forward().await, set(&[&lot("LOTZ")]));
    let consume = r#"{"type": "TransformationEvent", "eventTime": "2026-03-05T08:00:00Z",
        "eventTimeZoneOffset": "+08:00", "transformationID": "urn:uuid:6f1e0c4a-0000-4000-8000-00000000zz01",
        "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.LOTZ", "quantity": 5, "uom": "KGM"}]}"#;
    capture(consume).await.unwrap();
    assert_eq!(forward().await, set(&[&lot("LOTZ")]), "no output yet");
    let make = r#"{"type": "TransformationEvent", "eventTime": "2026-03-05T08:05:00Z",
        "eventTimeZoneOffset": "+08:00", "transformationID": "urn:uuid:6f1e0c4a-0000-4000-8000-00000000zz01",
        "outputEPCList": ["urn:epc:id:sgtin:4012345.022222.99"]}"#;
    capture(make).await.unwrap();
    assert_eq!(forward().await, set(&[&lot("LOTZ"), &gear(99)]));
    let pack = r#"{"type": "AggregationEvent", "eventTime": "2026-03-05T09:00:00Z",
        "eventTimeZoneOffset": "+08:00", "action": "ADD", "parentID": "urn:epc:id:sscc:4012345.0000000099",
        "childEPCs": ["urn:epc:id:sgtin:4012345.022222.99"]}"#;
    capture(pack).await.unwrap();
    assert_eq!(
        forward().await,
        set(&[
            &lot("LOTZ"),
            &gear(99),
            "https://id.gs1.org/00/040123450000000993"
        ])
    );
}

/// The gearboxes among the items of a recall.
fn gearboxes(r: &idnode_trace::Recall) -> BTreeSet<String> {
    r.items
        .iter()
        .filter(|i| i.id.contains("/gbx-"))
        .map(|i| i.id.clone())
        .collect()
}

/// Recall of lot A names exactly gearbox 1 among the gearboxes; lot B gearboxes 1 and 2.
async fn recalls(n: &Node) {
    // Recall of lot A names exactly gearbox 1 among the gearboxes; the pallet and the loose
    // gear 2 are the outermost items, each with its last location and disposition.
    let recall = n.trace.recall(&n.factory, LOT_A).await.unwrap();
    assert_eq!(gearboxes(&recall), set(&["hdl:88.118.8/gbx-2026-000001"]));
    let outermost: BTreeSet<String> = recall
        .items
        .iter()
        .filter(|i| i.outermost)
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(outermost, set(&[PALLET, &gear(2)]));
    let pallet = recall.items.iter().find(|i| i.id == PALLET).unwrap();
    assert_eq!(
        pallet.disposition.as_deref(),
        Some("https://ref.gs1.org/cbv/Disp-in_transit")
    );
    assert_eq!(
        pallet.location.as_deref(),
        Some("https://id.gs1.org/414/4012345000023")
    );
    let recall_b = n.trace.recall(&n.factory, LOT_B).await.unwrap();
    assert_eq!(
        gearboxes(&recall_b),
        set(&[
            "hdl:88.118.8/gbx-2026-000001",
            "hdl:88.118.8/gbx-2026-000002"
        ])
    );
}

/// The partner sees nothing of the factory's events until granted, then only what the
/// grant covers; the operator sees all.
async fn visibility(n: &Node) {
    let q = Query::parse(
        &[("MATCH_anyEPC".into(), "hdl:88.118.8/GBX-2026-000001".into())],
        &Namespaces::default(),
        n.trace.forms(),
    )
    .unwrap();
    let count = |who: Principal| {
        let q = q.clone();
        async move { n.trace.query(&who, &q).await.unwrap().events.len() }
    };
    assert_eq!(count(n.factory.clone()).await, 2);
    assert_eq!(count(n.operator.clone()).await, 2);
    assert_eq!(count(n.partner.clone()).await, 0);
    let blind = n
        .trace
        .trace(&n.partner, LOT_A, Direction::Forward, None, None)
        .await
        .unwrap();
    assert_eq!(blind.nodes.len(), 1, "only the root");
    assert!(n
        .trace
        .recall(&n.partner, LOT_A)
        .await
        .unwrap()
        .items
        .is_empty());
    let id = "urn:uuid:6f1e0c4a-0000-4000-8000-000000000010";
    assert!(matches!(
        n.trace.event(&n.partner, id).await,
        Err(TraceError::NotFound(_))
    ));
    let lifecycle = n
        .trace
        .lifecycle(&n.partner, "88.118.8/GBX-2026-000001")
        .await
        .unwrap();
    assert!(lifecycle.moments.is_empty() && !lifecycle.history);

    // A grant for packing events only: the pallet aggregation, not the assembly.
    n.trace
        .grant(&n.factory, n.partner_id, "packing")
        .await
        .unwrap();
    assert_eq!(count(n.partner.clone()).await, 1);
    assert_eq!(n.trace.event(&n.partner, id).await.unwrap().len(), 1);
    // A grant of everything.
    n.trace.grant(&n.factory, n.partner_id, "").await.unwrap();
    assert_eq!(count(n.partner.clone()).await, 2);
    let recall = n.trace.recall(&n.partner, LOT_A).await.unwrap();
    assert!(recall.items.iter().any(|i| i.id == PALLET));
    // The partner cannot grant the factory's events onward, nor the operator grant at all.
    assert!(n.trace.grants(&n.partner).await.unwrap().is_empty());
    assert!(matches!(
        n.trace.grant(&n.operator, n.partner_id, "").await,
        Err(TraceError::Forbidden(_))
    ));
    assert!(n.trace.revoke(&n.factory, n.partner_id, "").await.unwrap());
    assert!(n
        .trace
        .revoke(&n.factory, n.partner_id, "packing")
        .await
        .unwrap());
    assert_eq!(count(n.partner.clone()).await, 0);
}

/// Bad data puts the pallet inside the gearbox it carries: traces still end.
async fn cycle(n: &Node) {
    let doc = GEARBOX.replace(
        "\"eventList\": [",
        r#""eventList": [{"type": "AggregationEvent", "eventTime": "2026-03-02T11:30:00.000+08:00",
          "eventTimeZoneOffset": "+08:00", "action": "ADD", "bizStep": "packing",
          "parentID": "hdl:88.118.8/GBX-2026-000001",
          "childEPCs": ["urn:epc:id:sscc:4012345.0000000001"]},"#,
    );
    let job = n
        .trace
        .capture(&n.factory, doc.into_bytes(), Binding::Json, true)
        .await
        .unwrap();
    assert_eq!(job.stored, 1, "the other 11 are duplicates");
    assert_eq!(job.not_stored.iter().filter(|x| x.duplicate).count(), 11);
    for dir in [Direction::Forward, Direction::Back] {
        let g = n
            .trace
            .trace(&n.factory, &gear(1), dir, None, None)
            .await
            .unwrap();
        assert_eq!(ids(&g).len(), g.nodes.len(), "no node twice");
        assert!(!g.truncated);
    }
    let fwd = n
        .trace
        .trace(&n.factory, &gear(1), Direction::Forward, None, None)
        .await
        .unwrap();
    assert!(ids(&fwd).contains(PALLET));
}

#[tokio::test]
async fn gearbox_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = idnode_store_sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    story(Arc::new(store)).await;
}

#[tokio::test]
async fn gearbox_on_postgres() {
    let url = tokio::task::spawn_blocking(idnode_testkit::pg_database)
        .await
        .unwrap();
    let store = idnode_store_postgres::PgStore::connect(&url).await.unwrap();
    story(Arc::new(store)).await;
}
