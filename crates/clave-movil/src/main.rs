//! `clave-movil`: the local Cl@ve Móvil endpoint, headless.
//!
//! ```text
//! clave-movil serve --config /etc/ventanilla/clave-movil.toml
//! clave-movil hash-key            # reads an API key on stdin, prints its sha256 for the config
//! clave-movil new-key             # prints a fresh random API key
//! clave-movil openapi             # prints the OpenAPI document
//! ```

use std::io::{BufRead, Write};
use std::process::ExitCode;

use registry::Random;

fn usage() -> ExitCode {
    let _ = writeln!(
        std::io::stderr(),
        "usage: clave-movil serve --config FILE | hash-key | new-key | openapi"
    );
    ExitCode::from(2)
}

fn out(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{text}").is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let config = match args.get(1).map(String::as_str) {
                Some("--config") => match args.get(2) {
                    Some(path) => std::path::PathBuf::from(path),
                    None => return usage(),
                },
                _ => return usage(),
            };
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .init();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(clave_movil::serve(&config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "{}: {e}", e.code());
                    ExitCode::FAILURE
                }
            }
        }
        Some("hash-key") => {
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).is_err() {
                return ExitCode::FAILURE;
            }
            out(&clave_movil::hash_api_key(line.trim()))
        }
        Some("new-key") => {
            let mut bytes = [0u8; 32];
            registry::OsRandom.fill(&mut bytes);
            out(&hex::encode(bytes))
        }
        Some("openapi") => {
            out(&serde_json::to_string_pretty(&clave_movil::http::openapi()).unwrap_or_default())
        }
        _ => usage(),
    }
}
