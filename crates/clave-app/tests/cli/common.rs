//! The harness: a real `clave_movil` server on 127.0.0.1 (random port) with a real
//! SQLite file in a temporary directory, citizens registered at the counter, API keys,
//! the SMS outbox; and the app run through `clave_app::run` with the server's clock.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use clave_app::{Env, Finished};
use clave_movil::Config;
use clave_movil::testkit::TestEndpoint;
use registry::{Clock, ManualClock, SystemClock};
use serde_json::Value;

pub use clave_movil::testkit::{ANA, BEA, BODY, CARLOS, OTHER_BODY};

/// The endpoint, its clock starting at the real time (so the app's signatures are in
/// the server's window) and only moving when a test advances it.
pub struct Harness {
    endpoint: TestEndpoint,
}

impl Deref for Harness {
    type Target = TestEndpoint;

    fn deref(&self) -> &TestEndpoint {
        &self.endpoint
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Harness {
        Harness {
            endpoint: TestEndpoint::start_at(ManualClock::new(SystemClock.now()), adjust).await,
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
