//! Whole conversations between the reader and a small in-test DNIe (`support`).

mod support;

use dnie::{ChannelKind, Dnie, DnieConfig, DnieError, DnieVersion, KeySetChoice, Pin};
use rand::SeedableRng;
use rand::rngs::StdRng;
use support::FakeDnie;

fn config() -> DnieConfig {
    DnieConfig {
        component_root: Some(FakeDnie::component_root()),
        ..DnieConfig::default()
    }
}

fn count(card: &FakeDnie, cla_ins: [u8; 2]) -> usize {
    card.log
        .iter()
        .filter(|a| a[0] & !0x0C == cla_ins[0] && a[1] == cla_ins[1])
        .count()
}

#[test]
fn reads_identity_in_plain_from_a_dnie_3() {
    let mut card = FakeDnie::new(true, "BAA123456");
    let atr = card.atr();
    let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
    assert_eq!(dnie.version(), DnieVersion::V3);
    let id = dnie.read_identity().unwrap();
    assert_eq!(id.document, "99999002Q");
    assert_eq!(id.surnames, "ESPAÑOL ESPAÑOL");
    assert_eq!(id.given_name, "MARÍA JOSÉ");
    assert_eq!(id.issuer_cn, "AC DNIE 004");
    assert_eq!(id.idesp, "BAA123456");
    assert_eq!(id.chip_serial, "06CFC2227A398A");
    assert_eq!(
        id.cert_not_after.format("%Y-%m-%d").to_string(),
        "2030-01-01"
    );
    let dbg = format!("{id:?}");
    assert!(!dbg.contains("99999002Q") && !dbg.contains("MARÍA"));
    let stats = dnie.stats();
    drop(dnie);
    // Each DF selected once, no FCI for DFs, the CDF read only up to its content and the
    // certificate only up to 8 + compressed length.
    let selects: Vec<_> = card
        .log
        .iter()
        .filter(|a| a[1] == 0xA4)
        .map(|a| hex::encode(&a[5..]))
        .collect();
    assert_eq!(
        selects,
        [
            "4d61737465722e46696c65",
            "0006",
            "5015",
            "6004",
            "4d61737465722e46696c65",
            "6061",
            "7001"
        ]
    );
    // Minimum READ BINARYs at 255 bytes each: IDESP, the CDF content, 8 + compressed length.
    let cdf = &card.files[&vec![0x5015, 0x6004]].data;
    let cdf_content = cdf.iter().rposition(|b| *b != 0).unwrap() + 1;
    let cert = &card.files[&vec![0x6061, 0x7001]].data;
    let cert_content = 8 + u32::from_le_bytes(cert[4..8].try_into().unwrap()) as usize;
    assert_eq!(
        count(&card, [0x00, 0xB0]),
        1 + cdf_content.div_ceil(255) + cert_content.div_ceil(255)
    );
    assert_eq!(stats.apdus as usize, card.log.len());
}

#[test]
fn falls_back_when_the_card_refuses_p2_0c_and_long_reads() {
    let mut card = FakeDnie::new(true, "BAA123456");
    card.faults.refuse_p2_0c = true;
    card.faults.max_le = Some(0xDE);
    let atr = card.atr();
    let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
    assert_eq!(dnie.read_identity().unwrap().document, "99999002Q");
}

#[test]
fn proves_possession_on_a_dnie_3() {
    let mut card = FakeDnie::new(true, "BMP100001");
    let atr = card.atr();
    let mut rng = StdRng::seed_from_u64(1);
    let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
    let proof = dnie
        .prove_possession(&Pin::new("CORRECT1").unwrap(), &mut rng)
        .unwrap();
    assert_eq!(proof.identity.document, "99999002Q");
    assert_eq!(proof.challenge.len(), 32);
    assert!(dnie.channel().is_none());
    // The card demands a fresh PIN for the next key operation: prove again works because
    // prove_possession verifies again.
    dnie.prove_possession(&Pin::new("CORRECT1").unwrap(), &mut rng)
        .unwrap();
    drop(dnie);
    assert_eq!(card.signatures, 2);
    assert_eq!(card.verifies, 2);
    // 8-byte MACs on 3.0: the wrapped VERIFY carries 8E 08.
    let verify = card
        .log
        .iter()
        .find(|a| a[0] == 0x0C && a[1] == 0x20)
        .unwrap();
    assert_eq!(verify[verify.len() - 10..verify.len() - 8], [0x8E, 0x08]);
}

#[test]
fn wrong_pin_is_reported_never_retried_and_blocks() {
    let mut card = FakeDnie::new(true, "BAA123456");
    let atr = card.atr();
    let mut rng = StdRng::seed_from_u64(2);
    let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
    let bad = Pin::new("WRONGPIN").unwrap();
    assert_eq!(
        dnie.prove_possession(&bad, &mut rng).unwrap_err(),
        DnieError::WrongPin { tries_left: 2 }
    );
    assert_eq!(
        dnie.verify_pin(&bad, &mut rng).unwrap_err(),
        DnieError::WrongPin { tries_left: 1 }
    );
    assert_eq!(dnie.channel(), Some(ChannelKind::Pin));
    assert_eq!(
        dnie.verify_pin(&bad, &mut rng).unwrap_err(),
        DnieError::PinBlocked
    );
    assert_eq!(
        dnie.verify_pin(&Pin::new("CORRECT1").unwrap(), &mut rng)
            .unwrap_err(),
        DnieError::PinBlocked
    );
    drop(dnie);
    assert_eq!(card.verifies, 3);
}

#[test]
fn dnie_2_needs_the_pin_for_its_certificates_and_uses_4_byte_macs() {
    let mut card = FakeDnie::new(false, "AGR148953");
    let atr = card.atr();
    let mut rng = StdRng::seed_from_u64(3);
    let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
    assert_eq!(dnie.version(), DnieVersion::V2);
    assert_eq!(dnie.read_identity().unwrap_err().code(), "CARD-006");
    let proof = dnie
        .prove_possession(&Pin::new("CORRECT1").unwrap(), &mut rng)
        .unwrap();
    assert_eq!(proof.identity.version, DnieVersion::V2);
    drop(dnie);
    let verify = card
        .log
        .iter()
        .find(|a| a[0] == 0x0C && a[1] == 0x20)
        .unwrap();
    assert_eq!(verify[verify.len() - 6..verify.len() - 4], [0x8E, 0x04]);
    // legacy terminal set (IDESP before BMP100001)
    let mse = card
        .log
        .iter()
        .find(|a| a[1] == 0x22 && a[2] == 0xC1)
        .unwrap();
    assert_eq!(
        hex::encode(&mse[5..19]),
        "830c0000000020000000000000 01".replace(' ', "")
    );
}

#[test]
fn reads_icao_data_groups_through_the_user_channel() {
    let mut card = FakeDnie::new(true, "BMP100001");
    let atr = card.atr();
    let mut rng = StdRng::seed_from_u64(11);
    let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
    let icao = dnie.read_icao(&mut rng).unwrap();
    let dg1 = icao.dg1.unwrap();
    assert_eq!(dg1.document_number, "BMP100001");
    assert_eq!(dg1.optional_data, "99999002Q");
    let dg13 = icao.dg13.unwrap();
    assert_eq!(
        dg13.expiry_date(),
        chrono::NaiveDate::from_ymd_opt(2030, 1, 1)
    );
    assert_eq!(dg13.support_number(), Some("BMP100001"));
    assert!(dnie.channel().is_none());
    drop(dnie);
    assert_eq!(card.verifies, 0);
}

#[test]
fn many_handshakes_succeed() {
    // SIGMIN shorter than the modulus happens about once in 100 handshakes (DNIE.md §11);
    // the fake card rejects anything that is not exactly 128 bytes.
    let mut card = FakeDnie::new(true, "BMP200000");
    let atr = card.atr();
    let mut rng = StdRng::seed_from_u64(4);
    let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
    for _ in 0..25 {
        dnie.open_secure_channel(&mut rng).unwrap();
        let r = dnie
            .transmit(&dnie::Apdu::new(0, 0xA4, 0x04, 0x00).with_data(b"Master.File".to_vec()))
            .unwrap();
        assert!(r.sw.is_ok());
        assert_eq!(r.data[0], 0x6F);
    }
}

#[test]
fn wrong_component_root_is_refused() {
    let mut card = FakeDnie::new(true, "BAA123456");
    let atr = card.atr();
    let mut rng = StdRng::seed_from_u64(5);
    // production roots: the test chip does not chain to them
    let mut dnie = Dnie::open(&mut card, &atr, &DnieConfig::default()).unwrap();
    assert_eq!(
        dnie.open_secure_channel(&mut rng).unwrap_err().code(),
        "SM-001"
    );
}

#[test]
fn corrupted_response_mac_kills_the_session() {
    let mut card = FakeDnie::new(true, "BAA123456");
    card.faults.corrupt_mac_at = Some(1);
    let atr = card.atr();
    let mut rng = StdRng::seed_from_u64(6);
    let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
    dnie.open_secure_channel(&mut rng).unwrap();
    let e = dnie
        .transmit(&dnie::Apdu::new(0, 0xA4, 0x04, 0x00).with_data(b"Master.File".to_vec()))
        .unwrap_err();
    assert_eq!(e.code(), "SM-003");
    assert!(dnie.channel().is_none());
}

#[test]
fn explicit_key_set_choice_is_honoured() {
    let mut card = FakeDnie::new(true, "BMP100001");
    let atr = card.atr();
    let mut rng = StdRng::seed_from_u64(8);
    let cfg = DnieConfig {
        key_set: KeySetChoice::Legacy,
        ..config()
    };
    let mut dnie = Dnie::open(&mut card, &atr, &cfg).unwrap();
    dnie.open_secure_channel(&mut rng).unwrap();
    drop(dnie);
    let mse = card
        .log
        .iter()
        .find(|a| a[1] == 0x22 && a[2] == 0xC1)
        .unwrap();
    assert_eq!(mse[11..19], [0x20, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn card_vanishing_at_any_apdu_gives_a_clean_error() {
    let total = {
        let mut card = FakeDnie::new(true, "BAA123456");
        let atr = card.atr();
        let mut rng = StdRng::seed_from_u64(9);
        let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
        dnie.prove_possession(&Pin::new("CORRECT1").unwrap(), &mut rng)
            .unwrap();
        drop(dnie);
        card.log.len()
    };
    for n in (0..total).step_by(3) {
        let mut card = FakeDnie::new(true, "BAA123456");
        card.faults.vanish_at = Some(n);
        let atr = card.atr();
        let mut rng = StdRng::seed_from_u64(9);
        let mut dnie = Dnie::open(&mut card, &atr, &config()).unwrap();
        let e = dnie
            .prove_possession(&Pin::new("CORRECT1").unwrap(), &mut rng)
            .unwrap_err();
        assert_eq!(e, DnieError::CardRemoved, "APDU {n}");
    }
}

#[test]
fn not_a_dnie_and_finalised() {
    let mut card = FakeDnie::new(true, "BAA123456");
    let ceres = hex::decode("3B7F380000006A464E4D5410024C3401130390 00".replace(' ', "")).unwrap();
    assert_eq!(
        Dnie::open(&mut card, &ceres, &config()).err().unwrap(),
        DnieError::NotADnie
    );
    let burned = hex::decode("3B7F380000006A444E496500024C3401130F6581").unwrap();
    assert_eq!(
        Dnie::open(&mut card, &burned, &config()).err().unwrap(),
        DnieError::FinalisedDnie
    );
}

/// The same conversation through the real PC/SC stack: pcscd + vsmartcard's vpcd, with the
/// in-test card connected to vpcd over TCP (PLATFORM.md §D.4 framing). Needs a running
/// pcscd with the vpcd reader, so it only runs when `DNIE_PCSC_SMOKE=1`.
#[test]
fn through_pcscd_and_vpcd_when_enabled() {
    use dnie::transport::pcsc::PcscContext;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    if std::env::var("DNIE_PCSC_SMOKE").as_deref() != Ok("1") {
        return;
    }
    let vicc = std::thread::spawn(|| {
        let mut card = FakeDnie::new(true, "BMP100001");
        let mut s = TcpStream::connect("127.0.0.1:35963").unwrap();
        loop {
            let mut len = [0u8; 2];
            if s.read_exact(&mut len).is_err() {
                return;
            }
            let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
            s.read_exact(&mut msg).unwrap();
            let reply = match msg.as_slice() {
                [0x04] => card.atr().to_vec(),
                [_] => continue,
                apdu => {
                    if apdu[1] == 0xFF {
                        return; // test over
                    }
                    dnie::Transport::transmit(&mut card, apdu).unwrap()
                }
            };
            s.write_all(&(reply.len() as u16).to_be_bytes()).unwrap();
            s.write_all(&reply).unwrap();
        }
    });
    let ctx = PcscContext::establish().unwrap();
    let reader = ctx
        .readers()
        .unwrap()
        .into_iter()
        .find(|r| r.to_bytes() == b"Virtual PCD 00 00")
        .unwrap();
    let start = Instant::now();
    let mut pcsc_card = loop {
        match ctx.connect(&reader) {
            Ok(c) => break c,
            Err(DnieError::NoCard) if start.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => panic!("{e}"),
        }
    };
    let atr = pcsc_card.atr().unwrap();
    let mut rng = StdRng::seed_from_u64(10);
    {
        let mut tx = pcsc_card.transaction().unwrap();
        let mut dnie = Dnie::open(&mut tx, &atr, &config()).unwrap();
        let id = dnie.read_identity().unwrap();
        assert_eq!(id.document, "99999002Q");
        let proof = dnie
            .prove_possession(&Pin::new("CORRECT1").unwrap(), &mut rng)
            .unwrap();
        assert_eq!(proof.identity.idesp, "BMP100001");
        eprintln!("pcsc smoke: {:?}", dnie.stats());
        let _ = dnie.transmit(&dnie::Apdu::new(0, 0xFF, 0, 0));
    }
    drop(pcsc_card);
    let _ = vicc.join();
}
