//! The `ventanilla` command line: no arguments runs the desktop app; `admin …`
//! is the office admin's toolbox.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI talks on stdout/stderr

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use registry::{OsRandom, Secret, SystemClock};
use store::Store;

use crate::admin::{self, AdminError};
use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "ventanilla",
    version,
    about = "Ventanilla: Cl@ve counter application for registry offices"
)]
struct Cli {
    /// Configuration file (default: $VENTANILLA_CONFIG, then the user's config directory).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Office administration.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a clerk account (asks for the password twice, or reads it from stdin).
    CreateClerk {
        #[arg(long)]
        username: String,
        /// Name shown on screen and on receipts.
        #[arg(long)]
        name: String,
        /// clerk, supervisor or admin.
        #[arg(long, default_value = "clerk")]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List clerk accounts.
    ListClerks,
    /// Check the hash chain of the audit trail (exit status 1 when broken).
    VerifyAudit,
    /// Print the audit trail as JSON lines (it holds no personal data).
    ExportAudit,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(Command::Admin(command)) = cli.command else {
        return match crate::run(cli.config.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ventanilla: {e}");
                ExitCode::FAILURE
            }
        };
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ventanilla: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(admin_main(cli.config, command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ventanilla admin: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_password(from_stdin: bool) -> Result<Secret, AdminError> {
    let invalid = |message: &str| AdminError::Invalid {
        code: "CLK-004",
        message: message.to_owned(),
    };
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| invalid(&e.to_string()))?;
        let trimmed = line.trim_end_matches(['\r', '\n']).to_owned();
        zeroize::Zeroize::zeroize(&mut line);
        return Ok(Secret::new(trimmed));
    }
    let first = rpassword::prompt_password("Contraseña / Password: ")
        .map_err(|e| invalid(&e.to_string()))?;
    let second =
        rpassword::prompt_password("Repita / Repeat: ").map_err(|e| invalid(&e.to_string()))?;
    let (first, second) = (Secret::new(first), Secret::new(second));
    if first.expose() != second.expose() {
        return Err(invalid("the two passwords differ"));
    }
    Ok(first)
}

async fn admin_main(
    config_path: Option<PathBuf>,
    command: AdminCommand,
) -> Result<ExitCode, AdminError> {
    let (config, _) = Config::load(config_path.as_deref()).map_err(crate::StartError::from)?;
    let store = Store::open_in_dir(&config.resolved_data_dir()).await?;
    let clock = SystemClock;
    let result = match command {
        AdminCommand::CreateClerk {
            username,
            name,
            role,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let request = admin::ClerkRequest {
                username: &username,
                display_name: &name,
                role: &role,
                password,
            };
            admin::create_clerk(&store, &config, request, &clock, &OsRandom).await?;
            println!("clerk {username} created ({role})");
            ExitCode::SUCCESS
        }
        AdminCommand::ListClerks => {
            for clerk in store.list_clerks().await? {
                println!(
                    "{}\t{}\t{}{}{}",
                    clerk.username.as_str(),
                    clerk.role.as_str(),
                    clerk.display_name,
                    if clerk.is_demo { "\t(demo)" } else { "" },
                    if clerk.disabled { "\t(disabled)" } else { "" },
                );
            }
            ExitCode::SUCCESS
        }
        AdminCommand::VerifyAudit => {
            let report = admin::verify_audit(&store, &config, &clock).await?;
            if report.intact() {
                println!("audit trail intact: {} entries", report.entries);
                ExitCode::SUCCESS
            } else {
                println!(
                    "AUDIT TRAIL BROKEN: {} entries, {} problems",
                    report.entries,
                    report.problems.len()
                );
                for p in &report.problems {
                    println!("  entry {}: {}", p.seq, p.kind.as_str());
                }
                ExitCode::FAILURE
            }
        }
        AdminCommand::ExportAudit => {
            for e in store.audit_entries().await? {
                let line = serde_json::json!({
                    "seq": e.seq, "at": e.at, "office": e.office_code, "counter": e.counter_number,
                    "actor": e.actor, "action": e.action, "citizen_id": e.citizen_id,
                    "detail": e.detail, "prev_hash": e.prev_hash, "hash": e.hash,
                });
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(result)
}
