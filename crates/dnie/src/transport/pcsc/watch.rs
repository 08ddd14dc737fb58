//! The PC/SC side of [`crate::watcher`]: the `SCardGetStatusChange` loop (with the PnP
//! notification reader), one short-lived thread per DNIe insertion that reads the identity
//! holding a PC/SC transaction, and `SCardCancel` for a clean stop.

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pcsc::{Context, Error, PNP_NOTIFICATION, ReaderState, Scope, State};

use super::PcscContext;
use crate::dnie::{Dnie, DnieConfig};
use crate::error::DnieError;
use crate::identity::CitizenIdentity;
use crate::watcher::{ReadRequest, Shared, WatcherConfig};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stop request shared between the handle and the watch thread.
#[derive(Default)]
pub(crate) struct Control {
    stop: AtomicBool,
    /// The context the watch thread is blocked on, for `SCardCancel`.
    ctx: Mutex<Option<Context>>,
    sleeping: Mutex<()>,
    wake: Condvar,
}

impl Control {
    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(ctx) = lock(&self.ctx).as_ref() {
            let _ = ctx.cancel();
        }
        let _g = lock(&self.sleeping);
        self.wake.notify_all();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `d`, or less if a stop is requested.
    fn sleep(&self, d: Duration) {
        let g = lock(&self.sleeping);
        let _ = self
            .wake
            .wait_timeout_while(g, d, |_| !self.stopping())
            .map_err(|_| ());
    }
}

enum Outcome {
    Stop,
    ServiceLost,
}

fn service_lost(e: Error) -> bool {
    matches!(
        e,
        Error::NoService
            | Error::ServiceStopped
            | Error::InvalidHandle
            | Error::CommError
            | Error::Shutdown
    )
}

/// The watch thread's body: (re)connects to pcscd with backoff, then watches.
pub(crate) fn run(config: &WatcherConfig, shared: &Arc<Shared>, control: &Control) {
    let mut backoff = config.retry_min;
    while !control.stopping() {
        match Context::establish(Scope::User) {
            Ok(ctx) => {
                *lock(&control.ctx) = Some(ctx.clone());
                backoff = config.retry_min;
                let outcome = if control.stopping() {
                    Outcome::Stop
                } else {
                    watch(&ctx, config, shared, control)
                };
                *lock(&control.ctx) = None;
                match outcome {
                    Outcome::Stop => break,
                    Outcome::ServiceLost => {
                        tracing::info!("PC/SC service lost; retrying");
                        shared.apply(|m| (m.service_down(), ()));
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "PC/SC service not available");
                shared.apply(|m| (m.service_down(), ()));
                control.sleep(backoff);
                backoff = (backoff * 2).min(config.retry_max);
            }
        }
    }
    tracing::debug!("reader watcher stopped");
}

/// What the loop knows of one reader's card.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    Empty,
    /// Present, with PC/SC's event counter of its insertion.
    Present(u32),
}

fn watch(
    ctx: &Context,
    config: &WatcherConfig,
    shared: &Arc<Shared>,
    control: &Control,
) -> Outcome {
    let pnp = PNP_NOTIFICATION();
    let mut states = vec![ReaderState::new(pnp, State::UNAWARE)];
    let mut seen: HashMap<CString, Seen> = HashMap::new();
    let mut relist = true;
    loop {
        if control.stopping() {
            return Outcome::Stop;
        }
        if relist {
            relist = false;
            let names = match ctx.list_readers_owned() {
                Ok(n) => n,
                Err(Error::NoReadersAvailable) => Vec::new(),
                Err(e) if service_lost(e) => return Outcome::ServiceLost,
                Err(e) => {
                    tracing::debug!(error = %e, "listing readers failed");
                    Vec::new()
                }
            };
            states.retain(|rs| rs.name() == pnp || names.iter().any(|n| n.as_c_str() == rs.name()));
            seen.retain(|k, _| names.contains(k));
            for n in &names {
                if !states.iter().any(|rs| rs.name() == n.as_c_str()) {
                    states.push(ReaderState::new(n.clone(), State::UNAWARE));
                }
            }
            let list: Vec<String> = names
                .iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            shared.apply(|m| (m.readers_listed(&list), ()));
        }
        for rs in &mut states {
            rs.sync_current_state();
        }
        match ctx.get_status_change(config.poll, &mut states) {
            Ok(()) => {}
            Err(Error::Timeout) => continue,
            Err(Error::Cancelled) => {
                if control.stopping() {
                    return Outcome::Stop;
                }
                continue;
            }
            Err(e) if service_lost(e) => return Outcome::ServiceLost,
            Err(Error::UnknownReader | Error::ReaderUnavailable) => {
                relist = true;
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "SCardGetStatusChange failed");
                relist = true;
                control.sleep(config.poll);
                continue;
            }
        }
        for rs in &states {
            let event = rs.event_state();
            if rs.name() == pnp {
                relist |= event.contains(State::CHANGED);
                continue;
            }
            if event.intersects(State::UNKNOWN | State::IGNORE | State::UNAVAILABLE) {
                relist = true;
                continue;
            }
            let name = rs.name().to_owned();
            let before = seen.get(&name).copied();
            let reader = name.to_string_lossy().into_owned();
            if event.contains(State::PRESENT) {
                let now = Seen::Present(rs.event_count());
                // Our own connection (INUSE/EXCLUSIVE) changes the state, not the counter.
                if before == Some(now) {
                    continue;
                }
                seen.insert(name, now);
                let request = shared.apply(|m| m.card_present(&reader, rs.atr()));
                if let Some(req) = request {
                    spawn_read(req, &config.dnie, shared);
                }
            } else if event.contains(State::EMPTY) && before != Some(Seen::Empty) {
                seen.insert(name, Seen::Empty);
                shared.apply(|m| (m.card_absent(&reader), ()));
            }
        }
    }
}

/// Reads the identity of the card in `reader` on its own thread (its own PC/SC context),
/// so a slow or vanishing card never holds up the watch of the other readers.
fn spawn_read(req: ReadRequest, config: &DnieConfig, shared: &Arc<Shared>) {
    let config = config.clone();
    let thread_shared = Arc::clone(shared);
    let thread_req = req.clone();
    let spawned = std::thread::Builder::new()
        .name("dnie-read".into())
        .spawn(move || {
            let result = read_identity(&thread_req.reader, &config);
            thread_shared.apply(|m| {
                (
                    m.read_done(&thread_req.reader, thread_req.generation, result),
                    (),
                )
            });
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the read thread");
        shared.apply(|m| {
            (
                m.read_done(&req.reader, req.generation, Err(DnieError::Pcsc(0))),
                (),
            )
        });
    }
}

/// Connect, hold a transaction, read the identity in plain, leave the card as it is.
fn read_identity(reader: &str, config: &DnieConfig) -> Result<CitizenIdentity, DnieError> {
    let name = CString::new(reader).map_err(|_| DnieError::ReaderGone)?;
    let ctx = PcscContext::establish()?;
    let mut card = ctx.connect(&name)?;
    let identity = (|| {
        let atr = card.atr()?;
        let mut tx = card.transaction()?;
        Dnie::open(&mut tx, &atr, config)?.read_identity()
    })();
    // A plain read leaves no secure state: no reset (which also fails on a card that is
    // gone and then confuses pcscd about the reader's state), so an application already
    // using the card through another connection is not disturbed.
    let _ = card.disconnect_leave();
    identity
}
