//! Query subscriptions delivered to webhooks: every capture that stores events is due to
//! every stream subscription (the store writes that in the capture's transaction); a round
//! of delivery posts each due capture's events that the subscriber may read and its query
//! selects, as EPCISQueryDocuments signed with HMAC-SHA256 under the signatureToken,
//! retrying failures with a growing delay. At least once: a document may come twice after a
//! failure, never not at all while the subscription lasts (up to [`MAX_ATTEMPTS`]).

use std::future::Future;
use std::time::Duration;

use idnode_epcis::index::{millis, rfc3339};
use idnode_epcis::{query_document, Query, Schedule};
use idnode_registry::Principal;
use idnode_store::{now_millis, Delivery, Settled, Subscription};
use ring::hmac;
use serde_json::Value;

use crate::query::Cursor;
use crate::{Result, TraceError, Traceability};

/// Failed attempts before a delivery is given up (delays double from 1 s to an hour: about
/// a day in all).
pub const MAX_ATTEMPTS: i64 = 30;
/// Events per document posted.
const BATCH: u64 = 500;
/// Longest webhook URL and signatureToken.
const MAX_DEST: usize = 2048;
const MAX_TOKEN: usize = 512;

/// What a round of deliveries did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries and scheduled runs attempted.
    pub attempted: usize,
    /// Deliveries given up after [`MAX_ATTEMPTS`]: subscription, capture, last error.
    pub given_up: Vec<(String, i64, String)>,
}

/// Posts a document to a webhook: `Ok` on a 2xx answer, otherwise why not.
pub trait Webhook: Send + Sync {
    /// Posts `body` (JSON) to `url` with `headers`.
    fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> impl Future<Output = std::result::Result<(), String>> + Send;
}

impl Traceability {
    /// Subscribes `who` to its enterprise's named query `query` (`{"dest", "signatureToken",
    /// "stream": true, "initialRecordTime"}`).
    pub async fn subscribe(
        &self,
        who: &Principal,
        query: &str,
        request: &Value,
    ) -> Result<Subscription> {
        self.writer(who).await?;
        let named = self.named_query(who, query).await?;
        let bad = |m: &str| TraceError::Subscription(m.to_owned());
        let dest = request
            .get("dest")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("dest: the webhook URL is required"))?;
        check_dest(dest, self.limits.webhook_private)?;
        let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
        let schedule = request.get("schedule");
        let now = now_millis();
        let (schedule, next_run) = match (stream, schedule) {
            (true, None) => (String::new(), 0),
            (false, Some(v)) => {
                let next = Schedule::parse(v)
                    .map_err(|e| bad(&e))?
                    .next_after(now)
                    .ok_or_else(|| bad("schedule: never matches"))?;
                (v.to_string(), next)
            }
            (true, Some(_)) => return Err(bad("stream and schedule exclude each other")),
            (false, None) => return Err(bad("stream: true, or a schedule, is required")),
        };
        let report_if_empty = match request.get("reportIfEmpty") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("reportIfEmpty: true or false")),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let secret = match request.get("signatureToken") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(t)) if !t.is_empty() && t.len() <= MAX_TOKEN => self
                .registry
                .seal(&purpose(&id), t.as_bytes())
                .map(hex::encode)
                .ok_or_else(|| bad("signatureToken: this node has no sealing key to keep it"))?,
            Some(_) => return Err(bad("signatureToken: a string of 1 to 512 bytes")),
        };
        let min_record_time = match request.get("initialRecordTime") {
            None => now,
            Some(t) => t
                .as_str()
                .and_then(millis)
                .ok_or_else(|| bad("initialRecordTime: an RFC 3339 date-time"))?,
        };
        let s = Subscription {
            id,
            owner: named.owner,
            query: named.name,
            actor: who.actor().to_owned(),
            dest: dest.to_owned(),
            secret,
            stream,
            schedule,
            report_if_empty,
            created_at: now,
            min_record_time,
            next_run,
            last_notified_at: None,
        };
        self.store.save_subscription(&s, &crate::by(who)).await?;
        Ok(s)
    }

    /// The subscriptions to `who`'s enterprise's query `query`.
    pub async fn subscriptions(&self, who: &Principal, query: &str) -> Result<Vec<Subscription>> {
        let named = self.named_query(who, query).await?;
        Ok(self
            .store
            .subscriptions(named.owner, Some(&named.name))
            .await?)
    }

    /// Subscription `id` to `who`'s enterprise's query `query`.
    pub async fn subscription(
        &self,
        who: &Principal,
        query: &str,
        id: &str,
    ) -> Result<Subscription> {
        self.subscriptions(who, query)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| TraceError::NotFound(format!("subscription {id}")))
    }

    /// Ends subscription `id` to `who`'s enterprise's query `query`.
    pub async fn unsubscribe(&self, who: &Principal, query: &str, id: &str) -> Result<()> {
        if self
            .store
            .delete_subscription(self.writer(who).await?, query, id, &crate::by(who))
            .await?
        {
            Ok(())
        } else {
            Err(TraceError::NotFound(format!("subscription {id}")))
        }
    }

    /// One round: every delivery and scheduled run due now, posted through `hook`.
    pub async fn deliver<W: Webhook>(&self, hook: &W) -> Result<Round> {
        let now = now_millis();
        let due = self.store.due_deliveries(now, 100).await?;
        let mut round = Round::default();
        for d in &due {
            let settled = match self.attempt(d, hook).await {
                Ok(()) => Settled::Done(now_millis()),
                Err(error) if d.attempts + 1 >= MAX_ATTEMPTS => {
                    round
                        .given_up
                        .push((d.subscription.clone(), d.capture, error));
                    Settled::GiveUp
                }
                Err(error) => Settled::Retry {
                    next_at: now_millis() + backoff(d.attempts),
                    error,
                },
            };
            self.store.settle_delivery(d, &settled).await?;
        }
        let scheduled = self.store.due_schedules(now, 100).await?;
        for s in &scheduled {
            let until = now_millis() - self.limits.schedule_settle_ms;
            let next = |after: i64| {
                Schedule::parse(&serde_json::from_str(&s.schedule).unwrap_or(Value::Null))
                    .ok()
                    .and_then(|p| p.next_after(after))
                    .unwrap_or(i64::MAX)
            };
            match self.run_schedule(s, until, hook).await {
                Ok(()) => {
                    let at = now_millis();
                    self.store
                        .reschedule(&s.id, until.max(s.min_record_time), next(at), Some(at))
                        .await?;
                }
                // Nothing is lost: the same window, and what came since, a minute later.
                Err(_) => {
                    let retry = now_millis() + 60_000;
                    self.store
                        .reschedule(
                            &s.id,
                            s.min_record_time,
                            next(now).max(retry).min(retry),
                            None,
                        )
                        .await?;
                }
            }
        }
        round.attempted = due.len() + scheduled.len();
        Ok(round)
    }

    /// Posts the events of one due capture, batch by batch.
    async fn attempt<W: Webhook>(&self, d: &Delivery, hook: &W) -> std::result::Result<(), String> {
        let Some(s) = self
            .store
            .subscription(&d.subscription)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(()); // unsubscribed meanwhile
        };
        let (who, q) = self.subscription_query(&s).await?;
        let docs = self
            .capture_documents(&who, &q, &s.query, Some(&s.id), Some(d.capture))
            .await
            .map_err(|e| e.to_string())?;
        self.post_all(&s, docs, hook).await
    }

    /// Who a subscription reads as, and its query from its `min_record_time` on.
    async fn subscription_query(
        &self,
        s: &Subscription,
    ) -> std::result::Result<(Principal, Query), String> {
        let who = principal_of(s);
        let named = self
            .named_query(&who, &s.query)
            .await
            .map_err(|e| e.to_string())?;
        let mut q = self.parse_named(&named, &[]).map_err(|e| e.to_string())?;
        q.ge_record_time = Some(q.ge_record_time.unwrap_or(i64::MIN).max(s.min_record_time));
        Ok((who, q))
    }

    /// A scheduled run: the events recorded from the subscription's `min_record_time` until
    /// `until` (the limits' `schedule_settle_ms` before the run); an empty document when none
    /// is selected and `reportIfEmpty` is set.
    async fn run_schedule<W: Webhook>(
        &self,
        s: &Subscription,
        until: i64,
        hook: &W,
    ) -> std::result::Result<(), String> {
        let (who, mut q) = self.subscription_query(s).await?;
        q.lt_record_time = Some(q.lt_record_time.unwrap_or(i64::MAX).min(until));
        let mut docs = self
            .capture_documents(&who, &q, &s.query, Some(&s.id), None)
            .await
            .map_err(|e| e.to_string())?;
        if docs.is_empty() && s.report_if_empty {
            let mut doc = query_document(&s.query, &[], &rfc3339(now_millis()));
            doc["epcisBody"]["queryResults"]["subscriptionID"] = Value::String(s.id.clone());
            docs.push(doc);
        }
        self.post_all(s, docs, hook).await
    }

    /// Posts `docs` to the subscription's webhook in order, each signed when it has a
    /// signatureToken.
    async fn post_all<W: Webhook>(
        &self,
        s: &Subscription,
        docs: Vec<Value>,
        hook: &W,
    ) -> std::result::Result<(), String> {
        let token = match s.secret.as_str() {
            "" => None,
            sealed => Some(
                hex::decode(sealed)
                    .ok()
                    .and_then(|b| self.registry.open_sealed(&purpose(&s.id), &b))
                    .ok_or("the signatureToken cannot be opened (another sealing key?)")?,
            ),
        };
        for doc in docs {
            let body = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
            let mut headers = vec![
                ("content-type", "application/ld+json".to_owned()),
                ("gs1-epcis-version", "2.0.0".to_owned()),
            ];
            if let Some(t) = &token {
                headers.push(("gs1-signature", signature(t, &body)));
            }
            hook.post(&s.dest, headers, body).await?;
        }
        Ok(())
    }

    /// The events of capture `capture` that `q` selects and `who` may read, as
    /// EPCISQueryDocuments of the query `name` (and subscription `id`) of at most
    /// [`BATCH`] events each; none when no event is selected.
    pub(crate) async fn capture_documents(
        &self,
        who: &Principal,
        q: &Query,
        name: &str,
        id: Option<&str>,
        capture: Option<i64>,
    ) -> Result<Vec<Value>> {
        let readable = self.readable(who).await?;
        let mut docs = Vec::new();
        let mut cursor = Cursor::default();
        loop {
            let (events, next) = self
                .scan_capture(q, &readable, capture, cursor, BATCH)
                .await?;
            if !events.is_empty() {
                let pairs: Vec<(Value, Value)> =
                    events.into_iter().map(|e| (e.body, e.context)).collect();
                let mut doc = query_document(name, &pairs, &rfc3339(now_millis()));
                if let Some(id) = id {
                    doc["epcisBody"]["queryResults"]["subscriptionID"] = Value::String(id.into());
                }
                docs.push(doc);
            }
            match next {
                Some(after) => cursor.after = Some(after),
                None => return Ok(docs),
            }
        }
    }

    /// Subscribes `who` to its enterprise's query `name` for as long as the answer is kept
    /// (a WebSocket subscription): what this node captures from now on.
    pub async fn live(&self, who: &Principal, name: &str) -> Result<Live> {
        let named = self.named_query(who, name).await?;
        let mut query = self.parse_named(&named, &[])?;
        query.ge_record_time = Some(query.ge_record_time.unwrap_or(i64::MIN).max(now_millis()));
        Ok(Live {
            captured: self.captured.subscribe(),
            who: who.clone(),
            query,
            name: named.name,
        })
    }

    /// The next documents of a live subscription: waits for a capture with events it
    /// selects. `Ok(None)` when the node is shutting down; captures missed because the
    /// subscriber fell behind are skipped (counted in the error it then gets).
    pub async fn next_live(&self, live: &mut Live) -> Result<Option<Vec<Value>>> {
        loop {
            let capture = match live.captured.recv().await {
                Ok(c) => c,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(None),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    return Err(TraceError::Subscription(format!(
                        "{n} captures were missed: the subscriber reads too slowly"
                    )))
                }
            };
            let docs = self
                .capture_documents(&live.who, &live.query, &live.name, None, Some(capture))
                .await?;
            if !docs.is_empty() {
                return Ok(Some(docs));
            }
        }
    }
}

/// A WebSocket subscription of this node ([`Traceability::live`]).
pub struct Live {
    captured: tokio::sync::broadcast::Receiver<i64>,
    who: Principal,
    query: Query,
    name: String,
}

/// The `GS1-Signature` of a body: `sha256=` and the lowercase hex HMAC-SHA256 of the body
/// under the signatureToken.
pub fn signature(token: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, token);
    format!("sha256={}", hex::encode(hmac::sign(&key, body).as_ref()))
}

/// The delay after `attempts` failures: 1 s, doubling, at most an hour.
fn backoff(attempts: i64) -> i64 {
    let secs = 1i64 << attempts.clamp(0, 12);
    Duration::from_secs(secs.min(3_600) as u64).as_millis() as i64
}

fn purpose(id: &str) -> String {
    format!("epcis-subscription/{id}")
}

/// Who a subscription reads as.
fn principal_of(s: &Subscription) -> Principal {
    match s.owner {
        0 => Principal::Operator {
            identity: s.actor.clone(),
        },
        id => Principal::Enterprise {
            identity: s.actor.clone(),
            id,
        },
    }
}

/// A webhook URL: http or https, of a bounded length, and (unless the node allows
/// private destinations) not naming a loopback or private address.
fn check_dest(dest: &str, private_ok: bool) -> Result<()> {
    let bad = |m: &str| Err(TraceError::Subscription(format!("dest: {m}")));
    if dest.len() > MAX_DEST {
        return bad("longer than 2048 bytes");
    }
    let Some((scheme, rest)) = dest.split_once("://") else {
        return bad("not an absolute URL");
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return bad("an http or https URL");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return bad("no host");
    }
    if !private_ok && is_private_host(host) {
        return bad("a loopback or private address (the node does not post inside its network)");
    }
    Ok(())
}

/// Whether `host` names this machine or a private network.
pub fn is_private_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => is_private_ip(ip),
        Err(_) => false,
    }
}

/// Whether `ip` is loopback, private, link-local, unspecified or unique-local.
pub fn is_private_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private_ip(v4.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert!(check_dest("https://client.example.com/hook", false).is_ok());
        for bad in [
            "ftp://x.com/",
            "client.example.com/hook",
            "http:///x",
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]/x",
            "http://10.1.2.3/x",
            "http://user@192.168.0.1/x",
            "http://[::ffff:127.0.0.1]/x",
        ] {
            assert!(check_dest(bad, false).is_err(), "{bad}");
        }
        assert!(check_dest("http://127.0.0.1:8080/x", true).is_ok());
    }

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn delays_double_to_an_hour() {
        assert_eq!(backoff(0), 1_000);
        assert_eq!(backoff(3), 8_000);
        assert_eq!(backoff(40), 3_600_000);
    }
}
