//! Cl@ve registration levels and account status.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A stored or received enumeration value we do not know. Code `VAL-001`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {kind} value")]
pub struct UnknownValue {
    /// Which enumeration ("level", "role", "audit_action"…).
    pub kind: &'static str,
    pub value: String,
}

impl UnknownValue {
    pub(crate) fn new(kind: &'static str, value: &str) -> UnknownValue {
        // Only a short prefix: the value may be anything, including garbage.
        UnknownValue {
            kind,
            value: value.chars().take(40).collect(),
        }
    }

    pub fn code(&self) -> &'static str {
        "VAL-001"
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("kind", self.kind.to_string()),
            ("value", self.value.clone()),
        ]
    }
}

crate::error::impl_coded!(UnknownValue);

/// Implements `as_str`, `parse`, `ALL`, `Display` and `FromStr` for a fieldless enum.
macro_rules! string_enum {
    ($ty:ident, $kind:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// Stable name (stored in the database and sent to the UI).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            pub fn parse(s: &str) -> Result<$ty, $crate::level::UnknownValue> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err($crate::level::UnknownValue::new($kind, other)),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::level::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}
pub(crate) use string_enum;

/// Cl@ve registration level. An in-person alta gives `Avanzado`; `Basico` accounts
/// (registered online with a letter) can be upgraded at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Basico,
    Avanzado,
}

string_enum!(Level, "level", { Basico => "basico", Avanzado => "avanzado" });

/// Account status. A renounced account ("renuncia") is blocked, not deleted: the law
/// requires keeping the data blocked, and the citizen may register again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Active,
    Renounced,
}

string_enum!(AccountStatus, "account_status", { Active => "active", Renounced => "renounced" });

impl AccountStatus {
    /// Renounced data is kept blocked: no operation may use it.
    pub fn is_blocked(self) -> bool {
        self == AccountStatus::Renounced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()).unwrap(), *l);
        }
        for s in AccountStatus::ALL {
            assert_eq!(s.as_str().parse::<AccountStatus>().unwrap(), *s);
        }
        assert_eq!(Level::Avanzado.to_string(), "avanzado");
        assert!(Level::Basico < Level::Avanzado);
        assert!(AccountStatus::Renounced.is_blocked());
        assert!(!AccountStatus::Active.is_blocked());
    }

    #[test]
    fn unknown_values() {
        let err = Level::parse("Avanzado").unwrap_err();
        assert_eq!(err.code(), "VAL-001");
        assert_eq!(err.to_string(), "unknown level value");
        assert_eq!(err.params()[1].1, "Avanzado");
        assert_eq!(
            AccountStatus::parse(&"x".repeat(100))
                .unwrap_err()
                .value
                .len(),
            40
        );
    }

    #[test]
    fn serde_names() {
        assert_eq!(
            serde_json::to_string(&Level::Basico).unwrap(),
            r#""basico""#
        );
        assert_eq!(
            serde_json::from_str::<AccountStatus>(r#""renounced""#).unwrap(),
            AccountStatus::Renounced
        );
    }
}
