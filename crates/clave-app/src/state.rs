//! What the app remembers, in its state directory:
//!
//! ```text
//! <state>/                 0700 when the app creates it
//!   device.key             the device's P-256 private key, PKCS#8 DER, 0600
//!   state.json             endpoint, TLS pin, device id, document (masked),
//!                          activation time, SMS activation in progress; 0600
//! ```
//!
//! Both files are written to a fresh temporary file created with mode 0600, synced,
//! then renamed over the old one. A key file that others may read is refused (as ssh
//! does). `state.json` never holds a full DNI/NIE, a code or a PIN.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clave_movil::client::DeviceKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::AppError;

pub const KEY_FILE: &str = "device.key";
pub const STATE_FILE: &str = "state.json";

/// `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// Format version (1).
    #[serde(default = "one")]
    pub version: u32,
    /// The endpoint's address (`https://…` or loopback `http://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// SHA-256 of the endpoint's TLS public key (SPKI), base64url, when pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The active device, once activated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<SavedDevice>,
    /// An SMS activation waiting for its code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<PendingActivation>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedDevice {
    pub device_id: String,
    /// `****5678Z`, as the endpoint gave it.
    pub document_masked: String,
    pub activated_at: DateTime<Utc>,
    /// Set after "this wasn't me": the endpoint blocked the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingActivation {
    pub activation_id: String,
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    pub fn new(dir: PathBuf) -> StateDir {
        StateDir { dir }
    }

    /// `--state`, else `$CLAVE_APP_STATE` (clap reads it), else
    /// `$XDG_DATA_HOME/clave-app`, else `~/.local/share/clave-app`.
    pub fn default_dir() -> Result<PathBuf, AppError> {
        if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(xdg).join("clave-app"));
        }
        let home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| AppError::State("no HOME: give --state DIR".into()))?;
        Ok(PathBuf::from(home).join(".local/share/clave-app"))
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// What the app remembers (empty when nothing yet).
    pub fn load(&self) -> Result<Saved, AppError> {
        match std::fs::read(self.state_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| AppError::State(format!("{STATE_FILE} is damaged: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Saved {
                version: 1,
                ..Saved::default()
            }),
            Err(e) => Err(AppError::State(format!("{STATE_FILE}: {e}"))),
        }
    }

    pub fn save(&self, saved: &Saved) -> Result<(), AppError> {
        let bytes = serde_json::to_vec_pretty(saved)
            .map_err(|e| AppError::State(format!("{STATE_FILE}: {e}")))?;
        self.write_private(STATE_FILE, &bytes)
    }

    /// The device key (refused when others may read the file).
    pub fn load_key(&self) -> Result<DeviceKey, AppError> {
        let path = self.key_path();
        check_private(&path)?;
        let der = zeroizing_read(&path)?;
        DeviceKey::from_pkcs8_der(&der)
            .map_err(|_| AppError::State(format!("{KEY_FILE} is not a P-256 PKCS#8 key")))
    }

    pub fn save_key(&self, key: &DeviceKey) -> Result<(), AppError> {
        self.write_private(KEY_FILE, key.to_pkcs8_der())
    }

    /// Forgets the device key (sign-out).
    pub fn remove_key(&self) -> Result<(), AppError> {
        match std::fs::remove_file(self.key_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AppError::State(format!("{KEY_FILE}: {e}"))),
        }
    }

    fn ensure_dir(&self) -> Result<(), AppError> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&self.dir)
            .map_err(|e| AppError::State(format!("{}: {e}", self.dir.display())))
    }

    /// Writes `name` atomically with mode 0600.
    fn write_private(&self, name: &str, bytes: &[u8]) -> Result<(), AppError> {
        self.ensure_dir()?;
        let target = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let fail = |e: std::io::Error| AppError::State(format!("{name}: {e}"));
        // A leftover temporary file may have other permissions: start afresh.
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e)),
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&tmp, &target).map_err(fail)?;
        Ok(())
    }
}

fn zeroizing_read(path: &Path) -> Result<Zeroizing<Vec<u8>>, AppError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Zeroizing::new(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::NotActivated),
        Err(e) => Err(AppError::State(format!("{KEY_FILE}: {e}"))),
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), AppError> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            Err(AppError::KeyPermissions(path.display().to_string()))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::NotActivated),
        Err(e) => Err(AppError::State(format!("{KEY_FILE}: {e}"))),
    }
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), AppError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_key_round_trip_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path().join("a/b"));
        assert_eq!(
            dir.load().unwrap(),
            Saved {
                version: 1,
                ..Saved::default()
            }
        );
        assert_eq!(dir.load_key().unwrap_err().code(), "APP-001");
        let saved = Saved {
            version: 1,
            endpoint: Some("http://127.0.0.1:1".into()),
            pin: None,
            device: None,
            activation: None,
        };
        dir.save(&saved).unwrap();
        assert_eq!(dir.load().unwrap(), saved);
        let key = DeviceKey::generate(&registry::OsRandom);
        dir.save_key(&key).unwrap();
        dir.save_key(&key).unwrap();
        assert_eq!(
            dir.load_key().unwrap().public_key_b64(),
            key.public_key_b64()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(dir.path()), 0o700);
            assert_eq!(mode(&dir.key_path()), 0o600);
            assert_eq!(mode(&dir.state_path()), 0o600);
        }
        dir.remove_key().unwrap();
        dir.remove_key().unwrap();
        assert!(!dir.key_path().exists());
    }
}
