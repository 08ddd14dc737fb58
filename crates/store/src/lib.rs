//! Ventanilla's storage: one SQLite file per counter (PostgreSQL later), sqlx
//! repositories, one write transaction per operation in which the domain change
//! and its audit entry commit together or not at all.
//!
//! The database file lives in the data directory; [`Store::open`] creates it,
//! sets WAL, `synchronous = NORMAL`, foreign keys and a busy timeout, and runs
//! the migrations in `migrations/` at the repository root.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqlitePool, Transaction};
use tracing::instrument;

pub mod audit;
mod citizens;
mod clave_movil;
mod clerks;

pub use audit::{
    AuditContext, AuditEntry, AuditProblem, AuditProblemKind, AuditReport, NewAuditEntry,
};
pub use citizens::{CitizenSummary, IdentityMethod, Registration};
pub use clave_movil::{
    ClaveMovilCitizen, ClaveMovilWriter, TypedContrast, clave_movil_audit, clave_movil_audit_many,
};
pub use clerks::{ClerkRecord, NewClerk};

/// Errors of the storage layer, each with a stable code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The citizen already has an account; carries its level (`ALT-003`, the registry's code for it).
    #[error("the citizen is already registered at level {0:?}")]
    AlreadyRegistered(registry::Level),
    /// A clerk with this username exists (`CLK-001`).
    #[error("a clerk with this username already exists")]
    ClerkExists,
    #[error("could not open the database: {0}")]
    Open(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::AlreadyRegistered(_) => "ALT-003",
            StoreError::ClerkExists => "CLK-001",
            StoreError::Open(_) => "STORE-002",
            StoreError::Migrate(_) => "STORE-003",
            StoreError::Corrupt(_) => "STORE-004",
            StoreError::Db(_) => "STORE-001",
        }
    }
}

pub(crate) type Tx = Transaction<'static, sqlx::Sqlite>;

/// The handle to the database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "ventanilla.db";

impl Store {
    /// Opens (creating if needed) `<data_dir>/ventanilla.db` and migrates it.
    #[instrument(skip_all, err)]
    pub async fn open_in_dir(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open(e.to_string()))?;
        Store::open(&data_dir.join(DB_FILE)).await
    }

    /// Opens (creating if needed) the SQLite file at `path` and migrates it.
    #[instrument(skip_all, err)]
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        Store::with_options(options, 4).await
    }

    /// A private in-memory database (one connection), for unit tests.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Open(e.to_string()))?
            .foreign_keys(true);
        Store::with_options(options, 1).await
    }

    async fn with_options(
        options: SqliteConnectOptions,
        max_connections: u32,
    ) -> Result<Store, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(e.to_string()))?;
        sqlx::migrate!("../../migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Starts a write transaction. SQLite's `BEGIN IMMEDIATE` would avoid a
    /// lock upgrade; sqlx's plain BEGIN plus the busy timeout is enough with
    /// one writer per counter.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Checks the whole audit chain.
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        let mut conn = self.pool.acquire().await?;
        audit::verify(&mut conn).await
    }

    /// All audit entries in order (admin export; no personal data inside).
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        audit::entries(&mut conn).await
    }

    /// Appends an audit entry on its own (operations that change nothing else,
    /// such as a login or a verification run).
    pub async fn record(
        &self,
        ctx: &AuditContext,
        entry: NewAuditEntry,
    ) -> Result<AuditEntry, StoreError> {
        let mut tx = self.begin().await?;
        let stored = audit::append(&mut tx, ctx, entry).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    #[doc(hidden)]
    /// The raw pool, for tests that tamper with the file by hand.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// A fresh random id (UUID v4 layout) from the injected random source.
pub(crate) fn new_id(random: &dyn registry::Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}
