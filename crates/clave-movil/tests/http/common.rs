//! The harness: a real server on 127.0.0.1 (random port), a real SQLite file in a
//! temporary directory, a manual clock shared by the server and the clients.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use clave_movil::client::{DeviceClient, DeviceKey, Endpoint, ServiceClient};
use clave_movil::config::{ApiKeyConfig, KeyRole};
use clave_movil::{ClaveMovil, Config, Running, hash_api_key};
use registry::alta::AltaForm;
use registry::{Clock, ManualClock, OsRandom, PasswordHash, Role, Secret, SeededRandom, Username};
use store::{AuditContext, IdentityMethod, NewClerk, Store};

pub const SERVICE_KEY: &str = "service-key-aeat-0123456789abcdef";
pub const OTHER_KEY: &str = "service-key-dgt-0123456789abcdef00";
pub const OFFICE_KEY: &str = "office-key-0123456789abcdef0123456";
pub const BODY: &str = "Agencia Tributaria";
pub const OTHER_BODY: &str = "Dirección General de Tráfico";

/// DNI citizens registered by [`Harness::citizens`]: (document, contrast, phone).
pub const ANA: (&str, &str, &str) = ("12345678Z", "2031-06-30", "612345678");
pub const BEA: (&str, &str, &str) = ("00000000T", "2031-06-30", "622345678");
/// A NIE citizen.
pub const CARLOS: (&str, &str, &str) = ("X1234567L", "E12345678", "632345678");

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub clock: ManualClock,
    pub running: Running,
    pub ep: Endpoint,
    pub service: ServiceClient,
    pub other: ServiceClient,
    pub office: ServiceClient,
}

pub fn keys() -> Vec<ApiKeyConfig> {
    vec![
        ApiKeyConfig {
            id: "aeat".into(),
            body: BODY.into(),
            sha256: hash_api_key(SERVICE_KEY),
            role: KeyRole::Service,
        },
        ApiKeyConfig {
            id: "dgt".into(),
            body: OTHER_BODY.into(),
            sha256: hash_api_key(OTHER_KEY),
            role: KeyRole::Service,
        },
        ApiKeyConfig {
            id: "office".into(),
            body: "Oficina de registro".into(),
            sha256: hash_api_key(OFFICE_KEY),
            role: KeyRole::Office,
        },
    ]
}

pub fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap())
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let clock = clock();
        let mut config = Config::loopback(dir.path().to_path_buf());
        config.api_keys = keys();
        config.durable = false; // fsync per batch is for production; tests need speed
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
        let h = Harness {
            service: ServiceClient::new(ep.clone(), SERVICE_KEY),
            other: ServiceClient::new(ep.clone(), OTHER_KEY),
            office: ServiceClient::new(ep.clone(), OFFICE_KEY),
            ep,
            dir,
            store,
            clock,
            running,
        };
        h.citizens().await;
        h
    }

    /// Registers ANA, BEA and CARLOS (alta at the counter).
    async fn citizens(&self) {
        let random = SeededRandom::new(11);
        let ctx = AuditContext {
            office_code: "O00012345".into(),
            counter_number: 1,
            actor: "ana".into(),
            at: self.clock.now(),
        };
        let clerk = self
            .store
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
        for (doc, contrast, phone) in [ANA, BEA, CARLOS] {
            let nie = doc.starts_with(['X', 'Y', 'Z']);
            let form = AltaForm {
                document: doc.into(),
                expiry_date: if nie {
                    "2030-01-01".into()
                } else {
                    contrast.into()
                },
                support_number: if nie { contrast.into() } else { String::new() },
                given_name: "Ficticia".into(),
                first_surname: "Especimen".into(),
                phone: phone.into(),
                email: "prueba@example.org".into(),
                ..AltaForm::default()
            };
            let data = form.validate(self.clock.today()).unwrap();
            self.store
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

    /// The newest outbox message to `phone` (the SMS is sent right after the answer;
    /// wait a little for it).
    pub async fn sms_to(&self, phone: &str) -> Option<String> {
        let e164 = format!("+34{phone}");
        for _ in 0..100 {
            let all = clave_movil::sms::outbox_entries(&self.store).await.unwrap();
            if let Some(m) = all.iter().find(|m| m.phone == e164) {
                return Some(m.text.clone());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// The code in the newest SMS to `phone`, once at least `count` were sent to it.
    pub async fn code_sent(&self, phone: &str, count: usize) -> String {
        let e164 = format!("+34{phone}");
        for _ in 0..100 {
            let all = clave_movil::sms::outbox_entries(&self.store).await.unwrap();
            let mine: Vec<_> = all.iter().filter(|m| m.phone == e164).collect();
            if mine.len() >= count {
                return clave_movil::sms::code_in(&mine[0].text).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no SMS number {count}");
    }

    pub async fn outbox_len(&self) -> usize {
        tokio::time::sleep(Duration::from_millis(100)).await;
        clave_movil::sms::outbox_entries(&self.store)
            .await
            .unwrap()
            .len()
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Runs the housekeeping now (instead of waiting for its 200 ms tick).
    pub fn sweep(&self) {
        self.running.engine().sweep();
    }
}
