//! Property tests: round trips through the canonical form, no panics on any input, and
//! masked output never containing the full value. Inputs are generated, never real data.

// Strategy helpers are not `#[test]` functions, so clippy's test exemption misses them.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use registry::alta::AltaForm;
use registry::clerk::Username;
use registry::contrast::{Idesp, NieSupportNumber, parse_date};
use registry::document_number::{Dni, DocumentNumber, Nie, NiePrefix};
use registry::{Dir3Office, Email, Level, NamePart, PersonName, PhoneNumber};

fn dni() -> impl Strategy<Value = Dni> {
    (0u32..=99_999_999).prop_map(|n| Dni::from_number(n).unwrap())
}

fn nie() -> impl Strategy<Value = Nie> {
    (
        prop_oneof![Just(NiePrefix::X), Just(NiePrefix::Y), Just(NiePrefix::Z)],
        0u32..=9_999_999,
    )
        .prop_map(|(p, n)| Nie::from_parts(p, n).unwrap())
}

/// Spanish mobiles: 6xxxxxxxx and 71x–74x (mobile ranges in the libphonenumber metadata).
fn spanish_mobile() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..=99_999_999).prop_map(|n| format!("6{n:08}")),
        (1u32..=4, 0u32..=9_999_999).prop_map(|(d, n)| format!("7{d}{n:07}")),
    ]
}

fn email() -> impl Strategy<Value = String> {
    (
        "[a-z0-9]{1,12}",
        proptest::option::of("[a-z0-9_+-]{1,8}"),
        "[a-z0-9]{1,12}",
        prop_oneof![
            Just("es"),
            Just("com"),
            Just("org"),
            Just("cat"),
            Just("eus")
        ],
    )
        .prop_map(|(a, b, domain, tld)| match b {
            Some(b) => format!("{a}.{b}@{domain}.{tld}"),
            None => format!("{a}@{domain}.{tld}"),
        })
}

proptest! {
    #[test]
    fn dni_round_trips(d in dni()) {
        let doc = DocumentNumber::from(d.clone());
        prop_assert_eq!(DocumentNumber::parse(&doc.unmasked()).unwrap(), doc.clone());
        // Lowercase and with separators too.
        let messy = format!(" {}.{}-{} ", &doc.unmasked()[..2], &doc.unmasked()[2..8], doc.unmasked()[8..].to_lowercase());
        prop_assert_eq!(DocumentNumber::parse(&messy).unwrap(), doc);
    }

    #[test]
    fn nie_round_trips(n in nie()) {
        let doc = DocumentNumber::from(n);
        prop_assert_eq!(DocumentNumber::parse(&doc.unmasked()).unwrap(), doc.clone());
        prop_assert_eq!(DocumentNumber::parse(&doc.unmasked().to_lowercase()).unwrap(), doc);
    }

    #[test]
    fn every_other_letter_is_refused(d in dni(), letter in proptest::char::range('A', 'Z')) {
        let text = format!("{:08}{letter}", d.number());
        let result = DocumentNumber::parse(&text);
        if letter == d.letter() {
            prop_assert!(result.is_ok());
        } else {
            prop_assert_eq!(result.unwrap_err().code(), "DOC-004");
        }
    }

    #[test]
    fn document_masks_hide_the_number(d in dni(), n in nie()) {
        for doc in [DocumentNumber::from(d), DocumentNumber::from(n)] {
            let full = doc.unmasked();
            let digits = &full[..8];
            for shown in [doc.to_string(), format!("{doc:?}")] {
                prop_assert!(!shown.contains(&full));
                prop_assert!(!shown.contains(digits));
                prop_assert!(shown.contains('*'));
            }
        }
    }

    #[test]
    fn phone_round_trips(national in spanish_mobile()) {
        let p = PhoneNumber::parse(&national).unwrap();
        prop_assert_eq!(p.e164(), format!("+34{national}"));
        prop_assert_eq!(PhoneNumber::parse(p.e164()).unwrap(), p.clone());
        for shown in [p.to_string(), format!("{p:?}")] {
            prop_assert!(!shown.contains(&national));
            prop_assert!(!shown.contains(&national[..6]));
        }
    }

    #[test]
    fn email_round_trips(e in email()) {
        let parsed = Email::parse(&e).unwrap();
        prop_assert_eq!(Email::parse(&parsed.unmasked()).unwrap(), parsed.clone());
        let upper_domain = {
            let (l, d) = e.rsplit_once('@').unwrap();
            format!("{l}@{}", d.to_uppercase())
        };
        prop_assert_eq!(Email::parse(&upper_domain).unwrap(), parsed.clone());
        let local = e.rsplit_once('@').unwrap().0;
        let local_at = format!("{local}@");
        for shown in [parsed.to_string(), format!("{parsed:?}")] {
            if local.chars().count() > 1 {
                prop_assert!(!shown.contains(&e));
                prop_assert!(!shown.contains(&local_at));
            }
        }
    }

    #[test]
    fn name_masks_hide_the_name(given in "[a-záéñç]{2,20}", first in "[a-zàèïü]{2,20}") {
        let name = PersonName::parse(&given, &first, "").unwrap();
        prop_assert_eq!(PersonName::parse(name.given_name().unmasked(), name.first_surname().unmasked(), "").unwrap(), name.clone());
        for shown in [name.to_string(), format!("{name:?}")] {
            prop_assert!(!shown.contains(name.given_name().unmasked()));
            prop_assert!(!shown.contains(name.first_surname().unmasked()));
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,80}") {
        let _ = DocumentNumber::parse(&s);
        let _ = PhoneNumber::parse(&s);
        let _ = Email::parse(&s);
        let _ = Dir3Office::parse(&s);
        let _ = NamePart::parse(&s);
        let _ = Idesp::parse(&s);
        let _ = NieSupportNumber::parse(&s);
        let _ = parse_date(&s);
        let _ = Username::parse(&s);
        let _ = Level::parse(&s);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(s in "[0-9XYZKLMB+ .()/@a-z-]{0,30}") {
        let _ = DocumentNumber::parse(&s);
        let _ = PhoneNumber::parse(&s);
        let _ = Email::parse(&s);
        let _ = Dir3Office::parse(&s);
        let _ = parse_date(&s);
    }

    #[test]
    fn phone_parser_never_panics_on_phone_like_input(s in "[0-9+ ()./-]{0,40}") {
        if let Ok(p) = PhoneNumber::parse(&s) {
            prop_assert!(p.e164().starts_with('+'));
            prop_assert_eq!(PhoneNumber::parse(p.e164()).unwrap(), p);
        }
    }

    #[test]
    fn alta_validation_never_panics(
        document in "\\PC{0,20}",
        expiry in "[0-9/-]{0,12}",
        permanent in any::<bool>(),
        issue in "[0-9/-]{0,12}",
        support in "\\PC{0,12}",
        phone in "[0-9+ ]{0,16}",
        email in "\\PC{0,20}",
    ) {
        let form = AltaForm {
            document, expiry_date: expiry, permanent, issue_date: issue, support_number: support,
            given_name: "Ana".into(), first_surname: "Ruiz".into(), second_surname: String::new(),
            phone, email,
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 5, 14).unwrap();
        match form.validate(today) {
            Ok(data) => prop_assert_eq!(data.level(), Level::Avanzado),
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                // At most one error per field, in form order.
                prop_assert!(errors.windows(2).all(|w| w[0].field < w[1].field));
            }
        }
    }
}
