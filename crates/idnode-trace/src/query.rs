//! Event queries: the indexed part of a [`Query`] runs in the store, the conditions on the
//! body here, page by page (`perPage`, `nextPageToken`), within what the caller may read.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use idnode_epcis::index::rfc3339;
use idnode_epcis::{Namespaces, OrderBy, Query, QueryError, Role};
use idnode_registry::Principal;
use idnode_store::{EventFilter, EventOrder, EventRecord, Readable};
use serde_json::Value;

use crate::{Result, TraceError, Traceability};

/// One event of an answer: as captured, with its `recordTime`, and its document's
/// `@context`.
#[derive(Clone, Debug, PartialEq)]
pub struct PageEvent {
    /// The event.
    pub body: Value,
    /// Its document's `@context`.
    pub context: Value,
}

/// A page of an answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// The events, in the query's order.
    pub events: Vec<PageEvent>,
    /// The token of the next page, when there may be one.
    pub next: Option<String>,
}

/// Where a page resumes: after (order value, id), with `served` events answered before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) after: Option<(i64, i64)>,
    pub(crate) served: u64,
}

impl Cursor {
    fn token(self) -> String {
        let (v, id) = self.after.unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!("{v}.{id}.{}", self.served))
    }

    fn parse(token: &str) -> Result<Self> {
        let bad = || {
            TraceError::Query(QueryError(
                "nextPageToken: not a token of this query".into(),
            ))
        };
        let text = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let text = String::from_utf8(text).map_err(|_| bad())?;
        let mut parts = text.split('.').map(str::parse::<i64>);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(v)), Some(Ok(id)), Some(Ok(served)), None) => Ok(Self {
                after: Some((v, id)),
                served: u64::try_from(served).map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

impl Traceability {
    /// One page of the events `who` may read that `q` selects.
    pub async fn query(&self, who: &Principal, q: &Query) -> Result<Page> {
        let readable = self.readable(who).await?;
        if let Some(max) = q.max_event_count {
            let (all, _) = self.scan(q, &readable, Cursor::default(), max + 1).await?;
            if all.len() as u64 > max {
                return Err(TraceError::QueryTooLarge(format!(
                    "more than maxEventCount ({max}) events match"
                )));
            }
        }
        let cursor = match &q.next_page_token {
            Some(t) => Cursor::parse(t)?,
            None => Cursor::default(),
        };
        let per_page = q
            .per_page
            .unwrap_or(self.limits.per_page)
            .min(self.limits.max_per_page);
        let left = q
            .event_count_limit
            .map_or(u64::MAX, |n| n.saturating_sub(cursor.served));
        let want = per_page.min(left);
        if want == 0 {
            return Ok(Page::default());
        }
        let (rows, next) = self.scan(q, &readable, cursor, want).await?;
        let served = cursor.served + rows.len() as u64;
        let next = next
            .filter(|_| served < q.event_count_limit.unwrap_or(u64::MAX))
            .map(|after| {
                Cursor {
                    after: Some(after),
                    served,
                }
                .token()
            });
        Ok(Page { events: rows, next })
    }

    /// The events named `event_id` that `who` may read: the event and any error
    /// declarations about it.
    pub async fn event(&self, who: &Principal, event_id: &str) -> Result<Vec<PageEvent>> {
        let f = EventFilter {
            readable: self.readable(who).await?,
            event_ids: vec![event_id.to_owned()],
            order: EventOrder::RecordTime,
            limit: 100,
            ..EventFilter::default()
        };
        let rows = self.store.events(&f).await?;
        if rows.is_empty() {
            return Err(TraceError::NotFound(format!("event {event_id}")));
        }
        Ok(rows.iter().map(answer).collect())
    }

    /// Up to `want` matching events after `cursor`, and where the next page starts when
    /// more may match (the last event answered, or the last examined when the scan limit
    /// ran out first).
    async fn scan(
        &self,
        q: &Query,
        readable: &Readable,
        cursor: Cursor,
        want: u64,
    ) -> Result<(Vec<PageEvent>, Option<(i64, i64)>)> {
        self.scan_capture(q, readable, None, cursor, want).await
    }

    /// [`Self::scan`] within one capture job's events, when `capture` is given.
    pub(crate) async fn scan_capture(
        &self,
        q: &Query,
        readable: &Readable,
        capture: Option<i64>,
        cursor: Cursor,
        want: u64,
    ) -> Result<(Vec<PageEvent>, Option<(i64, i64)>)> {
        if q.nothing {
            return Ok((Vec::new(), None));
        }
        let mut f = filter(q, readable.clone());
        f.capture = capture;
        f.after = cursor.after;
        let mut out = Vec::new();
        let mut contexts: HashMap<i64, (Value, Namespaces)> = HashMap::new();
        let mut scanned = 0u64;
        let filtered = !q.conditions.is_empty() || q.nothing;
        loop {
            // Read one more than wanted, to know whether a next page exists.
            f.limit = if filtered {
                500
            } else {
                want + 1 - out.len() as u64
            };
            let rows = self.store.events(&f).await?;
            let exhausted = (rows.len() as u64) < f.limit;
            for row in &rows {
                let at = (order_value(q.order_by, row), row.id);
                scanned += 1;
                let (context, ns) = contexts.entry(row.capture).or_insert_with(|| {
                    let ctx: Value = serde_json::from_str(&row.context).unwrap_or(Value::Null);
                    let ns = Namespaces::of_document(&serde_json::json!({ "@context": ctx }));
                    (ctx, ns)
                });
                let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
                if !q.matches(&body, ns) {
                    f.after = Some(at);
                    continue;
                }
                if out.len() as u64 == want {
                    // A further match exists: the next page starts after the last answered.
                    return Ok((out, f.after));
                }
                out.push(PageEvent {
                    body: with_record_time(body, row.record_time),
                    context: context.clone(),
                });
                f.after = Some(at);
            }
            if exhausted {
                return Ok((out, None));
            }
            if scanned >= self.limits.scan {
                return Ok((out, f.after));
            }
        }
    }
}

/// The store's part of a query.
fn filter(q: &Query, readable: Readable) -> EventFilter {
    EventFilter {
        readable,
        event_types: q.event_types.clone(),
        ge_event_time: q.ge_event_time,
        lt_event_time: q.lt_event_time,
        ge_record_time: q.ge_record_time,
        lt_record_time: q.lt_record_time,
        actions: q.actions.clone(),
        biz_steps: q.biz_steps.clone(),
        dispositions: q.dispositions.clone(),
        read_points: q.read_points.clone(),
        biz_locations: q.biz_locations.clone(),
        transformation_ids: q.transformation_ids.clone(),
        event_ids: q.event_ids.clone(),
        keys: q
            .keys
            .iter()
            .map(|(roles, keys)| (roles.iter().map(|r| Role::code(*r)).collect(), keys.clone()))
            .collect(),
        declares_error: q.declares_error,
        order: match q.order_by {
            OrderBy::EventTime => EventOrder::EventTime,
            OrderBy::RecordTime => EventOrder::RecordTime,
        },
        descending: q.descending,
        after: None,
        capture: None,
        limit: 0,
    }
}

fn order_value(order: OrderBy, row: &EventRecord) -> i64 {
    match order {
        OrderBy::EventTime => row.event_time,
        OrderBy::RecordTime => row.id,
    }
}

/// A stored event as answered.
pub(crate) fn answer(row: &EventRecord) -> PageEvent {
    let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
    PageEvent {
        body: with_record_time(body, row.record_time),
        context: serde_json::from_str(&row.context).unwrap_or(Value::Null),
    }
}

fn with_record_time(mut body: Value, ms: i64) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.insert("recordTime".into(), Value::String(rfc3339(ms)));
    }
    body
}

/// A page of vocabulary values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values {
    /// The values: the standard terms (bare) first when the field has a vocabulary, then
    /// the values readable events use.
    pub members: Vec<String>,
    /// The token of the next page, when there may be one.
    pub next: Option<String>,
}

impl Traceability {
    /// The values of `field` in use among the events `who` may read (with the standard
    /// terms of its vocabulary, on the first page), `per_page` at a time.
    pub async fn values(
        &self,
        who: &Principal,
        field: idnode_store::EventField,
        token: Option<&str>,
        per_page: Option<u64>,
    ) -> Result<Values> {
        use idnode_epcis::vocab::{bare, standard_terms, Term};
        use idnode_store::EventField;
        let readable = self.readable(who).await?;
        let term = match field {
            EventField::BizStep => Term::BizStep,
            EventField::Disposition => Term::Disposition,
            _ => Term::None,
        };
        let after = match token {
            Some(t) => Some(
                URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        TraceError::Query(QueryError(
                            "nextPageToken: not a token of this list".into(),
                        ))
                    })?,
            ),
            None => None,
        };
        let per_page = per_page
            .unwrap_or(self.limits.per_page)
            .min(self.limits.max_per_page);
        let mut members: Vec<String> = if after.is_none() {
            standard_terms(term).map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        let used = self
            .store
            .event_values(field, &readable, after.as_deref(), per_page + 1)
            .await?;
        let more = used.len() as u64 > per_page;
        let used: Vec<String> = used.into_iter().take(per_page as usize).collect();
        let next = more
            .then(|| used.last().map(|v| URL_SAFE_NO_PAD.encode(v)))
            .flatten();
        members.extend(used.into_iter().filter(|v| bare(term, v).is_none()));
        Ok(Values { members, next })
    }
}
