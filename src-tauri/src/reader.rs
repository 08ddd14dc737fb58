//! The card readers in the app: the `dnie` watcher's events mapped to what
//! the desk and the windows need, and the PIN + signature step run on the
//! card in the selected reader. The card work is in the `dnie` crate; this
//! module only adapts.

use std::collections::BTreeMap;
use std::sync::Arc;

use dnie::transport::pcsc::PcscContext;
use dnie::{
    CitizenIdentity, Dnie, DnieConfig, DnieError, Pin, ReaderEvent, ReaderState, Watcher,
    WatcherConfig,
};
use registry::{DocumentNumber, Secret};
use tracing::{info, warn};

use crate::desk::{CardFailure, CardIdentity, CardOps, Desk};
use crate::ipc::{CardIdentityDto, MaskedIdentityDto, ReaderDto, ReaderStateDto, ReadersDto};

/// Words that start a compound surname ("DE LA FUENTE").
const PARTICLES: [&str; 9] = ["DE", "DEL", "LA", "LAS", "LOS", "Y", "I", "SAN", "SANTA"];

/// The certificate gives both surnames in one field; the form wants them
/// apart. Particles stay with the word they introduce.
pub fn split_surnames(surnames: &str) -> (String, String) {
    let mut groups: Vec<String> = Vec::new();
    let mut pending = String::new();
    for word in surnames.split_whitespace() {
        if !pending.is_empty() {
            pending.push(' ');
        }
        pending.push_str(word);
        if !PARTICLES.contains(&word.to_uppercase().as_str()) {
            groups.push(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() {
        groups.push(pending);
    }
    match groups.split_first() {
        Some((first, rest)) => (first.clone(), rest.join(" ")),
        None => (String::new(), String::new()),
    }
}

pub(crate) fn card_identity(reader: &str, identity: &CitizenIdentity) -> Option<CardIdentity> {
    let document = DocumentNumber::parse(&identity.document).ok()?;
    let (first_surname, second_surname) = split_surnames(&identity.surnames);
    let name = format!("{} {}", identity.given_name, identity.surnames);
    Some(CardIdentity {
        reader: reader.to_owned(),
        masked: MaskedIdentityDto {
            document: document.masked(),
            name,
        },
        document,
        dto: CardIdentityDto {
            document: identity.document.clone(),
            given_name: identity.given_name.clone(),
            surnames: identity.surnames.clone(),
            first_surname,
            second_surname,
            idesp: identity.idesp.clone(),
            cert_valid_until: identity.cert_not_after.format("%Y-%m-%d").to_string(),
            version: match identity.version {
                dnie::DnieVersion::V2 => "2.0".to_owned(),
                _ => "3.0".to_owned(),
            },
        },
    })
}

fn state_dto(reader: &str, state: &ReaderState) -> Option<ReaderStateDto> {
    Some(match state {
        ReaderState::NoService | ReaderState::NoReader => return None,
        ReaderState::Empty => ReaderStateDto::Empty,
        ReaderState::Reading => ReaderStateDto::Reading,
        ReaderState::Ready(identity) => match card_identity(reader, identity) {
            Some(card) => ReaderStateDto::Ready { identity: card.dto },
            None => ReaderStateDto::Error {
                code: "DATA-001".to_owned(),
            },
        },
        ReaderState::NotADnie => ReaderStateDto::NotADnie,
        ReaderState::Finalised => ReaderStateDto::Finalised,
        ReaderState::Error(code) => ReaderStateDto::Error {
            code: (*code).to_owned(),
        },
        _ => ReaderStateDto::Error {
            code: "PCSC-009".to_owned(),
        },
    })
}

/// Folds the watcher's events into the whole picture the windows show.
#[derive(Default)]
pub struct ReaderBoard {
    service: bool,
    readers: BTreeMap<String, ReaderState>,
    selected: Option<String>,
}

impl ReaderBoard {
    pub fn apply(&mut self, event: ReaderEvent) {
        match (&event.reader, &event.state) {
            (None, ReaderState::NoService) => {
                self.service = false;
                self.readers.clear();
            }
            (None, _) => {
                self.service = true;
                self.readers.clear();
            }
            (Some(reader), ReaderState::NoReader) => {
                self.service = true;
                self.readers.remove(reader);
            }
            (Some(reader), state) => {
                self.service = true;
                self.readers.insert(reader.clone(), state.clone());
            }
        }
        self.selected = event.selected;
    }

    /// The picture for the windows, the selected card's identity, and the
    /// selected reader when it holds a DNIe 2.0 (identity behind the PIN).
    pub fn snapshot(&self) -> (ReadersDto, Option<CardIdentity>, Option<String>) {
        let readers = self
            .readers
            .iter()
            .filter_map(|(name, state)| {
                Some(ReaderDto {
                    name: name.clone(),
                    state: state_dto(name, state)?,
                    selected: self.selected.as_deref() == Some(name.as_str()),
                })
            })
            .collect();
        let selected = self
            .selected
            .as_ref()
            .and_then(|name| match self.readers.get(name) {
                Some(ReaderState::Ready(identity)) => card_identity(name, identity),
                _ => None,
            });
        let pin_only = self.selected.as_ref().filter(|name| {
            matches!(self.readers.get(*name), Some(ReaderState::Error(code)) if *code == DnieError::Unsupported("").code())
        });
        (
            ReadersDto {
                service: self.service,
                pin_only: pin_only.is_some(),
                readers,
            },
            selected,
            pin_only.cloned(),
        )
    }
}

/// Starts the watcher; its events reach the desk until the app ends.
pub fn start(
    desk: Arc<Desk>,
    config: DnieConfig,
    preferred_reader: Option<String>,
) -> std::io::Result<Watcher> {
    let (watcher, events) = Watcher::spawn(WatcherConfig {
        preferred_reader,
        dnie: config,
        ..WatcherConfig::default()
    })?;
    std::thread::Builder::new()
        .name("reader-events".into())
        .spawn(move || {
            let mut board = ReaderBoard::default();
            for event in events.iter() {
                info!(state = event.state.name(), "reader state");
                board.apply(event);
                let (readers, selected, pin_only) = board.snapshot();
                tauri::async_runtime::block_on(desk.readers_changed(readers, selected, pin_only));
            }
        })?;
    Ok(watcher)
}

/// Runs the PIN step on the real card through PC/SC.
pub struct PcscCardOps {
    pub config: DnieConfig,
}

fn failure(e: &DnieError) -> CardFailure {
    CardFailure {
        code: e.code(),
        tries_left: match e {
            DnieError::WrongPin { tries_left } => Some(*tries_left),
            _ => None,
        },
    }
}

impl CardOps for PcscCardOps {
    fn prove_possession(&self, reader: &str, pin: &Secret) -> Result<CardIdentity, CardFailure> {
        let pin = Pin::new(pin.expose()).map_err(|e| failure(&e))?;
        let result = (|| -> Result<CitizenIdentity, DnieError> {
            let context = PcscContext::establish()?;
            let name = std::ffi::CString::new(reader).map_err(|_| DnieError::NoReader)?;
            let mut card = context.connect(&name)?;
            let atr = card.atr()?;
            let transaction = card.transaction()?;
            let mut dnie = Dnie::open(transaction, &atr, &self.config)?;
            let proof = dnie.prove_possession(&pin, &mut rand::rngs::OsRng)?;
            Ok(proof.identity)
        })();
        match result {
            Ok(identity) => card_identity(reader, &identity).ok_or(CardFailure {
                code: "DATA-001",
                tries_left: None,
            }),
            Err(e) => {
                warn!(code = e.code(), "PIN step failed");
                Err(failure(&e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_surnames;

    #[test]
    fn surnames_split_with_their_particles() {
        for (all, first, second) in [
            ("ESPECIMEN SPECIMEN", "ESPECIMEN", "SPECIMEN"),
            ("GARCIA", "GARCIA", ""),
            ("DE LA FUENTE GARCIA", "DE LA FUENTE", "GARCIA"),
            ("PEREZ DEL RIO", "PEREZ", "DEL RIO"),
            ("  LOPEZ   Y  MARTIN ", "LOPEZ", "Y MARTIN"),
            ("", "", ""),
        ] {
            assert_eq!(
                split_surnames(all),
                (first.to_owned(), second.to_owned()),
                "{all}"
            );
        }
    }
}
