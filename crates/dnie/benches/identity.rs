//! Reads the identity from the virtual DNIe (card-sim) N times and reports, per read,
//! APDUs, bytes, and host CPU time excluding the card's:
//!
//! ```text
//! cargo bench -p dnie --bench identity -- 200
//! ```
//!
//! - In process: the card engine (`VirtualCard::process`) behind a `Transport`; host time
//!   = this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) minus the thread CPU time spent
//!   inside the card engine.
//! - Through pcscd and vpcd, when a pcscd with the vpcd reader answers and
//!   `Virtual PCD 00 00` is empty: wall time per read, and this thread's CPU time (the card
//!   runs on card-sim's thread, pcscd in its own process).
//!
//! Scenarios: the plain identity read of a DNIe 3.0; the PIN and signature sequence (PIN
//! channel, VERIFY, user channel, MSE SET + PSO CDS, verification) after it; and a
//! DNIe 2.0, whose identity needs channel and PIN. It also compares the APDUs of the
//! identity read with the least the files allow. Nothing personal is printed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::rc::Rc;
use std::time::{Duration, Instant};

use card_sim::{
    CardOptions, ConnectOptions, Faults, Identity, IdentityFile, SimHandle, TerminalTrust, TestPki,
    VirtualCard,
};
use dnie::transport::pcsc::PcscContext;
use dnie::{ComponentRoot, Dnie, DnieConfig, Pin, Transport, TransportError};
use nix::time::{ClockId, clock_gettime};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

/// Commands and responses of one run.
type Conversation = Vec<(Vec<u8>, Vec<u8>)>;

/// The card engine behind a transport, adding up its own CPU time and keeping the last
/// conversation.
struct Engine {
    card: VirtualCard,
    card_time: Rc<Cell<Duration>>,
    log: Rc<RefCell<Conversation>>,
}

impl Transport for Engine {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let t = thread_cpu();
        let r = self.card.process(apdu);
        self.card_time
            .set(self.card_time.get() + (thread_cpu() - t));
        self.log.borrow_mut().push((apdu.to_vec(), r.clone()));
        Ok(r)
    }
}

#[derive(Default, Clone, Copy)]
struct Sample {
    apdus: u64,
    sent: u64,
    received: u64,
    wall: Duration,
    host_cpu: Duration,
    card: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn report(name: &str, samples: &[Sample], through_pcscd: bool) {
    let first = samples[0];
    assert!(
        samples
            .iter()
            .all(|s| (s.apdus, s.sent) == (first.apdus, first.sent)),
        "{name}: APDU counts differ between reads"
    );
    let n = samples.len() as u32;
    let host: Vec<_> = samples.iter().map(|s| s.host_cpu).collect();
    let wall: Vec<_> = samples.iter().map(|s| s.wall).collect();
    let card: Duration = samples.iter().map(|s| s.card).sum();
    let min = host.iter().min().copied().unwrap_or_default();
    println!("{name}");
    println!(
        "  per read: {} APDUs, {} bytes out, {} bytes in",
        first.apdus, first.sent, first.received
    );
    if through_pcscd {
        println!(
            "  wall: median {}, mean {}; this thread's CPU: median {}, min {}",
            us(median(wall.clone())),
            us(wall.iter().sum::<Duration>() / n),
            us(median(host)),
            us(min)
        );
    } else {
        println!(
            "  host CPU (card excluded): median {}, mean {}, min {}; card engine: mean {}",
            us(median(host.clone())),
            us(host.iter().sum::<Duration>() / n),
            us(min),
            us(card / n)
        );
    }
}

fn config() -> DnieConfig {
    let k = TestPki::builtin().unwrap().terminal_key_set();
    DnieConfig {
        component_root: Some(ComponentRoot {
            modulus: k.root_modulus,
            exponent: k.root_exponent,
            chr: k.root_chr,
        }),
        ..DnieConfig::default()
    }
}

fn card(id: &Identity) -> VirtualCard {
    let opts = CardOptions {
        trust: TerminalTrust::Production,
        ..CardOptions::default()
    };
    VirtualCard::dnie_with(id, TestPki::builtin().unwrap(), opts).unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    /// Plain identity read (DNIe 3.0).
    Identity,
    /// PIN + signature after the identity read (DNIe 3.0).
    PinAndSignature,
    /// Identity through the channel, PIN and signature (DNIe 2.0).
    Dnie2,
}

/// Runs one scenario on a fresh `Dnie`; `measure` brackets the measured part.
fn run_once<T: Transport>(
    transport: T,
    atr: &[u8],
    scenario: Scenario,
    id: &Identity,
    rng: &mut StdRng,
    mut measure: impl FnMut(bool),
) -> dnie::CardStats {
    let mut dnie = Dnie::open(transport, atr, &config()).unwrap();
    let pin = Pin::new(&id.pin).unwrap();
    match scenario {
        Scenario::Identity => {
            measure(true);
            dnie.read_identity().unwrap();
            measure(false);
        }
        Scenario::PinAndSignature => {
            dnie.read_identity().unwrap();
            dnie.reset_stats();
            measure(true);
            dnie.prove_possession(&pin, rng).unwrap();
            measure(false);
        }
        Scenario::Dnie2 => {
            measure(true);
            dnie.prove_possession(&pin, rng).unwrap();
            measure(false);
        }
    }
    dnie.stats()
}

/// Returns the samples and the conversation of the last run.
fn in_process(id: &Identity, scenario: Scenario, n: usize) -> (Vec<Sample>, Conversation) {
    let card_time = Rc::new(Cell::new(Duration::ZERO));
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut engine = Engine {
        card: card(id),
        card_time: Rc::clone(&card_time),
        log: Rc::clone(&log),
    };
    let atr = engine.card.atr();
    let mut rng = StdRng::seed_from_u64(1);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        engine.card.reset(); // as a new insertion would
        log.borrow_mut().clear();
        let mut start = (Instant::now(), thread_cpu(), Duration::ZERO);
        let mut sample = Sample::default();
        let stats = run_once(&mut engine, &atr, scenario, id, &mut rng, |begin| {
            if begin {
                start = (Instant::now(), thread_cpu(), card_time.get());
            } else {
                let card = card_time.get() - start.2;
                sample.wall = start.0.elapsed();
                sample.card = card;
                sample.host_cpu = (thread_cpu() - start.1).saturating_sub(card);
            }
        });
        sample.apdus = stats.apdus;
        sample.sent = stats.bytes_sent;
        sample.received = stats.bytes_received;
        samples.push(sample);
    }
    let log = log.borrow().clone();
    (samples, log)
}

/// Through pcscd: `None` when no pcscd with an empty `Virtual PCD 00 00` answers.
fn through_pcscd(id: &Identity, scenario: Scenario, n: usize) -> Option<Vec<Sample>> {
    let ctx = PcscContext::establish().ok()?;
    let reader = CString::new("Virtual PCD 00 00").ok()?;
    if !ctx.readers().ok()?.contains(&reader) || ctx.reader_status(&reader).ok()?.present {
        return None;
    }
    let before = ctx.reader_status(&reader).ok()?;
    let handle =
        SimHandle::insert_with_faults(0, card(id), &ConnectOptions::default(), Faults::default())
            .ok()?;
    ctx.wait_for_status(&reader, Duration::from_secs(5), |s| {
        s.present && s.event_count != before.event_count
    })
    .ok()??;
    let mut card = ctx.connect(&reader).ok()?;
    let atr = card.atr().ok()?;
    let mut rng = StdRng::seed_from_u64(2);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let mut tx = card.transaction().ok()?;
        let mut marks = (Instant::now(), thread_cpu());
        let mut sample = Sample::default();
        let stats = run_once(&mut tx, &atr, scenario, id, &mut rng, |start| {
            if start {
                marks = (Instant::now(), thread_cpu());
            } else {
                sample.wall = marks.0.elapsed();
                sample.host_cpu = thread_cpu() - marks.1;
            }
        });
        sample.apdus = stats.apdus;
        sample.sent = stats.bytes_sent;
        sample.received = stats.bytes_received;
        samples.push(sample);
    }
    drop(card);
    let present = ctx.reader_status(&reader).ok()?;
    handle.remove();
    let _ = ctx.wait_for_status(&reader, Duration::from_secs(5), |s| {
        !s.present && s.event_count != present.event_count
    });
    Some(samples)
}

/// The least APDUs the files read allow, from the conversation of one identity read:
/// every SELECT without a GET RESPONSE for its FCI (P2 = 0C), every file read in
/// 256-byte READ BINARYs, nothing else but GET CHIP INFO.
fn minimum_report(log: &Conversation) {
    let mut files: Vec<(String, u64, u64)> = Vec::new(); // (FID, bytes, reads)
    let (mut selects, mut get_responses, mut others) = (0, 0, 0);
    for (cmd, resp) in log {
        match cmd.get(1) {
            Some(0xA4) => {
                selects += 1;
                if cmd.get(2) == Some(&0x00) && cmd.len() >= 7 {
                    files.push((format!("{:02X}{:02X}", cmd[5], cmd[6]), 0, 0));
                }
            }
            Some(0xC0) => get_responses += 1,
            Some(0xB0) => {
                if let Some(f) = files.last_mut() {
                    f.1 += resp.len().saturating_sub(2) as u64;
                    f.2 += 1;
                }
            }
            _ => others += 1,
        }
    }
    let reads: u64 = files.iter().map(|f| f.2).sum();
    let min_reads: u64 = files.iter().map(|f| f.1.div_ceil(256)).sum();
    println!("identity read, APDU by APDU (ours vs. the least these files allow)");
    for (fid, bytes, n) in files.iter().filter(|f| f.2 > 0) {
        println!(
            "  EF {fid}: {bytes} bytes read in {n} READ BINARY (least: {})",
            bytes.div_ceil(256)
        );
    }
    println!(
        "  total: ours {} = {selects} SELECT + {get_responses} GET RESPONSE (FCI) + {reads} READ BINARY + {others} other; \
         least {} = {selects} SELECT + {min_reads} READ BINARY + {others} other",
        log.len(),
        selects + min_reads + others
    );
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let ids = IdentityFile::builtin().unwrap();
    let v3 = ids.get("especimen").unwrap().clone();
    let v2 = ids.get("antiguo").unwrap().clone();
    println!("dnie identity benchmark: {n} reads per scenario (card-sim, TEST PKI)\n");

    let scenarios = [
        ("DNIe 3.0 identity, plain", Scenario::Identity, &v3),
        (
            "DNIe 3.0 PIN + signature (after the identity read)",
            Scenario::PinAndSignature,
            &v3,
        ),
        (
            "DNIe 2.0 identity through the channel + PIN + signature",
            Scenario::Dnie2,
            &v2,
        ),
    ];
    println!("== in process (card engine behind a Transport)");
    for (name, scenario, id) in scenarios {
        let (samples, log) = in_process(id, scenario, n);
        report(name, &samples, false);
        if scenario == Scenario::Identity {
            minimum_report(&log);
        }
    }
    println!("\n== through pcscd + vpcd");
    for (name, scenario, id) in scenarios {
        match through_pcscd(id, scenario, n) {
            Some(samples) => report(name, &samples, true),
            None => {
                println!(
                    "  skipped: no pcscd with an empty `Virtual PCD 00 00` (apt-get install pcscd \
                     vsmartcard-vpcd; pcscd --foreground &)"
                );
                break;
            }
        }
    }
}
