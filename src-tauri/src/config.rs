//! The office's TOML configuration file, with defaults.
//!
//! Looked up in this order: `--config PATH`, `$VENTANILLA_CONFIG`,
//! `<config dir>/ventanilla/ventanilla.toml`. With no file at all Ventanilla
//! starts in training mode (virtual DNIe, demo clerk, its own database), which
//! is what a newcomer gets from the README's run command. A bad file is an
//! error naming the line and the key; Ventanilla never starts on a guess.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::ipc::Lang;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Training mode: virtual DNIe, seeded demo clerk, data kept apart.
    pub training: bool,
    /// Where the database, logs and lock file live.
    pub data_dir: Option<PathBuf>,
    pub office: OfficeConfig,
    pub languages: LanguagesConfig,
    pub idle: IdleConfig,
    pub log: LogConfig,
    pub readers: ReadersConfig,
    pub clave_movil: ClaveMovilConfig,
}

/// The embedded Cl@ve Móvil endpoint (`[clave_movil]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaveMovilConfig {
    /// Default: on in training mode, and for an office once it sets
    /// `public_url` (phones need an address they can reach).
    pub enabled: Option<bool>,
    /// Default: `127.0.0.1:0` in training mode, `0.0.0.0:8443` otherwise.
    pub listen: Option<std::net::SocketAddr>,
    /// Default: plain HTTP on loopback, TLS otherwise (plain HTTP off
    /// loopback is refused).
    pub tls: Option<bool>,
    /// What QR codes point phones at. Default: from `listen`.
    pub public_url: Option<String>,
    /// The requesting body shown for the clerk's own requests.
    pub body: String,
}

impl Default for ClaveMovilConfig {
    fn default() -> Self {
        ClaveMovilConfig {
            enabled: None,
            listen: None,
            tls: None,
            public_url: None,
            body: "Oficina de Registro — comprobación en ventanilla".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadersConfig {
    /// The reader to use when several hold a card (its PC/SC name).
    pub preferred: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfficeConfig {
    /// DIR3 code of the office: `O` + 8 digits.
    #[serde(deserialize_with = "dir3")]
    pub code: String,
    pub name: String,
    /// Number of this counter, shown next to verification codes.
    #[serde(deserialize_with = "counter_number")]
    pub counter: u16,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguagesConfig {
    pub enabled: Vec<Lang>,
    pub default: Lang,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdleConfig {
    /// The clerk console locks after this many seconds without activity.
    #[serde(deserialize_with = "idle_secs")]
    pub clerk_lock_secs: u32,
    /// The counter screen gives up waiting for the citizen and clears itself.
    #[serde(deserialize_with = "idle_secs")]
    pub counter_reset_secs: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `ventanilla=debug,info`.
    pub level: String,
    /// Rolling log files to keep.
    pub keep_files: usize,
}

impl Default for OfficeConfig {
    fn default() -> Self {
        OfficeConfig {
            code: "O00009999".into(),
            name: "Oficina de formación".into(),
            counter: 1,
        }
    }
}

impl Default for LanguagesConfig {
    fn default() -> Self {
        LanguagesConfig {
            enabled: Lang::ALL.to_vec(),
            default: Lang::Es,
        }
    }
}

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            clerk_lock_secs: 300,
            counter_reset_secs: 120,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            keep_files: 14,
        }
    }
}

fn dir3<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = String::deserialize(d)?;
    registry::Dir3Office::parse(&raw)
        .map(|code| code.as_str().to_owned())
        .map_err(|e| {
            serde::de::Error::custom(format!(
                "not a DIR3 office code ({e}); expected O followed by 8 digits, e.g. O00001234"
            ))
        })
}

fn counter_number<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let n = i64::deserialize(d)?;
    u16::try_from(n)
        .ok()
        .filter(|n| (1..=999).contains(n))
        .ok_or_else(|| serde::de::Error::custom("the counter number must be between 1 and 999"))
}

fn idle_secs<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = i64::deserialize(d)?;
    u32::try_from(n)
        .ok()
        .filter(|n| (15..=3600).contains(n))
        .ok_or_else(|| serde::de::Error::custom("idle timeouts are seconds between 15 and 3600"))
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// toml's message names the line, the column and the key.
    #[error("configuration file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    /// No file anywhere: training defaults.
    Defaults,
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.check(path)?;
        Ok(config)
    }

    /// Rules across keys that serde cannot express.
    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: &str| ConfigError::Invalid {
            path: path.to_owned(),
            message: message.to_owned(),
        };
        if self.languages.enabled.is_empty() {
            return Err(invalid("[languages] enabled: at least one language"));
        }
        if !self.languages.enabled.contains(&self.languages.default) {
            return Err(invalid(
                "[languages] default: must be one of the enabled languages",
            ));
        }
        if self.office.name.trim().is_empty() {
            return Err(invalid("[office] name: must not be empty"));
        }
        let body = self.clave_movil.body.trim();
        if body.is_empty() || body.chars().count() > 200 {
            return Err(invalid("[clave_movil] body: between 1 and 200 characters"));
        }
        if self.clave_enabled()
            && self.clave_listen().ip().is_unspecified()
            && self.clave_movil.public_url.is_none()
        {
            return Err(invalid(
                "[clave_movil] public_url: required when listening on all interfaces — the address phones reach, e.g. https://192.168.1.20:8443",
            ));
        }
        if !self.clave_tls() && !self.clave_listen().ip().is_loopback() {
            return Err(invalid(
                "[clave_movil] tls: plain HTTP is only allowed on a loopback address",
            ));
        }
        Ok(())
    }

    /// Whether this desk runs the Cl@ve Móvil endpoint.
    pub fn clave_enabled(&self) -> bool {
        self.clave_movil
            .enabled
            .unwrap_or(self.training || self.clave_movil.public_url.is_some())
    }

    /// Where the Cl@ve Móvil endpoint listens.
    pub fn clave_listen(&self) -> std::net::SocketAddr {
        self.clave_movil.listen.unwrap_or_else(|| {
            if self.training {
                std::net::SocketAddr::from(([127, 0, 0, 1], 0))
            } else {
                std::net::SocketAddr::from(([0, 0, 0, 0], 8443))
            }
        })
    }

    /// Whether the Cl@ve Móvil endpoint speaks TLS.
    pub fn clave_tls(&self) -> bool {
        self.clave_movil
            .tls
            .unwrap_or_else(|| !self.clave_listen().ip().is_loopback())
    }

    /// The endpoint's own configuration: this office and counter, keys and
    /// certificate in the data directory.
    pub fn clave_movil_config(&self, data_dir: &Path) -> clave_movil::Config {
        let mut config = clave_movil::Config::loopback(data_dir.to_path_buf());
        config.listen = self.clave_listen();
        config.tls = self.clave_tls();
        config.public_url = self.clave_movil.public_url.clone();
        config.office_code = self.office.code.clone();
        config.counter_number = self.office.counter;
        config
    }

    /// Reads the configuration from the first place that has one.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, ConfigSource), ConfigError> {
        let env = std::env::var_os("VENTANILLA_CONFIG").map(PathBuf::from);
        let candidate = explicit.map(Path::to_path_buf).or(env);
        if let Some(path) = candidate {
            // An explicitly named file must exist.
            return Config::read(&path).map(|c| (c, ConfigSource::File(path)));
        }
        if let Some(path) = dirs::config_dir().map(|d| d.join("ventanilla").join("ventanilla.toml"))
            && path.exists()
        {
            return Config::read(&path).map(|c| (c, ConfigSource::File(path)));
        }
        Ok((Config::training_defaults(), ConfigSource::Defaults))
    }

    fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// What a newcomer gets with no configuration file.
    pub fn training_defaults() -> Config {
        Config {
            training: true,
            ..Config::default()
        }
    }

    /// The data directory: configured, or the platform's data directory
    /// (training data kept apart from real data).
    pub fn resolved_data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        let base = dirs::data_local_dir().unwrap_or_else(|| PathBuf::from("."));
        if self.training {
            base.join("ventanilla").join("training")
        } else {
            base.join("ventanilla")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("ventanilla.toml"))
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn a_full_file_is_read() {
        let c = parse(
            r#"
training = false
data_dir = "/var/lib/ventanilla"

[office]
code = "o00001234"
name = "Oficina de Registro de Ejemplo"
counter = 7

[languages]
enabled = ["es", "ca", "en"]
default = "ca"

[idle]
clerk_lock_secs = 600
counter_reset_secs = 90

[log]
level = "debug"
keep_files = 30
"#,
        )
        .unwrap();
        assert_eq!(c.office.code, "O00001234");
        assert_eq!(c.office.counter, 7);
        assert_eq!(c.languages.enabled, vec![Lang::Es, Lang::Ca, Lang::En]);
        assert_eq!(c.languages.default, Lang::Ca);
        assert_eq!(c.idle.clerk_lock_secs, 600);
        assert_eq!(c.resolved_data_dir(), PathBuf::from("/var/lib/ventanilla"));
    }

    #[test]
    fn a_bad_value_names_the_line_and_the_key() {
        let err = parse("[office]\nname = \"X\"\ncode = \"12345678\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("code"), "{err}");
        assert!(err.contains("DIR3"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line() {
        let err = parse("[idle]\nclerk_lock_secs = 300\ncounter_reset = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("counter_reset"), "{err}");
    }

    #[test]
    fn wrong_types_and_ranges_are_refused() {
        for (text, line) in [
            ("[office]\ncounter = \"one\"\n", "line 2"),
            ("[office]\ncounter = 0\n", "line 2"),
            ("[idle]\nclerk_lock_secs = 5\n", "line 2"),
            ("[languages]\nenabled = [\"es\", \"fr\"]\n", "line 2"),
            ("training = yes\n", "line 1"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(line), "{text:?} → {err}");
        }
    }

    #[test]
    fn cross_key_rules_are_checked() {
        let err = parse("[languages]\nenabled = [\"es\"]\ndefault = \"en\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[languages] default"), "{err}");
    }

    #[test]
    fn the_clave_movil_section_has_safe_defaults() {
        let training = Config::training_defaults();
        assert!(training.clave_enabled());
        assert_eq!(training.clave_listen().to_string(), "127.0.0.1:0");
        assert!(!training.clave_tls());
        let office = parse("").unwrap();
        // An office turns it on by saying where phones reach it.
        assert!(!office.clave_enabled());
        assert_eq!(office.clave_listen().to_string(), "0.0.0.0:8443");
        assert!(office.clave_tls());
        assert!(office.clave_movil.body.contains("Oficina de Registro"));
        let c = parse(
            "[office]\ncounter = 3\n[clave_movil]\nenabled = false\nlisten = \"127.0.0.1:9443\"\nbody = \"Ayuntamiento\"\n",
        )
        .unwrap();
        assert!(!c.clave_enabled());
        let on = parse("[clave_movil]\npublic_url = \"https://192.168.1.20:8443\"\n").unwrap();
        assert!(on.clave_enabled() && on.clave_tls());
        let err = parse("[clave_movil]\nenabled = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[clave_movil] public_url"), "{err}");
        assert!(!c.clave_tls());
        let cm = c.clave_movil_config(Path::new("/tmp/x"));
        assert_eq!(cm.counter_number, 3);
        assert_eq!(cm.listen.port(), 9443);
        let err = parse("[clave_movil]\nlisten = \"0.0.0.0:8443\"\ntls = false\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[clave_movil] tls"), "{err}");
    }

    #[test]
    fn training_data_is_kept_apart() {
        let real = Config::default().resolved_data_dir();
        let training = Config::training_defaults().resolved_data_dir();
        assert_ne!(real, training);
        assert!(training.ends_with("training"));
    }
}
