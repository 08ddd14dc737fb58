//! Clerk accounts: credentials, roles and login lockout state.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use tracing::instrument;

use crate::audit::{self, AuditContext, NewAuditEntry};
use crate::{Store, StoreError, new_id};
use registry::{AuditAction, PasswordHash, Role, Username};

/// A clerk as stored.
#[derive(Debug, Clone)]
pub struct ClerkRecord {
    pub id: String,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub password_hash: PasswordHash,
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub is_demo: bool,
    pub disabled: bool,
}

/// A clerk to create. The password is already hashed (argon2id).
#[derive(Debug, Clone)]
pub struct NewClerk {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub password_hash: PasswordHash,
    pub is_demo: bool,
}

fn clerk_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ClerkRecord, StoreError> {
    let username: String = row.try_get("username")?;
    let role: String = row.try_get("role")?;
    let hash: String = row.try_get("password_hash")?;
    let failed: i64 = row.try_get("failed_attempts")?;
    Ok(ClerkRecord {
        id: row.try_get("id")?,
        username: Username::parse(&username)
            .map_err(|_| StoreError::Corrupt("clerk username".into()))?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).map_err(|_| StoreError::Corrupt("clerk role".into()))?,
        password_hash: PasswordHash::from_phc(hash)
            .map_err(|_| StoreError::Corrupt("clerk password hash".into()))?,
        failed_attempts: u32::try_from(failed).unwrap_or(u32::MAX),
        locked_until: row.try_get("locked_until")?,
        is_demo: row.try_get("is_demo")?,
        disabled: row.try_get("disabled")?,
    })
}

const CLERK_COLUMNS: &str = "id, username, display_name, role, password_hash, failed_attempts, locked_until, is_demo, disabled";

impl Store {
    /// Creates a clerk account, audited in the same transaction.
    #[instrument(skip_all, err)]
    pub async fn create_clerk(
        &self,
        clerk: NewClerk,
        ctx: &AuditContext,
        random: &dyn registry::Random,
    ) -> Result<ClerkRecord, StoreError> {
        let mut tx = self.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM clerks WHERE username = $1")
            .bind(clerk.username.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::ClerkExists);
        }
        let id = new_id(random);
        sqlx::query(
            "INSERT INTO clerks (id, username, display_name, role, password_hash, failed_attempts, is_demo, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, FALSE, $7)",
        )
        .bind(&id)
        .bind(clerk.username.as_str())
        .bind(&clerk.display_name)
        .bind(clerk.role.as_str())
        .bind(clerk.password_hash.as_phc())
        .bind(clerk.is_demo)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            ctx,
            NewAuditEntry {
                action: AuditAction::ClerkCreated,
                citizen_id: None,
                detail: json!({ "clerk": clerk.username.as_str(), "role": clerk.role.as_str(), "demo": clerk.is_demo }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(ClerkRecord {
            id,
            username: clerk.username,
            display_name: clerk.display_name,
            role: clerk.role,
            password_hash: clerk.password_hash,
            failed_attempts: 0,
            locked_until: None,
            is_demo: clerk.is_demo,
            disabled: false,
        })
    }

    pub async fn clerk_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<ClerkRecord>, StoreError> {
        let sql = format!("SELECT {CLERK_COLUMNS} FROM clerks WHERE username = $1");
        let row = sqlx::query(&sql)
            .bind(username.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(clerk_from_row).transpose()
    }

    pub async fn list_clerks(&self) -> Result<Vec<ClerkRecord>, StoreError> {
        let sql = format!("SELECT {CLERK_COLUMNS} FROM clerks ORDER BY username");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(clerk_from_row).collect()
    }

    pub async fn count_clerks(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM clerks")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// A failed login: the new counter and lock, and its audit entry, together.
    #[instrument(skip_all, err)]
    pub async fn record_login_failure(
        &self,
        clerk_id: &str,
        failed_attempts: u32,
        locked_until: Option<DateTime<Utc>>,
        ctx: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE clerks SET failed_attempts = $1, locked_until = $2 WHERE id = $3")
            .bind(i64::from(failed_attempts))
            .bind(locked_until)
            .bind(clerk_id)
            .execute(&mut *tx)
            .await?;
        let action = if locked_until.is_some() {
            AuditAction::ClerkLocked
        } else {
            AuditAction::ClerkLoginFailed
        };
        audit::append(
            &mut tx,
            ctx,
            NewAuditEntry {
                action,
                citizen_id: None,
                detail: json!({ "failed_attempts": failed_attempts }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A successful login resets the failure counter.
    #[instrument(skip_all, err)]
    pub async fn record_login_success(
        &self,
        clerk_id: &str,
        ctx: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE clerks SET failed_attempts = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2",
        )
        .bind(ctx.at)
        .bind(clerk_id)
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            ctx,
            NewAuditEntry {
                action: AuditAction::ClerkLogin,
                citizen_id: None,
                detail: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
