//! `card-sim` command line (TEST material only):
//!
//! ```text
//! card-sim gen-pki <dir>                      generate a NEW test PKI into <dir>
//! card-sim run [--slot N] [--identity NAME] [--identities FILE]
//!              [--card dnie|ceres|blank|finalised] [--trust test|production|both]
//!              [--host H] [--port P] [--delay-ms MS]
//!                                             insert a virtual card into vpcd slot N and keep
//!                                             serving it (reconnects if pcscd restarts)
//! card-sim list [--identities FILE]           list identities
//! card-sim terminal-keys                      print the TEST terminal key set (JSON, hex)
//! ```
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use card_sim::vpcd::{ConnectOptions, Faults, run_forever};
use card_sim::{CardOptions, Error, IdentityFile, TerminalTrust, TestPki, VirtualCard};
use rand::SeedableRng;

fn gen_pki(dir: PathBuf) -> Result<(), Error> {
    let mut rng = rand::rngs::StdRng::from_entropy();
    let files = card_sim::pki::generate(&mut rng)?;
    for (rel, bytes) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
        writeln!(std::io::stderr(), "wrote {}", path.display())?;
    }
    Ok(())
}

struct Args {
    flags: Vec<(String, String)>,
}

impl Args {
    fn parse(rest: &[String]) -> Result<Self, Error> {
        let mut flags = Vec::new();
        let mut it = rest.iter();
        while let Some(k) = it.next() {
            let Some(name) = k.strip_prefix("--") else {
                return Err(Error::Identity(format!("unexpected argument {k}")));
            };
            let v = it
                .next()
                .ok_or_else(|| Error::Identity(format!("--{name} needs a value")))?;
            flags.push((name.to_string(), v.clone()));
        }
        Ok(Self { flags })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn identities(&self) -> Result<IdentityFile, Error> {
        match self.get("identities") {
            Some(p) => IdentityFile::load(&PathBuf::from(p)),
            None => IdentityFile::builtin(),
        }
    }
}

fn bad(msg: String) -> Error {
    Error::Identity(msg)
}

fn run(args: &Args) -> Result<(), Error> {
    let slot: u8 = args
        .get("slot")
        .unwrap_or("0")
        .parse()
        .map_err(|_| bad("--slot must be a number".into()))?;
    let mut opts = ConnectOptions::default();
    if let Some(h) = args.get("host") {
        opts.host = h.to_string();
    }
    if let Some(p) = args.get("port") {
        opts.base_port = p
            .parse()
            .map_err(|_| bad("--port must be a number".into()))?;
    }
    let mut faults = Faults::default();
    if let Some(ms) = args.get("delay-ms") {
        let ms: u64 = ms
            .parse()
            .map_err(|_| bad("--delay-ms must be a number".into()))?;
        faults.delay = Some(Duration::from_millis(ms));
    }
    let trust = match args.get("trust").unwrap_or("test") {
        "test" => TerminalTrust::TestPki,
        "production" => TerminalTrust::Production,
        "both" => TerminalTrust::TestAndProduction,
        other => return Err(bad(format!("unknown --trust {other}"))),
    };
    let kind = args.get("card").unwrap_or("dnie").to_string();
    let ids = args.identities()?;
    let name = args.get("identity").unwrap_or("especimen").to_string();
    let identity = ids
        .get(&name)
        .cloned()
        .ok_or_else(|| bad(format!("no identity {name:?}")))?;
    let make = move || -> Result<VirtualCard, Error> {
        match kind.as_str() {
            "dnie" => VirtualCard::dnie_with(
                &identity,
                TestPki::builtin()?,
                CardOptions {
                    trust,
                    ..CardOptions::default()
                },
            ),
            "ceres" => Ok(VirtualCard::ceres_like()),
            "blank" => Ok(VirtualCard::blank()),
            "finalised" => Ok(VirtualCard::finalised_dnie()),
            other => Err(bad(format!("unknown --card {other}"))),
        }
    };
    let first = make()?;
    writeln!(
        std::io::stderr(),
        "card-sim: serving {} on vpcd slot {slot} ({}:{}); Ctrl-C to stop",
        first.label(),
        opts.host,
        u32::from(opts.base_port) + u32::from(slot)
    )?;
    run_forever(slot, &opts, faults, &make)
}

fn list(args: &Args) -> Result<(), Error> {
    let mut out = std::io::stdout();
    for i in &args.identities()?.identity {
        writeln!(
            out,
            "{:<20} {:?} {} {}, {} ({}) expires {}",
            i.name,
            i.version,
            i.document_number,
            i.surnames(),
            i.given_name,
            i.idesp,
            i.expiry_date
        )?;
    }
    Ok(())
}

fn terminal_keys() -> Result<(), Error> {
    let ks = TestPki::builtin()?.terminal_key_set();
    let ifd = |i: &card_sim::IfdKeyBytes| {
        serde_json::json!({
            "c_cv_ifd": hex::encode_upper(&i.c_cv_ifd),
            "chr": hex::encode_upper(i.chr),
            "sn_ifd": hex::encode_upper(i.sn_ifd),
            "modulus": hex::encode_upper(&i.modulus),
            "public_exponent": hex::encode_upper(&i.public_exponent),
            "private_exponent": hex::encode_upper(&i.private_exponent),
        })
    };
    let json = serde_json::json!({
        "_comment": "TEST terminal key set of card-sim. NOT production material.",
        "root_modulus": hex::encode_upper(&ks.root_modulus),
        "root_exponent": hex::encode_upper(&ks.root_exponent),
        "root_chr": hex::encode_upper(ks.root_chr),
        "c_cv_ca": hex::encode_upper(&ks.c_cv_ca),
        "c_cv_ca_chr": hex::encode_upper(ks.c_cv_ca_chr),
        "user": ifd(&ks.user),
        "pin": ifd(&ks.pin),
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| Error::Pki(e.to_string()))?;
    writeln!(std::io::stdout(), "{text}")?;
    Ok(())
}

const USAGE: &str = "usage:
  card-sim gen-pki <dir>
  card-sim run [--slot N] [--identity NAME] [--identities FILE] [--card dnie|ceres|blank|finalised]
               [--trust test|production|both] [--host H] [--port P] [--delay-ms MS]
  card-sim list [--identities FILE]
  card-sim terminal-keys";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("gen-pki") if args.len() == 2 => gen_pki(PathBuf::from(&args[1])),
        Some(cmd @ ("run" | "list" | "terminal-keys")) => match Args::parse(&args[1..]) {
            Ok(a) => match cmd {
                "run" => run(&a),
                "list" => list(&a),
                _ => terminal_keys(),
            },
            Err(e) => Err(e),
        },
        _ => {
            let _ = writeln!(std::io::stderr(), "{USAGE}");
            return ExitCode::from(2);
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "card-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
