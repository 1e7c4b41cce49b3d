//! Opening a store: its pools, reaching and preparing the database (at once, or by the
//! first call that reaches it), and the connections every statement takes.

use std::sync::Arc;

use idnode_store::{Result, StoreError, StoreOptions};
use sqlx::pool::PoolConnection;

use crate::dialect::{Pools, WriteConn};
use crate::{types, Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    /// Opens the database at `url` and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// [`SqlStore::connect`] with options.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self> {
        let store = Self::connect_later(url, options).await?;
        store
            .prepared
            .get_or_try_init(|| store.prepare(true))
            .await?;
        Ok(store)
    }

    /// [`SqlStore::connect_with`] without reaching the database: a server that does not
    /// answer yet is tried again by every call (which fails as unavailable until it
    /// answers), and migrated by the first that reaches it. For a node that serves from
    /// its cache snapshot while its database is away.
    pub async fn connect_later(url: &str, options: &StoreOptions) -> Result<Self> {
        Ok(Self {
            pools: D::open(url, options).await?,
            prepared: tokio::sync::OnceCell::new(),
            preparing: tokio::sync::Mutex::new(()),
            space: Arc::default(),
            audit: options.audit_algorithm,
            instance: instance_number(),
            replica: options.replica,
            types: types::Types::default(),
        })
    }

    /// Migrates the database (unless a replica) and reads its type names; `wait`: for a
    /// server that is still starting.
    async fn prepare(&self, wait: bool) -> Result<()> {
        D::prepare(&self.pools, self.replica, wait).await?;
        self.types.load::<D>(&self.pools.read).await
    }

    /// The pools, once the database is prepared. While one call tries to prepare it, the
    /// others fail as unavailable at once rather than queue behind it (each try may wait
    /// `acquire_timeout` for a server that does not answer).
    pub(crate) async fn pools(&self) -> Result<&Pools<D::DB>> {
        if !self.prepared.initialized() {
            let Ok(_trying) = self.preparing.try_lock() else {
                return Err(StoreError::Unavailable(
                    "the database has not answered yet".into(),
                ));
            };
            self.prepared
                .get_or_try_init(|| self.prepare(false))
                .await?;
        }
        Ok(&self.pools)
    }

    /// A connection of the read pool.
    pub(crate) async fn reader(&self) -> Result<PoolConnection<D::DB>> {
        self.pools().await?.read.acquire().await.map_err(D::error)
    }

    /// A connection of the write pool, closed unless its work settles ([`WriteConn`]).
    pub(crate) async fn writer(&self) -> Result<WriteConn<D>> {
        WriteConn::acquire(&self.pools().await?.write).await
    }

    /// A connection of the write pool for single statements.
    pub(crate) async fn write_conn(&self) -> Result<PoolConnection<D::DB>> {
        self.pools().await?.write.acquire().await.map_err(D::error)
    }
}

/// A number for this store's notifications, different for every store opened.
fn instance_number() -> u64 {
    use std::hash::BuildHasher;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one((now, std::process::id()))
}
