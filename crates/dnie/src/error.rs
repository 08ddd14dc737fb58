//! Errors of the `dnie` crate.
//!
//! Every variant has a stable code (`code()`) that the UI translates; the UI never parses
//! messages. `Display` texts are for logs and never carry personal data (no names, no DNI
//! number, no PIN, no certificate contents): only status words, file identifiers and
//! static descriptions.

use crate::apdu::StatusWord;

/// Errors a [`crate::Transport`] reports. They map one-to-one to the PC/SC states of
/// [`DnieError`] (`From<TransportError> for DnieError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The PC/SC service (pcscd) is not running or not reachable.
    #[error("PC/SC service not available")]
    NoService,
    /// No reader is connected.
    #[error("no smart-card reader")]
    NoReader,
    /// The reader has no card.
    #[error("no card in the reader")]
    NoCard,
    /// The card was removed during the session.
    #[error("card removed")]
    CardRemoved,
    /// The card was reset by someone else; all secure-channel and PIN state is lost.
    #[error("card reset")]
    CardReset,
    /// The reader disappeared.
    #[error("reader no longer available")]
    ReaderGone,
    /// Another application holds the card exclusively.
    #[error("card in use by another application")]
    SharingViolation,
    /// The card does not speak the requested protocol.
    #[error("card protocol mismatch")]
    ProtocolMismatch,
    /// The card answered with fewer than two bytes (no SW1 SW2). With vpcd this is what
    /// the in-flight APDU returns when the card vanishes (DNIE.md §7).
    #[error("card answered without a status word")]
    NoStatusWord,
    /// Any other transport failure (raw PC/SC code if there is one).
    #[error("PC/SC failure (code {0:#010x})")]
    Other(u32),
}

impl TransportError {
    /// Stable code of the matching [`DnieError`] variant.
    pub fn code(&self) -> &'static str {
        DnieError::from(self.clone()).code()
    }
}

/// Everything that can go wrong while talking to a DNIe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnieError {
    // --- PC/SC -------------------------------------------------------------------------
    /// `PCSC-001`: pcscd not running / not reachable.
    #[error("PC/SC service not available")]
    NoPcscService,
    /// `PCSC-002`: no reader connected.
    #[error("no smart-card reader")]
    NoReader,
    /// `PCSC-003`: reader empty.
    #[error("no card in the reader")]
    NoCard,
    /// `PCSC-004`: card removed (or the card stopped answering mid-APDU).
    #[error("card removed")]
    CardRemoved,
    /// `PCSC-005`: card reset by another application: reconnect; SM/PIN state lost.
    #[error("card reset by another application")]
    CardReset,
    /// `PCSC-006`: the reader disappeared.
    #[error("reader no longer available")]
    ReaderGone,
    /// `PCSC-007`: another application holds the card.
    #[error("card in use by another application")]
    SharingViolation,
    /// `PCSC-008`: protocol mismatch (T=0/T=1).
    #[error("card protocol mismatch")]
    ProtocolMismatch,
    /// `PCSC-009`: other PC/SC failure.
    #[error("PC/SC failure (code {0:#010x})")]
    Pcsc(u32),

    // --- card ----------------------------------------------------------------------------
    /// `CARD-001`: the ATR is not a DNIe's.
    #[error("the card is not a DNIe")]
    NotADnie,
    /// `CARD-002`: finalised ("burned") DNIe: ATR ends in `65 81`.
    #[error("the DNIe is finalised (unusable)")]
    FinalisedDnie,
    /// `CARD-003`: a command was refused with an unexpected status word.
    #[error("card refused {command} with status {sw}")]
    UnexpectedStatus {
        /// Spec name of the command.
        command: &'static str,
        /// What the card answered.
        sw: StatusWord,
    },
    /// `CARD-004`: a file is missing on the card.
    #[error("file {fid:04X} not found on the card")]
    FileNotFound {
        /// The missing file identifier.
        fid: u16,
    },
    /// `CARD-005`: the card requires a secure channel or PIN for this (SW 6982).
    #[error("security status not satisfied (secure channel or PIN required)")]
    SecurityStatusNotSatisfied,
    /// `CARD-006`: the operation is not available on this card version.
    #[error("operation not supported on this card: {0}")]
    Unsupported(&'static str),

    // --- PIN ------------------------------------------------------------------------------
    /// `PIN-001`: wrong PIN (SW 63Cx).
    #[error("wrong PIN, {tries_left} tries left")]
    WrongPin {
        /// Remaining tries as reported by the card.
        tries_left: u8,
    },
    /// `PIN-002`: PIN blocked (SW 6983): only a police station's kiosk can unblock it.
    #[error("PIN blocked")]
    PinBlocked,
    /// `PIN-003`: the PIN typed does not have the DNIe format (8–16 printable ASCII).
    #[error("PIN format invalid: {0}")]
    InvalidPinFormat(&'static str),

    // --- secure channel -------------------------------------------------------------------
    /// `SM-001`: the chip's component certificates do not chain to the component root.
    #[error("chip certificate chain not valid: {0}")]
    ChipCertificateInvalid(&'static str),
    /// `SM-002`: the CWA-14890 handshake failed at the named step.
    #[error("secure channel handshake failed: {0}")]
    Handshake(&'static str),
    /// `SM-003`: secure messaging failed (bad MAC, SM status 6688/6987/6988, malformed
    /// wrapped response). The session is dead; a new handshake is needed.
    #[error("secure messaging failed: {0}")]
    SecureMessaging(&'static str),
    /// `SM-004`: a secure-channel operation was requested with no channel open.
    #[error("no secure channel open")]
    NoSecureChannel,

    // --- certificates and data --------------------------------------------------------------
    /// `CERT-001`: a certificate could not be parsed or used.
    #[error("bad certificate: {0}")]
    BadCertificate(&'static str),
    /// `CERT-002`: the card's signature over our challenge did not verify.
    #[error("the card's signature does not verify")]
    SignatureInvalid,
    /// `DATA-001`: malformed data from the card.
    #[error("malformed data: {0}")]
    MalformedData(&'static str),
    /// `DATA-002`: a configuration value (key, certificate) is malformed.
    #[error("bad configuration: {0}")]
    BadConfig(&'static str),
}

impl DnieError {
    /// Stable, documented code of this error; the UI translates codes.
    pub fn code(&self) -> &'static str {
        match self {
            DnieError::NoPcscService => "PCSC-001",
            DnieError::NoReader => "PCSC-002",
            DnieError::NoCard => "PCSC-003",
            DnieError::CardRemoved => "PCSC-004",
            DnieError::CardReset => "PCSC-005",
            DnieError::ReaderGone => "PCSC-006",
            DnieError::SharingViolation => "PCSC-007",
            DnieError::ProtocolMismatch => "PCSC-008",
            DnieError::Pcsc(_) => "PCSC-009",
            DnieError::NotADnie => "CARD-001",
            DnieError::FinalisedDnie => "CARD-002",
            DnieError::UnexpectedStatus { .. } => "CARD-003",
            DnieError::FileNotFound { .. } => "CARD-004",
            DnieError::SecurityStatusNotSatisfied => "CARD-005",
            DnieError::Unsupported(_) => "CARD-006",
            DnieError::WrongPin { .. } => "PIN-001",
            DnieError::PinBlocked => "PIN-002",
            DnieError::InvalidPinFormat(_) => "PIN-003",
            DnieError::ChipCertificateInvalid(_) => "SM-001",
            DnieError::Handshake(_) => "SM-002",
            DnieError::SecureMessaging(_) => "SM-003",
            DnieError::NoSecureChannel => "SM-004",
            DnieError::BadCertificate(_) => "CERT-001",
            DnieError::SignatureInvalid => "CERT-002",
            DnieError::MalformedData(_) => "DATA-001",
            DnieError::BadConfig(_) => "DATA-002",
        }
    }

    /// True when the card (or reader) is gone or was reset: the caller should drop the
    /// session and wait for the next insertion instead of retrying.
    pub fn is_card_gone(&self) -> bool {
        matches!(
            self,
            DnieError::NoCard
                | DnieError::CardRemoved
                | DnieError::CardReset
                | DnieError::ReaderGone
        )
    }

    /// Map a status word that ended a command to the matching error.
    pub(crate) fn from_status(command: &'static str, sw: StatusWord) -> Self {
        match sw {
            StatusWord::WrongPin { tries_left } => DnieError::WrongPin { tries_left },
            StatusWord::PinBlocked => DnieError::PinBlocked,
            StatusWord::SecurityStatusNotSatisfied => DnieError::SecurityStatusNotSatisfied,
            StatusWord::SmMacInvalid => {
                DnieError::SecureMessaging("card reported a bad MAC (6688)")
            }
            StatusWord::SmDataObjectsMissing => {
                DnieError::SecureMessaging("card reported missing SM data objects (6987)")
            }
            StatusWord::SmDataObjectsIncorrect => {
                DnieError::SecureMessaging("card reported incorrect SM data objects (6988)")
            }
            sw => DnieError::UnexpectedStatus { command, sw },
        }
    }
}

impl From<TransportError> for DnieError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::NoService => DnieError::NoPcscService,
            TransportError::NoReader => DnieError::NoReader,
            TransportError::NoCard => DnieError::NoCard,
            // An APDU with no status word is what a vanished card looks like (DNIE.md §7).
            TransportError::CardRemoved | TransportError::NoStatusWord => DnieError::CardRemoved,
            TransportError::CardReset => DnieError::CardReset,
            TransportError::ReaderGone => DnieError::ReaderGone,
            TransportError::SharingViolation => DnieError::SharingViolation,
            TransportError::ProtocolMismatch => DnieError::ProtocolMismatch,
            TransportError::Other(code) => DnieError::Pcsc(code),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = DnieError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_stable_in_form() {
        let all = [
            DnieError::NoPcscService,
            DnieError::NoReader,
            DnieError::NoCard,
            DnieError::CardRemoved,
            DnieError::CardReset,
            DnieError::ReaderGone,
            DnieError::SharingViolation,
            DnieError::ProtocolMismatch,
            DnieError::Pcsc(1),
            DnieError::NotADnie,
            DnieError::FinalisedDnie,
            DnieError::UnexpectedStatus {
                command: "X",
                sw: StatusWord::from_u16(0x6A86),
            },
            DnieError::FileNotFound { fid: 0x6004 },
            DnieError::SecurityStatusNotSatisfied,
            DnieError::Unsupported("x"),
            DnieError::WrongPin { tries_left: 2 },
            DnieError::PinBlocked,
            DnieError::InvalidPinFormat("x"),
            DnieError::ChipCertificateInvalid("x"),
            DnieError::Handshake("x"),
            DnieError::SecureMessaging("x"),
            DnieError::NoSecureChannel,
            DnieError::BadCertificate("x"),
            DnieError::SignatureInvalid,
            DnieError::MalformedData("x"),
            DnieError::BadConfig("x"),
        ];
        let codes: HashSet<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len());
        for c in codes {
            let (pre, num) = c.split_once('-').unwrap();
            assert!(pre.chars().all(|c| c.is_ascii_uppercase()));
            assert_eq!(num.len(), 3);
        }
    }

    #[test]
    fn transport_errors_map_to_pcsc_codes() {
        assert_eq!(TransportError::NoStatusWord.code(), "PCSC-004");
        assert_eq!(TransportError::NoService.code(), "PCSC-001");
        assert_eq!(
            DnieError::from(TransportError::ProtocolMismatch),
            DnieError::ProtocolMismatch
        );
        assert!(DnieError::from(TransportError::CardReset).is_card_gone());
    }

    #[test]
    fn status_maps_to_pin_errors() {
        assert_eq!(
            DnieError::from_status("VERIFY", StatusWord::from_u16(0x63C2)),
            DnieError::WrongPin { tries_left: 2 }
        );
        assert_eq!(
            DnieError::from_status("VERIFY", StatusWord::from_u16(0x6983)),
            DnieError::PinBlocked
        );
    }
}
