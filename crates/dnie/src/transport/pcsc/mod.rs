//! PC/SC transport (pcsc-lite / WinSCard) — with [`watch`] (the reader watcher's status
//! loop), the only place that uses the `pcsc` crate.
//!
//! ```no_run
//! # fn main() -> Result<(), dnie::DnieError> {
//! use dnie::transport::pcsc::{PcscCard, PcscContext};
//! let ctx = PcscContext::establish()?;
//! let readers = ctx.readers()?;
//! let mut card = ctx.connect(&readers[0])?;     // Shared, T=0|T=1
//! let atr = card.atr()?;
//! let mut tx = card.transaction()?;             // held for the whole secure session
//! let mut dnie = dnie::Dnie::open(&mut tx, &atr, &dnie::DnieConfig::default())?;
//! let identity = dnie.read_identity()?;
//! # let _ = identity; Ok(()) }
//! ```
//! A DNIe secure-messaging session dies on any plain APDU from another process
//! (DNIE.md §3.3, OpenSC #596), so the caller keeps the [`PcscTransaction`] alive from
//! the handshake to the last wrapped command.

pub(crate) mod watch;

use std::ffi::{CStr, CString};

use std::time::{Duration, Instant};

use pcsc::{
    Card, Context, Disposition, Error, Protocols, ReaderState, Scope, ShareMode, State, Transaction,
};

use crate::error::{DnieError, TransportError};
use crate::transport::Transport;

/// Largest R-APDU we accept: 256 data bytes + SW, with room for extended answers.
const RECV_BUFFER: usize = 4096;

fn map_err(e: Error) -> TransportError {
    match e {
        Error::NoService | Error::ServiceStopped => TransportError::NoService,
        Error::NoReadersAvailable => TransportError::NoReader,
        Error::NoSmartcard => TransportError::NoCard,
        Error::RemovedCard | Error::NotTransacted => TransportError::CardRemoved,
        Error::ResetCard => TransportError::CardReset,
        Error::ReaderUnavailable | Error::UnknownReader => TransportError::ReaderGone,
        Error::SharingViolation => TransportError::SharingViolation,
        Error::ProtoMismatch => TransportError::ProtocolMismatch,
        other => TransportError::Other(other as u32),
    }
}

/// An established PC/SC context.
pub struct PcscContext {
    ctx: Context,
}

impl PcscContext {
    /// Connects to the PC/SC service (user scope).
    pub fn establish() -> Result<Self, DnieError> {
        let ctx = Context::establish(Scope::User).map_err(map_err)?;
        Ok(PcscContext { ctx })
    }

    /// Names of the connected readers (empty list → [`DnieError::NoReader`] is left to
    /// the caller).
    pub fn readers(&self) -> Result<Vec<CString>, DnieError> {
        match self.ctx.list_readers_owned() {
            Ok(r) => Ok(r),
            Err(Error::NoReadersAvailable) => Ok(Vec::new()),
            Err(e) => Err(map_err(e).into()),
        }
    }

    /// Connects to the card in `reader`, shared, T=0 or T=1 (the DNIe ATR only offers T=0).
    pub fn connect(&self, reader: &CStr) -> Result<PcscCard, DnieError> {
        let card = self
            .ctx
            .connect(reader, ShareMode::Shared, Protocols::ANY)
            .map_err(map_err)?;
        Ok(PcscCard { card })
    }

    /// The underlying context (for the reader watcher).
    pub fn raw(&self) -> &Context {
        &self.ctx
    }

    /// What PC/SC says about `reader` now.
    pub fn reader_status(&self, reader: &CStr) -> Result<ReaderStatus, DnieError> {
        let mut states = [ReaderState::new(reader, State::UNAWARE)];
        match self.ctx.get_status_change(Duration::ZERO, &mut states) {
            Ok(()) | Err(Error::Timeout) => Ok(ReaderStatus::of(&states[0])),
            Err(e) => Err(map_err(e).into()),
        }
    }

    /// Waits at most `timeout` until the status of `reader` satisfies `until`; returns
    /// that status, or `None` on timeout. Compare [`ReaderStatus::event_count`] with an
    /// earlier status to tell a new insertion or removal from the state already known.
    pub fn wait_for_status(
        &self,
        reader: &CStr,
        timeout: Duration,
        until: impl Fn(&ReaderStatus) -> bool,
    ) -> Result<Option<ReaderStatus>, DnieError> {
        let deadline = Instant::now() + timeout;
        let mut states = [ReaderState::new(reader, State::UNAWARE)];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ctx.get_status_change(left, &mut states) {
                Ok(()) => {}
                Err(Error::Timeout) => return Ok(None),
                Err(e) => return Err(map_err(e).into()),
            }
            let status = ReaderStatus::of(&states[0]);
            if until(&status) {
                return Ok(Some(status));
            }
            if left.is_zero() {
                return Ok(None);
            }
            states[0].sync_current_state();
        }
    }
}

/// A reader's state as `SCardGetStatusChange` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderStatus {
    /// A card is in the reader.
    pub present: bool,
    /// PC/SC's count of card events (insertions, removals) in this reader.
    pub event_count: u32,
    /// The card's ATR (empty without a card).
    pub atr: Vec<u8>,
}

impl ReaderStatus {
    fn of(state: &ReaderState) -> Self {
        let present = state.event_state().contains(State::PRESENT);
        ReaderStatus {
            present,
            event_count: state.event_count(),
            atr: if present {
                state.atr().to_vec()
            } else {
                Vec::new()
            },
        }
    }
}

/// A connected card. Implements [`Transport`] for single plain commands; hold a
/// [`PcscTransaction`] for anything longer (and always for secure messaging).
pub struct PcscCard {
    card: Card,
}

impl PcscCard {
    /// The card's ATR as PC/SC reports it.
    pub fn atr(&self) -> Result<Vec<u8>, DnieError> {
        let status = self.card.status2_owned().map_err(map_err)?;
        Ok(status.atr().to_vec())
    }

    /// Begins a PC/SC transaction (`SCardBeginTransaction`); it ends when the value is
    /// dropped (`SCardEndTransaction(LEAVE_CARD)`).
    pub fn transaction(&mut self) -> Result<PcscTransaction<'_>, DnieError> {
        let tx = self.card.transaction().map_err(map_err)?;
        Ok(PcscTransaction { tx })
    }

    /// Disconnects, resetting the card so no secure-messaging or PIN state survives.
    pub fn disconnect_reset(self) -> Result<(), DnieError> {
        self.card
            .disconnect(Disposition::ResetCard)
            .map_err(|(_, e)| map_err(e).into())
    }

    /// Disconnects leaving the card as it is (after plain reads: nothing to clean, and
    /// another application's connection is not disturbed). Dropping a [`PcscCard`]
    /// resets the card instead.
    pub fn disconnect_leave(self) -> Result<(), DnieError> {
        self.card
            .disconnect(Disposition::LeaveCard)
            .map_err(|(_, e)| map_err(e).into())
    }

    /// Reconnects after [`DnieError::CardReset`] (someone reset the card): shared, T=0|T=1,
    /// leaving the card as it is. All secure-messaging and PIN state is gone.
    pub fn reconnect(&mut self) -> Result<(), DnieError> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
            .map_err(|e| map_err(e).into())
    }
}

fn transmit(card: &Card, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
    let mut buf = vec![0u8; RECV_BUFFER];
    let len = card.transmit(apdu, &mut buf).map_err(map_err)?.len();
    buf.truncate(len);
    if buf.len() < 2 {
        // vpcd returns success with 0 bytes when the card vanished mid-APDU (DNIE.md §7).
        return Err(TransportError::NoStatusWord);
    }
    Ok(buf)
}

impl Transport for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        transmit(&self.card, apdu)
    }
}

/// A PC/SC transaction on a [`PcscCard`]: no other application's APDU can reach the card
/// while it lives.
pub struct PcscTransaction<'a> {
    tx: Transaction<'a>,
}

impl Transport for PcscTransaction<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        transmit(&self.tx, apdu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcsc_errors_map() {
        assert_eq!(map_err(Error::NoService), TransportError::NoService);
        assert_eq!(map_err(Error::ServiceStopped), TransportError::NoService);
        assert_eq!(map_err(Error::NoReadersAvailable), TransportError::NoReader);
        assert_eq!(map_err(Error::NoSmartcard), TransportError::NoCard);
        assert_eq!(map_err(Error::RemovedCard), TransportError::CardRemoved);
        assert_eq!(map_err(Error::NotTransacted), TransportError::CardRemoved);
        assert_eq!(map_err(Error::ResetCard), TransportError::CardReset);
        assert_eq!(
            map_err(Error::ReaderUnavailable),
            TransportError::ReaderGone
        );
        assert_eq!(map_err(Error::UnknownReader), TransportError::ReaderGone);
        assert_eq!(
            map_err(Error::SharingViolation),
            TransportError::SharingViolation
        );
        assert_eq!(
            map_err(Error::ProtoMismatch),
            TransportError::ProtocolMismatch
        );
        assert_eq!(map_err(Error::Timeout), TransportError::Other(0x8010000A));
    }
}
