//! What the Cl@ve Móvil endpoint (`clave-movil` crate) needs from the store:
//! the citizen + contrast-data check behind the no-QR path and device
//! activation, and a dedicated write connection on which that crate commits
//! its own tables in batches (group commit) together with their audit entries.
//!
//! The `clave_movil_*` tables themselves belong to the `clave-movil` crate
//! (migration `20261123001000_clave_movil.sql`); this module only opens the
//! door to them without handing out the shared pool for writes.

use chrono::NaiveDate;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Row, Sqlite, SqliteConnection};
use tracing::instrument;

use crate::audit::{self, AuditContext, AuditEntry, NewAuditEntry};
use crate::{Store, StoreError};
use registry::{
    AccountStatus, ContrastData, DocumentNumber, NieSupportNumber, PhoneNumber, parse_date,
};

/// A citizen as the Cl@ve Móvil endpoint sees one: an id, the document and
/// the phone that receives SMS codes. Only active (not renounced) accounts.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaveMovilCitizen {
    pub id: String,
    pub document: DocumentNumber,
    /// As stored (E.164, validated when written). Parsed only when an SMS is
    /// sent: every no-QR request looks a citizen up, few send an SMS, and the
    /// phone-number parser is most of a lookup's cost.
    phone_e164: String,
}

impl ClaveMovilCitizen {
    /// The phone that receives SMS codes.
    pub fn phone(&self) -> Result<PhoneNumber, StoreError> {
        PhoneNumber::parse(&self.phone_e164)
            .map_err(|_| StoreError::Corrupt("citizen phone".into()))
    }
}

impl std::fmt::Debug for ClaveMovilCitizen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The document's Debug is masked; the phone is left out.
        f.debug_struct("ClaveMovilCitizen")
            .field("id", &self.id)
            .field("document", &self.document)
            .finish_non_exhaustive()
    }
}

/// Contrast datum as typed by the citizen on the no-QR path: a date for a DNI
/// (expiry date, or issue date for a permanent DNI) or a support number for a
/// NIE. Parsed by the caller; compared here against what the account holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypedContrast {
    Date(NaiveDate),
    SupportNumber(NieSupportNumber),
}

impl TypedContrast {
    /// Parses what the citizen typed, by document kind. `None` when it is not
    /// even the right shape (the caller answers that with a format error).
    pub fn parse(document: &DocumentNumber, typed: &str) -> Option<TypedContrast> {
        match document {
            DocumentNumber::Dni(_) => parse_date(typed).ok().map(TypedContrast::Date),
            DocumentNumber::Nie(_) => NieSupportNumber::parse(typed)
                .ok()
                .map(TypedContrast::SupportNumber),
        }
    }

    fn matches(&self, kind: &str, stored: &str) -> bool {
        match (self, kind) {
            (TypedContrast::Date(d), "dni_expiry" | "permanent_dni_issue") => {
                d.format("%Y-%m-%d").to_string() == stored
            }
            (TypedContrast::SupportNumber(s), "nie_support") => s.unmasked() == stored,
            _ => false,
        }
    }
}

impl From<&ContrastData> for TypedContrast {
    fn from(c: &ContrastData) -> TypedContrast {
        match c {
            ContrastData::DniExpiry(d) | ContrastData::PermanentDniIssue(d) => {
                TypedContrast::Date(*d)
            }
            ContrastData::NieSupport(s) => TypedContrast::SupportNumber(s.clone()),
        }
    }
}

fn citizen_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ClaveMovilCitizen, StoreError> {
    let document: String = row.try_get("document_number")?;
    Ok(ClaveMovilCitizen {
        id: row.try_get("id")?,
        document: DocumentNumber::parse(&document)
            .map_err(|_| StoreError::Corrupt("citizen document".into()))?,
        phone_e164: row.try_get("phone_e164")?,
    })
}

impl Store {
    /// The active account whose document **and** contrast datum match, or
    /// `None` — for an unknown document, a wrong datum or a renounced account
    /// alike, so that callers can give one answer to all three. The query is
    /// the same in every case.
    #[instrument(skip_all, err)]
    pub async fn clave_movil_citizen_checked(
        &self,
        document: &DocumentNumber,
        contrast: &TypedContrast,
    ) -> Result<Option<ClaveMovilCitizen>, StoreError> {
        let row = sqlx::query(
            "SELECT id, document_number, phone_e164, contrast_kind, contrast_value, status \
             FROM citizens WHERE document_number = $1",
        )
        .bind(document.unmasked())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("contrast_kind")?;
        let value: String = row.try_get("contrast_value")?;
        let status: String = row.try_get("status")?;
        let active = AccountStatus::parse(&status).is_ok_and(|s| s == AccountStatus::Active);
        // Evaluate both conditions before deciding (no early exit on one of them).
        let matches = contrast.matches(&kind, &value);
        if active & matches {
            citizen_from_row(&row).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The active account with this id (the SMS fallback of a request whose
    /// citizen is known), or `None`.
    #[instrument(skip_all, err)]
    pub async fn clave_movil_citizen(
        &self,
        citizen_id: &str,
    ) -> Result<Option<ClaveMovilCitizen>, StoreError> {
        let row = sqlx::query(
            "SELECT id, document_number, phone_e164 FROM citizens WHERE id = $1 AND status = 'active'",
        )
        .bind(citizen_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(citizen_from_row).transpose()
    }

    /// The active account for a document, without a contrast check: only for
    /// the counter (the clerk has identified the citizen in person).
    #[instrument(skip_all, err)]
    pub async fn clave_movil_citizen_at_counter(
        &self,
        document: &DocumentNumber,
    ) -> Result<Option<ClaveMovilCitizen>, StoreError> {
        let row = sqlx::query(
            "SELECT id, document_number, phone_e164 FROM citizens \
             WHERE document_number = $1 AND status = 'active'",
        )
        .bind(document.unmasked())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(citizen_from_row).transpose()
    }

    /// A connection of its own for the Cl@ve Móvil group-commit writer, taken
    /// out of the pool (the pool opens another in its place). With
    /// `durable`, commits on it wait for the WAL to reach the disk
    /// (`synchronous = FULL`): an answer given after a commit survives a power
    /// cut, and batching many operations per commit keeps that affordable.
    #[instrument(skip_all, err)]
    pub async fn clave_movil_writer(&self, durable: bool) -> Result<ClaveMovilWriter, StoreError> {
        let conn: PoolConnection<Sqlite> = self.pool.acquire().await?;
        let mut conn = conn.detach();
        let level = if durable { "FULL" } else { "NORMAL" };
        sqlx::query(&format!("PRAGMA synchronous = {level}"))
            .execute(&mut conn)
            .await?;
        Ok(ClaveMovilWriter { conn })
    }
}

/// The Cl@ve Móvil crate's write connection. It runs its own SQL against its
/// own tables and appends audit entries in the same transaction.
#[derive(Debug)]
pub struct ClaveMovilWriter {
    conn: SqliteConnection,
}

impl ClaveMovilWriter {
    /// Starts a transaction (the caller commits it).
    pub async fn begin(&mut self) -> Result<sqlx::Transaction<'_, Sqlite>, StoreError> {
        Ok(self.conn.begin().await?)
    }

    /// Closes the connection.
    pub async fn close(self) -> Result<(), StoreError> {
        Ok(self.conn.close().await?)
    }
}

/// Appends an audit entry inside a transaction opened on a [`ClaveMovilWriter`].
pub async fn clave_movil_audit(
    conn: &mut SqliteConnection,
    ctx: &AuditContext,
    entry: NewAuditEntry,
) -> Result<AuditEntry, StoreError> {
    audit::append(conn, ctx, entry).await
}

/// Appends entries in order, in the writer's transaction, moving the chain head once
/// (the Cl@ve Móvil writer audits a whole batch at a time).
pub async fn clave_movil_audit_many(
    conn: &mut SqliteConnection,
    entries: Vec<(AuditContext, NewAuditEntry)>,
) -> Result<(), StoreError> {
    audit::append_many(conn, entries).await.map(|_| ())
}
