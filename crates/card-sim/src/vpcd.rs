//! The connector to vsmartcard's `vpcd` (pcscd reader driver), DNIE.md §8 / PLATFORM.md §D.
//!
//! The card is the TCP **client**: it connects to `127.0.0.1:35963 + slot`. Every message in
//! both directions is a 2-byte big-endian length and that many bytes. 1-byte messages from vpcd
//! are control bytes — `00` power off, `01` power on, `02` reset (no answer), `04` get ATR
//! (answered with the ATR) — and may come at any time (pcscd polls presence with `04` every
//! 400 ms). Anything longer is a C-APDU answered with the R-APDU. Closing the socket is card
//! removal; connecting again is re-insertion.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::card::{EngineFault, VirtualCard};
use crate::error::Error;
use crate::identity::Identity;

/// vpcd's first port (`0x8C7B`); slot n listens on `VPCD_BASE_PORT + n`.
pub const VPCD_BASE_PORT: u16 = 35963;

/// Where and how to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Host of vpcd (default `127.0.0.1`).
    pub host: String,
    /// Port of slot 0 (default 35963).
    pub base_port: u16,
    /// Keep retrying a refused connection for this long (default: no retry).
    pub retry_for: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            base_port: VPCD_BASE_PORT,
            retry_for: Duration::ZERO,
        }
    }
}

/// Faults injected by the connector (and one-shot engine faults forwarded to the card).
/// APDU indexes count the C-APDUs of this insertion from 0, GET RESPONSE included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Close the connection (card pulled) when C-APDU number n arrives, without answering it.
    pub drop_at_apdu: Option<usize>,
    /// Sleep this long before answering (every APDU, or only `delay_at_apdu`).
    pub delay: Option<Duration>,
    /// Restrict `delay` to this APDU index.
    pub delay_at_apdu: Option<usize>,
    /// Corrupt the MAC of the next secure-messaging response (one shot).
    pub corrupt_next_mac: bool,
    /// Answer the next command returning data for an Le with 6Cxx (one shot).
    pub wrong_length_once: bool,
}

/// What happened on the wire (GET ATR polls are counted, not logged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireEvent {
    /// Control byte `00`.
    PowerOff,
    /// Control byte `01`.
    PowerOn,
    /// Control byte `02`.
    Reset,
    /// A C-APDU and the R-APDU sent back.
    Apdu {
        /// Command.
        command: Vec<u8>,
        /// Response (empty when the connection was dropped instead).
        response: Vec<u8>,
    },
}

#[derive(Debug, Default)]
struct Shared {
    faults: Faults,
    apdus: usize,
    atr_requests: usize,
    connected: bool,
    events: Vec<WireEvent>,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A virtual card inserted in a vpcd slot, served by a background thread.
#[derive(Debug)]
pub struct SimHandle {
    slot: u8,
    shared: Arc<Mutex<Shared>>,
    stream: TcpStream,
    thread: Option<JoinHandle<VirtualCard>>,
}

fn connect(slot: u8, opts: &ConnectOptions) -> Result<TcpStream, Error> {
    let port = opts
        .base_port
        .checked_add(u16::from(slot))
        .ok_or_else(|| Error::Io(std::io::Error::other("port out of range")))?;
    let deadline = Instant::now() + opts.retry_for;
    loop {
        let addrs: Vec<_> = (opts.host.as_str(), port).to_socket_addrs()?.collect();
        let mut last = std::io::Error::other("no address");
        for a in &addrs {
            match TcpStream::connect_timeout(a, Duration::from_secs(2)) {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Io(last));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| std::io::Error::other("frame too long"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

/// Acknowledges what vpcd sends at once. Debian's vpcd (3.3) leaves Nagle on and sends the
/// 2-byte length and the message as separate segments (newer vsmartcard builds one buffer):
/// the second waits for our ACK of the first, which Linux delays up to 40 ms. Without this
/// every APDU cost ~44 ms (measured: 21 APDUs in 1.0 s; with it, 3 ms). The flag does not
/// stick, hence set before every read.
fn quick_ack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// Serves `card` on a connected vpcd socket until it closes (or a drop fault); returns the card.
fn serve(mut stream: TcpStream, mut card: VirtualCard, shared: &Mutex<Shared>) -> VirtualCard {
    loop {
        let mut len = [0u8; 2];
        quick_ack(&stream);
        if stream.read_exact(&mut len).is_err() {
            break;
        }
        quick_ack(&stream);
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut msg).is_err() {
            break;
        }
        match msg.as_slice() {
            [] => {}
            [0x04] => {
                lock(shared).atr_requests += 1;
                if write_frame(&mut stream, &card.atr()).is_err() {
                    break;
                }
            }
            [c] => {
                card.reset();
                let ev = match c {
                    0x00 => WireEvent::PowerOff,
                    0x01 => WireEvent::PowerOn,
                    _ => WireEvent::Reset,
                };
                tracing::debug!(?ev, "vpcd control");
                lock(shared).events.push(ev);
            }
            apdu => {
                let (faults, index) = {
                    let mut s = lock(shared);
                    let i = s.apdus;
                    s.apdus += 1;
                    let f = s.faults;
                    s.faults.corrupt_next_mac = false;
                    s.faults.wrong_length_once = false;
                    (f, i)
                };
                if faults.drop_at_apdu == Some(index) {
                    tracing::debug!(index, "fault: dropping the connection");
                    lock(shared).events.push(WireEvent::Apdu {
                        command: apdu.to_vec(),
                        response: Vec::new(),
                    });
                    let _ = stream.shutdown(Shutdown::Both);
                    break;
                }
                if faults.corrupt_next_mac {
                    card.inject(EngineFault::CorruptNextMac);
                }
                if faults.wrong_length_once {
                    card.inject(EngineFault::WrongLengthOnce);
                }
                let response = card.process(apdu);
                if let Some(d) = faults.delay
                    && faults.delay_at_apdu.is_none_or(|n| n == index)
                {
                    std::thread::sleep(d);
                }
                lock(shared).events.push(WireEvent::Apdu {
                    command: apdu.to_vec(),
                    response: response.clone(),
                });
                if write_frame(&mut stream, &response).is_err() {
                    break;
                }
            }
        }
    }
    lock(shared).connected = false;
    card
}

impl SimHandle {
    /// Inserts a virtual DNIe of `identity` (committed TEST PKI, default options) into vpcd
    /// slot `slot` of the local pcscd.
    pub fn insert(slot: u8, identity: &Identity) -> Result<Self, Error> {
        Self::insert_card(
            slot,
            VirtualCard::dnie(identity)?,
            &ConnectOptions::default(),
        )
    }

    /// Inserts any virtual card (a DNIe with other options, a CERES-like, blank or finalised
    /// card, or a card taken back from [`SimHandle::remove`] to re-insert it with its state).
    pub fn insert_card(slot: u8, card: VirtualCard, opts: &ConnectOptions) -> Result<Self, Error> {
        Self::insert_with_faults(slot, card, opts, Faults::default())
    }

    /// Like [`SimHandle::insert_card`] with faults armed before the first byte is exchanged.
    pub fn insert_with_faults(
        slot: u8,
        card: VirtualCard,
        opts: &ConnectOptions,
        faults: Faults,
    ) -> Result<Self, Error> {
        let stream = connect(slot, opts)?;
        let shared = Arc::new(Mutex::new(Shared {
            faults,
            connected: true,
            ..Shared::default()
        }));
        let thread_stream = stream.try_clone()?;
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("card-sim-slot{slot}"))
            .spawn(move || serve(thread_stream, card, &thread_shared))?;
        tracing::info!(slot, "virtual card inserted");
        Ok(Self {
            slot,
            shared,
            stream,
            thread: Some(thread),
        })
    }

    /// Removes the card (closes the socket) and returns it with its state (PIN counter…).
    pub fn remove(mut self) -> Option<VirtualCard> {
        self.close()
    }

    fn close(&mut self) -> Option<VirtualCard> {
        let _ = self.stream.shutdown(Shutdown::Both);
        let card = self.thread.take().and_then(|t| t.join().ok());
        tracing::info!(slot = self.slot, "virtual card removed");
        card
    }

    /// The vpcd slot.
    pub fn slot(&self) -> u8 {
        self.slot
    }

    /// Replaces the armed faults.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared).faults = faults;
    }

    /// C-APDUs received on this insertion.
    pub fn apdu_count(&self) -> usize {
        lock(&self.shared).apdus
    }

    /// GET ATR requests received (presence polls).
    pub fn atr_requests(&self) -> usize {
        lock(&self.shared).atr_requests
    }

    /// False once the connection is gone (drop fault, vpcd closed it, or removed).
    pub fn is_connected(&self) -> bool {
        lock(&self.shared).connected
    }

    /// Control bytes and APDUs seen so far.
    pub fn events(&self) -> Vec<WireEvent> {
        lock(&self.shared).events.clone()
    }

    /// Waits until `n` C-APDUs were received or `timeout` passed; returns whether they were.
    pub fn wait_for_apdus(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.apdu_count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.apdu_count() >= n
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.close();
        }
    }
}

/// Serves cards on `slot` forever (the `card-sim run` binary): connects (retrying while vpcd is
/// not there), serves until vpcd closes the socket, and connects again with a fresh card from
/// `make_card` (a reconnect after pcscd restarts is a re-insertion).
pub fn run_forever(
    slot: u8,
    opts: &ConnectOptions,
    faults: Faults,
    make_card: &dyn Fn() -> Result<VirtualCard, Error>,
) -> Result<(), Error> {
    let opts = ConnectOptions {
        retry_for: Duration::from_secs(u64::from(u32::MAX)),
        ..opts.clone()
    };
    loop {
        let card = make_card()?;
        let stream = connect(slot, &opts)?;
        tracing::info!(slot, label = card.label(), "connected to vpcd");
        let shared = Mutex::new(Shared {
            faults,
            connected: true,
            ..Shared::default()
        });
        let _ = serve(stream, card, &shared);
        tracing::info!(slot, "vpcd connection closed; reconnecting");
        std::thread::sleep(Duration::from_millis(500));
    }
}
