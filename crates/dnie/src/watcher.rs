//! The reader watcher: one thread on `SCardGetStatusChange` (with the PnP notification
//! reader, so readers coming and going are seen) that keeps one state per reader and
//! reads the identity of each DNIe inserted, without blocking the watch of the others.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! use dnie::watcher::{ReaderState, Watcher, WatcherConfig};
//! let (watcher, events) = Watcher::spawn(WatcherConfig::default())?;
//! for event in events.iter() {
//!     if let ReaderState::Ready(identity) = &event.state {
//!         // `event.selected` names the reader the application uses now.
//!         let _ = identity;
//!         break;
//!     }
//! }
//! watcher.stop();
//! # Ok(()) }
//! ```
//!
//! The logic is the pure [`Machine`] (unit-tested without PC/SC); the PC/SC side (status
//! loop, per-insertion reads holding a transaction, `SCardCancel` on stop) lives in
//! `transport/pcsc/watch.rs`, next to the rest of the `pcsc` crate's use.
//! Events carry no personal data in `Debug` ([`CitizenIdentity`] is redacted).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::atr;
use crate::dnie::DnieConfig;
use crate::error::DnieError;
use crate::identity::CitizenIdentity;
use crate::transport::pcsc::watch as pcsc_watch;

/// What a reader (or, with no reader named, the PC/SC service) is showing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderState {
    /// pcscd is not running (the watcher retries with backoff).
    NoService,
    /// No reader connected (with a reader named: that reader went away).
    NoReader,
    /// The reader has no card.
    Empty,
    /// A DNIe was inserted; its identity is being read.
    Reading,
    /// The identity of the DNIe in the reader.
    Ready(Box<CitizenIdentity>),
    /// The card is not a DNIe.
    NotADnie,
    /// A finalised ("burned") DNIe: unusable, the citizen needs a new card.
    Finalised,
    /// The read failed; the stable [`DnieError::code`] says why (`PCSC-004`: the card was
    /// pulled during the read; `CARD-006`: a DNIe 2.0, whose certificates need the PIN).
    Error(&'static str),
}

impl ReaderState {
    /// Short name for logs and the UI (no personal data).
    pub fn name(&self) -> &'static str {
        match self {
            ReaderState::NoService => "no-service",
            ReaderState::NoReader => "no-reader",
            ReaderState::Empty => "empty",
            ReaderState::Reading => "reading",
            ReaderState::Ready(_) => "ready",
            ReaderState::NotADnie => "not-a-dnie",
            ReaderState::Finalised => "finalised",
            ReaderState::Error(_) => "error",
        }
    }
}

/// One state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderEvent {
    /// The reader (`None` for the service-wide `NoService` and `NoReader`).
    pub reader: Option<String>,
    /// Its new state.
    pub state: ReaderState,
    /// The reader the application should use after this change: the preferred reader
    /// when it has a card, else the one already in use while it keeps its card, else the
    /// first one with a card.
    pub selected: Option<String>,
}

/// Configuration of the watcher.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    /// Reader to use when several have a card.
    pub preferred_reader: Option<String>,
    /// How the identity is read (component root, key sets…).
    pub dnie: DnieConfig,
    /// First wait before retrying when pcscd is not running; doubled up to `retry_max`.
    pub retry_min: Duration,
    /// Longest wait between retries.
    pub retry_max: Duration,
    /// Longest single `SCardGetStatusChange` wait (bounds the reaction to a stop request
    /// that arrives just before the call).
    pub poll: Duration,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig {
            preferred_reader: None,
            dnie: DnieConfig::default(),
            retry_min: Duration::from_millis(250),
            retry_max: Duration::from_secs(5),
            poll: Duration::from_secs(1),
        }
    }
}

/// A read the PC/SC side must run: the card in `reader`, insertion number `generation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// Reader name.
    pub reader: String,
    /// Insertion number; the result of an older insertion is ignored.
    pub generation: u64,
}

#[derive(Debug, Default)]
struct Slot {
    state: Option<ReaderState>,
    present: bool,
    generation: u64,
}

/// The state machine of the watcher: PC/SC observations in, [`ReaderEvent`]s out.
#[derive(Debug, Default)]
pub struct Machine {
    service_up: Option<bool>,
    no_reader_sent: bool,
    readers: BTreeMap<String, Slot>,
    preferred: Option<String>,
    selected: Option<String>,
    next_generation: u64,
}

fn is_card_gone_code(code: &str) -> bool {
    [
        DnieError::CardRemoved,
        DnieError::CardReset,
        DnieError::ReaderGone,
        DnieError::NoCard,
    ]
    .iter()
    .any(|e| e.code() == code)
}

impl Machine {
    /// A machine with this preferred reader.
    pub fn new(preferred: Option<String>) -> Self {
        Machine {
            preferred,
            ..Machine::default()
        }
    }

    /// The reader the application should use.
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// Every known reader and its state (readers whose first status is not known yet are
    /// left out).
    pub fn states(&self) -> Vec<(String, ReaderState)> {
        self.readers
            .iter()
            .filter_map(|(n, s)| s.state.clone().map(|st| (n.clone(), st)))
            .collect()
    }

    /// State of one reader.
    pub fn state_of(&self, reader: &str) -> Option<&ReaderState> {
        self.readers.get(reader).and_then(|s| s.state.as_ref())
    }

    fn reselect(&mut self) {
        let has_card = |name: &str| self.readers.get(name).is_some_and(|s| s.present);
        let next = match (&self.preferred, &self.selected) {
            (Some(p), _) if has_card(p) => Some(p.clone()),
            (_, Some(s)) if has_card(s) => Some(s.clone()),
            _ => self
                .readers
                .iter()
                .find(|(_, s)| s.present)
                .map(|(n, _)| n.clone()),
        };
        self.selected = next;
    }

    fn event(&mut self, reader: Option<&str>, state: ReaderState) -> ReaderEvent {
        self.reselect();
        ReaderEvent {
            reader: reader.map(str::to_owned),
            state,
            selected: self.selected.clone(),
        }
    }

    fn set(&mut self, reader: &str, state: ReaderState) -> Option<ReaderEvent> {
        let slot = self.readers.get_mut(reader)?;
        if slot.state.as_ref() == Some(&state) {
            return None;
        }
        slot.state = Some(state.clone());
        Some(self.event(Some(reader), state))
    }

    /// pcscd is not reachable: everything known is forgotten.
    pub fn service_down(&mut self) -> Vec<ReaderEvent> {
        if self.service_up == Some(false) {
            return Vec::new();
        }
        self.service_up = Some(false);
        self.no_reader_sent = false;
        self.readers.clear();
        vec![self.event(None, ReaderState::NoService)]
    }

    /// The reader list as PC/SC gives it now.
    pub fn readers_listed(&mut self, names: &[String]) -> Vec<ReaderEvent> {
        self.service_up = Some(true);
        let mut out = Vec::new();
        let gone: Vec<String> = self
            .readers
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect();
        for name in gone {
            self.readers.remove(&name);
            out.push(self.event(Some(&name), ReaderState::NoReader));
        }
        for name in names {
            self.readers.entry(name.clone()).or_default();
        }
        if names.is_empty() {
            if !self.no_reader_sent {
                self.no_reader_sent = true;
                out.push(self.event(None, ReaderState::NoReader));
            }
        } else {
            self.no_reader_sent = false;
        }
        out
    }

    /// A card is in `reader` (a new insertion: PC/SC's event counter moved). DNIe ATRs get a
    /// [`ReadRequest`]; other cards are settled from the ATR alone.
    pub fn card_present(
        &mut self,
        reader: &str,
        atr: &[u8],
    ) -> (Vec<ReaderEvent>, Option<ReadRequest>) {
        self.next_generation += 1;
        let generation = self.next_generation;
        let Some(slot) = self.readers.get_mut(reader) else {
            return (Vec::new(), None);
        };
        slot.present = true;
        slot.generation = generation;
        // Always announce a new insertion, even if the state name repeats.
        slot.state = None;
        let (state, request) = match atr::recognise(atr) {
            Ok(_) => (
                ReaderState::Reading,
                Some(ReadRequest {
                    reader: reader.to_owned(),
                    generation,
                }),
            ),
            Err(DnieError::FinalisedDnie) => (ReaderState::Finalised, None),
            Err(_) => (ReaderState::NotADnie, None),
        };
        (self.set(reader, state).into_iter().collect(), request)
    }

    /// `reader` has no card. A read in progress becomes `Error(PCSC-004)`, and an error
    /// caused by the card going away stays shown until the next insertion; anything else
    /// becomes `Empty`.
    pub fn card_absent(&mut self, reader: &str) -> Vec<ReaderEvent> {
        let Some(slot) = self.readers.get_mut(reader) else {
            return Vec::new();
        };
        let was_present = slot.present;
        slot.present = false;
        slot.generation = 0;
        let state = match &slot.state {
            Some(ReaderState::Reading) => ReaderState::Error(DnieError::CardRemoved.code()),
            Some(ReaderState::Error(code)) if is_card_gone_code(code) => ReaderState::Error(code),
            _ => ReaderState::Empty,
        };
        let mut out: Vec<ReaderEvent> = self.set(reader, state).into_iter().collect();
        if out.is_empty() && was_present {
            // Same state as before, but the selection may have moved.
            let before = self.selected.clone();
            self.reselect();
            if before != self.selected
                && let Some(st) = self.state_of(reader).cloned()
            {
                out.push(self.event(Some(reader), st));
            }
        }
        out
    }

    /// The read of insertion `generation` in `reader` finished.
    pub fn read_done(
        &mut self,
        reader: &str,
        generation: u64,
        result: Result<CitizenIdentity, DnieError>,
    ) -> Vec<ReaderEvent> {
        let Some(slot) = self.readers.get(reader) else {
            return Vec::new();
        };
        if slot.generation != generation || !slot.present {
            return Vec::new();
        }
        let state = match result {
            Ok(identity) => ReaderState::Ready(Box::new(identity)),
            Err(DnieError::NotADnie) => ReaderState::NotADnie,
            Err(DnieError::FinalisedDnie) => ReaderState::Finalised,
            Err(e) => ReaderState::Error(e.code()),
        };
        self.set(reader, state).into_iter().collect()
    }

    /// Changes the preferred reader; returns an event for the newly selected reader when
    /// the selection moved.
    pub fn set_preferred(&mut self, preferred: Option<String>) -> Vec<ReaderEvent> {
        self.preferred = preferred;
        let before = self.selected.clone();
        self.reselect();
        match (&self.selected, before != self.selected) {
            (Some(sel), true) => {
                let sel = sel.clone();
                match self.state_of(&sel).cloned() {
                    Some(st) => vec![self.event(Some(&sel), st)],
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}

/// What the PC/SC side shares with the handle: the machine and the event channel, so a
/// read thread can report without waking the status loop.
pub(crate) struct Shared {
    machine: Mutex<Machine>,
    events: Sender<ReaderEvent>,
    closed: AtomicBool,
}

impl Shared {
    pub(crate) fn new(machine: Machine, events: Sender<ReaderEvent>) -> Self {
        Shared {
            machine: Mutex::new(machine),
            events,
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the machine and sends the events it returns, under the lock so events
    /// leave in the order the machine produced them.
    pub(crate) fn apply<R>(&self, f: impl FnOnce(&mut Machine) -> (Vec<ReaderEvent>, R)) -> R {
        let mut m = self.lock();
        let (events, r) = f(&mut m);
        if self.closed.load(Ordering::SeqCst) {
            return r;
        }
        for e in events {
            tracing::debug!(reader = ?e.reader, state = e.state.name(), "reader state");
            // A receiver that went away only means nobody listens any more.
            let _ = self.events.send(e);
        }
        r
    }
}

/// The running watcher. Dropping it stops it too.
pub struct Watcher {
    shared: Arc<Shared>,
    control: Arc<pcsc_watch::Control>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Starts the watch thread; events arrive on the returned channel.
    pub fn spawn(config: WatcherConfig) -> std::io::Result<(Watcher, Receiver<ReaderEvent>)> {
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = Arc::new(Shared::new(
            Machine::new(config.preferred_reader.clone()),
            tx,
        ));
        let control = Arc::new(pcsc_watch::Control::default());
        let thread = {
            let shared = Arc::clone(&shared);
            let control = Arc::clone(&control);
            std::thread::Builder::new()
                .name("dnie-watcher".into())
                .spawn(move || pcsc_watch::run(&config, &shared, &control))?
        };
        Ok((
            Watcher {
                shared,
                control,
                thread: Some(thread),
            },
            rx,
        ))
    }

    /// Every known reader and its state.
    pub fn states(&self) -> Vec<(String, ReaderState)> {
        self.shared.lock().states()
    }

    /// The reader the application uses now and its state.
    pub fn selected(&self) -> Option<(String, ReaderState)> {
        let m = self.shared.lock();
        let sel = m.selected()?.to_owned();
        let st = m.state_of(&sel)?.clone();
        Some((sel, st))
    }

    /// Changes the preferred reader.
    pub fn set_preferred_reader(&self, reader: Option<String>) {
        self.shared.apply(|m| (m.set_preferred(reader), ()));
    }

    /// Stops the watch thread (`SCardCancel` on its blocking wait) and waits for it.
    /// Reads in progress finish on their own; their results are dropped.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.control.request_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.shared.closed.store(true, Ordering::SeqCst);
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atr::DnieVersion;
    use chrono::{TimeZone, Utc};

    const DNIE3: [u8; 20] = [
        0x3B, 0x7F, 0x96, 0x00, 0x00, 0x00, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0x10, 0x01, 0x01, 0x55,
        0x04, 0x21, 0x03, 0x90, 0x00,
    ];
    const FINALISED: [u8; 20] = [
        0x3B, 0x7F, 0x38, 0x00, 0x00, 0x00, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0x00, 0x02, 0x4C, 0x34,
        0x01, 0x13, 0x0F, 0x65, 0x81,
    ];
    const CERES: [u8; 20] = [
        0x3B, 0x7F, 0x96, 0x00, 0x00, 0x00, 0x6A, 0x46, 0x4E, 0x4D, 0x54, 0x03, 0x04, 0x11, 0x43,
        0x04, 0x30, 0x03, 0x90, 0x00,
    ];

    fn identity() -> CitizenIdentity {
        CitizenIdentity {
            document: "99999018D".into(),
            given_name: "FICTICIO".into(),
            surnames: "ESPECIMEN SPECIMEN".into(),
            cert_not_before: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
            cert_not_after: Utc.with_ymd_and_hms(2034, 1, 1, 0, 0, 0).unwrap(),
            issuer_cn: "AC TEST".into(),
            idesp: "BMP104321".into(),
            chip_serial: "06CFC2227A398A".into(),
            version: DnieVersion::V3,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn states(events: &[ReaderEvent]) -> Vec<(Option<&str>, &'static str)> {
        events
            .iter()
            .map(|e| (e.reader.as_deref(), e.state.name()))
            .collect()
    }

    #[test]
    fn service_and_readers_come_and_go() {
        let mut m = Machine::new(None);
        let e = m.service_down();
        assert_eq!(states(&e), [(None, "no-service")]);
        assert!(
            m.service_down().is_empty(),
            "retries do not repeat the event"
        );
        let e = m.readers_listed(&[]);
        assert_eq!(states(&e), [(None, "no-reader")]);
        assert!(m.readers_listed(&[]).is_empty());
        assert!(m.readers_listed(&names(&["A"])).is_empty());
        assert_eq!(states(&m.card_absent("A")), [(Some("A"), "empty")]);
        assert!(m.card_absent("A").is_empty());
        let e = m.readers_listed(&[]);
        assert_eq!(states(&e), [(Some("A"), "no-reader"), (None, "no-reader")]);
        assert_eq!(states(&m.service_down()), [(None, "no-service")]);
        assert!(m.states().is_empty());
    }

    #[test]
    fn insertion_read_and_removal() {
        let mut m = Machine::new(None);
        m.readers_listed(&names(&["A"]));
        m.card_absent("A");
        let (e, req) = m.card_present("A", &DNIE3);
        assert_eq!(states(&e), [(Some("A"), "reading")]);
        assert_eq!(e[0].selected.as_deref(), Some("A"));
        let req = req.unwrap();
        let e = m.read_done("A", req.generation, Ok(identity()));
        assert_eq!(states(&e), [(Some("A"), "ready")]);
        assert!(
            !format!("{e:?}").contains("99999018D"),
            "events are redacted"
        );
        let e = m.card_absent("A");
        assert_eq!(states(&e), [(Some("A"), "empty")]);
        assert_eq!(e[0].selected, None);
    }

    #[test]
    fn card_pulled_mid_read_is_a_clean_error_and_the_next_insertion_reads() {
        // The watch loop sees the removal first.
        let mut m = Machine::new(None);
        m.readers_listed(&names(&["A"]));
        let (_, req) = m.card_present("A", &DNIE3);
        let req = req.unwrap();
        let e = m.card_absent("A");
        assert_eq!(e[0].state, ReaderState::Error("PCSC-004"));
        // The failed read's own result arrives late: ignored.
        assert!(
            m.read_done("A", req.generation, Err(DnieError::CardRemoved))
                .is_empty()
        );
        let (e, req2) = m.card_present("A", &DNIE3);
        assert_eq!(states(&e), [(Some("A"), "reading")]);
        let req2 = req2.unwrap();
        assert_ne!(req.generation, req2.generation);
        let e = m.read_done("A", req2.generation, Ok(identity()));
        assert_eq!(states(&e), [(Some("A"), "ready")]);

        // The read fails first, then the removal is seen: the error stays.
        let mut m = Machine::new(None);
        m.readers_listed(&names(&["A"]));
        let (_, req) = m.card_present("A", &DNIE3);
        let e = m.read_done("A", req.unwrap().generation, Err(DnieError::CardRemoved));
        assert_eq!(e[0].state, ReaderState::Error("PCSC-004"));
        let e = m.card_absent("A");
        assert_eq!(e.len(), 1, "only the selection moved");
        assert_eq!(e[0].state, ReaderState::Error("PCSC-004"));
        assert_eq!(e[0].selected, None);
    }

    #[test]
    fn other_errors_clear_on_removal() {
        let mut m = Machine::new(None);
        m.readers_listed(&names(&["A"]));
        let (_, req) = m.card_present("A", &DNIE3);
        let e = m.read_done(
            "A",
            req.unwrap().generation,
            Err(DnieError::MalformedData("x")),
        );
        assert_eq!(e[0].state, ReaderState::Error("DATA-001"));
        assert_eq!(states(&m.card_absent("A")), [(Some("A"), "empty")]);
    }

    #[test]
    fn cards_recognised_from_the_atr_need_no_read() {
        let mut m = Machine::new(None);
        m.readers_listed(&names(&["A"]));
        let (e, req) = m.card_present("A", &CERES);
        assert_eq!(states(&e), [(Some("A"), "not-a-dnie")]);
        assert!(req.is_none());
        let (e, req) = m.card_present("A", &FINALISED);
        assert_eq!(states(&e), [(Some("A"), "finalised")]);
        assert!(req.is_none());
        let (e, _) = m.card_present("A", &[0x3B, 0x02, 0x14, 0x50]);
        assert_eq!(states(&e), [(Some("A"), "not-a-dnie")]);
        // A fast re-insertion of the same kind of card is announced again.
        let (e, _) = m.card_present("A", &[0x3B, 0x02, 0x14, 0x50]);
        assert_eq!(states(&e), [(Some("A"), "not-a-dnie")]);
    }

    #[test]
    fn several_readers_and_the_preferred_one() {
        let mut m = Machine::new(Some("B".into()));
        m.readers_listed(&names(&["A", "B"]));
        m.card_absent("A");
        m.card_absent("B");
        let (e, _) = m.card_present("A", &DNIE3);
        assert_eq!(e[0].selected.as_deref(), Some("A"), "the one with a card");
        let (e, _) = m.card_present("B", &DNIE3);
        assert_eq!(e[0].selected.as_deref(), Some("B"), "the preferred one");
        let e = m.card_absent("B");
        assert_eq!(e[0].selected.as_deref(), Some("A"));
        let (e, _) = m.card_present("B", &DNIE3);
        assert_eq!(e[0].selected.as_deref(), Some("B"));
        // Without a preference the reader in use keeps the selection.
        let e = m.set_preferred(None);
        assert!(e.is_empty());
        assert_eq!(m.selected(), Some("B"));
        let e = m.set_preferred(Some("A".into()));
        assert_eq!(states(&e), [(Some("A"), "reading")]);
        assert_eq!(m.selected(), Some("A"));
        // Reads report per reader; a stale generation is ignored.
        assert!(m.read_done("A", 999, Ok(identity())).is_empty());
        assert_eq!(m.states().len(), 2);
        // A reader unplugged with its card.
        let e = m.readers_listed(&names(&["B"]));
        assert_eq!(states(&e), [(Some("A"), "no-reader")]);
        assert_eq!(e[0].selected.as_deref(), Some("B"));
    }

    #[test]
    fn unknown_readers_are_ignored() {
        let mut m = Machine::new(None);
        assert!(m.card_absent("X").is_empty());
        assert_eq!(m.card_present("X", &DNIE3), (Vec::new(), None));
        assert!(m.read_done("X", 1, Ok(identity())).is_empty());
    }
}
