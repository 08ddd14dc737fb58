//! The DNIe reader (`dnie`) against the virtual DNIe (`card-sim`) on the real PC/SC stack:
//! pcscd + vsmartcard's vpcd, two readers (`tests/src/pcsc.rs` starts pcscd if needed).
//!
//! The virtual cards trust the published *production* terminal certificates
//! (`TerminalTrust::Production`), so the reader runs with its built-in production terminal
//! key sets and only the TEST component root injected, as it would with a card of its own.
//! Nothing personal is printed: only reader names, state names, error codes and counts.

use std::ffi::CString;
use std::sync::MutexGuard;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use card_sim::{
    CardOptions, ConnectOptions, Faults, Identity, IdentityFile, SimHandle, SmErrorReplies,
    TerminalTrust, TestPki, VirtualCard,
};
use dnie::transport::pcsc::{PcscCard, PcscContext, ReaderStatus};
use dnie::watcher::{ReaderEvent, ReaderState, Watcher, WatcherConfig};
use dnie::{
    ChannelKind, CitizenIdentity, ComponentRoot, Dnie, DnieConfig, DnieError, DnieVersion, Pin,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use ventanilla_tests::pcsc::{VPCD_READERS, ensure_pcscd, lock_readers};

/// Longest wait for pcscd to notice an insertion or removal (it polls vpcd every 400 ms).
const DETECT: Duration = Duration::from_secs(5);

// --- the stack ---------------------------------------------------------------------------

struct Stack {
    _readers: MutexGuard<'static, ()>,
    ctx: PcscContext,
}

fn stack() -> Stack {
    let readers = lock_readers();
    ensure_pcscd().unwrap();
    let ctx = PcscContext::establish().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let names = ctx.readers().unwrap();
        if VPCD_READERS
            .iter()
            .all(|r| names.iter().any(|n| n.to_bytes() == r.as_bytes()))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pcscd has no vpcd readers (is vsmartcard-vpcd installed?)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stack = Stack {
        _readers: readers,
        ctx,
    };
    // A previous test that failed may have left a card in: wait until both are empty.
    for slot in 0..2 {
        stack.wait(slot, |s| !s.present);
    }
    stack
}

fn reader(slot: u8) -> CString {
    CString::new(VPCD_READERS[usize::from(slot)]).unwrap()
}

impl Stack {
    fn status(&self, slot: u8) -> ReaderStatus {
        self.ctx.reader_status(&reader(slot)).unwrap()
    }

    fn wait(&self, slot: u8, until: impl Fn(&ReaderStatus) -> bool) -> ReaderStatus {
        self.ctx
            .wait_for_status(&reader(slot), DETECT, until)
            .unwrap()
            .unwrap_or_else(|| panic!("reader {slot}: pcscd did not see the change"))
    }

    /// Inserts `card` and waits until pcscd has seen this insertion.
    fn insert(&self, slot: u8, card: VirtualCard, faults: Faults) -> SimHandle {
        let before = self.status(slot);
        assert!(!before.present, "reader {slot} is not empty");
        let handle =
            SimHandle::insert_with_faults(slot, card, &ConnectOptions::default(), faults).unwrap();
        self.wait(slot, |s| s.present && s.event_count != before.event_count);
        handle
    }

    /// Waits until pcscd has seen the card of `present` (a status taken while it was in)
    /// go away. After a card vanished mid-APDU pcscd may already say "empty" before its
    /// own poll noticed; the event counter tells the real removal, and only after it does
    /// vpcd take the next insertion as a new card.
    fn wait_removed(&self, slot: u8, present: &ReaderStatus) {
        self.wait(slot, |s| !s.present && s.event_count != present.event_count);
    }

    fn remove(&self, slot: u8, handle: SimHandle) -> VirtualCard {
        let present = self.status(slot);
        let card = handle.remove().unwrap();
        self.wait_removed(slot, &present);
        card
    }

    fn connect(&self, slot: u8) -> (PcscCard, Vec<u8>) {
        let card = self.ctx.connect(&reader(slot)).unwrap();
        let atr = card.atr().unwrap();
        (card, atr)
    }
}

// --- cards and the reader's configuration --------------------------------------------------

fn identities() -> IdentityFile {
    IdentityFile::builtin().unwrap()
}

fn identity(name: &str) -> Identity {
    identities().get(name).unwrap().clone()
}

/// A virtual DNIe that trusts the production terminal certificates (see the module doc).
fn dnie_card(id: &Identity) -> VirtualCard {
    dnie_card_with(id, CardOptions::default())
}

fn dnie_card_with(id: &Identity, opts: CardOptions) -> VirtualCard {
    let opts = CardOptions {
        trust: TerminalTrust::Production,
        ..opts
    };
    VirtualCard::dnie_with(id, TestPki::builtin().unwrap(), opts).unwrap()
}

/// Production key sets built in; only the TEST component root injected.
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

fn pin(id: &Identity) -> Pin {
    Pin::new(&id.pin).unwrap()
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(0x5EED)
}

fn assert_is(identity: &CitizenIdentity, id: &Identity) {
    assert_eq!(identity.document, id.document_number, "{}", id.name);
    assert_eq!(identity.given_name, id.given_name, "{}", id.name);
    assert_eq!(identity.surnames, id.surnames(), "{}", id.name);
    assert_eq!(identity.idesp, id.idesp, "{}", id.name);
    assert_eq!(
        identity.chip_serial,
        id.chip_serial_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>(),
        "{}",
        id.name
    );
    let version = match id.version {
        card_sim::DnieVersion::V2 => DnieVersion::V2,
        card_sim::DnieVersion::V3 => DnieVersion::V3,
    };
    assert_eq!(identity.version, version, "{}", id.name);
}

fn timed(name: &str, start: Instant) {
    eprintln!("dnie_stack: {name} took {:.2?}", start.elapsed());
}

// --- identity, channel, ICAO, PIN ------------------------------------------------------------

/// Every identity of the default file, read through pcscd: DNIe 3.0 in plain, DNIe 2.0
/// (certificates behind the PIN) through its channel with the PIN. The two readers take
/// turns so their insertion delays overlap.
#[test]
fn reads_each_default_identity() {
    let s = stack();
    let start = Instant::now();
    let ids = identities().identity;
    let mut handles: [Option<SimHandle>; 2] = [None, None];
    for (i, id) in ids.iter().enumerate() {
        let slot = (i % 2) as u8;
        if let Some(h) = handles[usize::from(slot)].take() {
            s.remove(slot, h);
        }
        handles[usize::from(slot)] = Some(s.insert(slot, dnie_card(id), Faults::default()));
        let (mut card, atr) = s.connect(slot);
        let mut tx = card.transaction().unwrap();
        let mut dnie = Dnie::open(&mut tx, &atr, &config()).unwrap();
        let identity = match dnie.version() {
            DnieVersion::V3 => dnie.read_identity().unwrap(),
            DnieVersion::V2 => {
                assert_eq!(
                    dnie.read_identity().unwrap_err().code(),
                    "CARD-006",
                    "2.0 certificates need the PIN"
                );
                dnie.prove_possession(&pin(id), &mut rng())
                    .unwrap()
                    .identity
            }
        };
        assert_is(&identity, id);
        eprintln!(
            "dnie_stack: identity {:?} ({:?}): {:?}",
            id.name,
            dnie.version(),
            dnie.stats()
        );
    }
    for (slot, h) in handles.into_iter().enumerate() {
        if let Some(h) = h {
            s.remove(slot as u8, h);
        }
    }
    timed("reads_each_default_identity", start);
}

/// CWA-14890 with both production key sets (IDESP from BMP100001: R2; before: legacy),
/// then ICAO DG1 and DG13 through the user channel.
#[test]
fn secure_channel_and_icao_data() {
    let s = stack();
    let start = Instant::now();
    for (slot, name) in [(0u8, "especimen"), (1u8, "ficticia")] {
        let id = identity(name);
        let h = s.insert(slot, dnie_card(&id), Faults::default());
        let (mut card, atr) = s.connect(slot);
        {
            let mut tx = card.transaction().unwrap();
            let mut dnie = Dnie::open(&mut tx, &atr, &config()).unwrap();
            let mut rng = rng();
            dnie.open_secure_channel(&mut rng).unwrap();
            assert_eq!(dnie.channel(), Some(ChannelKind::User));
            // A plain-readable file, now through the channel.
            assert!(dnie.software_version().unwrap().is_some());
            let icao = dnie.read_icao(&mut rng).unwrap();
            assert_eq!(dnie.channel(), None, "closed after the ICAO read");
            let dg1 = icao.dg1.expect("DG1");
            assert_eq!(dg1.expiry_date, Some(id.expiry_date));
            let dg13 = icao.dg13.expect("DG13");
            assert_eq!(dg13.expiry_date(), Some(id.expiry_date));
            assert_eq!(dg13.birth_date(), Some(id.birth_date));
            assert_eq!(dg13.support_number(), Some(id.idesp.as_str()));
            assert_eq!(dg13.dni_number(), Some(id.document_number.as_str()));
            // The plain identity still reads after the channel was closed.
            assert_is(&dnie.read_identity().unwrap(), &id);
        }
        drop(card);
        s.remove(slot, h);
    }
    timed("secure_channel_and_icao_data", start);
}

/// PIN right (the card's signature over a fresh challenge verifies), wrong (tries left
/// shown, never retried), blocked (its own error); DNIe 3.0 and 2.0; also with a card
/// that answers refusals inside the channel unwrapped.
#[test]
fn pin_right_wrong_and_blocked() {
    let s = stack();
    let start = Instant::now();
    let wrong = Pin::new("NOTTHEPIN1").unwrap();
    let cases = [
        ("especimen", SmErrorReplies::Wrapped),
        ("antiguo", SmErrorReplies::Wrapped),
        ("especimen", SmErrorReplies::Plain),
    ];
    for (i, (name, replies)) in cases.into_iter().enumerate() {
        let slot = (i % 2) as u8;
        let id = identity(name);
        let opts = CardOptions {
            sm_error_replies: replies,
            ..CardOptions::default()
        };
        let h = s.insert(slot, dnie_card_with(&id, opts), Faults::default());
        let (mut card, atr) = s.connect(slot);
        let certificate = {
            let mut tx = card.transaction().unwrap();
            let mut dnie = Dnie::open(&mut tx, &atr, &config()).unwrap();
            let mut rng = rng();
            let proof = dnie.prove_possession(&pin(&id), &mut rng).unwrap();
            assert_is(&proof.identity, &id);
            assert_eq!(proof.challenge.len(), 32);
            assert_eq!(proof.signature.len(), 256);
            assert_eq!(
                dnie.prove_possession(&wrong, &mut rng).unwrap_err(),
                DnieError::WrongPin { tries_left: 2 }
            );
            assert_eq!(
                dnie.prove_possession(&wrong, &mut rng).unwrap_err(),
                DnieError::WrongPin { tries_left: 1 }
            );
            // The right PIN still works and resets the counter; a fresh challenge each time.
            let again = dnie.prove_possession(&pin(&id), &mut rng).unwrap();
            assert_ne!(again.challenge, proof.challenge);
            // Three wrong PINs block it; blocked stays blocked, even for the right PIN.
            for tries_left in [2, 1] {
                assert_eq!(
                    dnie.prove_possession(&wrong, &mut rng).unwrap_err(),
                    DnieError::WrongPin { tries_left }
                );
            }
            for p in [&wrong, &pin(&id)] {
                let e = dnie.prove_possession(p, &mut rng).unwrap_err();
                assert_eq!(e, DnieError::PinBlocked);
                assert_eq!(e.code(), "PIN-002");
            }
            proof.certificate
        };
        drop(card);
        let card = s.remove(slot, h);
        assert_eq!(card.pin_tries_left(), Some(0));
        // The signature was verified against the card's own authentication certificate.
        assert_eq!(card.certificates().unwrap().0, &certificate[..]);
    }
    // A card inserted already blocked.
    let id = identity("ficticia-bloqueada");
    let h = s.insert(0, dnie_card(&id), Faults::default());
    let (mut card, atr) = s.connect(0);
    {
        let mut tx = card.transaction().unwrap();
        let mut dnie = Dnie::open(&mut tx, &atr, &config()).unwrap();
        assert_is(&dnie.read_identity().unwrap(), &id);
        assert_eq!(
            dnie.prove_possession(&pin(&id), &mut rng()).unwrap_err(),
            DnieError::PinBlocked
        );
    }
    drop(card);
    s.remove(0, h);
    timed("pin_right_wrong_and_blocked", start);
}

// --- the card pulled at every APDU ----------------------------------------------------------

/// What one slot runs in the removal test.
#[derive(Clone, Copy, Debug)]
enum Sequence {
    /// The plain identity read of a DNIe 3.0.
    Identity,
    /// After the identity read: PIN channel, VERIFY, user channel, MSE SET, PSO CDS.
    PinAndSignature,
}

impl Sequence {
    /// Runs the sequence on a fresh `Dnie` over `tx`; returns the APDUs of its prelude
    /// (the identity read before the PIN sequence) and of the sequence proper.
    fn run(
        self,
        tx: &mut dyn dnie::Transport,
        atr: &[u8],
        id: &Identity,
    ) -> Result<(u64, u64), DnieError> {
        let mut dnie = Dnie::open(tx, atr, &config())?;
        let prelude = match self {
            Sequence::Identity => 0,
            Sequence::PinAndSignature => {
                dnie.read_identity()?;
                dnie.stats().apdus
            }
        };
        dnie.reset_stats();
        match self {
            Sequence::Identity => assert_is(&dnie.read_identity()?, id),
            Sequence::PinAndSignature => {
                assert_is(&dnie.prove_possession(&pin(id), &mut rng())?.identity, id);
            }
        }
        Ok((prelude, dnie.stats().apdus))
    }
}

/// The same card engine without pcscd, to know each sequence's length beforehand.
struct InProcess(VirtualCard);

impl dnie::Transport for InProcess {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, dnie::TransportError> {
        Ok(self.0.process(apdu))
    }
}

/// One slot's share of the pulls. Each insertion first runs a sequence correctly (which
/// also proves that the re-insertion after the previous pull reads normally), then runs it
/// again with the card pulled at APDU k of that run (vpcd: the in-flight APDU answers with
/// no bytes, later ones fail). Every pull must end quickly in `PCSC-004`. Returns the
/// number of insertions.
fn pull_at_indexes(
    s: &Stack,
    slot: u8,
    work: &std::sync::Mutex<Vec<(Sequence, u64, u64)>>,
) -> usize {
    let id = identity("especimen");
    let mut insertions = 0;
    loop {
        let item = work.lock().unwrap().pop();
        let h = s.insert(slot, dnie_card(&id), Faults::default());
        insertions += 1;
        let (mut card, atr) = s.connect(slot);
        let present = s.status(slot);
        let mut tx = card.transaction().unwrap();
        let Some((sequence, n, k)) = item else {
            // Done: one last correct read after the last pull on this reader.
            for sequence in [Sequence::Identity, Sequence::PinAndSignature] {
                sequence.run(&mut tx, &atr, &id).unwrap();
            }
            drop(tx);
            drop(card);
            s.remove(slot, h);
            return insertions;
        };
        let (prelude, len) = sequence.run(&mut tx, &atr, &id).unwrap_or_else(|e| {
            panic!("slot {slot} {sequence:?}: the read after re-insertion failed: {e}")
        });
        assert_eq!(len, n, "{sequence:?}: the sequence length moved");
        // The fault counts this insertion's APDUs: the correct run, the second prelude, k.
        let at = usize::try_from(prelude + n + prelude + k).unwrap();
        h.set_faults(Faults {
            drop_at_apdu: Some(at),
            ..Faults::default()
        });
        let started = Instant::now();
        match sequence.run(&mut tx, &atr, &id) {
            Err(err) => assert_eq!(
                err.code(),
                "PCSC-004",
                "slot {slot} {sequence:?} index {k}: {err}"
            ),
            // The last APDU of the PIN sequence is the plain SELECT MF that closes the
            // channel after the signature was verified: the proof stands.
            Ok(_) if matches!(sequence, Sequence::PinAndSignature) && k + 1 == n => {}
            Ok(_) => panic!("slot {slot} {sequence:?} index {k}: no error"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "slot {slot} {sequence:?} index {k}: took {:?}",
            started.elapsed()
        );
        assert_eq!(h.apdu_count(), at + 1, "pulled at the right APDU");
        drop(tx);
        // Leave, not reset: there is nothing to reset on a card that is gone.
        let _ = card.disconnect_leave();
        s.wait_removed(slot, &present);
        drop(h);
    }
}

/// The card pulled at every APDU index of the identity read and of the PIN + signature
/// sequence; both readers share the work.
#[test]
fn card_pulled_at_every_apdu_index() {
    let s = stack();
    let start = Instant::now();
    let id = identity("especimen");
    let mut work = Vec::new();
    let mut lengths = Vec::new();
    for sequence in [Sequence::Identity, Sequence::PinAndSignature] {
        let card = dnie_card(&id);
        let atr = card.atr();
        let (_, n) = sequence.run(&mut InProcess(card), &atr, &id).unwrap();
        lengths.push(n);
        work.extend((0..n).map(|k| (sequence, n, k)));
    }
    work.reverse();
    let work = std::sync::Mutex::new(work);
    let insertions = std::thread::scope(|scope| {
        let a = scope.spawn(|| pull_at_indexes(&s, 0, &work));
        let b = scope.spawn(|| pull_at_indexes(&s, 1, &work));
        a.join().unwrap() + b.join().unwrap()
    });
    eprintln!(
        "dnie_stack: pulled at each of {} APDUs of the identity read and {} of the PIN + \
         signature sequence ({insertions} insertions)",
        lengths[0], lengths[1]
    );
    timed("card_pulled_at_every_apdu_index", start);
}

// --- reset -----------------------------------------------------------------------------------

/// Another application resets the card: the next APDU says so (`PCSC-005`), the session
/// is gone, and after a reconnect everything works again.
#[test]
fn card_reset_by_another_application() {
    let s = stack();
    let start = Instant::now();
    let id = identity("especimen");
    let h = s.insert(0, dnie_card(&id), Faults::default());
    let (mut card, atr) = s.connect(0);
    let mut rng = rng();
    {
        let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
        dnie.open_secure_channel(&mut rng).unwrap();
        let other = PcscContext::establish().unwrap();
        other
            .connect(&reader(0))
            .unwrap()
            .disconnect_reset()
            .unwrap();
        let e = dnie.read_icao(&mut rng).unwrap_err();
        assert_eq!(e.code(), "PCSC-005", "{e}");
        assert!(e.is_card_gone());
    }
    card.reconnect().unwrap();
    {
        let mut tx = card.transaction().unwrap();
        let mut dnie = Dnie::open(&mut tx, &atr, &config()).unwrap();
        assert_is(&dnie.read_identity().unwrap(), &id);
        let icao = dnie.read_icao(&mut rng).unwrap();
        assert!(icao.dg1.is_some());
        dnie.prove_possession(&pin(&id), &mut rng).unwrap();
    }
    drop(card);
    s.remove(0, h);
    timed("card_reset_by_another_application", start);
}

// --- not a DNIe --------------------------------------------------------------------------

#[test]
fn other_cards_are_recognised_from_the_atr() {
    let s = stack();
    let start = Instant::now();
    for (slot, card, code) in [
        (0u8, VirtualCard::ceres_like(), "CARD-001"),
        (1u8, VirtualCard::blank(), "CARD-001"),
        (0u8, VirtualCard::finalised_dnie(), "CARD-002"),
    ] {
        let h = s.insert(slot, card, Faults::default());
        let (card, atr) = s.connect(slot);
        let e = Dnie::open(card, &atr, &config()).err().unwrap();
        assert_eq!(e.code(), code);
        assert_eq!(h.apdu_count(), 0, "recognised without a single APDU");
        s.remove(slot, h);
    }
    timed("other_cards_are_recognised_from_the_atr", start);
}

// --- the watcher -------------------------------------------------------------------------------

struct Events {
    rx: Receiver<ReaderEvent>,
    log: Vec<(String, &'static str)>,
}

impl Events {
    /// Waits for `state` on `slot`'s reader; returns the event.
    fn until(&mut self, slot: u8, state: &str) -> ReaderEvent {
        self.until_on(VPCD_READERS[usize::from(slot)], state)
    }

    /// Waits for a service-wide `state` (no reader named).
    fn until_global(&mut self, state: &str) -> ReaderEvent {
        self.until_on("", state)
    }

    fn until_on(&mut self, name: &str, state: &str) -> ReaderEvent {
        let deadline = Instant::now() + DETECT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {state} on {name}; seen: {:?}", self.log));
            let reader = e.reader.clone().unwrap_or_default();
            self.log.push((reader.clone(), e.state.name()));
            if reader == name && e.state.name() == state {
                return e;
            }
        }
    }
}

fn ready_identity(e: &ReaderEvent) -> &CitizenIdentity {
    match &e.state {
        ReaderState::Ready(identity) => identity,
        other => panic!("not ready: {other:?}"),
    }
}

/// The watcher on both readers: empty, reading, ready, not a DNIe, finalised, a card pulled
/// mid-read (error, then a normal read), and the preferred reader chosen when both have a
/// card. Stopping it cancels its blocking wait.
#[test]
fn watcher_follows_both_readers() {
    let s = stack();
    let start = Instant::now();
    let especimen = identity("especimen");
    let ficticia = identity("ficticia");
    let preferred = VPCD_READERS[1].to_owned();
    let (watcher, rx) = Watcher::spawn(WatcherConfig {
        preferred_reader: Some(preferred.clone()),
        dnie: config(),
        ..WatcherConfig::default()
    })
    .unwrap();
    let mut ev = Events {
        rx,
        log: Vec::new(),
    };
    ev.until(0, "empty");
    ev.until(1, "empty");

    // A DNIe in reader 0: reading, then ready; it is the one in use.
    let h0 = s.insert(0, dnie_card(&especimen), Faults::default());
    assert_eq!(
        ev.until(0, "reading").selected.as_deref(),
        Some(VPCD_READERS[0])
    );
    let e = ev.until(0, "ready");
    assert_is(ready_identity(&e), &especimen);
    // Another in reader 1, the preferred one: it takes over.
    let h1 = s.insert(1, dnie_card(&ficticia), Faults::default());
    ev.until(1, "reading");
    let e = ev.until(1, "ready");
    assert_is(ready_identity(&e), &ficticia);
    assert_eq!(e.selected.as_deref(), Some(preferred.as_str()));
    assert_eq!(watcher.states().len(), 2);
    assert_eq!(watcher.selected().map(|(r, _)| r), Some(preferred.clone()));
    // Reader 1 emptied: back to reader 0.
    s.remove(1, h1);
    assert_eq!(
        ev.until(1, "empty").selected.as_deref(),
        Some(VPCD_READERS[0])
    );
    s.remove(0, h0);
    assert_eq!(ev.until(0, "empty").selected, None);

    // Not a DNIe, finalised.
    let h = s.insert(0, VirtualCard::ceres_like(), Faults::default());
    ev.until(0, "not-a-dnie");
    let h1 = s.insert(1, VirtualCard::finalised_dnie(), Faults::default());
    ev.until(1, "finalised");
    s.remove(0, h);
    ev.until(0, "empty");
    s.remove(1, h1);
    ev.until(1, "empty");
    let h = s.insert(1, VirtualCard::blank(), Faults::default());
    ev.until(1, "not-a-dnie");
    s.remove(1, h);
    ev.until(1, "empty");

    // Pulled during the read: a clean error; the next insertion reads normally.
    let h = s.insert(
        0,
        dnie_card(&especimen),
        Faults {
            drop_at_apdu: Some(6),
            ..Faults::default()
        },
    );
    let present = s.status(0);
    ev.until(0, "reading");
    let e = ev.until(0, "error");
    assert_eq!(e.state, ReaderState::Error("PCSC-004"));
    s.wait_removed(0, &present);
    drop(h);
    let h = s.insert(0, dnie_card(&especimen), Faults::default());
    ev.until(0, "reading");
    assert_is(ready_identity(&ev.until(0, "ready")), &especimen);
    s.remove(0, h);
    ev.until(0, "empty");

    let stopping = Instant::now();
    watcher.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        stopping.elapsed()
    );
    timed("watcher_follows_both_readers", start);
}

/// pcscd going away and coming back (with no reader, then with the vpcd readers): the
/// watcher reports no service, retries with backoff, reports no reader, then the readers,
/// and reads a card as before. Needs the pcscd the harness started itself.
#[test]
fn watcher_follows_the_service_coming_and_going() {
    let mut s = stack();
    let pcscd = ensure_pcscd().unwrap();
    if !pcscd.owned() {
        eprintln!("dnie_stack: service test skipped: pcscd was already running");
        return;
    }
    let start = Instant::now();
    let (watcher, rx) = Watcher::spawn(WatcherConfig {
        dnie: config(),
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        ..WatcherConfig::default()
    })
    .unwrap();
    let mut ev = Events {
        rx,
        log: Vec::new(),
    };
    ev.until(0, "empty");
    ev.until(1, "empty");
    pcscd.stop().unwrap();
    ev.until_global("no-service");
    pcscd.start(false).unwrap();
    ev.until_global("no-reader");
    pcscd.stop().unwrap();
    ev.until_global("no-service");
    pcscd.start(true).unwrap();
    ev.until(0, "empty");
    ev.until(1, "empty");
    s.ctx = PcscContext::establish().unwrap();
    let id = identity("especimen");
    let h = s.insert(1, dnie_card(&id), Faults::default());
    ev.until(1, "reading");
    assert_is(ready_identity(&ev.until(1, "ready")), &id);
    s.remove(1, h);
    ev.until(1, "empty");
    watcher.stop();
    timed("watcher_follows_the_service_coming_and_going", start);
}

// --- the same two implementations without pcscd -----------------------------------------------

/// Many channels, both ways: SIGMIN shorter than the modulus (about 1 in 100 on each side,
/// DNIE.md §11) must be padded by whoever sends it, reader and card alike.
#[test]
fn many_handshakes_in_process() {
    let start = Instant::now();
    let id = identity("especimen");
    let card = dnie_card_with(
        &id,
        CardOptions {
            rng_seed: Some(11),
            ..CardOptions::default()
        },
    );
    let atr = card.atr();
    let mut t = InProcess(card);
    let mut dnie = Dnie::open(&mut t, &atr, &config()).unwrap();
    let mut rng = StdRng::seed_from_u64(12);
    for _ in 0..150 {
        dnie.open_secure_channel(&mut rng).unwrap();
        assert!(dnie.software_version().unwrap().is_some());
        dnie.close_secure_channel().unwrap();
    }
    timed("many_handshakes_in_process", start);
}

/// A card that answers refusals inside the channel with a bare SW: the reader reports the
/// SW, starts a new channel for what follows, and never sends a command with a guessed SSC.
#[test]
fn bare_error_replies_in_process() {
    let id = identity("especimen");
    let card = dnie_card_with(
        &id,
        CardOptions {
            sm_error_replies: SmErrorReplies::Plain,
            ..CardOptions::default()
        },
    );
    let atr = card.atr();
    let mut t = InProcess(card);
    let mut rng = rng();
    {
        let mut dnie = Dnie::open(&mut t, &atr, &config()).unwrap();
        dnie.open_secure_channel(&mut rng).unwrap();
        let r = dnie
            .transmit(&dnie::Apdu::new(0x00, 0xA4, 0x00, 0x00).with_data(vec![0x12, 0x34]))
            .unwrap();
        assert_eq!(r.sw, dnie::StatusWord::FileNotFound);
        assert_eq!(dnie.channel(), None, "a bare reply ends the channel");
        let icao = dnie.read_icao(&mut rng).unwrap();
        assert!(icao.dg1.is_some() && icao.dg13.is_some());
        assert_eq!(
            dnie.prove_possession(&Pin::new("NOTTHEPIN1").unwrap(), &mut rng)
                .unwrap_err(),
            DnieError::WrongPin { tries_left: 2 }
        );
        dnie.prove_possession(&pin(&id), &mut rng).unwrap();
    }
    assert_eq!(t.0.pin_tries_left(), Some(3));
}
