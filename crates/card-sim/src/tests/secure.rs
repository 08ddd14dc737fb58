//! CWA-14890 channels, PIN and signatures, driven by the minimal test host.
use rsa::traits::PublicKeyParts;
use sha2::Digest;

use super::host::{Host, HostSm, cmd};
use super::{card, card_with, pki};
use crate::crypto::RawPublicKey;
use crate::sm::Channel;
use crate::{CardOptions, EngineFault, PlainDuringSm, TerminalTrust};

fn icc() -> RawPublicKey {
    RawPublicKey::of(&pki().component.icc_key)
}

fn digest_info(msg: &[u8]) -> Vec<u8> {
    let prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    [&prefix[..], &sha2::Sha256::digest(msg)].concat()
}

fn sign(h: &mut Host<'_>, key_ref: u8, msg: &[u8]) -> (Vec<u8>, u16) {
    let (_, sw) = h
        .send(&cmd(
            0,
            0x22,
            0x41,
            0xB6,
            &[0x84, 0x02, 0x01, key_ref],
            None,
        ))
        .unwrap();
    if sw != 0x9000 {
        return (Vec::new(), sw);
    }
    h.send(&cmd(0, 0x2A, 0x9E, 0x9A, &digest_info(msg), None))
        .unwrap()
}

fn dec(s: &mut [u8; 8]) {
    for b in s.iter_mut().rev() {
        let (v, borrow) = b.overflowing_sub(1);
        *b = v;
        if !borrow {
            break;
        }
    }
}

#[test]
fn jmulticard_vectors_both_sides() {
    // DNIE.md §3.3 (jmulticard TestApduEncrypter): our wrapping reproduces the published
    // protected commands, and the card side unwraps them (4-byte MAC).
    let kenc: [u8; 16] = hex::decode("598f26e36e11a8ec14b81e19bda223ca")
        .unwrap()
        .try_into()
        .unwrap();
    let kmac: [u8; 16] = hex::decode("5de2939a1ea03a930b88206d8f73e8a7")
        .unwrap()
        .try_into()
        .unwrap();
    for (ssc_used, plain, wrapped) in [
        (
            "d31ac8ec7ba0fe75",
            &b"\x00\xA4\x04\x00\x0BMaster.File"[..],
            "0ca40400198711013e9ac315a8e855dd3722f291078ac2bd8e04b6f56963",
        ),
        (
            "d31ac8ec7ba0fe6f",
            &b"\x00\x20\x00\x00\x08CRYPTOKI"[..],
            "0c20000019871101ce1ab937c332f3faee43336d4311ef338e046908df4e",
        ),
    ] {
        // The vectors show the SSC already incremented; both sides increment before use.
        let mut ssc: [u8; 8] = hex::decode(ssc_used).unwrap().try_into().unwrap();
        dec(&mut ssc);
        let cmd_plain = crate::apdu::Command::parse(plain).unwrap();
        let mut host = HostSm {
            kenc,
            kmac,
            ssc,
            mac_len: 4,
        };
        assert_eq!(hex::encode(host.wrap(&cmd_plain)), wrapped);
        let mut card_session = crate::sm::Session {
            kenc,
            kmac,
            ssc,
            channel: Channel::User,
            mac_len: 4,
        };
        let wrapped_cmd = crate::apdu::Command::parse(&hex::decode(wrapped).unwrap()).unwrap();
        assert_eq!(
            card_session.unwrap_command(&wrapped_cmd, false).unwrap(),
            cmd_plain
        );
    }
}

#[test]
fn dnie3_pin_channel_then_user_channel_then_one_signature_per_pin() {
    let mut c = card("especimen");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.pin, &icc(), 8).unwrap();
    assert_eq!(h.card.channel(), Some(Channel::Pin));
    // Retry counter, wrong PIN, right PIN.
    assert_eq!(h.send(&cmd(0, 0x20, 0, 0, &[], None)).unwrap().1, 0x63C3);
    assert_eq!(
        h.send(&cmd(0, 0x20, 0, 0, b"WRONGPIN1", None)).unwrap().1,
        0x63C2
    );
    assert_eq!(
        h.send(&cmd(0, 0x20, 0, 0, b"FICTICIO1234", None))
            .unwrap()
            .1,
        0x9000
    );
    // No key operation in the PIN channel; DGs neither.
    assert_eq!(sign(&mut h, 1, b"x").1, 0x6982);
    // Switch to the user channel by a handshake run inside the PIN channel (OpenSC style).
    h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    assert_eq!(h.card.channel(), Some(Channel::User));
    // VERIFY is refused in the user channel.
    assert_eq!(
        h.send(&cmd(0, 0x20, 0, 0, b"FICTICIO1234", None))
            .unwrap()
            .1,
        0x6982
    );
    // The PIN survived: one signature works and verifies with the certificate key.
    let (sig, sw) = sign(&mut h, 1, b"challenge-1");
    assert_eq!(sw, 0x9000);
    assert_eq!(sig.len(), 256);
    let cit = pki().citizen("especimen").unwrap();
    let pk = crate::x509::cert_public_key(&cit.auth_cert).unwrap();
    pk.verify(
        rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        &sha2::Sha256::digest(b"challenge-1"),
        &sig,
    )
    .unwrap();
    assert_eq!(pk.size(), 256);
    // The PIN was consumed: a second signature is refused.
    assert_eq!(sign(&mut h, 1, b"challenge-2").1, 0x6982);
}

#[test]
fn dnie3_icao_data_in_user_channel_and_plain_teardown() {
    let mut c = card("especimen");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.pin, &icc(), 8).unwrap();
    assert_eq!(
        h.read_path(&[0x3F01, 0x0101], 0xE0),
        Err(0x6982),
        "DG1 not in the PIN channel"
    );
    // Tear down with a plain SELECT MF: SM error, channel gone.
    h.sm = None;
    assert_eq!(h.select_mf(), 0x6987);
    assert_eq!(h.card.channel(), None);
    // Plain handshake for the user channel (jmulticard style).
    h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    let dg1 = h.read_path(&[0x3F01, 0x0101], 0xE0).unwrap();
    assert_eq!(&dg1[..5], &[0x61, 0x5D, 0x5F, 0x1F, 0x5A]);
    let mrz = String::from_utf8(dg1[5..].to_vec()).unwrap();
    let cd = crate::icao::check_digit;
    assert_eq!(
        mrz[..30],
        format!("IDESPBMP104321{}99999018D<<<<<<", cd("BMP104321"))
    );
    assert_eq!(mrz[30..37], format!("800315{}", cd("800315")));
    assert_eq!(&mrz[38..44], "340115");
    assert!(mrz[60..].starts_with("ESPECIMEN<SPECIMEN<<FICTICIO<<"));
    let dg13 = h.read_path(&[0x3F01, 0x010D], 0xE0).unwrap();
    assert_eq!(dg13[0], 0x6D);
    let text = String::from_utf8_lossy(&dg13);
    assert!(
        text.contains("15 01 2034") && text.contains("BMP104321") && text.contains("15 03 1980")
    );
    assert!(h.read_path(&[0x3F01, 0x011E], 0xE0).is_ok());
    assert_eq!(
        h.read_path(&[0x3F01, 0x0103], 0xE0),
        Err(0x6982),
        "DG3 needs an admin channel"
    );
    // Large reads inside SM are limited.
    h.select_mf();
    h.select(0x6061).unwrap();
    h.select(0x7001).unwrap();
    assert_eq!(
        h.send(&cmd(0, 0xB0, 0, 0, &[], Some(0xE8))).unwrap().1,
        0x6700
    );
    assert_eq!(
        h.send(&cmd(0, 0xB0, 0, 0, &[], Some(0xE7)))
            .unwrap()
            .0
            .len(),
        0xE7
    );
}

#[test]
fn pin_blocks_after_three_wrong_tries() {
    let mut c = card("ficticia");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.pin, &icc(), 8).unwrap();
    let mut sws = Vec::new();
    for _ in 0..4 {
        sws.push(h.send(&cmd(0, 0x20, 0, 0, b"NOTMYPIN99", None)).unwrap().1);
    }
    assert_eq!(sws, vec![0x63C2, 0x63C1, 0x63C0, 0x6983]);
    assert_eq!(
        h.send(&cmd(0, 0x20, 0, 0, b"Muestra2024", None)).unwrap().1,
        0x6983
    );
    assert_eq!(h.send(&cmd(0, 0x20, 0, 0, &[], None)).unwrap().1, 0x6983);
    assert_eq!(h.card.pin_tries_left(), Some(0));
    // A reset does not unblock.
    h.card.reset();
    assert_eq!(h.card.pin_tries_left(), Some(0));
    // The pre-blocked identity.
    let mut b = card("ficticia-bloqueada");
    let mut hb = Host::new(&mut b);
    hb.open_channel(&ks, &ks.pin, &icc(), 8).unwrap();
    assert_eq!(
        hb.send(&cmd(0, 0x20, 0, 0, b"Muestra2024", None))
            .unwrap()
            .1,
        0x6983
    );
}

#[test]
fn right_pin_resets_the_counter_and_reset_forgets_it() {
    let mut c = card("especimen");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.pin, &icc(), 8).unwrap();
    assert_eq!(
        h.send(&cmd(0, 0x20, 0, 0, b"WRONGPIN1", None)).unwrap().1,
        0x63C2
    );
    assert_eq!(
        h.send(&cmd(0, 0x20, 0, 0, b"FICTICIO1234", None))
            .unwrap()
            .1,
        0x9000
    );
    assert_eq!(h.send(&cmd(0, 0x20, 0, 0, &[], None)).unwrap().1, 0x63C3);
    // A card reset loses channel and PIN status.
    h.card.reset();
    h.sm = None;
    h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    assert_eq!(sign(&mut h, 1, b"x").1, 0x6982);
}

#[test]
fn bad_mac_kills_the_session() {
    let mut c = card("especimen");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    let mut sm = h.sm.take().unwrap();
    let mut wrapped = sm.wrap(&cmd(0, 0xA4, 4, 0, b"Master.File", None));
    let n = wrapped.len();
    wrapped[n - 1] ^= 1;
    assert_eq!(h.raw(&wrapped), vec![0x69, 0x88]);
    assert_eq!(h.card.channel(), None);
    // The next (well-formed) protected command finds no session either.
    let again = sm.wrap(&cmd(0, 0xA4, 4, 0, b"Master.File", None));
    assert_eq!(h.raw(&again), vec![0x69, 0x88]);
    // A protected command without MAC → 6987.
    let mut c2 = card("especimen");
    let mut h2 = Host::new(&mut c2);
    h2.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    assert_eq!(
        h2.raw(&[0x0C, 0xA4, 0x04, 0x00, 0x03, 0x97, 0x01, 0x00]),
        vec![0x69, 0x87]
    );
}

#[test]
fn corrupted_response_mac_is_detected_by_the_host() {
    let mut c = card("especimen");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    h.card.inject(EngineFault::CorruptNextMac);
    let err = h
        .send(&cmd(0, 0xA4, 4, 0, b"Master.File", None))
        .unwrap_err();
    assert!(err.contains("MAC"));
}

#[test]
fn wrong_length_inside_sm() {
    let mut c = card("especimen");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    h.select_mf();
    h.select(0x0006).unwrap();
    h.card.inject(EngineFault::WrongLengthOnce);
    assert_eq!(h.send(&cmd(0, 0xB0, 0, 0, &[], Some(9))).unwrap().1, 0x6C09);
    assert_eq!(
        h.send(&cmd(0, 0xB0, 0, 0, &[], Some(9))).unwrap(),
        (b"BMP104321".to_vec(), 0x9000)
    );
}

#[test]
fn external_authenticate_checks_the_terminal() {
    let mut c = card("especimen");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    // A terminal key that does not match its CVC fails EXTERNAL AUTHENTICATE.
    let mut forged = ks.user.clone();
    forged.private_exponent = ks.pin.private_exponent.clone();
    forged.modulus = ks.pin.modulus.clone();
    let err = h.open_channel(&ks, &forged, &icc(), 8).unwrap_err();
    assert!(
        err.contains("internal auth") || err.contains("external auth"),
        "{err}"
    );
    // EXTERNAL AUTHENTICATE without the previous steps.
    assert_eq!(
        h.raw(&[&[0, 0x82, 0, 0, 0x80][..], &[0x11; 128]].concat()),
        vec![0x69, 0x85]
    );
    // A CVC that does not recover with the root.
    let mut c2 = card("especimen");
    let mut h2 = Host::new(&mut c2);
    assert_eq!(
        h2.plain(&cmd(0, 0x22, 0x81, 0xB6, &[0x83, 0x02, 0x02, 0x0F], None))
            .1,
        0x9000
    );
    let mut bad = ks.c_cv_ca.clone();
    bad[10] ^= 0x01;
    assert_eq!(h2.plain(&cmd(0, 0x2A, 0, 0xAE, &bad, None)).1, 0x6A80);
    // The IFD CVC cannot be checked before its CA.
    assert_eq!(
        h2.plain(&cmd(
            0,
            0x22,
            0x81,
            0xB6,
            &[&[0x83, 0x08][..], &ks.c_cv_ca_chr].concat(),
            None
        ))
        .1,
        0x6A88
    );
}

#[test]
fn many_handshakes() {
    // SIGMIN values shorter than the modulus come about once in a hundred handshakes; run many.
    let ks = pki().terminal_key_set();
    let mut c = card_with(
        "especimen",
        CardOptions {
            rng_seed: Some(7),
            ..CardOptions::default()
        },
    );
    for _ in 0..40 {
        c.reset();
        let mut h = Host::new(&mut c);
        h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    }
}

#[test]
fn dnie2_single_channel_four_byte_mac() {
    let mut c = card("antiguo");
    let ks = pki().terminal_key_set();
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.user, &icc(), 4).unwrap();
    assert_eq!(h.read_path(&[0x6061, 0x7001], 0xE0), Err(0x6982));
    assert_eq!(
        h.send(&cmd(0, 0x20, 0, 0, b"ANTIGUO2pin", None)).unwrap().1,
        0x9000
    );
    assert!(h.read_path(&[0x6061, 0x7001], 0xE0).is_ok());
    // 2.0: the PIN stays valid for several operations.
    assert_eq!(sign(&mut h, 1, b"a").1, 0x9000);
    assert_eq!(sign(&mut h, 2, b"b").1, 0x9000);
    // An 8-byte-MAC host fails on a 2.0.
    let mut c2 = card("antiguo");
    let mut h2 = Host::new(&mut c2);
    h2.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    assert_eq!(
        h2.send(&cmd(0, 0xA4, 4, 0, b"Master.File", None))
            .unwrap()
            .1,
        0x6988
    );
}

#[test]
fn plain_during_sm_policies() {
    let ks = pki().terminal_key_set();
    let mut c = card_with(
        "especimen",
        CardOptions {
            plain_during_sm: PlainDuringSm::CloseAndProcess,
            ..CardOptions::default()
        },
    );
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    h.sm = None;
    assert_eq!(h.select_mf(), 0x9000);
    assert_eq!(h.card.channel(), None);
}

#[test]
fn production_trust_accepts_the_published_terminal_cvcs() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/production-cvc.json")).unwrap();
    for (identity, set) in [("especimen", "r2"), ("ficticia", "legacy")] {
        let s = &fixture["sets"][set];
        let h = |k: &str| hex::decode(s[k].as_str().unwrap()).unwrap();
        let ca = h("c_cv_ca");
        let ca_chr = &ca[ca.len() - 8..];
        for trust in [
            TerminalTrust::Production,
            TerminalTrust::TestAndProduction,
            TerminalTrust::TestPki,
        ] {
            let mut c = card_with(
                identity,
                CardOptions {
                    trust,
                    ..CardOptions::default()
                },
            );
            let mut host = Host::new(&mut c);
            assert_eq!(
                host.plain(&cmd(0, 0x22, 0x81, 0xB6, &[0x83, 0x02, 0x02, 0x0F], None))
                    .1,
                0x9000
            );
            let sw = host.plain(&cmd(0, 0x2A, 0, 0xAE, &ca, None)).1;
            if trust == TerminalTrust::TestPki {
                assert_eq!(
                    sw, 0x6A88,
                    "the test card does not know the production root"
                );
                continue;
            }
            assert_eq!(sw, 0x9000, "{identity} {set} C_CV_CA");
            // The CA's CHR, from the certificate body: the recovered content holds it.
            let root = crate::crypto::RawPublicKey::from_be(&h("root_n"), &[1, 0, 1]);
            let mut root_chr = [0u8; 8];
            root_chr.copy_from_slice(&hex::decode(s["root_chr"].as_str().unwrap()).unwrap());
            let body = crate::cvc::verify(&ca, &root, &root_chr).unwrap();
            let chr = body.chr_name();
            assert_eq!(
                &chr[..],
                &hex::decode(if set == "r2" {
                    "6573534449620018"
                } else {
                    "6573534449600006"
                })
                .unwrap()[..]
            );
            let _ = ca_chr;
            for ifd in ["c_cv_ifd_user", "c_cv_ifd_pin"] {
                assert_eq!(
                    host.plain(&cmd(
                        0,
                        0x22,
                        0x81,
                        0xB6,
                        &[&[0x83, 0x08][..], &chr].concat(),
                        None
                    ))
                    .1,
                    0x9000
                );
                assert_eq!(
                    host.plain(&cmd(0, 0x2A, 0, 0xAE, &h(ifd), None)).1,
                    0x9000,
                    "{set} {ifd}"
                );
            }
        }
    }
}

#[test]
fn bare_error_replies_keep_the_channel_and_step_the_ssc() {
    let ks = pki().terminal_key_set();
    let mut c = card_with(
        "especimen",
        CardOptions {
            sm_error_replies: crate::SmErrorReplies::Plain,
            ..CardOptions::default()
        },
    );
    let mut h = Host::new(&mut c);
    h.open_channel(&ks, &ks.user, &icc(), 8).unwrap();
    let mut sm = h.sm.clone().unwrap();
    // A refusal comes back as the bare SW...
    assert_eq!(h.select(0x1234), Ok((Vec::new(), 0x6A82)));
    // ...and the card counted it like a wrapped reply: SSC + 2, channel still open.
    sm.wrap(&cmd(0, 0xA4, 0, 0, &[0x12, 0x34], None));
    crate::crypto::ssc_increment(&mut sm.ssc);
    h.sm = Some(sm);
    assert_eq!(h.select_mf(), 0x9000);
    // Answers with data are still wrapped.
    assert!(h.read_path(&[0x5015, 0x5032], 0x20).is_ok());
}
