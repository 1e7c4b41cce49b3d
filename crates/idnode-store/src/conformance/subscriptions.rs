//! Subscriptions in the conformance story: a stored capture is due to every stream
//! subscription (written with the capture), retried, settled; deleting a query deletes its
//! subscriptions and what was still to deliver to them.

use super::events::{capture, event};
use crate::{Delivery, NamedQuery, Settled, Store, Subscription};

fn subscription(id: &str, owner: i64, query: &str) -> Subscription {
    Subscription {
        id: id.into(),
        owner,
        query: query.into(),
        actor: format!("300:owner-{owner}"),
        dest: "http://127.0.0.1:9/hook".into(),
        secret: "00ff".into(),
        stream: true,
        schedule: String::new(),
        report_if_empty: false,
        created_at: 10,
        min_record_time: 10,
        next_run: 0,
        last_notified_at: None,
    }
}

/// Runs the subscription part of the story (after the events part).
pub(super) async fn run(store: &dyn Store) {
    let q = NamedQuery {
        owner: 5,
        name: "watch".into(),
        definition: "{}".into(),
        extensions: String::new(),
        created_at: 1,
    };
    assert!(store.save_query(&q, &super::events::by()).await.unwrap());
    let s1 = subscription("s1", 5, "watch");
    store
        .save_subscription(&s1, &super::events::by())
        .await
        .unwrap();
    store
        .save_subscription(&subscription("s2", 5, "watch"), &super::events::by())
        .await
        .unwrap();
    assert_eq!(
        store.subscriptions(5, Some("watch")).await.unwrap().len(),
        2
    );
    assert_eq!(store.subscription("s1").await.unwrap(), Some(s1.clone()));
    assert_eq!(store.subscriptions(6, None).await.unwrap(), vec![]);

    let job = store
        .capture(&capture(
            5,
            true,
            vec![event("w1", "ObjectEvent", 9_000, &[(1, "w")])],
        ))
        .await
        .unwrap();
    // A capture that stores nothing is due to nobody.
    store
        .capture(&capture(
            5,
            true,
            vec![event("w1", "ObjectEvent", 9_000, &[(1, "w")])],
        ))
        .await
        .unwrap();
    let due = store.due_deliveries(i64::MAX, 100).await.unwrap();
    let mine: Vec<&Delivery> = due.iter().filter(|d| d.capture == job.id).collect();
    assert_eq!(mine.len(), 2, "{due:?}");
    assert_eq!(due.len(), 2, "only the storing capture: {due:?}");
    let d = mine.iter().find(|d| d.subscription == "s1").unwrap();
    assert_eq!(d.attempts, 0);

    let retry = Settled::Retry {
        next_at: i64::MAX - 1,
        error: "connection refused".into(),
    };
    store.settle_delivery(d, &retry).await.unwrap();
    let later = store.due_deliveries(i64::MAX - 2, 100).await.unwrap();
    assert!(later.iter().all(|x| x.subscription != "s1"), "{later:?}");
    let again = store.due_deliveries(i64::MAX, 100).await.unwrap();
    let d = again.iter().find(|x| x.subscription == "s1").unwrap();
    assert_eq!((d.attempts, d.error.as_str()), (1, "connection refused"));
    store.settle_delivery(d, &Settled::Done(77)).await.unwrap();
    let s = store.subscription("s1").await.unwrap().unwrap();
    assert_eq!(s.last_notified_at, Some(77));

    scheduled(store).await;

    assert!(store
        .delete_subscription(5, "watch", "s1", &super::events::by())
        .await
        .unwrap());
    assert!(!store
        .delete_subscription(5, "watch", "s1", &super::events::by())
        .await
        .unwrap());
    assert!(!store
        .delete_subscription(6, "watch", "s2", &super::events::by())
        .await
        .unwrap());
    // Deleting the query ends its subscriptions and their deliveries.
    assert!(store
        .delete_query(5, "watch", &super::events::by())
        .await
        .unwrap());
    assert_eq!(store.subscription("s2").await.unwrap(), None);
    assert_eq!(store.subscription("s3").await.unwrap(), None);
    assert_eq!(store.due_deliveries(i64::MAX, 100).await.unwrap(), vec![]);
}

/// A scheduled subscription is due at its next run and moves on; captures are due to
/// stream subscriptions only.
async fn scheduled(store: &dyn Store) {
    // A scheduled one is due at its next run, and moves on.
    let mut daily = subscription("s3", 5, "watch");
    daily.stream = false;
    daily.schedule = "{\"hour\":\"1\"}".into();
    daily.next_run = 5_000;
    store
        .save_subscription(&daily, &super::events::by())
        .await
        .unwrap();
    assert_eq!(store.due_schedules(4_999, 10).await.unwrap(), vec![]);
    assert_eq!(
        store.due_schedules(5_000, 10).await.unwrap(),
        vec![daily.clone()]
    );
    store.reschedule("s3", 5_000, 90_000, None).await.unwrap();
    assert_eq!(store.due_schedules(89_999, 10).await.unwrap(), vec![]);
    store
        .reschedule("s3", 90_000, 200_000, Some(90_001))
        .await
        .unwrap();
    let moved = store.subscription("s3").await.unwrap().unwrap();
    assert_eq!(
        (
            moved.min_record_time,
            moved.next_run,
            moved.last_notified_at
        ),
        (90_000, 200_000, Some(90_001))
    );
    // Captures are due to stream subscriptions only.
    let job = store
        .capture(&capture(
            5,
            true,
            vec![event("w2", "ObjectEvent", 9_500, &[(1, "w")])],
        ))
        .await
        .unwrap();
    let mut to: Vec<String> = store
        .due_deliveries(i64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.capture == job.id)
        .map(|d| d.subscription)
        .collect();
    to.sort();
    assert_eq!(to, ["s1", "s2"]);
}
