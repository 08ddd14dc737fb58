//! The endpoint's TOML configuration.
//!
//! ```toml
//! listen = "0.0.0.0:8443"              # address and port
//! tls = true                           # plain HTTP is refused unless `listen` is loopback
//! public_url = "https://192.168.1.20:8443"   # what QR codes point phones at
//! data_dir = "/var/lib/ventanilla"     # `serve` only: database, keys, certificate
//! office_code = "O00012345"            # DIR3 of the office
//! counter_number = 1                   # default counter for requests
//! tls_names = ["192.168.1.20", "ventanilla-1.local"]   # extra names in the certificate
//!
//! [[api_keys]]                         # one per requesting body
//! id = "sede-aeat"
//! body = "Agencia Tributaria"
//! sha256 = "<hex SHA-256 of the key>"  # `clave-movil hash-key` prints it
//! role = "service"                     # or "office" (counter tools: activation QR, alerts)
//!
//! [sms]
//! kind = "outbox"                      # or "http"
//! jsonl = "/var/lib/ventanilla/sms-outbox.jsonl"   # optional
//!
//! # [sms] for a real gateway:
//! # kind = "http"
//! # url = "https://sms.example.org/send"
//! # headers = { Authorization = "Bearer …" }
//! # body_template = '{"to":"{phone}","text":"{text}"}'
//!
//! [policy]   # see `Policy` (request validity, SMS timing and caps, …)
//! [limits]   # see `LimitPolicy` (escalating delays)
//! [http]     # body limit, timeouts, connections
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::{LimitPolicy, Policy};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default = "yes")]
    pub tls: bool,
    /// The address phones use (carried in QR payloads). Default: from `listen`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Database, keys and certificate (the `serve` command opens the store here; the
    /// embedding app passes its own store but keys and certificate still live here).
    pub data_dir: PathBuf,
    pub office_code: String,
    #[serde(default = "one")]
    pub counter_number: u16,
    /// Extra DNS names or IP addresses for the self-signed certificate.
    #[serde(default)]
    pub tls_names: Vec<String>,
    /// Commit with `synchronous = FULL` (every answer is on disk before it is sent).
    #[serde(default = "yes")]
    pub durable: bool,
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    #[serde(default)]
    pub sms: SmsConfig,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub limits: LimitPolicy,
    #[serde(default)]
    pub http: HttpLimits,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}
fn yes() -> bool {
    true
}
fn one() -> u16 {
    1
}

/// Who may call: a relying service (one requesting body) or the office's own tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    #[default]
    Service,
    Office,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Short id (logged; never the key).
    pub id: String,
    /// The requesting body shown to the citizen.
    pub body: String,
    /// Hex SHA-256 of the key. Keys are long random tokens, so a fast hash is enough
    /// and keeps every call cheap; the key itself is never stored.
    pub sha256: String,
    #[serde(default)]
    pub role: KeyRole,
}

/// The SMS gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SmsConfig {
    /// Messages go to the `clave_movil_sms_outbox` table (and a JSON-lines file).
    Outbox {
        #[serde(default)]
        jsonl: Option<PathBuf>,
    },
    /// Messages are POSTed to a gateway. `{phone}` and `{text}` in the body template
    /// are replaced (JSON-escaped when the content type is JSON).
    Http {
        url: String,
        #[serde(default = "post")]
        method: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        body_template: String,
        #[serde(default = "json_type")]
        content_type: String,
        #[serde(default = "ten")]
        timeout_secs: u64,
    },
}

fn post() -> String {
    "POST".into()
}
fn json_type() -> String {
    "application/json".into()
}
fn ten() -> u64 {
    10
}

impl Default for SmsConfig {
    fn default() -> SmsConfig {
        SmsConfig::Outbox { jsonl: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpLimits {
    /// Largest request body, bytes.
    pub body_limit_bytes: usize,
    /// Time to answer an ordinary call, seconds (long-polls get their wait on top).
    pub request_timeout_secs: u64,
    /// Time for a client to send its request headers (and TLS handshake), seconds.
    pub header_timeout_secs: u64,
    /// Open connections at most.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            body_limit_bytes: 16 * 1024,
            request_timeout_secs: 15,
            header_timeout_secs: 10,
            max_connections: 1024,
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read the configuration: {0}")]
    Read(String),
    #[error("configuration is not valid TOML for this endpoint: {0}")]
    Parse(String),
    #[error("plain HTTP (tls = false) is only allowed on a loopback address")]
    PlainHttpOffLoopback,
    #[error("office_code must be a DIR3 office code (O + 8 digits)")]
    OfficeCode,
    #[error("API key {0}: sha256 must be 64 hex characters")]
    KeyHash(String),
    #[error("API key id {0} is used twice (or empty, too long, or starts with @)")]
    KeyId(String),
    #[error("API key {0}: body must be 1 to 200 characters")]
    KeyBody(String),
    #[error("public_url must start with http:// or https://")]
    PublicUrl,
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Read(_) => "CM-CFG-001",
            ConfigError::Parse(_) => "CM-CFG-002",
            ConfigError::PlainHttpOffLoopback => "CM-CFG-003",
            ConfigError::OfficeCode => "CM-CFG-004",
            ConfigError::KeyHash(_) => "CM-CFG-005",
            ConfigError::KeyId(_) => "CM-CFG-006",
            ConfigError::KeyBody(_) => "CM-CFG-007",
            ConfigError::PublicUrl => "CM-CFG-008",
        }
    }
}

impl Config {
    /// A loopback, plain-HTTP configuration (tests, the bench, training mode).
    pub fn loopback(data_dir: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            public_url: None,
            data_dir,
            office_code: "O00012345".into(),
            counter_number: 1,
            tls_names: Vec::new(),
            durable: true,
            api_keys: Vec::new(),
            sms: SmsConfig::default(),
            policy: Policy::default(),
            limits: LimitPolicy::default(),
            http: HttpLimits::default(),
        }
    }

    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(e.to_string()))?;
        Config::from_toml(&text)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.tls && !self.listen.ip().is_loopback() {
            return Err(ConfigError::PlainHttpOffLoopback);
        }
        registry::Dir3Office::parse(&self.office_code).map_err(|_| ConfigError::OfficeCode)?;
        let mut ids = std::collections::HashSet::new();
        for k in &self.api_keys {
            // Ids starting with `@` are the endpoint's own (`@counter`).
            if k.id.is_empty()
                || k.id.len() > 64
                || k.id.starts_with('@')
                || !ids.insert(k.id.as_str())
            {
                return Err(ConfigError::KeyId(k.id.clone()));
            }
            if k.sha256.len() != 64 || hex::decode(&k.sha256).is_err() {
                return Err(ConfigError::KeyHash(k.id.clone()));
            }
            if k.body.trim().is_empty() || k.body.chars().count() > 200 {
                return Err(ConfigError::KeyBody(k.id.clone()));
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::PublicUrl);
        }
        Ok(())
    }
}

/// The hex SHA-256 of an API key, as the configuration stores it.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(crate::util::sha256(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = format!(
            r#"
listen = "0.0.0.0:8443"
public_url = "https://192.168.1.20:8443"
data_dir = "/tmp/x"
office_code = "O00012345"
tls_names = ["192.168.1.20"]

[[api_keys]]
id = "sede-aeat"
body = "Agencia Tributaria"
sha256 = "{}"

[sms]
kind = "http"
url = "https://sms.example.org/send"
headers = {{ Authorization = "Bearer x" }}
body_template = '{{"to":"{{phone}}","text":"{{text}}"}}'

[policy]
sms_per_hour = 4
"#,
            hash_api_key("k")
        );
        let c = Config::from_toml(&text).unwrap();
        assert!(c.tls);
        assert_eq!(c.policy.sms_per_hour, 4);
        assert_eq!(c.policy.request_validity_secs, 300);
        assert!(matches!(c.sms, SmsConfig::Http { .. }));
        assert_eq!(c.api_keys[0].role, KeyRole::Service);
    }

    #[test]
    fn refuses_what_cannot_work() {
        let base = "data_dir = \"/tmp\"\noffice_code = \"O00012345\"\n";
        assert_eq!(
            Config::from_toml(&format!("{base}listen = \"0.0.0.0:1\"\ntls = false\n")).unwrap_err(),
            ConfigError::PlainHttpOffLoopback
        );
        assert!(
            Config::from_toml(&format!("{base}listen = \"127.0.0.1:1\"\ntls = false\n")).is_ok()
        );
        assert_eq!(
            Config::from_toml("data_dir = \"/tmp\"\noffice_code = \"X1\"\n").unwrap_err(),
            ConfigError::OfficeCode
        );
        assert_eq!(
            Config::from_toml(&format!("{base}unknown = 1\n"))
                .unwrap_err()
                .code(),
            "CM-CFG-002"
        );
        assert_eq!(
            Config::from_toml(&format!(
                "{base}[[api_keys]]\nid = \"a\"\nbody = \"B\"\nsha256 = \"00\"\n"
            ))
            .unwrap_err(),
            ConfigError::KeyHash("a".into())
        );
    }
}
