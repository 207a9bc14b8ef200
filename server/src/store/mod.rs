//! Storage on SQLite (embedded default) or PostgreSQL (production), behind one API.
//!
//! Both backends run the same SQL through sqlx's `Any` driver; where dialects differ
//! (row locks, advisory locks) the backend is asked. SQLite allows one writer at a time, so
//! writes are serialized in-process instead of failing with `SQLITE_BUSY`.

pub mod audit;
pub mod auth;
pub mod authorizations;
pub mod care;
pub mod clients;
pub mod crypto;
pub mod deliveries;
pub mod document_sources;
pub mod erasure;
mod error;
pub mod exports;
pub mod history;
pub mod issuers;
pub mod received;
pub mod records;
pub mod reseal;
pub mod resources;
pub mod retention;
pub mod saved_searches;
pub mod search;
pub mod sql;
pub mod tenants;
pub mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use error::StoreError;
pub use write::WriteTx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    write_lock: Arc<tokio::sync::Mutex<()>>,
    crypto: Arc<crypto::Crypto>,
}

impl Store {
    /// Connects, applies pending migrations and loads every tenant's keys with `master`.
    /// A missing SQLite file is created.
    pub async fn open(url: &str, master: &crypto::MasterKey) -> Result<Self, StoreError> {
        let mut store = Self::connect(url).await?;
        store.crypto = Arc::new(crypto::Crypto::new(Some(master)));
        store.migrate().await?;
        for tenant in store.tenant_ids().await? {
            store.ensure_tenant_keys(&tenant).await?;
        }
        Ok(store)
    }

    /// Connects without keys: enough to migrate or analyze, not to read sealed data.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    // The file is local: no connection breaks between uses.
                    .test_before_acquire(false)
                    // Statistics another process's ANALYZE wrote reach a connection only
                    // when it is opened (see `analyze`).
                    .max_lifetime(Duration::from_secs(600))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers proceed while the single writer commits.
                            // The default 2 MB page cache makes every index insert a disk
                            // read once the database outgrows it (a million observations
                            // is 4 GB); 64 MB a connection keeps the index upper levels
                            // in memory. Deleted content is overwritten, so that an erased
                            // patient leaves nothing in free pages of the file.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                                 PRAGMA cache_size = -65536; PRAGMA secure_delete = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    // A ping before every use is a round trip on every query: only a
                    // connection idle for a while (the server may have restarted or a
                    // proxy dropped it) is pinged first.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > Duration::from_secs(30) {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Self {
            pool,
            backend,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            crypto: Arc::new(crypto::Crypto::new(None)),
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("../migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("../migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Refreshes planner statistics after a bulk load. Without them the first searches after a load can pick nested loops.
    /// SQLite: copies the write-ahead log into the database and empties it. Old page
    /// images of removed content (an erased patient, a delivered document) stay in the log
    /// until then; the database itself overwrites them (`secure_delete`).
    pub async fn flush_wal(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        if self.backend == Backend::Sqlite {
            // SQLite reads statistics when a connection loads the schema, and ANALYZE does
            // not make the other connections reload it: without this they keep planning
            // as if the tables were empty (12 ms instead of 1.6 ms per Observation search
            // after an import). Busy connections catch up through the pool's max lifetime.
            let mut idle = Vec::new();
            while let Some(mut conn) = self.pool.try_acquire() {
                sqlx::query("ANALYZE sqlite_master")
                    .execute(&mut *conn)
                    .await?;
                idle.push(conn);
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Microseconds since the epoch, the unit every timestamp column uses.
pub fn now_micros() -> i64 {
    helsebro_mappings::dates::micros(time::OffsetDateTime::now_utc())
}

/// Reads a flag column: PostgreSQL answers BOOLEAN, SQLite INTEGER 0/1.
pub fn flag(row: &sqlx::any::AnyRow, index: usize) -> bool {
    use sqlx::Row;
    row.try_get::<bool, _>(index)
        .or_else(|_| row.try_get::<i64, _>(index).map(|v| v != 0))
        .unwrap_or(false)
}
