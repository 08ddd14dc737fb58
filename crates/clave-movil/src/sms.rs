//! The SMS gateway: a trait and two implementations.
//!
//! * [`OutboxGateway`] writes each message to the `clave_movil_sms_outbox` table and,
//!   optionally, appends it as one JSON line to a file. It stands in for the SMS
//!   network in tests and training mode, which read codes there.
//! * [`HttpGateway`] sends each message to a configurable URL with a body template
//!   (`{phone}`, `{text}`) and headers.
//!
//! Neither logs the phone number or the text: only the purpose and the outcome.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use registry::{Clock, PhoneNumber, Random, Secret};
use serde::{Deserialize, Serialize};

use crate::config::SmsConfig;
use crate::net::{HttpClient, Trust};

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsPurpose {
    /// The 6-digit code that activates a device.
    Activation,
    /// The 6-digit PIN that completes a no-QR request.
    Request,
}

impl SmsPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsPurpose::Activation => "activation",
            SmsPurpose::Request => "request",
        }
    }
}

/// One message. `text` holds a code: it is a [`Secret`] and never logged.
#[derive(Debug, Clone)]
pub struct SmsMessage {
    pub to: PhoneNumber,
    pub purpose: SmsPurpose,
    pub text: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    #[error("the gateway refused the message (HTTP {0})")]
    Refused(u16),
    #[error("the gateway could not be reached")]
    Unreachable,
    #[error("the outbox could not be written")]
    Outbox,
}

pub type SmsFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

/// Sends SMS.
pub trait SmsGateway: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> SmsFuture<'a>;
}

/// One outbox line (and table row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub phone: String,
    pub purpose: String,
    pub text: String,
}

/// Messages into the `clave_movil_sms_outbox` table (+ JSON lines).
pub struct OutboxGateway {
    pool: sqlx::SqlitePool,
    jsonl: Option<PathBuf>,
    file_lock: tokio::sync::Mutex<()>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl OutboxGateway {
    pub fn new(
        store: &store::Store,
        jsonl: Option<PathBuf>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> OutboxGateway {
        OutboxGateway {
            pool: store.pool().clone(),
            jsonl,
            file_lock: tokio::sync::Mutex::new(()),
            clock,
            random,
        }
    }

    async fn write(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let entry = OutboxEntry {
            id: crate::util::new_id(self.random.as_ref()),
            created_at: self.clock.now(),
            phone: message.to.e164().to_owned(),
            purpose: message.purpose.as_str().to_owned(),
            text: message.text.expose().to_owned(),
        };
        sqlx::query(
            "INSERT INTO clave_movil_sms_outbox (id, created_at, phone_e164, purpose, text) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&entry.id)
        .bind(entry.created_at)
        .bind(&entry.phone)
        .bind(&entry.purpose)
        .bind(&entry.text)
        .execute(&self.pool)
        .await
        .map_err(|_| SmsError::Outbox)?;
        if let Some(path) = &self.jsonl {
            let _guard = self.file_lock.lock().await;
            let mut line = serde_json::to_vec(&entry).map_err(|_| SmsError::Outbox)?;
            line.push(b'\n');
            use tokio::io::AsyncWriteExt;
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .map_err(|_| SmsError::Outbox)?;
            file.write_all(&line).await.map_err(|_| SmsError::Outbox)?;
            file.flush().await.map_err(|_| SmsError::Outbox)?;
        }
        Ok(())
    }
}

impl SmsGateway for OutboxGateway {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> SmsFuture<'a> {
        Box::pin(self.write(message))
    }
}

/// Reads the outbox (tests and training mode), newest first.
pub async fn outbox_entries(store: &store::Store) -> Result<Vec<OutboxEntry>, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, created_at, phone_e164, purpose, text FROM clave_movil_sms_outbox \
         ORDER BY created_at DESC, id DESC",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OutboxEntry {
                id: r.try_get("id")?,
                created_at: r.try_get("created_at")?,
                phone: r.try_get("phone_e164")?,
                purpose: r.try_get("purpose")?,
                text: r.try_get("text")?,
            })
        })
        .collect()
}

/// Messages POSTed (or PUT) to a gateway URL.
pub struct HttpGateway {
    client: HttpClient,
    url: String,
    method: hyper::Method,
    headers: Vec<(String, String)>,
    template: String,
    content_type: String,
}

impl HttpGateway {
    pub fn new(
        url: &str,
        method: &str,
        headers: &std::collections::BTreeMap<String, String>,
        body_template: &str,
        content_type: &str,
        timeout: Duration,
    ) -> Result<HttpGateway, crate::net::NetError> {
        let method = hyper::Method::from_bytes(method.as_bytes())
            .map_err(|e| crate::net::NetError::Request(e.to_string()))?;
        Ok(HttpGateway {
            client: HttpClient::new(Trust::WebPki, timeout)?,
            url: url.to_owned(),
            method,
            headers: headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            template: body_template.to_owned(),
            content_type: content_type.to_owned(),
        })
    }

    /// The body for one message: the template with `{phone}` and `{text}` replaced,
    /// escaped for the content type.
    pub fn render(&self, message: &SmsMessage) -> String {
        let escape = |s: &str| -> String {
            if self.content_type.contains("json") {
                let quoted = serde_json::to_string(s).unwrap_or_default();
                quoted
                    .strip_prefix('"')
                    .and_then(|q| q.strip_suffix('"'))
                    .unwrap_or("")
                    .to_owned()
            } else if self.content_type.contains("x-www-form-urlencoded") {
                serde_urlencoded::to_string([("", s)])
                    .map(|e| e.trim_start_matches('=').to_owned())
                    .unwrap_or_default()
            } else {
                s.to_owned()
            }
        };
        self.template
            .replace("{phone}", &escape(message.to.e164()))
            .replace("{text}", &escape(message.text.expose()))
    }
}

impl SmsGateway for HttpGateway {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> SmsFuture<'a> {
        Box::pin(async move {
            let mut headers = self.headers.clone();
            headers.push(("content-type".into(), self.content_type.clone()));
            let body = self.render(message).into_bytes();
            let answer = self
                .client
                .send(self.method.clone(), &self.url, &headers, body)
                .await
                .map_err(|_| SmsError::Unreachable)?;
            if answer.status.is_success() {
                Ok(())
            } else {
                Err(SmsError::Refused(answer.status.as_u16()))
            }
        })
    }
}

/// The gateway a configuration asks for.
pub fn from_config(
    config: &SmsConfig,
    store: &store::Store,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
) -> Result<Arc<dyn SmsGateway>, crate::net::NetError> {
    Ok(match config {
        SmsConfig::Outbox { jsonl } => {
            Arc::new(OutboxGateway::new(store, jsonl.clone(), clock, random))
        }
        SmsConfig::Http {
            url,
            method,
            headers,
            body_template,
            content_type,
            timeout_secs,
        } => Arc::new(HttpGateway::new(
            url,
            method,
            headers,
            body_template,
            content_type,
            Duration::from_secs(*timeout_secs),
        )?),
    })
}

/// The text of an activation SMS.
pub fn activation_text(code: &Secret) -> Secret {
    Secret::new(format!(
        "Cl@ve: su código de activación de Cl@ve Móvil es {}. No lo comparta con nadie.",
        code.expose()
    ))
}

/// The text of a request PIN SMS.
pub fn pin_text(pin: &Secret, body: &str) -> Secret {
    Secret::new(format!(
        "Cl@ve: PIN {} para identificarse ante {}. Caduca en 5 minutos. No lo comparta.",
        pin.expose(),
        body
    ))
}

/// The 6 digits in a message text (tests and training read codes from the outbox).
pub fn code_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let window = bytes.get(i..i + 6)?;
        let before = i.checked_sub(1).and_then(|j| bytes.get(j));
        let after = bytes.get(i + 6);
        (window.iter().all(u8::is_ascii_digit)
            && !before.is_some_and(u8::is_ascii_digit)
            && !after.is_some_and(u8::is_ascii_digit))
        .then(|| String::from_utf8_lossy(window).into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_codes() {
        let t = pin_text(&Secret::new("012345"), "Agencia \"X\"");
        assert_eq!(code_in(t.expose()).as_deref(), Some("012345"));
        assert_eq!(format!("{t:?}"), "[redacted]");
        assert_eq!(code_in("no code 12345 here 1234567"), None);
        assert_eq!(
            code_in(activation_text(&Secret::new("987654")).expose()).as_deref(),
            Some("987654")
        );
    }

    #[test]
    fn templates_escape_for_their_content_type() {
        let message = SmsMessage {
            to: PhoneNumber::parse("612345678").unwrap(),
            purpose: SmsPurpose::Request,
            text: Secret::new("a \"b\" & c"),
        };
        let gw = |ct: &str| {
            HttpGateway::new(
                "http://127.0.0.1:9/",
                "POST",
                &Default::default(),
                if ct.contains("json") {
                    r#"{"to":"{phone}","msg":"{text}"}"#
                } else {
                    "to={phone}&msg={text}"
                },
                ct,
                Duration::from_secs(1),
            )
            .unwrap()
        };
        let json = gw("application/json").render(&message);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["msg"], "a \"b\" & c");
        assert_eq!(parsed["to"], "+34612345678");
        let form = gw("application/x-www-form-urlencoded").render(&message);
        assert_eq!(form, "to=%2B34612345678&msg=a+%22b%22+%26+c");
    }
}
