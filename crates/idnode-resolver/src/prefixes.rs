//! The prefix names that exist, for front ends that answer for names rather than handles
//! (DNS): read whole from the store every few seconds.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use idnode_store::StoreError;

use crate::Resolver;

/// How long the set of prefix names is trusted before it is read again.
const PREFIX_REFRESH: Duration = Duration::from_secs(5);

/// The prefix names that exist: every prefix allocated on this node or served by it, and
/// every name above one (`88`, the empty non-terminals a QNAME-minimising resolver walks
/// through). Small (one entry per prefix), read whole from the store every few seconds.
#[derive(Default)]
pub(crate) struct PrefixSet {
    state: RwLock<Option<Read>>,
}

/// When the set was read (None: expired, to be read again) and the set.
type Read = (Option<Instant>, Arc<HashSet<String>>);

impl PrefixSet {
    /// The set, unless it is missing or older than [`PREFIX_REFRESH`].
    pub(crate) fn fresh(&self) -> Option<Arc<HashSet<String>>> {
        let guard = self
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, set) = guard.as_ref()?;
        (at.as_ref()?.elapsed() < PREFIX_REFRESH).then(|| set.clone())
    }

    /// The set last read, whatever its age (while the store is unreachable).
    pub(crate) fn last(&self) -> Option<Arc<HashSet<String>>> {
        let guard = self
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().map(|(_, set)| set.clone())
    }

    /// Marks the set stale: the next look-up reads it again, and while the store does not
    /// answer the set last read still serves (an expiry during an outage, such as the
    /// change feed's resynchronisation when its connection drops, must not leave the DNS
    /// front end without any).
    pub(crate) fn expire(&self) {
        if let Some((at, _)) = self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            *at = None;
        }
    }

    /// Reads the prefixes again.
    pub(crate) async fn refresh(
        &self,
        resolver: &Resolver,
    ) -> Result<Arc<HashSet<String>>, StoreError> {
        let mut set = HashSet::new();
        let allocated = resolver.store.list_prefixes(None).await?;
        let names = allocated
            .iter()
            .map(|p| p.prefix.as_str())
            .chain(resolver.served().iter().map(String::as_str));
        for p in names {
            let mut at = p.len();
            set.insert(p.to_owned());
            while let Some(dot) = p[..at].rfind('.') {
                set.insert(p[..dot].to_owned());
                at = dot;
            }
        }
        let set = Arc::new(set);
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Some(Instant::now()), set.clone()));
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_set_is_read_again_but_still_serves_as_the_last_one() {
        let p = PrefixSet::default();
        assert!(p.fresh().is_none() && p.last().is_none());
        p.expire();
        assert!(p.last().is_none());
        let set: Arc<HashSet<String>> = Arc::new(["88.118".to_owned()].into());
        *p.state.write().unwrap() = Some((Some(Instant::now()), set));
        assert!(p.fresh().is_some());
        p.expire();
        assert!(p.fresh().is_none(), "read again after an expiry");
        assert!(p.last().is_some_and(|s| s.contains("88.118")));
    }
}
