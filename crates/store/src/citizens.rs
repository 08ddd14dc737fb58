//! Citizens and the operations that register them.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use tracing::instrument;

use crate::audit::{self, AuditContext, NewAuditEntry};
use crate::{Store, StoreError, new_id};
use registry::alta::AltaData;
use registry::{AccountStatus, AuditAction, ContrastData, DocumentNumber, Level};

/// How the citizen's identity was established at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityMethod {
    /// The clerk typed the document and checked the physical document.
    ManualDocument,
    /// Read from the DNIe chip.
    Dnie,
    /// Read from the DNIe and proven with its PIN and a signed challenge.
    DniePin,
}

impl IdentityMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityMethod::ManualDocument => "manual_document",
            IdentityMethod::Dnie => "dnie",
            IdentityMethod::DniePin => "dnie_pin",
        }
    }
}

/// What the counter needs to know about an existing account, without personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenSummary {
    pub id: String,
    pub level: Level,
    pub status: AccountStatus,
}

/// A committed registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: String,
    pub citizen_id: String,
    pub level: Level,
    pub audit_seq: i64,
    pub at: DateTime<Utc>,
}

fn contrast_columns(c: &ContrastData) -> (&'static str, String) {
    match c {
        ContrastData::DniExpiry(d) => ("dni_expiry", d.format("%Y-%m-%d").to_string()),
        ContrastData::PermanentDniIssue(d) => {
            ("permanent_dni_issue", d.format("%Y-%m-%d").to_string())
        }
        ContrastData::NieSupport(s) => ("nie_support", s.unmasked().to_owned()),
    }
}

fn summary_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<CitizenSummary, StoreError> {
    let level: String = row.try_get("level")?;
    let status: String = row.try_get("status")?;
    Ok(CitizenSummary {
        id: row.try_get("id")?,
        level: Level::parse(&level).map_err(|_| StoreError::Corrupt("citizen level".into()))?,
        status: AccountStatus::parse(&status)
            .map_err(|_| StoreError::Corrupt("citizen status".into()))?,
    })
}

impl Store {
    /// The account for a document, if any (active or renounced).
    #[instrument(skip_all, err)]
    pub async fn citizen_by_document(
        &self,
        document: &DocumentNumber,
    ) -> Result<Option<CitizenSummary>, StoreError> {
        let row = sqlx::query("SELECT id, level, status FROM citizens WHERE document_number = $1")
            .bind(document.unmasked())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    /// Registers a citizen (alta) in one transaction: the citizen, the
    /// registration and the audit entry commit together. An active account
    /// for the same document is refused with its level; a renounced one is
    /// reactivated with the new data (the citizen may register again).
    #[instrument(skip_all, err)]
    pub async fn register_alta(
        &self,
        data: &AltaData,
        method: IdentityMethod,
        clerk_id: &str,
        ctx: &AuditContext,
        random: &dyn registry::Random,
    ) -> Result<Registration, StoreError> {
        let mut tx = self.begin().await?;
        let existing =
            sqlx::query("SELECT id, level, status FROM citizens WHERE document_number = $1")
                .bind(data.document.unmasked())
                .fetch_optional(&mut *tx)
                .await?;
        let existing = existing.as_ref().map(summary_from_row).transpose()?;
        if let Some(found) = existing
            .as_ref()
            .filter(|f| f.status == AccountStatus::Active)
        {
            return Err(StoreError::AlreadyRegistered(found.level));
        }

        let (contrast_kind, contrast_value) = contrast_columns(&data.contrast);
        let support = data.idesp.as_ref().map(|s| s.unmasked().to_owned());
        let citizen_id = match &existing {
            Some(found) => {
                sqlx::query(
                    "UPDATE citizens SET given_name = $1, first_surname = $2, second_surname = $3, \
                     contrast_kind = $4, contrast_value = $5, support_number = $6, phone_e164 = $7, \
                     email = $8, level = $9, status = 'active', updated_at = $10 WHERE id = $11",
                )
                .bind(data.name.given_name_unmasked())
                .bind(data.name.first_surname_unmasked())
                .bind(data.name.second_surname_unmasked())
                .bind(contrast_kind)
                .bind(&contrast_value)
                .bind(&support)
                .bind(data.phone.e164())
                .bind(data.email.unmasked())
                .bind(data.level().as_str())
                .bind(ctx.at)
                .bind(&found.id)
                .execute(&mut *tx)
                .await?;
                found.id.clone()
            }
            None => {
                let id = new_id(random);
                sqlx::query(
                    "INSERT INTO citizens (id, document_kind, document_number, given_name, first_surname, \
                     second_surname, contrast_kind, contrast_value, support_number, phone_e164, email, level, \
                     status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', $13, $13)",
                )
                .bind(&id)
                .bind(data.document.kind().as_str())
                .bind(data.document.unmasked())
                .bind(data.name.given_name_unmasked())
                .bind(data.name.first_surname_unmasked())
                .bind(data.name.second_surname_unmasked())
                .bind(contrast_kind)
                .bind(&contrast_value)
                .bind(&support)
                .bind(data.phone.e164())
                .bind(data.email.unmasked())
                .bind(data.level().as_str())
                .bind(ctx.at)
                .execute(&mut *tx)
                .await?;
                id
            }
        };

        let registration_id = new_id(random);
        sqlx::query(
            "INSERT INTO registrations (id, citizen_id, operation, level, identity_method, office_code, \
             counter_number, clerk_id, created_at) VALUES ($1, $2, 'alta', $3, $4, $5, $6, $7, $8)",
        )
        .bind(&registration_id)
        .bind(&citizen_id)
        .bind(data.level().as_str())
        .bind(method.as_str())
        .bind(&ctx.office_code)
        .bind(i64::from(ctx.counter_number))
        .bind(clerk_id)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;

        let entry = audit::append(
            &mut tx,
            ctx,
            NewAuditEntry {
                action: AuditAction::AltaCompleted,
                citizen_id: Some(citizen_id.clone()),
                detail: json!({
                    "registration": registration_id,
                    "level": data.level().as_str(),
                    "identity": method.as_str(),
                    "reactivated": existing.is_some(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Registration {
            id: registration_id,
            citizen_id,
            level: data.level(),
            audit_seq: entry.seq,
            at: ctx.at,
        })
    }
}
