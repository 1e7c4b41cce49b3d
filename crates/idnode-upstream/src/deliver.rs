//! One step of an upstream action as an EPP command, and what its answer changes locally.

use idnode_epp::{
    Command, EntChange, IdentifierChanges, IdentifierObject, IdentifierRemovals, IdentifierUpdate,
    ResData, Site,
};
use idnode_store::{Action, IdentifierChange};
use idnode_store::{Op, OutboxRow, Store};

use crate::{Session, UpstreamError, WorkerConfig};

/// What a step needs besides the session.
pub(crate) struct Context<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) cfg: &'a WorkerConfig,
    pub(crate) client_id: &'a str,
}

/// The client transaction id of step `k` of `row`: the same on every redelivery, and unique
/// across databases (the row's creation time is part of it).
pub(crate) fn cl_trid(row: &OutboxRow, k: u32) -> String {
    format!("idn-{:x}-{}-{k}", row.created_at, row.id)
}

fn refused_code(e: &UpstreamError) -> Option<u16> {
    match e {
        UpstreamError::Refused { code, .. } => Some(*code),
        _ => None,
    }
}

async fn upstream_id(cx: &Context<'_>, enterprise: i64) -> Result<String, UpstreamError> {
    let e =
        cx.store.get_enterprise(enterprise).await?.ok_or_else(|| {
            UpstreamError::Undeliverable(format!("enterprise {enterprise} is gone"))
        })?;
    e.upstream_id.ok_or_else(|| {
        UpstreamError::Undeliverable(format!(
            "enterprise {enterprise} was not created at the top-level node"
        ))
    })
}

fn identifier(
    cx: &Context<'_>,
    name: &str,
    urls: Vec<String>,
    sites: Vec<Site>,
) -> IdentifierObject {
    IdentifierObject {
        name: name.to_owned(),
        kind: "handle".into(),
        status: Vec::new(),
        contacts: vec![("admin".into(), cx.client_id.to_owned())],
        urls,
        admins: Vec::new(),
        sites,
    }
}

/// `ent:create`, unless the enterprise is known upstream already (recorded, or found by its
/// credit code).
async fn enterprise_create(
    s: &mut Session,
    cx: &Context<'_>,
    enterprise: i64,
    trid: &str,
) -> Result<Vec<Op>, UpstreamError> {
    let node = cx.cfg.node_prefix.clone();
    let e =
        cx.store.get_enterprise(enterprise).await?.ok_or_else(|| {
            UpstreamError::Undeliverable(format!("enterprise {enterprise} is gone"))
        })?;
    if e.upstream_id.is_some() {
        return Ok(Vec::new());
    }
    // Already on file upstream (by its credit code)? Then only its id is recorded.
    if !e.profile.credit_code.is_empty() {
        let check = Command::EntCheck {
            shr_user_id: cx.cfg.shr_user_id.clone(),
            crt_type: "1".into(),
            crt_code: e.profile.credit_code.clone(),
        };
        match s.command(check, &format!("{trid}-c")).await {
            Ok(r) => {
                if let ResData::EntChecked(id) = r.data {
                    if !id.is_empty() {
                        return Ok(vec![Op::SetEnterpriseUpstream {
                            id: enterprise,
                            upstream_id: id,
                        }]);
                    }
                }
            }
            Err(e) if refused_code(&e) == Some(2303) => {}
            Err(e) => return Err(e),
        }
    }
    let r = s
        .command(
            Command::EntCreate {
                shr_prefix: node,
                profile: Box::new(e.profile),
            },
            trid,
        )
        .await?;
    match r.data {
        ResData::EntCreated(id) | ResData::EntChecked(id) if !id.is_empty() => {
            Ok(vec![Op::SetEnterpriseUpstream {
                id: enterprise,
                upstream_id: id,
            }])
        }
        _ => Err(UpstreamError::Protocol(
            "ent:create answered without an entId".into(),
        )),
    }
}

/// The node's site for `prefix`: created, or updated when it exists.
async fn site_register(
    s: &mut Session,
    cx: &Context<'_>,
    prefix: &str,
    trid: &str,
) -> Result<Vec<Op>, UpstreamError> {
    let site = Site::from_site_info(1, &cx.cfg.site);
    let object = identifier(cx, prefix, Vec::new(), vec![site.clone()]);
    match s
        .command(Command::IdentifierCreate(Box::new(object)), trid)
        .await
    {
        Err(e) if refused_code(&e) == Some(2302) => {
            let update = IdentifierUpdate {
                name: prefix.to_owned(),
                chg: IdentifierChanges {
                    sites: vec![site],
                    ..Default::default()
                },
                ..Default::default()
            };
            s.command(
                Command::IdentifierUpdate(Box::new(update)),
                &format!("{trid}-u"),
            )
            .await?;
        }
        other => {
            other?;
        }
    }
    Ok(Vec::new())
}

/// One identifier change; one already made upstream counts as made.
async fn identifier_step(
    s: &mut Session,
    cx: &Context<'_>,
    change: &IdentifierChange,
    trid: &str,
) -> Result<(), UpstreamError> {
    match change {
        IdentifierChange::Create { name, urls } => {
            let object = identifier(cx, name, urls.clone(), Vec::new());
            match s
                .command(Command::IdentifierCreate(Box::new(object)), trid)
                .await
            {
                // Already there (created before this node kept an outbox): converged.
                Err(e) if refused_code(&e) == Some(2302) => {}
                other => {
                    other?;
                }
            }
        }
        IdentifierChange::Update {
            name,
            added,
            removed,
        } => {
            let update = IdentifierUpdate {
                name: name.clone(),
                add: IdentifierChanges {
                    urls: added.clone(),
                    ..Default::default()
                },
                rem: IdentifierRemovals {
                    urls: removed.clone(),
                    ..Default::default()
                },
                chg: IdentifierChanges::default(),
            };
            s.command(Command::IdentifierUpdate(Box::new(update)), trid)
                .await?;
        }
        IdentifierChange::Delete { name } => {
            let command = Command::IdentifierDelete { name: name.clone() };
            match s.command(command, trid).await {
                // Already gone: converged.
                Err(e) if refused_code(&e) == Some(2303) => {}
                other => {
                    other?;
                }
            }
        }
    }
    Ok(())
}

/// Delivers step `k` of `action`; returns the local changes its answer causes.
pub(crate) async fn step(
    s: &mut Session,
    cx: &Context<'_>,
    row: &OutboxRow,
    action: &Action,
    k: u32,
) -> Result<Vec<Op>, UpstreamError> {
    let trid = cl_trid(row, k);
    let node = cx.cfg.node_prefix.clone();
    match action {
        Action::EnterpriseCreate { enterprise } => {
            enterprise_create(s, cx, *enterprise, &trid).await
        }
        Action::EnterpriseUpdate { enterprise } => {
            let ent_id = upstream_id(cx, *enterprise).await?;
            let e = cx.store.get_enterprise(*enterprise).await?.ok_or_else(|| {
                UpstreamError::Undeliverable(format!("enterprise {enterprise} is gone"))
            })?;
            let change = EntChange::All {
                shr_prefix: node,
                profile: Box::new(e.profile),
            };
            s.command(Command::EntUpdate { ent_id, change }, &trid)
                .await?;
            Ok(Vec::new())
        }
        Action::PrefixApply { prefix } => {
            let record =
                cx.store.get_prefix(prefix).await?.ok_or_else(|| {
                    UpstreamError::Undeliverable(format!("prefix {prefix} is gone"))
                })?;
            let enterprise = record.enterprise_id.ok_or_else(|| {
                UpstreamError::Undeliverable(format!("{prefix} is the node's own prefix"))
            })?;
            let ent_id = upstream_id(cx, enterprise).await?;
            let command = Command::PrefixCreate {
                shr_prefix: node,
                ent_id,
                prefix: prefix.clone(),
            };
            s.command(command, &trid).await?;
            Ok(Vec::new())
        }
        Action::SiteRegister { prefix } => site_register(s, cx, prefix, &trid).await,
        Action::Identifiers { changes } => {
            let Some(change) = changes.get(k as usize) else {
                return Ok(Vec::new());
            };
            identifier_step(s, cx, change, &trid).await?;
            Ok(Vec::new())
        }
        Action::EscrowDeposit { .. }
        | Action::EscrowReport { .. }
        | Action::Statistics { .. }
        | Action::Bootstrap { .. } => Err(UpstreamError::Undeliverable(
            "an HTTPS action is not an EPP step".into(),
        )),
    }
}
