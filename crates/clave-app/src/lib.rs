//! `clave-app`, Ventanilla's reference Cl@ve app: a command-line client that plays the
//! citizen's phone against the office's Cl@ve Móvil endpoint (`clave-movil`).
//!
//! It activates a device (SMS code or the counter's activation QR), keeps the device's
//! P-256 key in a state directory (PKCS#8 DER, mode 0600), scans request QR codes (a
//! payload, or a PNG decoded with `rqrr`), shows, confirms (with number matching),
//! rejects or disowns requests ("this wasn't me"), waits for pending ones by long-poll,
//! lists "My requests" with filters, and signs out. Every call after activation is
//! signed by the device key ([`clave_movil::client::DeviceClient`]).
//!
//! The binary is a thin shell around [`run`]: tests call it with their own clock and
//! read the exit status, stdout and stderr without spawning a process.
//!
//! * [`cli`] — the command line (clap).
//! * [`state`] — the state directory (`device.key`, `state.json`).
//! * [`qrimage`] — QR codes from PNG images.
//! * [`render`] — human-readable output (Spanish first).
//! * [`error`] — error codes (`CM-…` from the endpoint, `APP-0xx` local) and exit
//!   statuses.

use std::ffi::OsString;
use std::sync::Arc;

use clap::Parser;
use registry::{Clock, OsRandom, Random, SystemClock};
use serde_json::Value;

pub mod cli;
mod commands;
pub mod error;
pub mod qrimage;
pub mod render;
pub mod state;

pub use cli::Cli;
pub use commands::execute;
pub use error::AppError;

/// What a command runs with: the clock that stamps signatures, the random source for
/// keys and nonces, and where an SMS code comes from when `--code` is not given.
pub struct Env {
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub read_code: Box<dyn Fn() -> std::io::Result<String> + Send + Sync>,
}

impl Env {
    /// The real clock, the OS random source, and stdin.
    pub fn system() -> Env {
        Env {
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            read_code: Box::new(|| {
                use std::io::{IsTerminal, Write};
                if std::io::stdin().is_terminal() {
                    let mut err = std::io::stderr();
                    write!(err, "Código del SMS (SMS code): ")?;
                    err.flush()?;
                }
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Ok(line)
            }),
        }
    }

    /// `clock` and the OS random source; no stdin (tests).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Env {
        Env {
            clock,
            random: Arc::new(OsRandom),
            read_code: Box::new(|| Ok(String::new())),
        }
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

/// A command's result: JSON (`--json`) and text for a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub json: Value,
    pub human: String,
}

/// What the process should do: exit status and what to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub exit: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// stdout as JSON (after `--json`).
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.stdout).ok()
    }

    /// stderr as JSON (an error after `--json`).
    pub fn error_json(&self) -> Option<Value> {
        serde_json::from_str(&self.stderr).ok()
    }
}

/// Parses `args` (the first is the program name) and runs the command.
///
/// Results go to stdout (one JSON document per line with `--json`); errors go to stderr
/// (`{"error": {...}}` with `--json`) with a non-zero exit status
/// ([`error::EXIT_REFUSED`] = 1 when the endpoint refused, 2 for usage,
/// [`error::EXIT_NETWORK`] = 3, [`error::EXIT_LOCAL`] = 4).
pub async fn run<I, T>(args: I, env: &Env) -> Finished
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                Finished {
                    exit: error::EXIT_USAGE,
                    stdout: String::new(),
                    stderr: text,
                }
            } else {
                // --help, --version
                Finished {
                    exit: 0,
                    stdout: text,
                    stderr: String::new(),
                }
            };
        }
    };
    match execute(&cli, env).await {
        Ok(answer) => Finished {
            exit: 0,
            stdout: if cli.json {
                format!("{}\n", answer.json)
            } else {
                answer.human
            },
            stderr: String::new(),
        },
        Err(e) => Finished {
            exit: e.exit_code(),
            stdout: String::new(),
            stderr: if cli.json {
                format!("{}\n", e.json())
            } else {
                format!("{}\n", e.human())
            },
        },
    }
}
