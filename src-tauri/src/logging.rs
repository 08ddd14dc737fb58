//! `tracing` to rolling daily files in `<data_dir>/logs`. Nothing personal is
//! ever logged: the domain types mask themselves and commands log codes, not
//! values (a test searches the files after a whole operation).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

use crate::config::LogConfig;

/// Keep the guard alive for as long as logs should be flushed.
pub fn init(data_dir: &Path, config: &LogConfig) -> Result<WorkerGuard, String> {
    let dir = data_dir.join("logs");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("ventanilla")
        .filename_suffix("log")
        .max_log_files(config.keep_files.max(1))
        .build(&dir)
        .map_err(|e| e.to_string())?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_new(&config.level).map_err(|e| e.to_string())?;
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(writer).with_ansi(false))
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
        )
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(guard)
}
