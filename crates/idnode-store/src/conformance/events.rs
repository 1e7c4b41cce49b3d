//! EPCIS events in the conformance story: captures (duplicates, eventID clashes with
//! rollback and proceed), queries on indexed fields with paging, trace links through events
//! and transformationIDs, error declarations, read grants.

use crate::{
    CaptureState, EventField, EventFilter, EventOrder, Grant, NamedQuery, NewCapture, NewEvent,
    NotStored, Readable, Store,
};

const PARENT: i64 = 2;
const CHILD: i64 = 3;
const INPUT: i64 = 4;
const OUTPUT: i64 = 5;

/// A well-formed hash ID standing for `name` (its bytes, zero-padded to a digest).
pub(super) fn hash_id(name: &str) -> String {
    let mut digest = [0u8; 32];
    for (d, b) in digest.iter_mut().zip(name.bytes()) {
        *d = b;
    }
    idnode_core::hash_id::hash_id(&digest)
}

pub(super) fn event(hash: &str, kind: &str, time: i64, keys: &[(i64, &str)]) -> NewEvent {
    NewEvent {
        index: 0,
        hash: hash_id(hash),
        event_id: format!("urn:uuid:{hash}"),
        declares_error: false,
        event_type: kind.into(),
        event_time: time,
        action: Some("ADD".into()),
        biz_step: Some("https://ref.gs1.org/cbv/BizStep-packing".into()),
        disposition: None,
        read_point: Some("urn:epc:id:sgln:1.1.0".into()),
        biz_location: None,
        transformation_id: None,
        body: format!("{{\"type\":\"{kind}\",\"n\":\"{hash}\"}}"),
        keys: keys.iter().map(|(r, k)| (*r, (*k).to_owned())).collect(),
    }
}

pub(super) fn capture(owner: i64, rollback: bool, mut events: Vec<NewEvent>) -> NewCapture {
    for (i, e) in events.iter_mut().enumerate() {
        e.index = i;
    }
    NewCapture {
        owner,
        actor: format!("300:owner-{owner}"),
        origin: "192.0.2.1".into(),
        rollback,
        refused: Vec::new(),
        context: "[\"https://ref.gs1.org/standards/epcis/epcis-context.jsonld\"]".into(),
        events,
    }
}

/// Who writes in the conformance story.
pub(super) fn by() -> crate::Attribution {
    crate::Attribution {
        actor: "300:0.NA/88.200.1".into(),
        origin: "192.0.2.1".into(),
    }
}

fn all() -> Readable {
    Readable {
        all: true,
        ..Readable::default()
    }
}

fn filter(readable: Readable) -> EventFilter {
    EventFilter {
        readable,
        limit: 100,
        ..EventFilter::default()
    }
}

/// Runs the event part of the story.
pub(super) async fn run(store: &dyn Store) {
    captures(store).await;
    recaptures(store).await;
    queries(store).await;
    trace(store).await;
    grants(store).await;
    named_queries(store).await;
}

/// Named queries are saved once per owner and name, listed by name, deleted.
async fn named_queries(store: &dyn Store) {
    let q = |owner: i64, name: &str| NamedQuery {
        owner,
        name: name.into(),
        definition: "{\"EQ_bizStep\":[\"shipping\"]}".into(),
        extensions: "ex=https://ex.com/".into(),
        created_at: 7,
    };
    assert!(store.save_query(&q(1, "b"), &by()).await.unwrap());
    assert!(store.save_query(&q(1, "a"), &by()).await.unwrap());
    assert!(!store.save_query(&q(1, "a"), &by()).await.unwrap());
    // Another owner's query of the same name is its own.
    assert!(store.save_query(&q(2, "a"), &by()).await.unwrap());
    assert_eq!(
        store.named_queries(1, None).await.unwrap(),
        vec![q(1, "a"), q(1, "b")]
    );
    assert_eq!(
        store.named_queries(2, Some("a")).await.unwrap(),
        vec![q(2, "a")]
    );
    assert!(store.delete_query(1, "a", &by()).await.unwrap());
    assert!(!store.delete_query(1, "a", &by()).await.unwrap());
    assert_eq!(store.named_queries(1, Some("a")).await.unwrap(), vec![]);
    assert_eq!(store.named_queries(2, None).await.unwrap(), vec![q(2, "a")]);
}

async fn captures(store: &dyn Store) {
    let pack = event(
        "a1",
        "AggregationEvent",
        1_000,
        &[(PARENT, "p1"), (CHILD, "c1")],
    );
    let mut declared = pack.clone();
    declared.declares_error = true;
    declared.body = "{\"errorDeclaration\":{}}".into();
    let job = store
        .capture(&capture(
            1,
            true,
            vec![pack.clone(), pack.clone(), declared],
        ))
        .await
        .unwrap();
    assert_eq!(job.state, CaptureState::Success);
    assert_eq!((job.events, job.stored), (3, 2));
    assert_eq!(job.not_stored.len(), 1);
    assert!(job.not_stored[0].duplicate && job.not_stored[0].index == 1);
    assert_eq!(store.capture_job(job.id).await.unwrap(), Some(job.clone()));
    assert_eq!(store.capture_job(job.id + 1000).await.unwrap(), None);
    // Another enterprise's copy is its own event, no duplicate of owner 1's.
    let theirs = store
        .capture(&capture(9, true, vec![pack.clone()]))
        .await
        .unwrap();
    assert_eq!((theirs.stored, theirs.not_stored.len()), (1, 0));

    // Another event with a stored eventID (GS1's examples reuse them): stored beside it.
    let mut reused = event("a2", "ObjectEvent", 2_000, &[(1, "x9")]);
    reused.event_id = pack.event_id.clone();
    let job = store
        .capture(&capture(1, true, vec![reused]))
        .await
        .unwrap();
    assert_eq!((job.state, job.stored), (CaptureState::Success, 1));
    let mut f = filter(all());
    f.event_ids = vec![pack.event_id.clone()];
    f.declares_error = Some(false);
    f.readable = Readable {
        owners: vec![1],
        ..Readable::default()
    };
    assert_eq!(store.events(&f).await.unwrap().len(), 2);

    // Under `proceed`, events refused before storing are recorded with the job.
    let fresh = event("a3", "ObjectEvent", 3_000, &[(1, "x3")]);
    let mut c = capture(1, false, vec![fresh.clone()]);
    c.events[0].index = 1;
    c.refused = vec![NotStored {
        index: 0,
        event_id: "urn:uuid:bad".into(),
        duplicate: false,
        reason: "bizStep: not a CBV term".into(),
    }];
    let partial = store.capture(&c).await.unwrap();
    assert_eq!(
        (partial.state, partial.stored, partial.events),
        (CaptureState::Partial, 1, 2)
    );
    assert_eq!(partial.not_stored, c.refused);
    assert_eq!(store.capture_job(partial.id).await.unwrap(), Some(partial));
    c.events.clear();
    let failed = store.capture(&c).await.unwrap();
    assert_eq!((failed.state, failed.stored), (CaptureState::Failed, 0));
    let mut f = filter(all());
    f.event_ids = vec![fresh.event_id.clone()];
    let got = store.events(&f).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, fresh.body);
    assert_eq!(got[0].owner, 1);
    assert_eq!(got[0].context, capture(1, true, vec![]).context);
}

/// A capture holding an event stored already beside new ones (PostgreSQL's bulk path meets
/// the stored one and takes the portable insert): the new ones and their keys are stored,
/// the old one is named a duplicate. An event without an eventID is found by its hash.
async fn recaptures(store: &dyn Store) {
    let old = event("r1", "ObjectEvent", 4_000, &[(1, "r-old")]);
    store
        .capture(&capture(3, true, vec![old.clone()]))
        .await
        .unwrap();
    let mut new = event("r2", "ObjectEvent", 4_001, &[(1, "r-new")]);
    new.event_id = new.hash.clone();
    let job = store
        .capture(&capture(3, true, vec![new.clone(), old]))
        .await
        .unwrap();
    assert_eq!((job.state, job.stored), (CaptureState::Success, 1));
    assert_eq!(job.not_stored.len(), 1);
    assert!(job.not_stored[0].duplicate && job.not_stored[0].index == 1);
    let mut f = filter(all());
    f.keys = vec![(vec![1], vec!["r-new".into()])];
    let got = store.events(&f).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].hash, new.hash);
    let mut f = filter(all());
    f.event_ids = vec![new.hash.clone()];
    let got = store.events(&f).await.unwrap();
    assert_eq!(
        (got.len(), got[0].event_id.as_str()),
        (1, new.hash.as_str())
    );
}

async fn queries(store: &dyn Store) {
    let events: Vec<NewEvent> = (0..5)
        .map(|i| {
            let mut e = event(&format!("q{i}"), "ObjectEvent", 10_000 + i, &[(1, "item")]);
            e.action = Some(if i % 2 == 0 { "OBSERVE" } else { "ADD" }.into());
            e
        })
        .collect();
    store.capture(&capture(2, true, events)).await.unwrap();
    let mut f = filter(all());
    f.keys = vec![(vec![1], vec!["item".into()])];
    f.actions = vec!["OBSERVE".into()];
    f.ge_event_time = Some(10_001);
    let got = store.events(&f).await.unwrap();
    let times: Vec<i64> = got.iter().map(|e| e.event_time).collect();
    assert_eq!(times, [10_002, 10_004]);
    // Paging: two at a time, descending by event time, resuming after the last seen.
    let mut f = filter(all());
    f.keys = vec![(vec![1], vec!["item".into()])];
    f.descending = true;
    f.limit = 2;
    let first = store.events(&f).await.unwrap();
    f.after = Some((first[1].event_time, first[1].id));
    let second = store.events(&f).await.unwrap();
    let times: Vec<i64> = first.iter().chain(&second).map(|e| e.event_time).collect();
    assert_eq!(times, [10_004, 10_003, 10_002, 10_001]);
    f.order = EventOrder::RecordTime;
    f.after = None;
    f.limit = 10;
    assert_eq!(store.events(&f).await.unwrap().len(), 5);
    // Owner 2's events are not readable by owner 1, nor by a grant on another step.
    let mut f = filter(Readable {
        owners: vec![1],
        steps: vec![(2, "https://ref.gs1.org/cbv/BizStep-shipping".into())],
        ..Readable::default()
    });
    f.keys = vec![(vec![1], vec!["item".into()])];
    assert!(store.events(&f).await.unwrap().is_empty());
    f.readable.steps = vec![(2, "https://ref.gs1.org/cbv/BizStep-packing".into())];
    assert_eq!(store.events(&f).await.unwrap().len(), 5);
    // Distinct values, paged.
    let only_2 = Readable {
        owners: vec![2],
        ..Readable::default()
    };
    let points = store
        .event_values(EventField::ReadPoint, &only_2, None, 10)
        .await
        .unwrap();
    assert_eq!(points, ["urn:epc:id:sgln:1.1.0"]);
    let after = store
        .event_values(
            EventField::ReadPoint,
            &only_2,
            Some("urn:epc:id:sgln:1.1.0"),
            10,
        )
        .await
        .unwrap();
    assert!(after.is_empty());
    assert!(store
        .event_values(EventField::BizLocation, &all(), None, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn trace(store: &dyn Store) {
    // Lot L → (transformation t-1, split over two events) → part P; P packed into box B.
    let mut consume = event("t1", "TransformationEvent", 20_000, &[(INPUT, "L")]);
    consume.transformation_id = Some("t-1".into());
    consume.biz_step = Some("https://ref.gs1.org/cbv/BizStep-commissioning".into());
    let mut make = event("t2", "TransformationEvent", 20_001, &[(OUTPUT, "P")]);
    make.transformation_id = Some("t-1".into());
    store
        .capture(&capture(3, true, vec![consume]))
        .await
        .unwrap();
    store.capture(&capture(3, true, vec![make])).await.unwrap();
    let pack = event(
        "t3",
        "AggregationEvent",
        20_002,
        &[(PARENT, "B"), (CHILD, "P")],
    );
    store.capture(&capture(3, true, vec![pack])).await.unwrap();
    // The links a reader gets: those that hold for it.
    let links = |keys: Vec<String>, from: Vec<i64>, to: Vec<i64>, r: Readable| async move {
        let links = store.trace_links(&keys, &from, &to).await.unwrap();
        links
            .into_iter()
            .filter(|l| l.readable_by(&r))
            .collect::<Vec<_>>()
    };
    let forward = |keys: Vec<String>| async move {
        let mut links = links(keys, vec![CHILD, INPUT], vec![PARENT, OUTPUT], all()).await;
        links.sort_by_key(|l| l.event_time);
        links
            .into_iter()
            .map(|l| (l.from, l.to, l.event_type))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        forward(vec!["L".into()]).await,
        [("L".into(), "P".into(), "TransformationEvent".into())]
    );
    assert_eq!(
        forward(vec!["P".into()]).await,
        [("P".into(), "B".into(), "AggregationEvent".into())]
    );
    let back = links(
        vec!["B".into()],
        vec![PARENT, OUTPUT],
        vec![CHILD, INPUT],
        all(),
    )
    .await;
    assert_eq!(back.len(), 1);
    assert_eq!((back[0].to.as_str(), back[0].to_role), ("P", CHILD));
    // Each link says whose events are behind it: the packing is owner 3's, no
    // transformationID; L's link to P runs through two events sharing t-1.
    assert_eq!((back[0].owner, back[0].from_event), (3, back[0].event));
    assert_eq!(back[0].transformation_id, None);
    let made = links(
        vec!["L".into()],
        vec![CHILD, INPUT],
        vec![PARENT, OUTPUT],
        all(),
    )
    .await;
    assert_ne!(made[0].from_event, made[0].event);
    assert_eq!(made[0].transformation_id.as_deref(), Some("t-1"));
    assert_eq!(
        made[0].from_biz_step.as_deref(),
        Some("https://ref.gs1.org/cbv/BizStep-commissioning")
    );
    // Both events of a transformationID must be readable: a reader of packing events only
    // sees the making of P but not the consuming of L, so no link.
    let packing_only = Readable {
        steps: vec![(3, "https://ref.gs1.org/cbv/BizStep-packing".into())],
        ..Readable::default()
    };
    assert!(links(
        vec!["L".into()],
        vec![CHILD, INPUT],
        vec![PARENT, OUTPUT],
        packing_only
    )
    .await
    .is_empty());
    // Not readable: no links.
    assert!(links(
        vec!["B".into()],
        vec![PARENT],
        vec![CHILD],
        Readable::default()
    )
    .await
    .is_empty());
    // The packing declared in error no longer links B and P.
    let mut declared = event(
        "t3",
        "AggregationEvent",
        20_002,
        &[(PARENT, "B"), (CHILD, "P")],
    );
    declared.declares_error = true;
    store
        .capture(&capture(3, true, vec![declared]))
        .await
        .unwrap();
    assert!(forward(vec!["P".into()]).await.is_empty());
    let raw = store
        .trace_links(&["P".into()], &[CHILD, INPUT], &[PARENT, OUTPUT])
        .await
        .unwrap();
    assert!(!raw.is_empty() && raw.iter().all(|l| !l.usable));

    // The same for events without an eventID (named by their hash ID, which the tables do
    // not hold twice): the link names the hash ID, and a declaration that has no eventID
    // either retracts the event with its hash.
    let mut unnamed = event(
        "t5",
        "AggregationEvent",
        20_003,
        &[(PARENT, "C"), (CHILD, "Q")],
    );
    unnamed.event_id = unnamed.hash.clone();
    let mut other = event(
        "t6",
        "AggregationEvent",
        20_004,
        &[(PARENT, "D"), (CHILD, "R")],
    );
    other.event_id = other.hash.clone();
    store
        .capture(&capture(3, true, vec![unnamed.clone(), other]))
        .await
        .unwrap();
    let named = links(vec!["Q".into()], vec![CHILD], vec![PARENT], all()).await;
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].event_id, unnamed.hash);
    let mut declared = unnamed.clone();
    declared.declares_error = true;
    store
        .capture(&capture(3, true, vec![declared]))
        .await
        .unwrap();
    assert!(forward(vec!["Q".into()]).await.is_empty());
    // Only that one: another event without an eventID still links.
    assert_eq!(forward(vec!["R".into()]).await.len(), 1);
}

async fn grants(store: &dyn Store) {
    let g = Grant {
        owner: 1,
        grantee: 2,
        biz_step: String::new(),
        created_at: 5,
    };
    assert!(store.set_grant(&g, true, &by()).await.unwrap());
    assert!(
        !store.set_grant(&g, true, &by()).await.unwrap(),
        "granted already"
    );
    let stepped = Grant {
        biz_step: "https://ref.gs1.org/cbv/BizStep-shipping".into(),
        ..g.clone()
    };
    store.set_grant(&stepped, true, &by()).await.unwrap();
    assert_eq!(
        store.grants(None, Some(2)).await.unwrap(),
        [g.clone(), stepped.clone()]
    );
    assert_eq!(store.grants(Some(1), None).await.unwrap().len(), 2);
    assert!(store.grants(Some(2), None).await.unwrap().is_empty());
    assert!(store.set_grant(&g, false, &by()).await.unwrap());
    assert!(!store.set_grant(&g, false, &by()).await.unwrap());
    assert_eq!(store.grants(None, None).await.unwrap(), [stepped]);
}
