//! Training mode's virtual card reader: the clerk inserts and removes the
//! test DNIe cards of `card-sim` (fictitious people, a test PKI) from the
//! training panel, and they reach the app through the real pcscd + vpcd, as a
//! citizen's card would.

use std::sync::Mutex;

use card_sim::{ConnectOptions, IdentityFile, SimHandle, TerminalTrust, TestPki, VirtualCard};
use tracing::info;

use crate::errors::DeskError;
use crate::ipc::TrainingCardDto;

/// vpcd's first virtual reader ("Virtual PCD 00 00").
const SLOT: u8 = 0;

/// Comfortably more than pcscd's polling of the vpcd reader (about 0.4 s).
const REMOVAL_SEEN: std::time::Duration = std::time::Duration::from_millis(1200);

pub struct Training {
    identities: IdentityFile,
    inserted: Mutex<Option<SimHandle>>,
}

/// The other cards a clerk should learn to recognise.
const OTHER_CARDS: [(&str, &str); 3] = [
    ("ceres", "Tarjeta FNMT (no es un DNIe)"),
    ("blank", "Tarjeta en blanco (no es un DNIe)"),
    ("finalised", "DNIe inutilizado (finalizado)"),
];

impl Training {
    pub fn new() -> Result<Training, DeskError> {
        let identities = IdentityFile::builtin().map_err(|_| DeskError::Training("TRAIN-003"))?;
        Ok(Training {
            identities,
            inserted: Mutex::new(None),
        })
    }

    /// The cards on the training panel. Their data is fictitious, so the
    /// label may show the test PIN the trainee needs.
    pub fn cards(&self) -> Vec<TrainingCardDto> {
        let mut cards: Vec<TrainingCardDto> = self
            .identities
            .identity
            .iter()
            .map(|id| {
                let version = match id.version {
                    card_sim::DnieVersion::V2 => "2.0",
                    card_sim::DnieVersion::V3 => "3.0",
                };
                let blocked = if id.pin_tries_left == Some(0) {
                    " · PIN bloqueado"
                } else {
                    ""
                };
                TrainingCardDto {
                    id: id.name.clone(),
                    label: format!(
                        "DNIe {version} · {} {} · PIN de prueba {}{blocked}",
                        id.given_name, id.first_surname, id.pin
                    ),
                }
            })
            .collect();
        cards.extend(OTHER_CARDS.iter().map(|(id, label)| TrainingCardDto {
            id: (*id).to_owned(),
            label: (*label).to_owned(),
        }));
        cards
    }

    fn card(&self, id: &str) -> Result<VirtualCard, DeskError> {
        match id {
            "ceres" => Ok(VirtualCard::ceres_like()),
            "blank" => Ok(VirtualCard::blank()),
            "finalised" => Ok(VirtualCard::finalised_dnie()),
            name => {
                let identity = self
                    .identities
                    .get(name)
                    .ok_or(DeskError::Training("TRAIN-002"))?;
                let pki = TestPki::builtin().map_err(|_| DeskError::Training("TRAIN-003"))?;
                // The card trusts the published terminal certificates, as a
                // real DNIe does; only its component root is a test one.
                let options = card_sim::CardOptions {
                    trust: TerminalTrust::Production,
                    ..card_sim::CardOptions::default()
                };
                VirtualCard::dnie_with(identity, pki, options)
                    .map_err(|_| DeskError::Training("TRAIN-003"))
            }
        }
    }

    /// Puts a card in the virtual reader (taking out the one there).
    pub fn insert(&self, id: &str) -> Result<(), DeskError> {
        let card = self.card(id)?;
        let mut inserted = self
            .inserted
            .lock()
            .map_err(|_| DeskError::Training("TRAIN-003"))?;
        if let Some(previous) = inserted.take() {
            previous.remove();
            // pcscd only sees a removal at its next poll of the virtual
            // reader; a card put in before that would pass for the old one.
            std::thread::sleep(REMOVAL_SEEN);
        }
        let handle = SimHandle::insert_card(SLOT, card, &ConnectOptions::default())
            .map_err(|_| DeskError::Training("TRAIN-004"))?;
        info!("training card inserted");
        *inserted = Some(handle);
        Ok(())
    }

    pub fn remove(&self) -> Result<(), DeskError> {
        let mut inserted = self
            .inserted
            .lock()
            .map_err(|_| DeskError::Training("TRAIN-003"))?;
        if let Some(handle) = inserted.take() {
            handle.remove();
            info!("training card removed");
        }
        Ok(())
    }
}

/// The component root of the test PKI, which the app trusts in training mode.
pub fn test_component_root() -> Option<dnie::ComponentRoot> {
    let keys = TestPki::builtin().ok()?.terminal_key_set();
    Some(dnie::ComponentRoot {
        modulus: keys.root_modulus,
        exponent: keys.root_exponent,
        chr: keys.root_chr,
    })
}
