//! Ventanilla's desktop shell: two windows (the clerk console and the counter
//! screen facing the citizen), the commands each may call, and the wiring of
//! configuration, logging, storage and the desk. Everything of substance lives
//! in the crates (`registry`, `store`) and in [`desk`]; this crate adapts.

pub mod admin;
pub mod bindings;
pub mod cli;
pub mod commands;
pub mod config;
pub mod desk;
pub mod errors;
pub mod ipc;
pub mod logging;
pub mod reader;
pub mod training;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tauri::{Manager, Runtime, WebviewUrl, WebviewWindowBuilder};
use tracing::{error, info};

use commands::AppState;
use config::{Config, ConfigSource};
use desk::{ClaveLink, Desk, DeskSettings};
use ipc::{AppInfo, CounterInfo, DemoClerk};
use registry::{Clock, LockoutPolicy, OsRandom, Random, SystemClock};
use store::Store;

/// The window labels; `capabilities/*.json` grant by these.
pub const CLERK_WINDOW: &str = "clerk";
pub const COUNTER_WINDOW: &str = "counter";

/// The training-mode demo account, shown on the login screen as such. It
/// exists only in a training database, never in a real one.
pub const DEMO_USERNAME: &str = "formacion";
pub const DEMO_PASSWORD: &str = "ventanilla-formacion";

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot use the data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error("Ventanilla is already running with the data directory {0}")]
    AlreadyRunning(PathBuf),
    #[error("cannot open the database: {0}")]
    Store(#[from] store::StoreError),
    #[error("cannot set up logging: {0}")]
    Logging(String),
    #[error("the window system failed: {0}")]
    Tauri(#[from] tauri::Error),
    #[error("training mode: {0}")]
    Training(String),
    #[error("cannot watch the card readers: {0}")]
    Readers(std::io::Error),
    #[error("cannot start the Cl@ve Móvil endpoint ({code}): {0}", code = .0.code())]
    ClaveMovil(#[from] clave_movil::StartError),
}

/// Registers the commands of both windows. Generic over the runtime so the
/// permission tests run the real handler under `tauri::test`.
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::clerk::app_info,
        commands::clerk::clerk_login,
        commands::clerk::clerk_session,
        commands::clerk::clerk_logout,
        commands::clerk::clerk_unlock,
        commands::clerk::clerk_activity,
        commands::clerk::clerk_subscribe,
        commands::clerk::alta_submit,
        commands::clerk::alta_cancel,
        commands::clerk::audit_verify,
        commands::clerk::readers_state,
        commands::clerk::alta_request_pin,
        commands::clerk::pin_cancel,
        commands::clerk::training_cards,
        commands::clerk::training_insert_card,
        commands::clerk::training_remove_card,
        commands::clerk::clave_start,
        commands::clerk::clave_cancel,
        commands::clerk::clave_show_document,
        commands::counter::counter_info,
        commands::counter::counter_subscribe,
        commands::counter::counter_confirm,
        commands::counter::counter_reject,
        commands::counter::counter_extend,
        commands::counter::counter_submit_pin,
        commands::counter::counter_cancel_pin,
        commands::counter::counter_clave_renew,
        commands::counter::counter_clave_without_qr,
        commands::counter::counter_clave_with_qr,
        commands::counter::counter_clave_identify,
        commands::counter::counter_clave_request_sms,
        commands::counter::counter_clave_submit_pin,
    ])
}

/// The app's real context (config, capabilities, embedded UI).
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Builds the desk and the state every command sees.
pub async fn app_state(
    config: &Config,
    store: Store,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    started: std::time::Instant,
    clave: Option<ClaveLink>,
) -> Result<AppState, StartError> {
    if config.training {
        admin::seed_demo_clerk(&store, config, clock.as_ref(), random.as_ref()).await?;
    }
    let settings = DeskSettings {
        office_code: config.office.code.clone(),
        counter: config.office.counter,
        clerk_idle_lock: chrono::Duration::seconds(i64::from(config.idle.clerk_lock_secs)),
        counter_timeout: chrono::Duration::seconds(i64::from(config.idle.counter_reset_secs)),
        done_screen: chrono::Duration::seconds(10),
        lockout: LockoutPolicy::default(),
    };
    let app_info = AppInfo {
        office_name: config.office.name.clone(),
        office_code: config.office.code.clone(),
        counter: config.office.counter,
        training: config.training,
        languages: config.languages.enabled.clone(),
        default_language: config.languages.default,
        clerk_idle_lock_secs: config.idle.clerk_lock_secs,
        demo_clerk: config.training.then(|| DemoClerk {
            username: DEMO_USERNAME.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
        }),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let counter_info = CounterInfo {
        office_name: config.office.name.clone(),
        counter: config.office.counter,
        training: config.training,
        languages: config.languages.enabled.clone(),
        default_language: config.languages.default,
    };
    let mut desk =
        Desk::new(store, clock, random, settings).with_card_ops(Arc::new(reader::PcscCardOps {
            config: dnie_config(config),
        }));
    if let Some(link) = clave {
        desk = desk.with_clave(link);
    }
    let desk = Arc::new(desk);
    // The outcome of a Cl@ve Móvil request reaches the windows as soon as the
    // engine commits it.
    Desk::forward_clave_events(&desk);
    let training = if config.training {
        Some(training::Training::new().map_err(|e| StartError::Training(e.to_string()))?)
    } else {
        None
    };
    Ok(AppState {
        desk,
        app_info,
        counter_info,
        startup: commands::StartupProbe::new(started),
        training,
    })
}

/// How cards are read: production roots and key sets, except that training
/// mode trusts the component root of the virtual DNIe's test PKI.
pub fn dnie_config(config: &Config) -> dnie::DnieConfig {
    let mut dnie = dnie::DnieConfig::default();
    if config.training {
        dnie.component_root = training::test_component_root();
    }
    dnie
}

/// Holds the data directory for this process: a second Ventanilla on the
/// same data would fight over the database and the card readers.
pub struct InstanceLock {
    _file: std::fs::File,
}

pub fn lock_data_dir(data_dir: &Path) -> Result<InstanceLock, StartError> {
    use fs4::fs_std::FileExt;
    std::fs::create_dir_all(data_dir).map_err(|e| StartError::DataDir(data_dir.to_owned(), e))?;
    let path = data_dir.join("ventanilla.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StartError::DataDir(data_dir.to_owned(), e))?;
    match file.try_lock_exclusive() {
        Ok(true) => Ok(InstanceLock { _file: file }),
        Ok(false) => Err(StartError::AlreadyRunning(data_dir.to_owned())),
        Err(e) => Err(StartError::DataDir(data_dir.to_owned(), e)),
    }
}

/// Opens both windows: the counter screen goes fullscreen and undecorated on
/// a second monitor when there is one, and is a normal window otherwise.
fn open_windows<R: Runtime>(app: &tauri::App<R>, training: bool) -> Result<(), tauri::Error> {
    let suffix = if training { " — FORMACIÓN" } else { "" };
    WebviewWindowBuilder::new(app, CLERK_WINDOW, WebviewUrl::App("clerk.html".into()))
        .title(format!("Ventanilla — Puesto de atención{suffix}"))
        .inner_size(1280.0, 800.0)
        .min_inner_size(960.0, 640.0)
        .build()?;

    let counter =
        WebviewWindowBuilder::new(app, COUNTER_WINDOW, WebviewUrl::App("counter.html".into()))
            .title(format!("Ventanilla — Pantalla del ciudadano{suffix}"));
    let monitors = app.available_monitors().unwrap_or_default();
    let primary = app.primary_monitor().ok().flatten();
    let second = monitors
        .iter()
        .find(|m| {
            primary
                .as_ref()
                .is_none_or(|p| p.position() != m.position())
        })
        .filter(|_| monitors.len() > 1);
    match second {
        Some(monitor) => {
            let pos = monitor.position();
            let scale = monitor.scale_factor();
            info!(
                monitors = monitors.len(),
                "counter screen on the second monitor"
            );
            counter
                .position(f64::from(pos.x) / scale, f64::from(pos.y) / scale)
                .decorations(false)
                .fullscreen(true)
                .build()?;
        }
        None => {
            info!("one monitor: counter screen as a normal window");
            counter.inner_size(1024.0, 768.0).build()?;
        }
    }
    Ok(())
}

/// Runs the desktop app until its windows close.
pub fn run(explicit_config: Option<&Path>) -> Result<(), StartError> {
    let started = std::time::Instant::now();
    let (config, source) = Config::load(explicit_config)?;
    let data_dir = config.resolved_data_dir();
    let _instance = lock_data_dir(&data_dir)?;
    let _log_guard = logging::init(&data_dir, &config.log).map_err(StartError::Logging)?;
    match &source {
        ConfigSource::File(_) => info!(training = config.training, "configuration file loaded"),
        ConfigSource::Defaults => info!("no configuration file: training mode"),
    }

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let (state, clave_running) = tauri::async_runtime::block_on(async {
        let store = Store::open_in_dir(&data_dir).await?;
        // The Cl@ve Móvil endpoint, on the same store.
        let running = if config.clave_enabled() {
            let running = clave_movil::ClaveMovil::start(
                config.clave_movil_config(&data_dir),
                store.clone(),
                clock.clone(),
                random.clone(),
            )
            .await?;
            info!(addr = %running.addr, tls = running.tls_pin.is_some(), "Cl@ve Móvil endpoint listening");
            Some(running)
        } else {
            None
        };
        let link = running.as_ref().map(|r| ClaveLink {
            engine: r.engine().clone(),
            body: config.clave_movil.body.clone(),
        });
        let state = app_state(&config, store, clock, random, started, link).await?;
        Ok::<_, StartError>((state, running))
    })?;
    let desk = state.desk.clone();
    let training = config.training;
    let watcher = reader::start(
        desk.clone(),
        dnie_config(&config),
        config.readers.preferred.clone(),
    )
    .map_err(StartError::Readers)?;

    with_commands(tauri::Builder::default())
        .manage(state)
        .setup(move |app| {
            open_windows(app, training)?;
            // The desk's clock: idle lock, counter timeout, back to welcome.
            tauri::async_runtime::spawn(async move {
                let mut every_second = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    every_second.tick().await;
                    desk.tick().await;
                }
            });
            Ok(())
        })
        // The desk needs both windows: closing either one ends Ventanilla.
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Destroyed = event {
                window.app_handle().exit(0);
            }
        })
        .build(context())
        .inspect_err(|e| error!(error = %e, "the window system failed to start"))?
        .run(|app, event| {
            if let tauri::RunEvent::ExitRequested { .. } = event
                && let Some(state) = app.try_state::<AppState>()
            {
                if let Some(training) = &state.training {
                    let _ = training.remove();
                }
                let store = state.desk.store().clone();
                tauri::async_runtime::block_on(store.close());
            }
        });
    watcher.stop();
    if let Some(running) = clave_running {
        tauri::async_runtime::block_on(running.shutdown());
    }
    Ok(())
}

#[cfg(test)]
mod acl_tests;

#[cfg(test)]
mod instance_tests {
    #[test]
    fn one_ventanilla_per_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = crate::lock_data_dir(dir.path()).unwrap();
        let second = crate::lock_data_dir(dir.path());
        assert!(
            matches!(second, Err(crate::StartError::AlreadyRunning(_))),
            "a second instance on the same data must be refused"
        );
        // Another data directory is another desk.
        let other = tempfile::tempdir().unwrap();
        let _third = crate::lock_data_dir(other.path()).unwrap();
        drop(first);
        crate::lock_data_dir(dir.path()).unwrap();
    }
}
