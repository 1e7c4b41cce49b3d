//! What each request asks for: resolutions (from the cache, the store or another site),
//! writes through the registry, listings and the site information.

use idnode_core::Identifier;
use idnode_handle_proto::{encode_values, flags, rc, Body, ProtoError, Request, ENVELOPE_LEN};
use idnode_registry::{Principal, PutMode, RegistryError};
use idnode_resolver::{Entry, Outcome, View};

use crate::exchange::Exchange;
use crate::service::HandleService;

/// Handles per LIST_HANDLES message; longer lists continue in further messages (CN).
const LIST_CHUNK: u64 = 5_000;

/// The encoded values of `entry` a resolution asks for (none: all), or None when none
/// matches.
fn select(entry: &Entry, indexes: &[u32], types: &[&str]) -> Option<Vec<u8>> {
    let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
    let chosen = entry.select(indexes, &types);
    if chosen.is_empty() && !(indexes.is_empty() && types.is_empty()) {
        return None;
    }
    let mut b = Vec::new();
    encode_values(&mut b, chosen.iter());
    Some(b)
}

/// The values a resolution asks for: which indexes and types (none: all).
pub(crate) struct Wanted<'r> {
    pub(crate) indexes: &'r [u32],
    pub(crate) types: &'r [&'r str],
}

/// Answers with the values of `entry` that `wanted` selects.
pub(crate) fn write_values(x: &mut Exchange<'_, '_>, handle: &str, entry: &Entry, w: &Wanted<'_>) {
    match select(entry, w.indexes, w.types) {
        Some(b) => x.ok(&Body::Values { handle, values: &b }),
        None => x.answer(
            rc::VALUES_NOT_FOUND,
            &Body::Error("no values match the requested indexes and types"),
        ),
    }
}

impl HandleService {
    /// Answers `req` (of the exchange's message) for `principal`: none is anonymous, and a
    /// request that needs an identity is challenged.
    pub(crate) async fn dispatch(
        &self,
        x: &mut Exchange<'_, '_>,
        req: Request<'_>,
        principal: Option<Principal>,
    ) {
        let needs_admin =
            req.is_admin() || matches!(req, Request::Login { .. } | Request::LoginIdSystem { .. });
        let p = match principal {
            Some(p) => p,
            None if needs_admin => return self.challenge(x),
            None => Principal::Anonymous,
        };
        match req {
            Request::Resolution {
                handle,
                indexes,
                types,
            }
            | Request::Login {
                handle,
                indexes,
                types,
            } => {
                let start = x.out.len();
                let wanted = Wanted {
                    indexes: &indexes,
                    types: &types,
                };
                self.resolve(x, &p, handle, &wanted).await;
                self.count(handle, x.peer, &x.out[start..]);
            }
            Request::GetSiteInfo { .. } => x.ok(&Body::SiteInfo(&self.site)),
            Request::ListHomedNas { .. } => {
                let nas: Vec<String> = self
                    .resolver
                    .served()
                    .iter()
                    .map(|p| format!("0.NA/{p}"))
                    .collect();
                x.ok(&Body::Handles(&nas));
            }
            Request::LoginIdSystem { .. } => x.ok(&Body::Empty),
            Request::ListHandles { handle } => {
                if let Err(e) = self.list(x, &p, handle).await {
                    x.refuse(e.response_code(), &e);
                }
            }
            Request::HomeNa { .. } | Request::UnhomeNa { .. } => x.fail(
                ProtoError::Unsupported(x.m.header.op_code).response_code(),
                "prefixes are homed through the management API (POST /api/v1/enterprises/{id}/prefixes)",
            ),
            Request::SessionSetup(_)
            | Request::SessionTerminate
            | Request::SessionExchangeKey { .. } => {
                // Answered before dispatch (`answer_message`).
                x.fail(rc::ERROR, "unexpected session request");
            }
            Request::VerifyResponse { .. } | Request::ChallengeAnswer { .. } => x.fail(
                rc::OPERATION_NOT_SUPPORTED,
                "this node does not verify answers for other servers",
            ),
            write => {
                if let Err(e) = self.write(x, &p, write).await {
                    x.refuse(e.response_code(), &e);
                }
            }
        }
    }

    /// Counts the outcome of the resolution of `handle` for `peer` answered in `written`
    /// (its response code follows the envelope and the opCode).
    fn count(&self, handle: &str, peer: std::net::IpAddr, written: &[u8]) {
        let at = ENVELOPE_LEN + 4;
        if let Some(rc) = written.get(at..at + 4) {
            let rc = u32::from_be_bytes([rc[0], rc[1], rc[2], rc[3]]);
            if let Some(o) = Outcome::from_rc(rc) {
                let prefix = handle.split_once('/').map_or("", |(p, _)| p);
                self.meter
                    .record(self.resolver.tally(), prefix, o, Some(peer));
            }
        }
    }

    /// CREATE_HANDLE, ADD_VALUE, MODIFY_VALUE, REMOVE_VALUE and DELETE_HANDLE, through the
    /// registry's write pipeline.
    async fn write(
        &self,
        x: &mut Exchange<'_, '_>,
        p: &Principal,
        req: Request<'_>,
    ) -> Result<(), RegistryError> {
        let registry = &self.registry;
        match req {
            Request::Create { handle, values } => {
                let mode = PutMode::Replace {
                    overwrite: x.m.header.has(flags::OW),
                };
                let mint = x.m.header.has(flags::MINT);
                let o = registry.put_handle(p, handle, values, mode, mint).await?;
                x.ok(&Body::Handle(&o.handle));
                return Ok(());
            }
            Request::AddValue { handle, values } => {
                let mode = PutMode::Values {
                    indexes: None,
                    overwrite: false,
                };
                registry.put_handle(p, handle, values, mode, false).await?;
            }
            Request::ModifyValue { handle, values } => {
                registry
                    .put_handle(p, handle, values, PutMode::Modify, false)
                    .await?;
            }
            Request::RemoveValue { handle, indexes } => {
                registry.delete_handle(p, handle, Some(indexes)).await?;
            }
            Request::Delete { handle } => registry.delete_handle(p, handle, None).await?,
            _ => {
                x.fail(rc::OPERATION_NOT_SUPPORTED, "not a write");
                return Ok(());
            }
        }
        x.ok(&Body::Empty);
        Ok(())
    }

    /// A resolution: served here (a challenge when restricted values are hidden and the
    /// client did not ask for public ones only), or referred to the prefix's site.
    async fn resolve(
        &self,
        x: &mut Exchange<'_, '_>,
        p: &Principal,
        handle: &str,
        wanted: &Wanted<'_>,
    ) {
        let id = match Identifier::parse(handle) {
            Ok(id) => id,
            Err(e) => return x.fail(rc::INVALID_HANDLE, &e.to_string()),
        };
        if !self.resolver.serves(&id) {
            return self.refer(x, handle, &id, wanted).await;
        }
        let view = match p {
            Principal::Anonymous => View::Public,
            _ => match self.registry.view_for(p, &id).await {
                Ok(v) => v,
                Err(e) => return x.refuse(e.response_code(), &e),
            },
        };
        let entry = match self.resolver.resolve(&id, view, false).await {
            Ok(e) => e,
            Err(e) => return x.refuse(e.response_code(), &e),
        };
        if view == View::Public && !x.m.header.has(flags::PO) && entry.restricted {
            return self.challenge(x);
        }
        write_values(x, handle, &entry, wanted);
    }

    /// LIST_HANDLES: every handle under the prefix, in messages of [`LIST_CHUNK`] handles,
    /// all but the last flagged continuous (CN).
    async fn list(
        &self,
        x: &mut Exchange<'_, '_>,
        p: &Principal,
        handle: &str,
    ) -> Result<(), RegistryError> {
        let prefix = handle
            .get(..5)
            .filter(|s| s.eq_ignore_ascii_case("0.NA/"))
            .map_or(handle, |_| &handle[5..]);
        let mut page = 0;
        loop {
            let (total, handles) = self
                .registry
                .list_handles(p, prefix, page, LIST_CHUNK)
                .await?;
            let last = (page + 1) * LIST_CHUNK >= total || handles.is_empty();
            let mut header = x.m.header;
            if !last {
                header.op_flags |= flags::CN;
            }
            x.write(&header, rc::SUCCESS, &Body::Handles(&handles));
            if last {
                return Ok(());
            }
            page += 1;
        }
    }
}
