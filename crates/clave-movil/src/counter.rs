//! Requests the counter itself starts for the citizen in front of it, on the
//! "without QR" path: the citizen types DNI/NIE and contrast datum on the
//! counter screen. They are ordinary no-QR requests of the internal
//! [`COUNTER_SERVICE`] (the same rules as a relying service's: limits per
//! document, enumeration resistance, number matching, SMS after 60 s), so this
//! module only names that service; every rule stays in [`Engine`].

use crate::api::{CreateRequest, RequestView, SmsSent};
use crate::config::KeyRole;
use crate::domain::RequestKind;
use crate::engine::{ApiKey, COUNTER_SERVICE, Engine};
use crate::error::ClaveError;

/// The counter acting as a relying service (its requests, its SMS, its PINs).
fn counter_key(body: &str) -> ApiKey {
    ApiKey {
        id: COUNTER_SERVICE.to_owned(),
        body: body.to_owned(),
        role: KeyRole::Service,
    }
}

impl Engine {
    /// A no-QR request for the citizen at `counter`, who typed `document` and
    /// `contrast` there. A wrong or unknown combination gets the same answer as
    /// a right one whose holder has no active device: the request simply never
    /// reaches a phone (and its SMS never leaves).
    pub async fn create_counter_no_qr(
        &self,
        counter: u16,
        body: &str,
        document: &str,
        contrast: &str,
    ) -> Result<RequestView, ClaveError> {
        let input = CreateRequest {
            kind: RequestKind::NoQr,
            document: Some(document.to_owned()),
            contrast: Some(contrast.to_owned()),
            counter: Some(counter),
        };
        self.create_request(&counter_key(body), input).await
    }

    /// The citizen at the counter asks for the PIN by SMS (60 s after the
    /// request was shown).
    pub async fn counter_request_sms(&self, id: &str) -> Result<SmsSent, ClaveError> {
        self.request_sms(&counter_key(""), id).await
    }

    /// The citizen typed the SMS PIN on the counter screen.
    pub async fn counter_verify_pin(&self, id: &str, pin: &str) -> Result<RequestView, ClaveError> {
        self.verify_pin(&counter_key(""), id, pin).await
    }

    /// A counter request as last committed: from memory while it is live, from
    /// the database once the engine has forgotten it (its stored outcome).
    pub async fn counter_request(&self, id: &str) -> Result<RequestView, ClaveError> {
        self.request_view(&counter_key(""), id).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use registry::{OsRandom, SystemClock};

    use crate::api::CreateRequest;
    use crate::config::{Config, KeyRole};
    use crate::domain::{RequestKind, RequestStatus};
    use crate::engine::ApiKey;
    use crate::error::ClaveError;
    use crate::server::{ClaveMovil, Running};

    async fn start() -> (Running, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::open_in_dir(dir.path()).await.unwrap();
        let mut config = Config::loopback(dir.path().to_path_buf());
        config.durable = false;
        let running = ClaveMovil::start(config, store, Arc::new(SystemClock), Arc::new(OsRandom))
            .await
            .unwrap();
        (running, dir)
    }

    #[tokio::test]
    async fn an_unknown_citizen_gets_a_request_like_anyone_else() {
        let (running, _dir) = start().await;
        let engine = running.engine();
        let view = engine
            .create_counter_no_qr(7, "Oficina", "12345678Z", "2031-06-30")
            .await
            .unwrap();
        assert_eq!(view.kind, RequestKind::NoQr);
        assert_eq!(view.status, RequestStatus::Pending);
        assert_eq!(view.counter, 7);
        assert_eq!(view.body, "Oficina");
        assert!(view.sms_available_at.is_some());
        let again = engine.counter_request(&view.id).await.unwrap();
        assert_eq!((again.id, again.code), (view.id.clone(), view.code.clone()));
        // The SMS step is the counter's own, refused before 60 s as for anyone.
        assert!(matches!(
            engine.counter_request_sms(&view.id).await,
            Err(ClaveError::SmsTooEarly { .. })
        ));
        assert!(matches!(
            engine.counter_verify_pin(&view.id, "123456").await,
            Err(ClaveError::NoPin)
        ));
    }

    #[tokio::test]
    async fn malformed_data_is_refused_and_creates_nothing() {
        let (running, _dir) = start().await;
        let engine = running.engine();
        for (document, contrast) in [("12345678A", "2031-06-30"), ("12345678Z", "30 junio")] {
            assert!(matches!(
                engine
                    .create_counter_no_qr(1, "Oficina", document, contrast)
                    .await,
                Err(ClaveError::InvalidIdentity { .. })
            ));
        }
        assert_eq!(engine.stats().pending_requests, 0);
    }

    #[tokio::test]
    async fn a_relying_service_cannot_touch_a_counter_request() {
        let (running, _dir) = start().await;
        let engine = running.engine();
        let view = engine
            .create_counter_no_qr(1, "Oficina", "X1234567L", "E12345678")
            .await
            .unwrap();
        let service = ApiKey {
            id: "tributaria".into(),
            body: "Agencia Tributaria".into(),
            role: KeyRole::Service,
        };
        assert_eq!(
            engine.request_view(&service, &view.id).await,
            Err(ClaveError::RequestNotFound)
        );
        assert_eq!(
            engine.verify_pin(&service, &view.id, "123456").await,
            Err(ClaveError::RequestNotFound)
        );
        // …and a counter id of its own is just not found.
        let other = engine
            .create_request(
                &service,
                CreateRequest {
                    kind: RequestKind::Qr,
                    document: None,
                    contrast: None,
                    counter: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            engine.counter_request(&other.id).await,
            Err(ClaveError::RequestNotFound)
        );
    }
}
