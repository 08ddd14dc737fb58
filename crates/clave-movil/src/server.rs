//! Starting and stopping the endpoint: what the desktop app embeds
//! ([`ClaveMovil::start`]) and what the `clave-movil serve` command runs ([`serve`]).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use registry::{Clock, OsRandom, Random, SystemClock};
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::config::{Config, ConfigError};
use crate::engine::{Engine, EngineParts};
use crate::http::extract::ConnInfo;
use crate::http::{AppState, router};
use crate::keys::ServerKeys;
use crate::tls::{TlsError, TlsMaterial};

/// Why the endpoint did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read or create the keys: {0}")]
    Keys(std::io::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on the configured address: {0}")]
    Listen(std::io::Error),
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    #[error("cannot load the endpoint's state")]
    Load(crate::error::ClaveError),
    #[error("SMS gateway: {0}")]
    Sms(#[from] crate::net::NetError),
}

impl StartError {
    pub fn code(&self) -> &'static str {
        match self {
            StartError::Config(e) => e.code(),
            StartError::Keys(_) => "CM-START-001",
            StartError::Tls(_) => "CM-START-002",
            StartError::Listen(_) => "CM-START-003",
            StartError::Store(e) => e.code(),
            StartError::Load(e) => e.code(),
            StartError::Sms(_) => "CM-START-004",
        }
    }
}

/// The endpoint.
#[derive(Debug)]
pub struct ClaveMovil;

/// A running endpoint.
#[derive(Debug)]
pub struct Running {
    /// Where it listens (with the real port when the configuration said 0).
    pub addr: SocketAddr,
    /// `http(s)://addr` — the base URL for clients on this machine.
    pub base_url: String,
    /// The address QR codes carry (`public_url`, or `base_url`).
    pub endpoint: String,
    /// The TLS pin (SPKI SHA-256, base64url); `None` on plain HTTP.
    pub tls_pin: Option<String>,
    engine: Engine,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The engine: counter requests, QR frames, activation QR, alerts, events.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Stops listening, closes connections (after at most 2 seconds) and the
    /// housekeeping task. Everything already answered is on disk.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
        }
    }
}

impl ClaveMovil {
    /// Starts the endpoint on `config.listen` with the app's store, clock and random
    /// source. Keys and the TLS certificate live in `config.data_dir` (created on first
    /// run).
    pub async fn start(
        config: Config,
        store: Store,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Result<Running, StartError> {
        config.validate()?;
        let keys = ServerKeys::load_or_create(&config.data_dir, random.as_ref())
            .map_err(StartError::Keys)?;
        let tls = if config.tls {
            Some(TlsMaterial::load_or_create(
                &config.data_dir,
                &config.tls_names,
                random.as_ref(),
            )?)
        } else {
            None
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(StartError::Listen)?;
        let addr = listener.local_addr().map_err(StartError::Listen)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{addr}");
        let endpoint = config
            .public_url
            .clone()
            .unwrap_or_else(|| base_url.clone());
        let pin = tls.as_ref().map(|t| t.pin.clone()).unwrap_or_default();

        let writer = store.clave_movil_writer(config.durable).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let origin = crate::persist::AuditOrigin {
            office_code: config.office_code.clone(),
            counter_number: config.counter_number,
        };
        let writer_task = tokio::spawn(crate::persist::run_writer(writer, rx, origin));
        let sms = crate::sms::from_config(&config.sms, &store, clock.clone(), random.clone())?;
        let engine = Engine::new(EngineParts {
            config: config.clone(),
            clock,
            random,
            store,
            keys,
            endpoint: endpoint.clone(),
            pin: pin.clone(),
            sms,
            writer: tx,
        })
        .await
        .map_err(StartError::Load)?;

        let (shutdown, shutdown_rx) = watch::channel(false);
        let housekeeping = tokio::spawn(housekeeping(engine.clone(), shutdown_rx.clone()));
        let openapi = serde_json::to_string(&crate::http::openapi()).unwrap_or_default();
        let state = AppState {
            engine: engine.clone(),
            body_limit: config.http.body_limit_bytes,
            request_timeout: Duration::from_secs(config.http.request_timeout_secs),
            long_poll_max: Duration::from_secs(config.policy.long_poll_max_secs),
            openapi: Arc::new(openapi),
        };
        let app = router(state);
        let acceptor = match &tls {
            Some(t) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
                t.server_config()?,
            ))),
            None => None,
        };
        let accept = tokio::spawn(accept_loop(
            listener,
            app,
            acceptor,
            config.http.clone(),
            shutdown_rx,
        ));
        tracing::info!(%addr, tls = tls.is_some(), "Cl@ve Móvil endpoint listening");
        // The writer ends by itself once every engine handle is gone.
        drop(writer_task);
        Ok(Running {
            addr,
            base_url,
            endpoint,
            tls_pin: tls.map(|t| t.pin),
            engine,
            shutdown,
            tasks: vec![accept, housekeeping],
        })
    }
}

async fn housekeeping(engine: Engine, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        engine.sweep();
        n += 1;
        if n.is_multiple_of(50) {
            engine.purge();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    limits: crate::config::HttpLimits,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let header_timeout = Duration::from_secs(limits.header_timeout_secs.max(1));
    let mut connections = Vec::new();
    loop {
        let (stream, remote) = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // Full: refuse the connection rather than queue without bound.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        let mut stop = stop.clone();
        connections.retain(|h: &JoinHandle<()>| !h.is_finished());
        connections.push(tokio::spawn(async move {
            let _permit = permit;
            let service =
                app.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnInfo(remote));
                    req
                });
            let service = TowerToHyperService::new(service);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            macro_rules! drive {
                ($io:expr) => {{
                    let conn = builder.serve_connection($io, service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                        }
                    }
                }};
            }
            match acceptor {
                Some(acceptor) => {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
                    {
                        drive!(TokioIo::new(tls))
                    }
                }
                None => drive!(TokioIo::new(stream)),
            }
        }));
    }
    for c in connections {
        let _ = tokio::time::timeout(Duration::from_secs(3), c).await;
    }
}

/// The `serve` command: opens the store in `data_dir`, starts the endpoint with the
/// system clock and the OS random source, and runs until Ctrl-C / SIGTERM.
pub async fn serve(config_path: &Path) -> Result<(), StartError> {
    let config = Config::from_file(config_path)?;
    let store = Store::open_in_dir(&config.data_dir).await?;
    let running = ClaveMovil::start(
        config,
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
    )
    .await?;
    tracing::info!(url = %running.base_url, "serving; Ctrl-C to stop");
    wait_for_signal().await;
    running.shutdown().await;
    store.close().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
