//! No input APDU makes the engine panic, in any state.
use proptest::prelude::*;

use super::host::Host;
use super::{card, pki};
use crate::VirtualCard;
use crate::crypto::RawPublicKey;

fn apdu() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        // Well-formed headers of the instructions the card knows, random bodies.
        (
            prop_oneof![Just(0x00u8), Just(0x0C), Just(0x90), Just(0x9C)],
            prop_oneof![
                Just(0xA4u8),
                Just(0xB0),
                Just(0xB8),
                Just(0x22),
                Just(0x2A),
                Just(0x88),
                Just(0x84),
                Just(0x82),
                Just(0x20),
                Just(0xC0)
            ],
            any::<u8>(),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..256),
            proptest::option::of(any::<u8>()),
        )
            .prop_map(|(cla, ins, p1, p2, data, le)| {
                let mut a = vec![cla, ins, p1, p2];
                if !data.is_empty() {
                    a.push(data.len() as u8);
                    a.extend_from_slice(&data);
                }
                if let Some(le) = le {
                    a.push(le);
                }
                a
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_apdus_never_panic(apdus in proptest::collection::vec(apdu(), 1..24)) {
        for c in [card("especimen"), card("antiguo"), VirtualCard::ceres_like(), VirtualCard::blank()] {
            let mut c = c;
            for a in &apdus {
                let r = c.process(a);
                prop_assert!(r.len() >= 2);
            }
        }
    }

    #[test]
    fn tlv_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = crate::tlv::parse_all(&bytes);
        let _ = crate::cvc::CvcBody::parse(&bytes);
    }
}

#[test]
fn random_apdus_inside_an_open_channel_never_panic() {
    use proptest::test_runner::{Config, TestRunner};
    let ks = pki().terminal_key_set();
    let icc = RawPublicKey::of(&pki().component.icc_key);
    let mut base = card("especimen");
    {
        let mut h = Host::new(&mut base);
        h.open_channel(&ks, &ks.pin, &icc, 8).unwrap();
    }
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(apdu(), 1..8), |apdus| {
            let mut c = card("especimen");
            let mut h = Host::new(&mut c);
            h.open_channel(&ks, &ks.user, &icc, 8).unwrap();
            let mut sm = h.sm.take().unwrap();
            for a in &apdus {
                // Half of them properly wrapped (valid MAC, random inner command).
                let r = match crate::apdu::Command::parse(a) {
                    Ok(cmd) if a.len() % 2 == 0 => h.raw(&sm.wrap(&cmd)),
                    _ => h.raw(a),
                };
                assert!(r.len() >= 2);
            }
            Ok(())
        })
        .unwrap();
}
