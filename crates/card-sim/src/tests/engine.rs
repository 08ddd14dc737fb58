//! Plain (no channel) behaviour: ATRs, T=0, file system, PKCS#15, compressed certificates.
use std::io::Read;

use super::host::{Host, cmd, fci_size, sw_of};
use super::{card, ids, pki};
use crate::card::{ATR_CERES, ATR_DNIE_FINALISED};
use crate::{EngineFault, VirtualCard, tlv};

fn dnie_mask_matches(atr: &[u8]) -> bool {
    // OpenSC's DNIe ATR value/mask (DNIE.md §1).
    let value = [
        0x3B, 0x7F, 0, 0, 0, 0, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0, 0, 0, 0, 0, 0, 0x03, 0x90, 0x00,
    ];
    let mask = [
        0xFF, 0xFF, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF,
        0xFF, 0xFF,
    ];
    atr.len() == 20
        && atr
            .iter()
            .zip(mask)
            .zip(value)
            .all(|((a, m), v)| a & m == v)
}

#[test]
fn atrs_and_versions() {
    let v3 = card("especimen").atr();
    assert!(dnie_mask_matches(&v3));
    assert_eq!(v3[15], 0x04);
    let v2 = card("antiguo").atr();
    assert!(dnie_mask_matches(&v2));
    assert_eq!(v2[15], 0x01);
    assert!(!dnie_mask_matches(&ATR_CERES));
    assert!(!dnie_mask_matches(&ATR_DNIE_FINALISED));
    assert_eq!(&ATR_DNIE_FINALISED[17..], &[0x0F, 0x65, 0x81]);
    assert!(!dnie_mask_matches(&VirtualCard::blank().atr()));
}

#[test]
fn mf_select_is_t0_61_1b_and_get_response_rules() {
    let mut c = card("especimen");
    let r = c.process(b"\x00\xA4\x04\x00\x0BMaster.File");
    assert_eq!(r, vec![0x61, 0x1B]);
    // Wrong Le → 6Cxx, pending kept.
    assert_eq!(c.process(&[0, 0xC0, 0, 0, 0x20]), vec![0x6C, 0x1B]);
    // Shorter Le → part + 61 rest.
    let r = c.process(&[0, 0xC0, 0, 0, 0x10]);
    assert_eq!(r.len(), 0x12);
    assert_eq!(&r[0x10..], &[0x61, 0x0B]);
    let r2 = c.process(&[0, 0xC0, 0, 0, 0x0B]);
    assert_eq!(sw_of(&r2), 0x9000);
    let fci = [&r[..0x10], &r2[..0x0B]].concat();
    assert_eq!(&fci[..4], &[0x6F, 0x19, 0x84, 0x0B]);
    assert_eq!(&fci[4..15], b"Master.File");
    assert_eq!(&fci[15..20], &[0x85, 0x0A, 0x38, 0x3F, 0x00]);
    // Nothing pending any more.
    assert_eq!(sw_of(&c.process(&[0, 0xC0, 0, 0, 0x01])), 0x6985);
    // Any other command discards a pending response.
    assert_eq!(
        c.process(b"\x00\xA4\x04\x00\x0BMaster.File"),
        vec![0x61, 0x1B]
    );
    assert_eq!(sw_of(&c.process(&[0x90, 0xB8, 0, 0, 7])), 0x9000);
    assert_eq!(sw_of(&c.process(&[0, 0xC0, 0, 0, 0x1B])), 0x6985);
}

#[test]
fn chip_info_and_wrong_le() {
    let mut c = card("especimen");
    let r = c.process(&[0x90, 0xB8, 0, 0, 7]);
    assert_eq!(
        r,
        [
            &[0x06, 0xCF, 0xC2, 0x22, 0x7A, 0x39, 0x8A][..],
            &[0x90, 0x00]
        ]
        .concat()
    );
    assert_eq!(c.process(&[0x90, 0xB8, 0, 0, 0]), vec![0x6C, 0x07]);
    assert_eq!(c.process(&[0x90, 0xB8, 0, 0, 8]), vec![0x6C, 0x07]);
    assert_eq!(c.process(&[0x00, 0x84, 0, 0, 4]), vec![0x6C, 0x08]);
    // Injected: the next data-returning case-2 command answers 6Cxx once.
    c.inject(EngineFault::WrongLengthOnce);
    assert_eq!(c.process(&[0x90, 0xB8, 0, 0, 7]), vec![0x6C, 0x07]);
    assert_eq!(sw_of(&c.process(&[0x90, 0xB8, 0, 0, 7])), 0x9000);
    // Unknown INS / CLA, malformed APDUs.
    assert_eq!(c.process(&[0x00, 0xFE, 0, 0]), vec![0x6D, 0x00]);
    assert_eq!(c.process(&[0x80, 0xA4, 0, 0]), vec![0x6E, 0x00]);
    assert_eq!(c.process(&[0x00, 0xA4, 0]), vec![0x67, 0x00]);
    assert_eq!(c.process(&[0x00, 0xA4, 0, 0, 5, 1]), vec![0x67, 0x00]);
}

#[test]
fn plain_identity_files_and_fci_sizes() {
    let mut c = card("especimen");
    let mut h = Host::new(&mut c);
    assert_eq!(h.read_path(&[0x0006], 0xFF).unwrap(), b"BMP104321");
    let version = h.read_path(&[0x2F03], 0xFF).unwrap();
    assert!(String::from_utf8_lossy(&version).starts_with("DNIe 03.00"));
    assert_eq!(
        h.read_path(&[0x601F], 0xFF).unwrap(),
        pki().component.icc_cert
    );
    assert_eq!(
        h.read_path(&[0x6020], 0xFF).unwrap(),
        pki().component.intermediate_cert
    );
    // 3F00 is selected by name only.
    assert_eq!(h.select_mf(), 0x9000);
    assert_eq!(h.select(0x3F00).unwrap().1, 0x6A82);
    assert_eq!(h.select(0x1234).unwrap().1, 0x6A82);

    // TokenInfo.
    let ti = h.read_path(&[0x5015, 0x5032], 0xFF).unwrap();
    let (seq, _) = tlv::parse_one(&ti).unwrap();
    let items = tlv::parse_all(seq.value).unwrap();
    assert_eq!(tlv::find(&items, 0x0C), Some(&b"DGP-FNMT"[..]));
    assert_eq!(tlv::find(&items, 0x80), Some("DNI electrónico".as_bytes()));
    assert!(ti[seq.raw.len()..].iter().all(|&b| b == 0), "zero padded");
    assert!(ti.len() > seq.raw.len(), "allocated larger than content");

    // ODF points at the PrKDF and the CDF.
    let odf = h.read_path(&[0x5015, 0x5031], 0xFF).unwrap();
    assert!(odf.windows(4).any(|w| w == [0x04, 0x02, 0x60, 0x04]));
    assert!(odf.windows(4).any(|w| w == [0x04, 0x02, 0x60, 0x01]));

    // CDF: three certificates, paths 6061/700x, the DNI number findable as in OpenSC.
    let cdf = h.read_path(&[0x5015, 0x6004], 0xE0).unwrap();
    assert_eq!(cdf.len(), 2100);
    assert!(
        cdf.windows(6)
            .any(|w| w == [0x04, 0x04, 0x60, 0x61, 0x70, 0x01])
    );
    assert!(
        cdf.windows(6)
            .any(|w| w == [0x04, 0x04, 0x60, 0x61, 0x70, 0x02])
    );
    let needle = [0x06, 0x03, 0x55, 0x04, 0x05, 0x13, 0x09];
    let pos = cdf.windows(7).position(|w| w == needle).unwrap();
    assert_eq!(&cdf[pos + 7..pos + 16], b"99999018D");
    assert!(String::from_utf8_lossy(&cdf).contains("CertAutenticacion"));

    // PrKDF: keys 3F11/0101 and 0102.
    let prkdf = h.read_path(&[0x5015, 0x6001], 0xE0).unwrap();
    assert!(
        prkdf
            .windows(6)
            .any(|w| w == [0x04, 0x04, 0x3F, 0x11, 0x01, 0x01])
    );
    assert!(
        prkdf
            .windows(6)
            .any(|w| w == [0x04, 0x04, 0x3F, 0x11, 0x01, 0x02])
    );

    // Compressed authentication certificate: header + zlib, padded; type 24 in the FCI.
    assert_eq!(h.select_mf(), 0x9000);
    assert_eq!(h.select(0x6061).unwrap().1, 0x9000);
    let (fci, sw) = h.select(0x7001).unwrap();
    assert_eq!(sw, 0x9000);
    assert_eq!(fci[4], 0x24);
    let size = fci_size(&fci).unwrap();
    let file = h.read(size, 0xFF).unwrap();
    assert_eq!(file.len(), size);
    let ulen = u32::from_le_bytes(file[0..4].try_into().unwrap()) as usize;
    let clen = u32::from_le_bytes(file[4..8].try_into().unwrap()) as usize;
    assert!(8 + clen < size, "file allocated larger than its content");
    assert!(file[8 + clen..].iter().all(|&b| b == 0));
    let mut cert = Vec::new();
    flate2::read::ZlibDecoder::new(&file[8..8 + clen])
        .read_to_end(&mut cert)
        .unwrap();
    assert_eq!(cert.len(), ulen);
    assert_eq!(cert, pki().citizen("especimen").unwrap().auth_cert);
    // Sibling EF selectable from the current DF; key files are never readable.
    assert_eq!(h.select(0x7002).unwrap().1, 0x9000);
    assert_eq!(h.select_mf(), 0x9000);
    assert_eq!(h.select(0x3F11).unwrap().1, 0x9000);
    let (fci, _) = h.select(0x0101).unwrap();
    assert_eq!(&fci[2..4], &[0x85, 0x0D]);
    assert_eq!(h.read(16, 16), Err(0x6982));
}

#[test]
fn read_binary_edges() {
    let mut c = card("especimen");
    let mut h = Host::new(&mut c);
    // No EF selected.
    assert_eq!(h.select_mf(), 0x9000);
    assert_eq!(h.plain(&cmd(0, 0xB0, 0, 0, &[], Some(4))).1, 0x6986);
    // IDESP: exactly 9 bytes; reading past the end.
    h.select(0x0006).unwrap();
    let (d, sw) = h.plain(&cmd(0, 0xB0, 0, 4, &[], Some(10)));
    assert_eq!((d.as_slice(), sw), (&b"04321"[..], 0x6282));
    assert_eq!(h.plain(&cmd(0, 0xB0, 0, 9, &[], Some(1))).1, 0x6B00);
    // Case 1 READ BINARY (no Le) is a wrong length; SFI addressing is refused.
    assert_eq!(h.raw(&[0, 0xB0, 0, 0]), vec![0x67, 0x00]);
    assert_eq!(h.plain(&cmd(0, 0xB0, 0x81, 0, &[], Some(1))).1, 0x6A86);
    // ICAO data groups and signing need a channel.
    assert_eq!(h.select_mf(), 0x9000);
    assert_eq!(h.select(0x3F01).unwrap().1, 0x9000);
    assert_eq!(h.select(0x0101).unwrap().1, 0x9000);
    assert_eq!(h.plain(&cmd(0, 0xB0, 0, 0, &[], Some(4))).1, 0x6982);
    assert_eq!(
        h.plain(&cmd(0, 0x20, 0, 0, b"FICTICIO1234", None)).1,
        0x6982
    );
    assert_eq!(
        h.plain(&cmd(0, 0x22, 0x41, 0xB6, &[0x84, 0x02, 0x01, 0x01], None))
            .1,
        0x6982
    );
    assert_eq!(h.plain(&cmd(0, 0x2A, 0x9E, 0x9A, &[1; 51], None)).1, 0x6982);
}

#[test]
fn dnie2_certificates_need_channel_and_pin() {
    let mut c = card("antiguo");
    let mut h = Host::new(&mut c);
    assert!(
        h.read_path(&[0x5015, 0x6004], 0xFF).is_ok(),
        "CDF is plain on 2.0"
    );
    assert_eq!(h.read_path(&[0x6061, 0x7001], 0xFF), Err(0x6982));
    assert_eq!(h.select_mf(), 0x9000);
    assert_eq!(
        h.select(0x3F01).unwrap().1,
        0x6A82,
        "no ICAO application on 2.0"
    );
}

#[test]
fn other_cards() {
    let mut ceres = VirtualCard::ceres_like();
    assert_eq!(sw_of(&ceres.process(&[0x90, 0xB8, 0, 0, 7])), 0x9000);
    assert_eq!(ceres.process(b"\x00\xA4\x04\x00\x0BMaster.File")[0], 0x61);
    assert_eq!(
        ceres.process(&[0, 0xA4, 0, 0, 2, 0x50, 0x15]),
        vec![0x6A, 0x82]
    );
    let mut blank = VirtualCard::blank();
    assert_eq!(
        blank.process(b"\x00\xA4\x04\x00\x0BMaster.File"),
        vec![0x6A, 0x82]
    );
    assert_eq!(blank.process(&[0x90, 0xB8, 0, 0, 7]), vec![0x6D, 0x00]);
    let mut burned = VirtualCard::finalised_dnie();
    assert_eq!(burned.process(&[0x90, 0xB8, 0, 0, 7]), vec![0x65, 0x81]);
}

#[test]
fn identities_file() {
    let ids = ids();
    assert!(ids.identity.len() >= 5);
    for i in &ids.identity {
        crate::VirtualCard::dnie(i).unwrap();
    }
    assert_eq!(crate::identity::control_letter("12345678"), Some('Z'));
    assert_eq!(crate::identity::control_letter("99999999"), Some('R'));
    assert_eq!(crate::identity::control_letter("X9999990"), Some('G'));
    assert!(crate::identity::is_valid_document_number("99999002Q"));
    assert!(!crate::identity::is_valid_document_number("99999002R"));
    let bad = crate::DEFAULT_IDENTITIES_TOML_FOR_TESTS.replace("99999018D", "99999018E");
    assert!(crate::IdentityFile::parse(&bad).is_err());
    let bad = crate::DEFAULT_IDENTITIES_TOML_FOR_TESTS.replace("FICTICIO1234", "1234");
    assert!(crate::IdentityFile::parse(&bad).is_err());
    assert!(!format!("{:?}", ids.get("especimen").unwrap()).contains("FICTICIO1234"));
    // The expired identity carries re-issued certificates naming it.
    let c = crate::VirtualCard::dnie(ids.get("caducado").unwrap()).unwrap();
    let (auth, _) = c.certificates().unwrap();
    let text = String::from_utf8_lossy(auth);
    assert!(text.contains("CADUCADO EJEMPLO") && text.contains("IDCES-99999047S"));
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(auth).unwrap();
    let na = cert
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs();
    assert!(na < 1_600_000_000 + 20_000_000, "expired in 2020");
}
