//! The committed TEST PKI verifies: X.509 chains, CVC chain recovered with the test root.
use super::pki;
use crate::cvc;
use crate::pki::{CA_CHR, ROOT_CHR};

#[test]
fn committed_pki_verifies() {
    pki().verify().unwrap();
}

#[test]
fn terminal_key_set_matches_committed_json_and_cvcs_recover() {
    let ks = pki().terminal_key_set();
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../../pki/terminal/terminal.json")).unwrap();
    let hx = |v: &serde_json::Value| hex::decode(v.as_str().unwrap()).unwrap();
    assert_eq!(hx(&json["root_modulus"]), ks.root_modulus);
    assert_eq!(hx(&json["c_cv_ca"]), ks.c_cv_ca);
    assert_eq!(
        hx(&json["user"]["private_exponent"]),
        ks.user.private_exponent
    );
    assert_eq!(hx(&json["pin"]["sn_ifd"]), ks.pin.sn_ifd);
    assert_eq!(ks.c_cv_ca.len(), 210);
    assert_eq!(ks.user.c_cv_ifd.len(), 209);
    assert_eq!(ks.root_modulus.len(), 128);
    let root = crate::crypto::RawPublicKey::from_be(&ks.root_modulus, &ks.root_exponent);
    let ca = cvc::verify(&ks.c_cv_ca, &root, &ROOT_CHR).unwrap();
    assert_eq!(ca.cpi, cvc::CPI_CA);
    assert_eq!(ca.chr_name(), CA_CHR);
    assert_eq!(ca.content().len(), 167);
    for (ifd, cha) in [(&ks.user, cvc::CHA_IFD_USER), (&ks.pin, cvc::CHA_IFD_PIN)] {
        let body = cvc::verify(&ifd.c_cv_ifd, &ca.public_key(), &CA_CHR).unwrap();
        assert_eq!(body.chr, ifd.chr);
        assert_eq!(body.cha, cha);
        assert_eq!(body.modulus, ifd.modulus);
        assert_eq!(body.content().len(), 166);
        // A CVC does not verify with the wrong key.
        assert!(cvc::verify(&ifd.c_cv_ifd, &root, &CA_CHR).is_err());
    }
}

#[test]
fn published_production_cvcs_recover_with_published_roots() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/production-cvc.json")).unwrap();
    for set in ["legacy", "r2"] {
        let s = &fixture["sets"][set];
        let h = |k: &str| hex::decode(s[k].as_str().unwrap()).unwrap();
        let root = crate::crypto::RawPublicKey::from_be(&h("root_n"), &[1, 0, 1]);
        let root_chr: [u8; 8] = h("root_chr").try_into().unwrap();
        let ca = cvc::verify(&h("c_cv_ca"), &root, &root_chr).unwrap();
        for ifd in ["c_cv_ifd_user", "c_cv_ifd_pin"] {
            cvc::verify(&h(ifd), &ca.public_key(), &ca.chr_name()).unwrap();
        }
    }
    // And the constants built into the card match the fixture.
    assert_eq!(
        fixture["sets"]["r2"]["root_n"].as_str().unwrap(),
        crate::dnie::PRODUCTION_ROOT_R2_N
    );
    assert_eq!(
        fixture["sets"]["legacy"]["root_n"].as_str().unwrap(),
        crate::dnie::PRODUCTION_ROOT_LEGACY_N
    );
}

#[test]
fn citizen_certificates_look_like_the_specimen() {
    use der::Decode;
    for cit in &pki().citizens {
        let cert = x509_cert::Certificate::from_der(&cit.auth_cert).unwrap();
        let subject = cert.tbs_certificate.subject.to_string();
        assert!(subject.contains("(AUTENTICACIÓN)"), "{subject}");
        let sign = x509_cert::Certificate::from_der(&cit.sign_cert).unwrap();
        assert!(sign.tbs_certificate.subject.to_string().contains("(FIRMA)"));
        let issuer = cert.tbs_certificate.issuer.to_string();
        assert!(issuer.contains("TEST"), "{issuer}");
        let serial = if cit.spec.idces_prefix {
            format!("IDCES-{}", cit.spec.number)
        } else {
            cit.spec.number.to_string()
        };
        assert!(subject.contains(&serial));
        assert!(crate::identity::is_valid_document_number(cit.spec.number));
    }
    assert!(pki().citizens.iter().any(|c| c.spec.idces_prefix));
    assert!(pki().citizens.iter().any(|c| !c.spec.idces_prefix));
}
