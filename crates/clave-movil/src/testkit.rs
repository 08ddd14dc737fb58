//! Test support (feature `testkit`): a real endpoint on 127.0.0.1 with a real SQLite
//! file in a temporary directory, three API keys, citizens registered at the counter
//! and the SMS outbox — what this crate's HTTP tests, `clave-app`'s tests and the
//! lifecycle benchmark all start from.
//!
//! Failures panic with a message: this is test scaffolding, never linked into the app.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use registry::alta::AltaForm;
use registry::{Clock, ManualClock, OsRandom, PasswordHash, Role, Secret, SeededRandom, Username};
use store::{AuditContext, IdentityMethod, NewClerk, Store};

use crate::client::{DeviceClient, DeviceKey, Endpoint, ServiceClient};
use crate::config::{ApiKeyConfig, KeyRole};
use crate::{ClaveMovil, Config, Running, hash_api_key};

pub const SERVICE_KEY: &str = "service-key-aeat-0123456789abcdef";
pub const OTHER_KEY: &str = "service-key-dgt-0123456789abcdef00";
pub const OFFICE_KEY: &str = "office-key-0123456789abcdef0123456";
pub const BODY: &str = "Agencia Tributaria";
pub const OTHER_BODY: &str = "Dirección General de Tráfico";

/// DNI citizens registered by [`TestEndpoint::start_at`]: (document, contrast, phone).
pub const ANA: (&str, &str, &str) = ("12345678Z", "2031-06-30", "612345678");
pub const BEA: (&str, &str, &str) = ("00000000T", "2031-06-30", "622345678");
/// A NIE citizen (contrast: support number).
pub const CARLOS: (&str, &str, &str) = ("X1234567L", "E12345678", "632345678");

/// Two relying services (`aeat`, `dgt`) and the office key.
pub fn keys() -> Vec<ApiKeyConfig> {
    let key = |id: &str, body: &str, secret: &str, role| ApiKeyConfig {
        id: id.into(),
        body: body.into(),
        sha256: hash_api_key(secret),
        role,
    };
    vec![
        key("aeat", BODY, SERVICE_KEY, KeyRole::Service),
        key("dgt", OTHER_BODY, OTHER_KEY, KeyRole::Service),
        key("office", "Oficina de registro", OFFICE_KEY, KeyRole::Office),
    ]
}

/// Registers citizens (document, contrast, phone) as a demo clerk's altas at the
/// counter: a DNI's contrast is its expiry date, a NIE's its support number.
pub async fn register_citizens(
    store: &Store,
    today_at: &dyn Clock,
    citizens: &[(&str, &str, &str)],
) {
    let random = SeededRandom::new(11);
    let ctx = AuditContext {
        office_code: "O00012345".into(),
        counter_number: 1,
        actor: "funcionaria".into(),
        at: today_at.now(),
    };
    let clerk = store
        .create_clerk(
            NewClerk {
                username: Username::parse("funcionaria").unwrap(),
                display_name: "Funcionaria".into(),
                role: Role::Clerk,
                password_hash: PasswordHash::hash(&Secret::new("una-clave-larga"), &random)
                    .unwrap(),
                is_demo: true,
            },
            &ctx,
            &random,
        )
        .await
        .unwrap();
    for (doc, contrast, phone) in citizens {
        let nie = doc.starts_with(['X', 'Y', 'Z']);
        let form = AltaForm {
            document: (*doc).into(),
            expiry_date: if nie {
                "2030-01-01".into()
            } else {
                (*contrast).into()
            },
            support_number: if nie {
                (*contrast).into()
            } else {
                String::new()
            },
            given_name: "Ficticia".into(),
            first_surname: "Especimen".into(),
            phone: (*phone).into(),
            email: "prueba@example.org".into(),
            ..AltaForm::default()
        };
        let data = form.validate(today_at.today()).unwrap();
        store
            .register_alta(
                &data,
                IdentityMethod::ManualDocument,
                &clerk.id,
                &ctx,
                &random,
            )
            .await
            .unwrap();
    }
}

/// A running endpoint with ANA, BEA and CARLOS registered.
pub struct TestEndpoint {
    /// The data directory (database, keys, certificate), removed on drop.
    pub dir: tempfile::TempDir,
    pub store: Store,
    /// Shared by the server and the clients the harness makes.
    pub clock: ManualClock,
    pub running: Running,
    pub ep: Endpoint,
    pub service: ServiceClient,
    pub other: ServiceClient,
    pub office: ServiceClient,
}

/// The tests' fixed "now": 2026-11-23 10:00 UTC.
pub fn test_clock() -> ManualClock {
    ManualClock::new(chrono::DateTime::from_timestamp(1_795_428_000, 0).unwrap())
}

impl TestEndpoint {
    /// Starts at [`test_clock`] with the test configuration.
    pub async fn start() -> TestEndpoint {
        TestEndpoint::start_at(test_clock(), |_| {}).await
    }

    /// Starts at [`test_clock`] with an `adjust`ed configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestEndpoint {
        TestEndpoint::start_at(test_clock(), adjust).await
    }

    /// Starts with `clock`, the test keys and `adjust`ed configuration (commits not
    /// durable: fsync per batch is for production, tests want speed).
    pub async fn start_at(clock: ManualClock, adjust: impl FnOnce(&mut Config)) -> TestEndpoint {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let mut config = Config::loopback(dir.path().to_path_buf());
        config.api_keys = keys();
        config.durable = false;
        adjust(&mut config);
        let running = ClaveMovil::start(
            config,
            store.clone(),
            Arc::new(clock.clone()),
            Arc::new(OsRandom),
        )
        .await
        .unwrap();
        let ep = match &running.tls_pin {
            Some(pin) => Endpoint::pinned(&running.base_url, pin).unwrap(),
            None => Endpoint::plain(&running.base_url).unwrap(),
        };
        register_citizens(&store, &clock, &[ANA, BEA, CARLOS]).await;
        TestEndpoint {
            service: ServiceClient::new(ep.clone(), SERVICE_KEY),
            other: ServiceClient::new(ep.clone(), OTHER_KEY),
            office: ServiceClient::new(ep.clone(), OFFICE_KEY),
            ep,
            dir,
            store,
            clock,
            running,
        }
    }

    /// A new (not activated) device sharing the test clock.
    pub fn device(&self) -> DeviceClient {
        DeviceClient::new(
            self.ep.clone(),
            DeviceKey::generate(&OsRandom),
            Arc::new(self.clock.clone()),
            Arc::new(OsRandom),
        )
    }

    /// A device activated for `document` with the counter's activation QR.
    pub async fn activated(&self, document: &str) -> DeviceClient {
        let qr = self.office.activation_qr(document).await.unwrap();
        let mut device = self.device();
        device.activate_with_qr(&qr.payload).await.unwrap();
        device
    }

    /// The SMS texts sent to the Spanish mobile `phone`, newest first.
    pub async fn sms_texts(&self, phone: &str) -> Vec<String> {
        let e164 = format!("+34{phone}");
        crate::sms::outbox_entries(&self.store)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.phone == e164)
            .map(|m| m.text)
            .collect()
    }

    /// The newest SMS to `phone`, waiting up to 2 s for it (SMS leave right after the
    /// answer, on their own task).
    pub async fn sms_to(&self, phone: &str) -> Option<String> {
        for _ in 0..100 {
            if let Some(text) = self.sms_texts(phone).await.into_iter().next() {
                return Some(text);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// The code in the newest SMS to `phone`, once at least `count` were sent to it.
    pub async fn code_sent(&self, phone: &str, count: usize) -> String {
        for _ in 0..100 {
            let texts = self.sms_texts(phone).await;
            if texts.len() >= count {
                return crate::sms::code_in(&texts[0]).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no SMS number {count} to the test phone");
    }

    /// How many SMS the outbox holds (after a moment for sends in flight).
    pub async fn outbox_len(&self) -> usize {
        tokio::time::sleep(Duration::from_millis(100)).await;
        crate::sms::outbox_entries(&self.store).await.unwrap().len()
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Runs the housekeeping now (instead of waiting for its tick).
    pub fn sweep(&self) {
        self.running.engine().sweep();
    }
}
