//! The audit vocabulary: what happened, as stable snake_case names stored in the audit
//! chain (a name, once landed, is never changed or reused).

use serde::{Deserialize, Serialize};

use crate::level::string_enum;

/// One kind of audited event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    // Counter operations.
    AltaCompleted,
    AltaRejectedByCitizen,
    AltaCancelled,
    AltaTimedOut,
    LevelUpgraded,
    PhoneChanged,
    EmailChanged,
    AccountRenounced,
    ActivationCodeRegenerated,
    FirmaCertificateRevoked,
    DeviceActivated,
    DeviceDeactivated,
    /// "This wasn't me": the citizen reported a request from their Cl@ve Móvil app; the
    /// device is blocked and the office sees an alert.
    DeviceBlocked,
    /// The counter showed a single-use Cl@ve Móvil activation QR for the citizen.
    DeviceActivationQrIssued,
    /// A Cl@ve Móvil request naming the citizen ended: confirmed or rejected (in the
    /// app or by SMS PIN), expired, or cancelled. The detail says which, for whom
    /// (requesting body) and how — never the code, PIN or phone.
    ClaveMovilRequestFinished,
    CitizenLookedUp,
    /// The "show" toggle of "My data in Cl@ve" revealed unmasked data.
    CitizenDataShown,
    ReceiptIssued,
    // Clerk accounts.
    ClerkLogin,
    ClerkLoginFailed,
    /// A failed login started a throttling delay.
    ClerkLocked,
    ClerkLogout,
    ClerkIdleLocked,
    ClerkCreated,
    ClerkRoleChanged,
    ClerkPasswordChanged,
    ClerkDisabled,
    // The audit trail itself.
    AuditVerified,
    AuditExported,
}

string_enum!(AuditAction, "audit_action", {
    AltaCompleted => "alta_completed",
    AltaRejectedByCitizen => "alta_rejected_by_citizen",
    AltaCancelled => "alta_cancelled",
    AltaTimedOut => "alta_timed_out",
    LevelUpgraded => "level_upgraded",
    PhoneChanged => "phone_changed",
    EmailChanged => "email_changed",
    AccountRenounced => "account_renounced",
    ActivationCodeRegenerated => "activation_code_regenerated",
    FirmaCertificateRevoked => "firma_certificate_revoked",
    DeviceActivated => "device_activated",
    DeviceDeactivated => "device_deactivated",
    DeviceBlocked => "device_blocked",
    DeviceActivationQrIssued => "device_activation_qr_issued",
    ClaveMovilRequestFinished => "clave_movil_request_finished",
    CitizenLookedUp => "citizen_looked_up",
    CitizenDataShown => "citizen_data_shown",
    ReceiptIssued => "receipt_issued",
    ClerkLogin => "clerk_login",
    ClerkLoginFailed => "clerk_login_failed",
    ClerkLocked => "clerk_locked",
    ClerkLogout => "clerk_logout",
    ClerkIdleLocked => "clerk_idle_locked",
    ClerkCreated => "clerk_created",
    ClerkRoleChanged => "clerk_role_changed",
    ClerkPasswordChanged => "clerk_password_changed",
    ClerkDisabled => "clerk_disabled",
    AuditVerified => "audit_verified",
    AuditExported => "audit_exported",
});

impl AuditAction {
    /// True for events about a citizen (their entry names the citizen, masked).
    pub fn concerns_citizen(self) -> bool {
        use AuditAction::*;
        !matches!(
            self,
            ClerkLogin
                | ClerkLoginFailed
                | ClerkLocked
                | ClerkLogout
                | ClerkIdleLocked
                | ClerkCreated
                | ClerkRoleChanged
                | ClerkPasswordChanged
                | ClerkDisabled
                | AuditVerified
                | AuditExported
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_round_trip_and_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for a in AuditAction::ALL {
            let name = a.as_str();
            assert!(seen.insert(name), "duplicate {name}");
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(AuditAction::parse(name).unwrap(), *a);
            // serde uses the same names.
            assert_eq!(serde_json::to_string(a).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(AuditAction::ALL.len(), 29);
        assert_eq!(
            AuditAction::parse("AltaCompleted").unwrap_err().code(),
            "VAL-001"
        );
    }

    #[test]
    fn citizen_events() {
        assert!(AuditAction::AltaCompleted.concerns_citizen());
        assert!(AuditAction::CitizenDataShown.concerns_citizen());
        assert!(AuditAction::ClaveMovilRequestFinished.concerns_citizen());
        assert!(!AuditAction::ClerkLogin.concerns_citizen());
        assert!(!AuditAction::AuditVerified.concerns_citizen());
    }
}
