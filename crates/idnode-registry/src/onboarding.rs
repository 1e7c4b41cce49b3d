//! Node initialisation, enterprises and prefix allocation (operator tasks).

use idnode_core::{
    is_under, normalize_prefix, AdminPerms, AdminRef, EnterpriseProfile, HandleValue, Identifier,
};
use idnode_store::{
    now_millis, Enterprise, EnterpriseStatus, NewEnterprise, Op, PrefixRecord, PrefixStatus,
    Review, StoreError,
};

use crate::auth::generate_secret;
use crate::handles::now_secs;
use crate::pipeline::WriteFailure;
use idnode_store::Action;

use crate::{Credentials, Principal, Registry, RegistryError, Result};

/// Index of the secret key on identity handles.
const KEY_INDEX: u32 = 300;
/// `HS_ADMIN` rights an enterprise gets on its own prefix handle: all but prefix creation.
const ENTERPRISE_PERMS: AdminPerms =
    AdminPerms(AdminPerms::ALL.0 & !(AdminPerms::ADD_NA | AdminPerms::DELETE_NA));

/// The values of a prefix handle `0.NA/<prefix>`: its admins and, when `secret` is given,
/// a hashed `HS_SECKEY` at 300 (making the handle an identity).
fn prefix_handle_ops(
    reg: &Registry,
    id: &Identifier,
    admins: &[AdminRef],
    secret: Option<&str>,
) -> Vec<Op> {
    let now = now_secs();
    let mut values: Vec<HandleValue> = admins
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let mut v = HandleValue::admin(100 + k as u32, a);
            v.timestamp = now;
            v
        })
        .collect();
    let mut ops = Vec::new();
    if let Some(secret) = secret {
        let mut key = HandleValue::bytes(KEY_INDEX, "HS_SECKEY", Vec::new());
        key.permissions = idnode_core::Permissions::SECRET;
        key.timestamp = now;
        values.push(key);
        ops.push(reg.secret_op(id.as_str(), KEY_INDEX, secret.as_bytes()));
    }
    ops.insert(
        0,
        Op::Create {
            handle: id.clone(),
            values,
        },
    );
    ops
}

fn handle_conflict(e: WriteFailure, what: &str) -> RegistryError {
    match e {
        WriteFailure::Store(StoreError::Batch(_)) => {
            RegistryError::Conflict(format!("{what} exists already"))
        }
        other => other.into(),
    }
}

impl Registry {
    /// Creates the node prefix and the operator identity `300:0.NA/<node prefix>`; connected
    /// upstream, queues the registration of the node's site for its prefix.
    /// `secret` defaults to a generated one.
    pub async fn init_node(&self, secret: Option<String>) -> Result<Credentials> {
        let existing = self.store.list_prefixes(None).await?;
        if let Some(node) = existing.iter().find(|p| p.enterprise_id.is_none()) {
            return Err(RegistryError::Conflict(format!(
                "the node is already initialised with prefix {}",
                node.prefix
            )));
        }
        let secret = secret.unwrap_or_else(generate_secret);
        let id = Identifier::for_prefix(&self.node_prefix)?;
        let admin = AdminRef {
            handle: id.as_str().to_owned(),
            index: KEY_INDEX,
            perms: AdminPerms::ALL,
        };
        let mut ops = vec![Op::CreatePrefix(PrefixRecord {
            prefix: self.node_prefix.clone(),
            enterprise_id: None,
            status: PrefixStatus::Active,
            created_at: now_millis(),
            review: Review::None,
            review_note: String::new(),
            template_required: false,
        })];
        ops.extend(prefix_handle_ops(self, &id, &[admin], Some(&secret)));
        self.queue_upstream(
            &mut ops,
            &[Action::SiteRegister {
                prefix: self.node_prefix.clone(),
            }],
        );
        self.commit(&system("system:init"), ops)
            .await
            .map_err(|e| handle_conflict(e, id.as_str()))?;
        self.prefixes.clear();
        Ok(Credentials {
            identity: format!("{KEY_INDEX}:{id}"),
            secret,
        })
    }

    /// Onboards an enterprise with its first prefix and identity `300:0.NA/<prefix>`.
    /// Connected upstream, the enterprise is created at the top-level node and its prefix
    /// applied for; writes under the prefix wait for the approval.
    pub async fn create_enterprise(
        &self,
        p: &Principal,
        name: &str,
        prefix: &str,
        mut profile: EnterpriseProfile,
    ) -> Result<(Enterprise, Credentials)> {
        Self::require_operator(p)?;
        profile.validate()?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(RegistryError::BadRequest(
                "an enterprise name has 1 to 200 printable characters".into(),
            ));
        }
        let prefix = self.check_new_prefix(prefix)?;
        if profile.name_cn.is_empty() {
            name.clone_into(&mut profile.name_cn);
        }
        let secret = generate_secret();
        let id = Identifier::for_prefix(&prefix)?;
        let all = self.store.list_enterprises().await?;
        if all.iter().any(|e| e.name == name) {
            return Err(RegistryError::Conflict(format!(
                "enterprise '{name}' exists"
            )));
        }
        let next = all.iter().map(|e| e.id).max().unwrap_or(0) + 1;
        let admins = [
            AdminRef {
                handle: id.as_str().to_owned(),
                index: KEY_INDEX,
                perms: ENTERPRISE_PERMS,
            },
            self.operator_admin()?,
        ];
        let mut ops = vec![
            Op::CreateEnterprise(NewEnterprise {
                id: next,
                name: name.to_owned(),
                profile: Box::new(profile),
            }),
            Op::CreatePrefix(PrefixRecord {
                prefix: prefix.clone(),
                enterprise_id: Some(next),
                status: PrefixStatus::Active,
                created_at: now_millis(),
                review: self.initial_review(),
                review_note: String::new(),
                template_required: false,
            }),
        ];
        ops.extend(prefix_handle_ops(self, &id, &admins, Some(&secret)));
        self.queue_upstream(
            &mut ops,
            &[
                Action::EnterpriseCreate { enterprise: next },
                Action::PrefixApply {
                    prefix: prefix.clone(),
                },
            ],
        );
        // A concurrent onboarding that took the same id or prefix makes this a conflict.
        self.commit(p, ops)
            .await
            .map_err(|e| handle_conflict(e, id.as_str()))?;
        self.prefixes.clear();
        let e = self.enterprise_record(next).await?;
        Ok((
            e,
            Credentials {
                identity: format!("{KEY_INDEX}:{id}"),
                secret,
            },
        ))
    }

    /// Allocates another prefix to an existing enterprise.
    pub async fn allocate_prefix(
        &self,
        p: &Principal,
        enterprise_id: i64,
        prefix: &str,
    ) -> Result<PrefixRecord> {
        Self::require_operator(p)?;
        let prefix = self.check_new_prefix(prefix)?;
        self.enterprise_record(enterprise_id).await?;
        let mut own = self.store.list_prefixes(Some(enterprise_id)).await?;
        self.usage.check_prefixes(own.len())?;
        own.sort_by(|a, b| (a.created_at, &a.prefix).cmp(&(b.created_at, &b.prefix)));
        let id = Identifier::for_prefix(&prefix)?;
        let mut admins = Vec::new();
        if let Some(primary) = own.first() {
            admins.push(AdminRef {
                handle: Identifier::for_prefix(&primary.prefix)?.into_string(),
                index: KEY_INDEX,
                perms: ENTERPRISE_PERMS,
            });
        }
        admins.push(self.operator_admin()?);
        let record = PrefixRecord {
            prefix: prefix.clone(),
            enterprise_id: Some(enterprise_id),
            status: PrefixStatus::Active,
            created_at: now_millis(),
            review: self.initial_review(),
            review_note: String::new(),
            template_required: false,
        };
        let mut ops = vec![Op::CreatePrefix(record.clone())];
        ops.extend(prefix_handle_ops(self, &id, &admins, None));
        self.queue_upstream(
            &mut ops,
            &[Action::PrefixApply {
                prefix: prefix.clone(),
            }],
        );
        self.commit(p, ops)
            .await
            .map_err(|e| handle_conflict(e, id.as_str()))?;
        self.prefixes.clear();
        Ok(record)
    }

    /// Suspends or reactivates an enterprise (its prefixes follow for writes).
    pub async fn set_enterprise_status(
        &self,
        p: &Principal,
        id: i64,
        status: EnterpriseStatus,
    ) -> Result<Enterprise> {
        Self::require_operator(p)?;
        self.change_enterprise(p, id, vec![Op::SetEnterpriseStatus { id, status }])
            .await
    }

    /// Replaces an enterprise's registration material; connected upstream, the change is
    /// sent as a full `ent:update`.
    pub async fn set_enterprise_profile(
        &self,
        p: &Principal,
        id: i64,
        profile: EnterpriseProfile,
    ) -> Result<Enterprise> {
        Self::require_operator(p)?;
        profile.validate()?;
        let mut ops = vec![Op::SetEnterpriseProfile {
            id,
            profile: Box::new(profile),
        }];
        self.queue_upstream(&mut ops, &[Action::EnterpriseUpdate { enterprise: id }]);
        self.change_enterprise(p, id, ops).await
    }

    /// Enterprises (operator: all; an enterprise: itself).
    pub async fn enterprises(&self, p: &Principal) -> Result<Vec<Enterprise>> {
        match p {
            Principal::Operator { .. } => Ok(self.store.list_enterprises().await?),
            Principal::Enterprise { id, .. } => {
                Ok(self.store.get_enterprise(*id).await?.into_iter().collect())
            }
            Principal::Anonymous => Err(RegistryError::AuthenticationNeeded),
        }
    }

    /// Applies `ops` changing enterprise `id` (its prefixes follow for writes); the
    /// enterprise after.
    async fn change_enterprise(&self, p: &Principal, id: i64, ops: Vec<Op>) -> Result<Enterprise> {
        self.commit(p, ops).await?;
        self.prefixes.clear();
        self.enterprise_record(id).await
    }

    /// The enterprise `id` (not found: an error).
    async fn enterprise_record(&self, id: i64) -> Result<Enterprise> {
        self.store
            .get_enterprise(id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("enterprise {id}")))
    }

    /// One enterprise (operator, or the enterprise itself).
    pub async fn enterprise(&self, p: &Principal, id: i64) -> Result<Enterprise> {
        match p {
            Principal::Operator { .. } => {}
            Principal::Enterprise { id: own, .. } if *own == id => {}
            Principal::Enterprise { .. } => {
                return Err(RegistryError::Forbidden("not your enterprise".into()))
            }
            Principal::Anonymous => return Err(RegistryError::AuthenticationNeeded),
        }
        self.enterprise_record(id).await
    }

    /// The prefix handles homed here (`0.NA/…`, sorted), for the operator only (listing
    /// homed prefixes needs a server administrator, as on Handle.Net).
    pub async fn homed_prefixes(&self, p: &Principal) -> Result<Vec<String>> {
        Self::require_operator(p)?;
        let mut all: Vec<String> = self
            .store
            .list_prefixes(None)
            .await?
            .into_iter()
            .map(|r| format!("0.NA/{}", r.prefix))
            .collect();
        all.sort();
        Ok(all)
    }

    /// Prefixes (operator: all, or one enterprise's; an enterprise: its own).
    pub async fn prefixes(
        &self,
        p: &Principal,
        enterprise: Option<i64>,
    ) -> Result<Vec<PrefixRecord>> {
        match p {
            Principal::Operator { .. } => Ok(self.store.list_prefixes(enterprise).await?),
            Principal::Enterprise { id, .. } => {
                if enterprise.is_some_and(|e| e != *id) {
                    return Err(RegistryError::Forbidden("not your enterprise".into()));
                }
                Ok(self.store.list_prefixes(Some(*id)).await?)
            }
            Principal::Anonymous => Err(RegistryError::AuthenticationNeeded),
        }
    }

    fn check_new_prefix(&self, prefix: &str) -> Result<String> {
        let prefix = normalize_prefix(prefix)?;
        if prefix == self.node_prefix || !is_under(&prefix, &self.node_prefix) {
            return Err(RegistryError::BadRequest(format!(
                "prefix {prefix} must lie below the node prefix {}",
                self.node_prefix
            )));
        }
        Ok(prefix)
    }

    fn operator_admin(&self) -> Result<AdminRef> {
        Ok(AdminRef {
            handle: Identifier::for_prefix(&self.node_prefix)?.into_string(),
            index: KEY_INDEX,
            perms: AdminPerms::ALL,
        })
    }
}

/// The actor recorded for changes the node makes itself (`system:init`, `system:upstream`).
pub(crate) fn system(actor: &str) -> Principal {
    Principal::Operator {
        identity: actor.into(),
    }
}
