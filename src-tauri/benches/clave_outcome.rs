//! How long the counter takes to show a Cl@ve Móvil outcome: the Desk (the
//! Tauri-free orchestrator the app runs) with the embedded endpoint on
//! 127.0.0.1 (HTTP, SQLite file on disk, durable commits); the phone is
//! `DeviceClient`. For each request it measures when the counter's channel
//! gets `ClaveDone` against when the app's confirm call returned (negative:
//! the counter was first) and against when it was sent — the aim is under
//! 100 ms. Both paths: QR (scan + confirm) and without QR (the
//! citizen's data typed on the counter, the app picks the code among three).
//!
//! ```text
//! cargo bench -p ventanilla --bench clave_outcome -- [requests per path, default 200]
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use clave_movil::client::{DeviceClient, DeviceKey, Endpoint};
use clave_movil::domain::{RequestKind, RequestStatus};
use clave_movil::{ClaveMovil, Config};
use registry::{
    DocumentNumber, LockoutPolicy, OsRandom, PasswordHash, Random, Role, Secret, SystemClock,
    Username,
};
use store::{AuditContext, NewClerk, Store};
use tokio::sync::mpsc;
use ventanilla_lib::desk::{ClaveLink, Desk, DeskSettings, Sink};
use ventanilla_lib::ipc::{AltaFormDto, ClaveIdentityDto, ClaveOutcomeDto, CounterView};

const PASSWORD: &str = "banco-de-pruebas-largo";

/// The counter window: the moment each view arrives.
struct CounterSink(mpsc::UnboundedSender<(Instant, CounterView)>);

impl Sink<CounterView> for CounterSink {
    fn send(&self, view: CounterView) -> bool {
        self.0.send((Instant::now(), view)).is_ok()
    }
}

struct Stats {
    name: &'static str,
    /// Counter view time minus confirm-response time, ms: negative when the
    /// counter showed the outcome before the app even had its answer.
    after_response: Vec<f64>,
    /// Counter view time minus the moment the confirm was sent, ms.
    after_send: Vec<f64>,
}

impl Stats {
    fn new(name: &'static str) -> Stats {
        Stats {
            name,
            after_response: Vec::new(),
            after_send: Vec::new(),
        }
    }

    fn record(&mut self, shown: Instant, sent: Instant, answered: Instant) {
        let ms = |a: Instant, b: Instant| {
            if a >= b {
                (a - b).as_secs_f64() * 1000.0
            } else {
                -((b - a).as_secs_f64() * 1000.0)
            }
        };
        self.after_response.push(ms(shown, answered));
        self.after_send.push(ms(shown, sent));
    }

    fn print(&mut self) {
        fn pct(v: &[f64], p: f64) -> f64 {
            let i = ((v.len() as f64 - 1.0) * p).round() as usize;
            v[i]
        }
        self.after_response.sort_by(f64::total_cmp);
        self.after_send.sort_by(f64::total_cmp);
        let (r, s) = (&self.after_response, &self.after_send);
        println!(
            "| {} | {} | {:+.2} ms | {:+.2} ms | {:+.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            self.name,
            r.len(),
            pct(r, 0.5),
            pct(r, 0.99),
            pct(r, 1.0),
            pct(s, 0.5),
            pct(s, 0.99),
            pct(s, 1.0),
        );
    }
}

/// Runs the app's `confirm` and waits for the counter's "confirmed": records when it was
/// shown against when the confirm was sent and when its answer came back.
async fn timed_confirm<T, E: std::fmt::Debug>(
    rx: &mut mpsc::UnboundedReceiver<(Instant, CounterView)>,
    stats: &mut Stats,
    confirm: impl std::future::Future<Output = Result<T, E>>,
) {
    let sent = Instant::now();
    confirm.await.unwrap();
    let answered = Instant::now();
    let (at, view) = wait_view(rx, |v| matches!(v, CounterView::ClaveDone { .. })).await;
    assert!(matches!(
        view,
        CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Confirmed,
            ..
        }
    ));
    stats.record(at, sent, answered);
}

async fn wait_view(
    rx: &mut mpsc::UnboundedReceiver<(Instant, CounterView)>,
    pick: impl Fn(&CounterView) -> bool,
) -> (Instant, CounterView) {
    loop {
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the counter got no view in 10 s")
            .expect("the desk dropped the counter");
        if pick(&got.1) {
            return got;
        }
    }
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(n));
}

async fn run(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    let clock = Arc::new(SystemClock);
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let mut config = Config::loopback(dir.path().to_path_buf());
    // One citizen types their data n times: the per-document limits are for attackers.
    config.limits.document_burst = u32::try_from(n).unwrap_or(u32::MAX).saturating_mul(2);
    config.limits.document_per_hour = config.limits.document_burst;
    let running = ClaveMovil::start(config, store.clone(), clock.clone(), random.clone())
        .await
        .unwrap();
    let engine = running.engine().clone();

    let ctx = AuditContext {
        office_code: "O00012345".into(),
        counter_number: 1,
        actor: "bench".into(),
        at: registry::Clock::now(clock.as_ref()),
    };
    store
        .create_clerk(
            NewClerk {
                username: Username::parse("banco").unwrap(),
                display_name: "Banco".into(),
                role: Role::Clerk,
                password_hash: PasswordHash::hash(&Secret::new(PASSWORD), random.as_ref()).unwrap(),
                is_demo: false,
            },
            &ctx,
            random.as_ref(),
        )
        .await
        .unwrap();
    let settings = DeskSettings {
        office_code: "O00012345".into(),
        counter: 1,
        clerk_idle_lock: ChronoDuration::seconds(3600),
        counter_timeout: ChronoDuration::seconds(120),
        done_screen: ChronoDuration::seconds(10),
        lockout: LockoutPolicy::default(),
    };
    let desk = Desk::new(store, clock.clone(), random.clone(), settings).with_clave(ClaveLink {
        engine: engine.clone(),
        body: "Oficina de Registro — banco de pruebas".into(),
    });
    let desk = Arc::new(desk);
    Desk::forward_clave_events(&desk);
    let (tx, mut rx) = mpsc::unbounded_channel();
    desk.subscribe_counter(Arc::new(CounterSink(tx))).await;
    desk.login("banco", Secret::new(PASSWORD)).await.unwrap();

    // The citizen registers and activates the app with the counter's QR.
    desk.submit_alta(AltaFormDto {
        document: "12345678Z".into(),
        expiry_date: "2031-06-30".into(),
        given_name: "Ficticia".into(),
        first_surname: "Especimen".into(),
        phone: "612345678".into(),
        email: "prueba@example.org".into(),
        ..AltaFormDto::default()
    })
    .await
    .unwrap();
    desk.counter_confirm().await.unwrap();
    let qr = engine
        .create_activation_qr(&DocumentNumber::parse("12345678Z").unwrap())
        .await
        .unwrap();
    let mut device = DeviceClient::new(
        Endpoint::plain(&running.base_url).unwrap(),
        DeviceKey::generate(&OsRandom),
        clock.clone(),
        random.clone(),
    );
    device.activate_with_qr(&qr.payload).await.unwrap();
    let mut events = engine.subscribe();

    let mut qr_stats = Stats::new("QR");
    let mut last = String::new();
    for _ in 0..n {
        desk.clave_start().await.unwrap();
        // The desk's new request, as the engine announces it.
        let id = loop {
            let v = events.recv().await.unwrap();
            if v.kind == RequestKind::Qr && v.status == RequestStatus::Pending && v.id != last {
                break v.id;
            }
        };
        last.clone_from(&id);
        let frame = engine.qr_frame(&id).unwrap();
        device.scan(&frame.payload).await.unwrap();
        timed_confirm(&mut rx, &mut qr_stats, device.confirm(&id, None)).await;
    }

    let mut no_qr_stats = Stats::new("without QR");
    for _ in 0..n {
        desk.clave_start().await.unwrap();
        desk.counter_clave_without_qr().await.unwrap();
        desk.counter_clave_identify(ClaveIdentityDto {
            document: "12345678Z".into(),
            expiry_date: "2031-06-30".into(),
            ..ClaveIdentityDto::default()
        })
        .await
        .unwrap();
        let (_, view) = wait_view(&mut rx, |v| matches!(v, CounterView::ClaveNoQr { .. })).await;
        let CounterView::ClaveNoQr { code, .. } = view else {
            unreachable!()
        };
        let pending = device.pending(5).await.unwrap();
        let request = pending.requests.first().expect("the phone got the request");
        timed_confirm(
            &mut rx,
            &mut no_qr_stats,
            device.confirm(&request.id, Some(&code)),
        )
        .await;
    }

    println!(
        "Counter outcome latency, {n} requests per path (Desk + embedded endpoint on 127.0.0.1, durable SQLite):"
    );
    println!();
    println!(
        "| path | requests | counter view − confirm response: p50 | p99 | max | counter view − confirm sent: p50 | p99 | max |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    qr_stats.print();
    no_qr_stats.print();
    running.shutdown().await;
}
