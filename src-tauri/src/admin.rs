//! What the office admin does from the command line: create clerk accounts
//! (there is no default password in the product), list them, and verify or
//! export the audit trail.

use registry::{AuditAction, Clock, PasswordHash, PasswordPolicy, Random, Role, Secret, Username};
use store::{AuditContext, AuditReport, NewAuditEntry, NewClerk, Store, StoreError};

use crate::config::Config;
use crate::{DEMO_PASSWORD, DEMO_USERNAME, StartError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Start(#[from] StartError),
    #[error("{code}: {message}")]
    Invalid { code: &'static str, message: String },
    #[error("{}: {}", .0.code(), .0)]
    Store(#[from] StoreError),
}

fn admin_ctx(config: &Config, clock: &dyn Clock) -> AuditContext {
    AuditContext {
        office_code: config.office.code.clone(),
        counter_number: config.office.counter,
        actor: "admin-cli".to_owned(),
        at: clock.now(),
    }
}

/// A clerk account as the admin asks for it.
pub struct ClerkRequest<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password: Secret,
}

/// Creates a clerk account; the password must pass the policy.
pub async fn create_clerk(
    store: &Store,
    config: &Config,
    request: ClerkRequest<'_>,
    clock: &dyn Clock,
    random: &dyn Random,
) -> Result<(), AdminError> {
    let ClerkRequest {
        username,
        display_name,
        role,
        password,
    } = request;
    let username = Username::parse(username).map_err(|e| AdminError::Invalid {
        code: e.code(),
        message: e.to_string(),
    })?;
    let role = Role::parse(role).map_err(|_| AdminError::Invalid {
        code: "CLK-002",
        message: "role must be clerk, supervisor or admin".into(),
    })?;
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 120 {
        return Err(AdminError::Invalid {
            code: "CLK-003",
            message: "the display name must have 1 to 120 characters".into(),
        });
    }
    PasswordPolicy::default()
        .check(&password, &username)
        .map_err(|e| AdminError::Invalid {
            code: e.code(),
            message: e.to_string(),
        })?;
    let password_hash = PasswordHash::hash(&password, random).map_err(|e| AdminError::Invalid {
        code: e.code(),
        message: e.to_string(),
    })?;
    store
        .create_clerk(
            NewClerk {
                username,
                display_name: display_name.to_owned(),
                role,
                password_hash,
                is_demo: false,
            },
            &admin_ctx(config, clock),
            random,
        )
        .await?;
    Ok(())
}

/// Training mode only: the demo clerk, created once.
pub async fn seed_demo_clerk(
    store: &Store,
    config: &Config,
    clock: &dyn Clock,
    random: &dyn Random,
) -> Result<(), StartError> {
    let Ok(username) = Username::parse(DEMO_USERNAME) else {
        return Ok(());
    };
    if store.clerk_by_username(&username).await?.is_some() {
        return Ok(());
    }
    let Ok(password_hash) = PasswordHash::hash(&Secret::new(DEMO_PASSWORD.to_owned()), random)
    else {
        return Ok(());
    };
    let mut ctx = admin_ctx(config, clock);
    ctx.actor = "training".to_owned();
    store
        .create_clerk(
            NewClerk {
                username,
                display_name: "Funcionaria de formación".to_owned(),
                role: Role::Supervisor,
                password_hash,
                is_demo: true,
            },
            &ctx,
            random,
        )
        .await?;
    Ok(())
}

/// Verifies the audit chain and records that it was verified.
pub async fn verify_audit(
    store: &Store,
    config: &Config,
    clock: &dyn Clock,
) -> Result<AuditReport, AdminError> {
    let report = store.verify_audit().await?;
    // A broken chain is reported, and the check itself is audited too.
    store
        .record(
            &admin_ctx(config, clock),
            NewAuditEntry {
                action: AuditAction::AuditVerified,
                citizen_id: None,
                detail: serde_json::json!({ "entries": report.entries, "intact": report.intact() }),
            },
        )
        .await?;
    Ok(report)
}
