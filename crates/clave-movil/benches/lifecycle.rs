//! Load generator: full Cl@ve Móvil lifecycles against the real server — the
//! `clave-movil serve` binary in its own process, HTTP on 127.0.0.1, SQLite file on
//! disk, durable commits — at 1, 16 and 64 concurrent clients. Each client is one
//! relying-service session plus one citizen's app, behaving as real ones do:
//!
//! 1. `create`  — the service creates a no-QR request (API key, DNI + contrast checked
//!    against the store) while the app already waits in its signed long-poll of
//!    pending requests;
//! 2. `fetch`   — the app's long-poll returns the request (measured from the moment
//!    `create` answered);
//! 3. `confirm` — the app confirms with the right code among three (signed) while the
//!    service already waits in its outcome long-poll;
//! 4. `outcome` — the service's long-poll returns the signed answer (measured from the
//!    moment `confirm` answered).
//!
//! ```text
//! cargo bench -p clave-movil --bench lifecycle -- [--secs 10] [--clients 1,16,64] [--tls] [--no-durable]
//! ```
//! Server and load generator share the machine's cores. CPU and memory are reported
//! for the server process alone and for both together, so the server's own cost per
//! lifecycle is visible apart from the load generator's.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clave_movil::client::{DeviceClient, DeviceKey, Endpoint, ServiceClient};
use clave_movil::config::{ApiKeyConfig, KeyRole};
use clave_movil::{Config, hash_api_key};
use registry::{OsRandom, SystemClock};
use store::Store;

const KEY: &str = "bench-service-key-0123456789abcdef";
const OFFICE: &str = "bench-office-key-0123456789abcdef0";
const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";

struct Args {
    secs: u64,
    clients: Vec<usize>,
    tls: bool,
    durable: bool,
}

fn args() -> Args {
    let mut a = Args {
        secs: 10,
        clients: vec![1, 16, 64],
        tls: false,
        durable: true,
    };
    let all: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < all.len() {
        match all[i].as_str() {
            "--secs" => {
                a.secs = all[i + 1].parse().unwrap();
                i += 1;
            }
            "--clients" => {
                a.clients = all[i + 1].split(',').map(|c| c.parse().unwrap()).collect();
                i += 1;
            }
            "--tls" => a.tls = true,
            "--no-durable" => a.durable = false,
            _ => {} // cargo bench passes --bench
        }
        i += 1;
    }
    a
}

fn dni(n: u32) -> String {
    format!("{n:08}{}", LETTERS[(n % 23) as usize] as char)
}

fn rss_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU time of a process, seconds (`/proc/PID/stat`, 100 Hz ticks).
fn cpu_secs(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

#[derive(Default)]
struct Samples {
    create: Vec<Duration>,
    fetch: Vec<Duration>,
    confirm: Vec<Duration>,
    outcome: Vec<Duration>,
    total: Vec<Duration>,
    errors: u64,
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

async fn client_loop(
    service: ServiceClient,
    device: DeviceClient,
    document: String,
    until: Instant,
) -> Samples {
    let mut s = Samples::default();
    while Instant::now() < until {
        let t0 = Instant::now();
        // The app is already waiting for a request when the service creates it.
        let (created, pending) = tokio::join!(
            async {
                let r = service.create_no_qr(&document, "2031-06-30").await;
                (r, Instant::now())
            },
            device.pending(5)
        );
        let (req, t1) = match created {
            (Ok(r), at) => (r, at),
            (Err(_), _) => {
                s.errors += 1;
                continue;
            }
        };
        // A long-poll that returned before the request existed is asked again.
        let mut pending = pending;
        let mut tries = 0;
        while !matches!(&pending, Ok(p) if p.requests.iter().any(|r| r.id == req.id)) && tries < 3 {
            pending = device.pending(5).await;
            tries += 1;
        }
        let t2 = Instant::now();
        if tries == 3 || pending.is_err() {
            s.errors += 1;
            continue;
        }
        // The service waits for the outcome while the citizen confirms.
        let (confirmed, outcome) = tokio::join!(
            async {
                let r = device.confirm(&req.id, Some(&req.code)).await;
                (r, Instant::now())
            },
            service.wait_outcome(&req.id, 5)
        );
        let t4 = Instant::now();
        let t3 = match confirmed {
            (Ok(_), at) => at,
            (Err(_), _) => {
                s.errors += 1;
                continue;
            }
        };
        match outcome {
            Ok(o) if o.is_final && o.signed.is_some() => {}
            _ => {
                s.errors += 1;
                continue;
            }
        }
        s.create.push(t1 - t0);
        s.fetch.push(t2.saturating_duration_since(t1));
        s.confirm.push(t3 - t2);
        s.outcome.push(t4.saturating_duration_since(t3));
        s.total.push(t4 - t0);
    }
    s
}

/// The server under test: `clave-movil serve` on a free loopback port.
struct Server {
    child: Child,
    pid: String,
}

impl Server {
    fn start(config: &Config, dir: &std::path::Path) -> Server {
        let path = dir.join("clave-movil.toml");
        std::fs::write(&path, toml::to_string(config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_clave-movil"))
            .args(["serve", "--config"])
            .arg(&path)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let pid = child.id().to_string();
        Server { child, pid }
    }

    fn stop(mut self) {
        // SIGTERM: the server drains and closes its store.
        let _ = Command::new("kill").args(["-TERM", &self.pid]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let dir = tempfile::Builder::new()
        .prefix("clave-movil-bench")
        .tempdir_in(std::env::var_os("BENCH_DIR").unwrap_or_else(|| "/var/tmp".into()))
        .unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    let clock = Arc::new(SystemClock);
    // Citizens (one per client).
    let documents: Vec<String> = (0..max_clients as u32)
        .map(|i| dni(10_000_000 + i))
        .collect();
    let phones: Vec<String> = (0..max_clients)
        .map(|i| format!("6{:08}", 10_000_000 + i))
        .collect();
    let citizens: Vec<(&str, &str, &str)> = documents
        .iter()
        .zip(&phones)
        .map(|(d, p)| (d.as_str(), "2031-06-30", p.as_str()))
        .collect();
    clave_movil::testkit::register_citizens(&store, clock.as_ref(), &citizens).await;

    // The server opens the store itself.
    store.close().await;

    let mut config = Config::loopback(dir.path().to_path_buf());
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.tls = args.tls;
    config.durable = args.durable;
    config.api_keys = vec![
        ApiKeyConfig {
            id: "bench".into(),
            body: "Servicio de prueba de carga".into(),
            sha256: hash_api_key(KEY),
            role: KeyRole::Service,
        },
        ApiKeyConfig {
            id: "office".into(),
            body: "Oficina".into(),
            sha256: hash_api_key(OFFICE),
            role: KeyRole::Office,
        },
    ];
    // The same citizen is authenticated ~100 times a second here: lift the
    // per-document lookup limit (it is still evaluated on every request).
    config.limits.document_burst = u32::MAX / 2;
    config.limits.document_per_hour = u32::MAX / 2;
    config.policy.max_pending_per_service = 1000;
    // The certificate the server will load, made here so the clients know its pin.
    let pin = args.tls.then(|| {
        clave_movil::tls::TlsMaterial::load_or_create(dir.path(), &[], &OsRandom)
            .unwrap()
            .pin
    });
    let base = format!(
        "{}://{}",
        if args.tls { "https" } else { "http" },
        config.listen
    );
    let server = Server::start(&config, dir.path());
    let ep = match &pin {
        Some(pin) => Endpoint::pinned(&base, pin).unwrap(),
        None => Endpoint::plain(&base).unwrap(),
    };
    let ready_by = Instant::now() + Duration::from_secs(30);
    while ep
        .raw(hyper::Method::GET, "/healthz", &[], Vec::new())
        .await
        .is_err()
    {
        if Instant::now() > ready_by {
            let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
            panic!("the server did not start:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let office = ServiceClient::new(ep.clone(), OFFICE);
    let mut devices = Vec::new();
    for doc in &documents {
        let qr = office.activation_qr(doc).await.unwrap();
        let mut device = DeviceClient::new(
            ep.clone(),
            DeviceKey::generate(&OsRandom),
            clock.clone(),
            Arc::new(OsRandom),
        );
        device.activate_with_qr(&qr.payload).await.unwrap();
        devices.push(device);
    }
    let rss_start = rss_kib(&server.pid, "VmRSS:");
    println!(
        "\nCl@ve Móvil lifecycles — {} on 127.0.0.1, SQLite on disk ({}), {} cores, {} s per level\n",
        if args.tls { "HTTPS (TLS 1.3)" } else { "HTTP" },
        if args.durable {
            "durable: synchronous=FULL, group commit"
        } else {
            "synchronous=NORMAL"
        },
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        args.secs
    );
    println!(
        "| clients | lifecycles/s | create p50/p99 ms | fetch p50/p99 ms | confirm p50/p99 ms | outcome p50/p99 ms | lifecycle p50/p99 ms | server CPU µs/lifecycle | all CPU µs/lifecycle | errors | server RSS MiB |"
    );
    println!("|---:|---:|---|---|---|---|---|---:|---:|---:|---:|");
    for &n in &args.clients {
        // One second of warm-up, then the measured run.
        for measured in [false, true] {
            let started = Instant::now();
            let (server_cpu0, own_cpu0) = (cpu_secs(&server.pid), cpu_secs("self"));
            let until = started
                + if measured {
                    Duration::from_secs(args.secs)
                } else {
                    Duration::from_secs(1)
                };
            let mut tasks = Vec::new();
            for i in 0..n {
                let service = ServiceClient::new(ep.clone(), KEY);
                let device = clone_device(&devices[i]);
                let doc = documents[i].clone();
                tasks.push(tokio::spawn(client_loop(service, device, doc, until)));
            }
            let mut all = Samples::default();
            for t in tasks {
                let s = t.await.unwrap();
                all.create.extend(s.create);
                all.fetch.extend(s.fetch);
                all.confirm.extend(s.confirm);
                all.outcome.extend(s.outcome);
                all.total.extend(s.total);
                all.errors += s.errors;
            }
            if !measured {
                continue;
            }
            let elapsed = started.elapsed().as_secs_f64();
            let server_cpu = cpu_secs(&server.pid) - server_cpu0;
            let all_cpu = server_cpu + cpu_secs("self") - own_cpu0;
            let done = all.total.len().max(1) as f64;
            println!(
                "| {n} | {:.0} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.0} | {:.0} | {} | {:.1} |",
                all.total.len() as f64 / elapsed,
                pct(&mut all.create, 0.5),
                pct(&mut all.create, 0.99),
                pct(&mut all.fetch, 0.5),
                pct(&mut all.fetch, 0.99),
                pct(&mut all.confirm, 0.5),
                pct(&mut all.confirm, 0.99),
                pct(&mut all.outcome, 0.5),
                pct(&mut all.outcome, 0.99),
                pct(&mut all.total, 0.5),
                pct(&mut all.total, 0.99),
                server_cpu * 1e6 / done,
                all_cpu * 1e6 / done,
                all.errors,
                rss_kib(&server.pid, "VmRSS:") as f64 / 1024.0,
            );
        }
    }
    println!(
        "\nserver memory: RSS {:.1} MiB after start-up, peak (VmHWM) {:.1} MiB; load generator peak {:.1} MiB",
        rss_start as f64 / 1024.0,
        rss_kib(&server.pid, "VmHWM:") as f64 / 1024.0,
        rss_kib("self", "VmHWM:") as f64 / 1024.0,
    );
    server.stop();
}

/// A second handle on the same device (same key, same id): the key file is the device.
fn clone_device(d: &DeviceClient) -> DeviceClient {
    DeviceClient::new(
        d.endpoint().clone(),
        DeviceKey::from_pkcs8_der(d.key().to_pkcs8_der()).unwrap(),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
    )
    .with_device_id(d.device_id().unwrap())
}
