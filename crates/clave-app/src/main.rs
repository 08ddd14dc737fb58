//! `clave-app` — the reference Cl@ve app on the command line. See the crate
//! documentation and `clave-app --help`.

// A command-line program's job is to print its answer: stdout for results, stderr for
// errors. This is the only module that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: no se puede iniciar clave-app ({e})");
            return ExitCode::from(clave_app::error::EXIT_NETWORK);
        }
    };
    let env = clave_app::Env::system();
    let done = runtime.block_on(clave_app::run(std::env::args_os(), &env));
    print!("{}", done.stdout);
    eprint!("{}", done.stderr);
    ExitCode::from(done.exit)
}
