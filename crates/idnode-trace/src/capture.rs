//! Capture: a document or one event checked (off the async threads: schema validation of a
//! large document takes a while), indexed, and stored in one transaction.

use idnode_epcis::{
    capture_document, capture_document_proceeding, capture_event, index, Binding, Capture,
    IdentifierForms, Problem,
};
use idnode_registry::Principal;
use idnode_store::{CaptureRecord, Change, NewCapture, NewEvent, NotStored};

use crate::{owner_of, Result, TraceError, Traceability};

/// What a capture of one event stored.
#[derive(Clone, Debug)]
pub struct Captured {
    /// The event's eventID (its hash ID when it has none).
    pub event_id: String,
    /// The capture job.
    pub job: CaptureRecord,
}

impl Traceability {
    /// Captures an EPCISDocument written in `binding`. `rollback`: an event that cannot be
    /// stored refuses the whole document (the standard's default); otherwise the others are
    /// stored. The answer is the finished capture job.
    pub async fn capture(
        &self,
        who: &Principal,
        bytes: Vec<u8>,
        binding: Binding,
        rollback: bool,
    ) -> Result<CaptureRecord> {
        let owner = self.writer(who).await?;
        self.check_size(bytes.len())?;
        let limit = self.limits.capture_events;
        let forms = self.forms.clone();
        let (context, events, refused) = self
            .check(move || {
                let bytes = binding.document_json(bytes)?;
                let (mut capture, problems) = if rollback {
                    (capture_document(&bytes)?, Vec::new())
                } else {
                    capture_document_proceeding(&bytes)?
                };
                if capture.events.len() > limit {
                    return Err(TraceError::TooLarge(format!(
                        "{} events in one document; at most {limit}",
                        capture.events.len()
                    )));
                }
                let refused = set_aside(&mut capture, &problems);
                let (context, events) = prepare(capture, &forms);
                Ok((context, events, refused))
            })
            .await?;
        let capture = NewCapture {
            owner,
            actor: who.actor().to_owned(),
            origin: idnode_registry::origin::current(),
            rollback,
            refused,
            context,
            events,
        };
        self.store_capture(&capture).await
    }

    /// Captures one event (with its own `@context`) written in `binding`. An event stored
    /// already answers [`TraceError::Duplicate`].
    pub async fn capture_one(
        &self,
        who: &Principal,
        bytes: Vec<u8>,
        binding: Binding,
    ) -> Result<Captured> {
        let owner = self.writer(who).await?;
        self.check_size(bytes.len())?;
        let forms = self.forms.clone();
        let (context, events) = self
            .check(move || {
                let bytes = binding.event_json(bytes)?;
                Ok(prepare(capture_event(&bytes)?, &forms))
            })
            .await?;
        let event_id = events
            .first()
            .map(|e| e.event_id.clone())
            .unwrap_or_default();
        let capture = NewCapture {
            owner,
            actor: who.actor().to_owned(),
            origin: idnode_registry::origin::current(),
            rollback: true,
            refused: Vec::new(),
            context,
            events,
        };
        let job = self.store_capture(&capture).await?;
        if job.not_stored.is_empty() {
            Ok(Captured { event_id, job })
        } else {
            Err(TraceError::Duplicate(event_id))
        }
    }

    /// A capture job: its owner's, or any for the operator.
    pub async fn job(&self, who: &Principal, id: i64) -> Result<CaptureRecord> {
        let owner = owner_of(who)?;
        match self.store.capture_job(id).await? {
            Some(job) if owner == 0 || job.owner == owner => Ok(job),
            _ => Err(TraceError::NotFound(format!("capture job {id}"))),
        }
    }

    /// Stores a capture; the trace links it changes are forgotten (also when the store
    /// failed: it may have committed), WebSocket subscribers told.
    async fn store_capture(&self, capture: &NewCapture) -> Result<CaptureRecord> {
        let stored = self.store.capture(capture).await;
        self.links.forget(&capture.events);
        let job = stored?;
        self.announce(&job);
        Ok(job)
    }

    /// Forgets the trace links another instance's capture may have changed, and tells
    /// this node's WebSocket subscribers about it; after a [`Change::Resync`], forgets
    /// every link.
    pub fn heard(&self, change: &Change) {
        match change {
            Change::Captured(id) => {
                self.links.forget_all();
                let _ = self.captured.send(*id);
            }
            Change::Resync => self.links.forget_all(),
            _ => {}
        }
    }

    /// Tells WebSocket subscribers of this node about a capture that stored events.
    fn announce(&self, job: &CaptureRecord) {
        if job.stored > 0 {
            // Nobody listening is no fault.
            let _ = self.captured.send(job.id);
        }
    }

    /// Runs the CPU-heavy check of a capture on the blocking pool, at most one per core at a
    /// time, in arrival order. Checks that shared the cores would all finish late, together,
    /// and then all wait for the database together; one at a time, each is stored while the
    /// next is checked (measured: two documents in flight went from both checked, then both
    /// stored, to a pipeline).
    async fn check<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // The semaphore is never closed.
        let _permit = self.checks.acquire().await.ok();
        tokio::task::spawn_blocking(f)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    fn check_size(&self, len: usize) -> Result<()> {
        let max = self.limits.capture_bytes;
        if len > max {
            return Err(TraceError::TooLarge(format!(
                "{len} bytes in one capture; at most {max}"
            )));
        }
        Ok(())
    }
}

/// Takes the events with faults out of `capture`: each as refused, with its first fault.
fn set_aside(capture: &mut Capture, problems: &[Problem]) -> Vec<NotStored> {
    let mut refused = Vec::new();
    capture.events.retain(|e| {
        let Some(p) = problems.iter().find(|p| p.event == Some(e.index)) else {
            return true;
        };
        refused.push(NotStored {
            index: e.index,
            event_id: e.event_id.clone().unwrap_or_else(|| e.hash.clone()),
            duplicate: false,
            reason: format!("{} at '{}'", p.message, p.pointer),
        });
        false
    });
    refused
}

/// A checked capture as the store takes it: the `@context` as JSON text and the events
/// with their indexed fields. A `recordTime` sent along is the repository's to set, and
/// dropped.
fn prepare(capture: Capture, forms: &IdentifierForms) -> (String, Vec<NewEvent>) {
    let Capture {
        namespaces,
        context,
        events,
    } = capture;
    let events = events
        .into_iter()
        .map(|e| {
            let ix = index(&e.body, &namespaces, forms);
            let declares_error = e.is_error_declaration();
            let mut body = e.body;
            if let Some(o) = body.as_object_mut() {
                o.remove("recordTime");
                o.remove("@context");
            }
            NewEvent {
                index: e.index,
                event_id: e.event_id.unwrap_or_else(|| e.hash.clone()),
                hash: e.hash,
                declares_error,
                event_type: e.kind,
                event_time: ix.event_time,
                action: ix.action,
                biz_step: ix.biz_step,
                disposition: ix.disposition,
                read_point: ix.read_point,
                biz_location: ix.biz_location,
                transformation_id: ix.transformation_id,
                body: body.to_string(),
                keys: ix.keys.into_iter().map(|(r, k)| (r.code(), k)).collect(),
            }
        })
        .collect();
    (context.to_string(), events)
}
