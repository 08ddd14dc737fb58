//! DNIe recognition from the ATR (DNIE.md §1).
//!
//! Value and mask as in OpenSC `card-dnie.c` (`dnie_atrs`): bytes 0–1 `3B 7F`, 3–10
//! `00 00 00 6A "DNIe"` and the last three bytes; byte 15 (historical byte H11, OS version
//! MSB) tells DNIe 2.0 (`01`) from 3.0/4.0 (`04`, OpenSC tests `>= 0x04`). A card whose
//! last three bytes are `0F 65 81` (life cycle "final", "volatile memory erased") is a
//! finalised DNIe.

use crate::error::{DnieError, Result};

const ATR_VALUE: [u8; 20] = [
    0x3B, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x03, 0x90, 0x00,
];
const ATR_MASK: [u8; 20] = [
    0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xFF, 0xFF, 0xFF,
];
const FINALISED_TAIL: [u8; 3] = [0x0F, 0x65, 0x81];

/// Index of the OS-version byte (historical byte H11) in the ATR.
const OS_VERSION_INDEX: usize = 15;
/// OS version MSB from which the card is a DNIe 3.0/4.0 (OpenSC `DNIE_30_VERSION`).
const DNIE_3_OS_VERSION: u8 = 0x04;

/// DNIe generation, as far as the host needs to tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DnieVersion {
    /// DNIe 1.0/2.0: 4-byte SM MAC, one secure channel, certificates behind the PIN.
    V2,
    /// DNIe 3.0 or 4.0 (same over contact): 8-byte SM MAC, PIN channel then user channel,
    /// certificates readable in plain.
    V3,
}

impl DnieVersion {
    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            DnieVersion::V2 => "DNIe 2.0",
            DnieVersion::V3 => "DNIe 3.0/4.0",
        }
    }
}

/// What the ATR says about a DNIe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtrInfo {
    /// Generation.
    pub version: DnieVersion,
    /// H7: Match-on-Card vendor (`10` Sagem/Morpho, `20` Siemens/Atos).
    pub moc_vendor: u8,
    /// H8: chip maker (`02` ST, `01` Infineon).
    pub chip_maker: u8,
    /// H9–H10: chip model.
    pub chip: [u8; 2],
    /// H11–H12: OS version.
    pub os_version: [u8; 2],
}

fn matches_mask(atr: &[u8], tail: &[u8; 3]) -> bool {
    atr.len() == ATR_VALUE.len()
        && atr
            .iter()
            .zip(ATR_VALUE.iter().zip(ATR_MASK.iter()))
            .enumerate()
            .all(|(i, (a, (v, m)))| {
                let v = if i >= 17 { tail[i - 17] } else { *v };
                a & m == v
            })
}

/// Recognises a DNIe from its (contact) ATR: [`DnieError::FinalisedDnie`] for a
/// finalised card, [`DnieError::NotADnie`] for anything else that does not match.
pub fn recognise(atr: &[u8]) -> Result<AtrInfo> {
    if matches_mask(atr, &FINALISED_TAIL) {
        return Err(DnieError::FinalisedDnie);
    }
    if !matches_mask(atr, &[0x03, 0x90, 0x00]) {
        return Err(DnieError::NotADnie);
    }
    let version = if atr[OS_VERSION_INDEX] >= DNIE_3_OS_VERSION {
        DnieVersion::V3
    } else {
        DnieVersion::V2
    };
    Ok(AtrInfo {
        version,
        moc_vendor: atr[11],
        chip_maker: atr[12],
        chip: [atr[13], atr[14]],
        os_version: [atr[15], atr[16]],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn dnie_2_atrs() {
        // pcsc-tools smartcard_list.txt l.6169; OpenSC #810.
        for atr in [
            "3B 7F 38 00 00 00 6A 44 4E 49 65 10 02 4C 34 01 13 03 90 00",
            "3B 7F 38 00 00 00 6A 44 4E 49 65 20 02 4C 34 01 13 03 90 00",
        ] {
            let info = recognise(&h(atr)).unwrap();
            assert_eq!(info.version, DnieVersion::V2);
            assert_eq!(info.chip, [0x4C, 0x34]);
            assert_eq!(info.os_version, [0x01, 0x13]);
        }
    }

    #[test]
    fn dnie_3_atrs() {
        // pcsc-tools l.6208–6222 ("Spanish DNI (3.0 version)").
        for atr in [
            "3B 7F 96 00 00 00 6A 44 4E 49 65 10 01 01 55 04 10 03 90 00",
            "3B 7F 96 00 00 00 6A 44 4E 49 65 20 01 01 55 04 21 03 90 00",
        ] {
            let info = recognise(&h(atr)).unwrap();
            assert_eq!(info.version, DnieVersion::V3);
            assert_eq!(info.chip_maker, 0x01);
        }
    }

    #[test]
    fn finalised() {
        // OpenSC card-dnie.c l.139; pcsc-tools l.6166.
        assert_eq!(
            recognise(&h(
                "3B 7F 38 00 00 00 6A 44 4E 49 65 00 02 4C 34 01 13 0F 65 81"
            )),
            Err(DnieError::FinalisedDnie)
        );
    }

    #[test]
    fn not_a_dnie() {
        for atr in [
            // FNMT-CERES-like ("FNMT" instead of "DNIe")
            "3B 7F 38 00 00 00 6A 46 4E 4D 54 10 02 4C 34 01 13 03 90 00",
            // "TIF" card
            "3B 7F 38 00 00 00 6A 54 49 46 31 10 02 4C 34 01 13 03 90 00",
            // contactless pseudo-ATR of a DNIe 4.0
            "3B 88 80 01 E1 F3 5E 11 77 81 A1 00 03",
            // life cycle not "user"
            "3B 7F 38 00 00 00 6A 44 4E 49 65 10 02 4C 34 01 13 05 90 00",
            // one byte short / long
            "3B 7F 38 00 00 00 6A 44 4E 49 65 10 02 4C 34 01 13 03 90",
            "3B 7F 38 00 00 00 6A 44 4E 49 65 10 02 4C 34 01 13 03 90 00 00",
            "",
        ] {
            assert_eq!(recognise(&h(atr)), Err(DnieError::NotADnie), "{atr}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(atr in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = recognise(&atr);
        }

        #[test]
        fn masked_bytes_do_not_matter(b2 in any::<u8>(), mid in proptest::collection::vec(any::<u8>(), 6)) {
            let mut atr = h("3B 7F 38 00 00 00 6A 44 4E 49 65 10 02 4C 34 01 13 03 90 00");
            atr[2] = b2;
            atr[11..17].copy_from_slice(&mid);
            let v = recognise(&atr).unwrap().version;
            prop_assert_eq!(v == DnieVersion::V3, mid[4] >= 4);
        }
    }
}
