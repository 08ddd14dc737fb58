//! The harness: a real `clave_movil` server on 127.0.0.1 (random port) with a real
//! SQLite file in a temporary directory, citizens registered at the counter, API keys,
//! the SMS outbox; and the app run through `clave_app::run` with the server's clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clave_app::{Env, Finished};
use clave_movil::client::{Endpoint, ServiceClient};
use clave_movil::config::{ApiKeyConfig, KeyRole};
use clave_movil::{ClaveMovil, Config, Running, hash_api_key};
use registry::alta::AltaForm;
use registry::{
    Clock, ManualClock, PasswordHash, Role, Secret, SeededRandom, SystemClock, Username,
};
use serde_json::Value;
use store::{AuditContext, IdentityMethod, NewClerk, Store};

pub const SERVICE_KEY: &str = "service-key-aeat-0123456789abcdef";
pub const OTHER_KEY: &str = "service-key-dgt-0123456789abcdef00";
pub const OFFICE_KEY: &str = "office-key-0123456789abcdef0123456";
pub const BODY: &str = "Agencia Tributaria";
pub const OTHER_BODY: &str = "Dirección General de Tráfico";

/// (document, contrast, phone).
pub const ANA: (&str, &str, &str) = ("12345678Z", "2031-06-30", "612345678");
pub const BEA: (&str, &str, &str) = ("00000000T", "2031-06-30", "622345678");
pub const CARLOS: (&str, &str, &str) = ("X1234567L", "E12345678", "632345678");

pub struct Harness {
    /// The server's data directory (kept alive with the harness).
    pub _dir: tempfile::TempDir,
    pub store: Store,
    /// Starts at the real time (so the spawned binary's signatures are in the window)
    /// and only moves when a test advances it.
    pub clock: ManualClock,
    pub running: Running,
    pub service: ServiceClient,
    pub other: ServiceClient,
    pub office: ServiceClient,
}

fn keys() -> Vec<ApiKeyConfig> {
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

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let clock = ManualClock::new(SystemClock.now());
        let mut config = Config::loopback(dir.path().to_path_buf());
        config.api_keys = keys();
        config.durable = false;
        adjust(&mut config);
        let running = ClaveMovil::start(
            config,
            store.clone(),
            Arc::new(clock.clone()),
            Arc::new(registry::OsRandom),
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
            office: ServiceClient::new(ep, OFFICE_KEY),
            _dir: dir,
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

    /// A fresh app (its own state directory) sharing the server's clock.
    pub fn app(&self) -> App {
        App {
            state: tempfile::tempdir().unwrap(),
            env: Env::with_clock(Arc::new(self.clock.clone())),
        }
    }

    /// An app activated for `document` with the counter's activation QR.
    pub async fn activated_app(&self, document: &str) -> App {
        let app = self.app();
        let qr = self.office.activation_qr(document).await.unwrap();
        app.ok(&["activate", "--qr", &qr.payload]).await;
        app
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
        panic!("no SMS number {count} to {phone}");
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub fn sweep(&self) {
        self.running.engine().sweep();
    }

    /// The current frame of a QR request.
    pub async fn frame(&self, id: &str) -> String {
        self.service.qr_frame(id).await.unwrap().payload
    }
}

/// One "phone": a state directory and the environment the commands run with.
pub struct App {
    pub state: tempfile::TempDir,
    pub env: Env,
}

impl App {
    pub fn file(&self, name: &str) -> PathBuf {
        self.state.path().join(name)
    }

    /// `clave-app --state DIR <args>`.
    pub async fn run(&self, args: &[&str]) -> Finished {
        let mut argv: Vec<String> = vec![
            "clave-app".into(),
            "--state".into(),
            self.state.path().display().to_string(),
        ];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        clave_app::run(argv, &self.env).await
    }

    /// `--json <args>`, which must succeed: the JSON answer.
    pub async fn ok(&self, args: &[&str]) -> Value {
        let mut argv = vec!["--json"];
        argv.extend_from_slice(args);
        let done = self.run(&argv).await;
        assert_eq!(done.exit, 0, "{args:?} failed: {}", done.stderr);
        assert!(done.stderr.is_empty());
        done.json()
            .unwrap_or_else(|| panic!("not JSON: {}", done.stdout))
    }

    /// `--json <args>`, which must fail: (exit status, the `error` object).
    pub async fn fails(&self, args: &[&str]) -> (u8, Value) {
        let mut argv = vec!["--json"];
        argv.extend_from_slice(args);
        let done = self.run(&argv).await;
        assert_ne!(done.exit, 0, "{args:?} should fail: {}", done.stdout);
        assert!(done.stdout.is_empty());
        let e = done
            .error_json()
            .unwrap_or_else(|| panic!("not JSON: {}", done.stderr));
        (done.exit, e["error"].clone())
    }

    /// The failure's code, checking the exit status.
    pub async fn fails_with(&self, args: &[&str], exit: u8) -> String {
        let (code, e) = self.fails(args).await;
        assert_eq!(code, exit, "{args:?}: {e}");
        e["code"].as_str().unwrap().to_owned()
    }
}
