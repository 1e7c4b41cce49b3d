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
    state: RwLock<Option<(Instant, Arc<HashSet<String>>)>>,
}

impl PrefixSet {
    /// The set, unless it is missing or older than [`PREFIX_REFRESH`].
    pub(crate) fn fresh(&self) -> Option<Arc<HashSet<String>>> {
        let guard = self
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, set) = guard.as_ref()?;
        (at.elapsed() < PREFIX_REFRESH).then(|| set.clone())
    }

    /// The set last read, whatever its age (while the store is unreachable).
    pub(crate) fn last(&self) -> Option<Arc<HashSet<String>>> {
        let guard = self
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().map(|(_, set)| set.clone())
    }

    /// Forgets the set: the next look-up reads it again.
    pub(crate) fn expire(&self) {
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
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
            Some((Instant::now(), set.clone()));
        Ok(set)
    }
}
