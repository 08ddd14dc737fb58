//! X.509 certificates of the TEST PKI: names, component certificates (sha1WithRSA, as the real
//! chip chain) and citizen certificates (sha256WithRSA) shaped like the DNIe specimen
//! (DNIE.md §5).

use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use der::asn1::{Any, SetOfVec};
use der::oid::{AssociatedOid, ObjectIdentifier};
use der::{Decode, Encode, Tag};
use rsa::pkcs1v15::SigningKey;
use rsa::{RsaPrivateKey, RsaPublicKey};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::{
    BasicConstraints, CertificatePolicies, KeyUsage, KeyUsages, certpolicy::PolicyInformation,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::Error;

/// countryName.
pub const OID_C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// serialNumber.
pub const OID_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// surname.
pub const OID_SN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");
/// givenName.
pub const OID_GN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
/// commonName.
pub const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// organizationName.
pub const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// organizationalUnitName.
pub const OID_OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// Certificate policy of the DNIe authentication certificate.
pub const POLICY_AUTH: &str = "2.16.724.1.2.2.2.4";
/// Certificate policy of the DNIe signature certificate.
pub const POLICY_SIGN: &str = "2.16.724.1.2.2.2.3";

/// One attribute of a distinguished name: OID, string tag, value.
pub type NamePart<'a> = (ObjectIdentifier, Tag, &'a str);

/// Builds a distinguished name, one attribute per RDN, in order.
pub fn name(parts: &[NamePart<'_>]) -> Result<Name, Error> {
    let mut rdns = Vec::with_capacity(parts.len());
    for (oid, tag, value) in parts {
        let atv = AttributeTypeAndValue {
            oid: *oid,
            value: Any::new(*tag, value.as_bytes())?,
        };
        rdns.push(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?));
    }
    Ok(RdnSequence(rdns))
}

/// Midday UTC of `date` as an X.509 time (UTCTime before 2050, else GeneralizedTime).
pub fn time(date: NaiveDate) -> Result<Time, Error> {
    let dt = der::DateTime::new(
        u16::try_from(date.year()).map_err(|_| Error::Pki("year out of range".into()))?,
        date.month() as u8,
        date.day() as u8,
        12,
        0,
        0,
    )?;
    if date.year() < 2050 {
        Ok(Time::UtcTime(der::asn1::UtcTime::from_date_time(dt)?))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_date_time(dt),
        ))
    }
}

/// A positive serial number from random bytes.
pub fn serial(mut bytes: [u8; 16]) -> Result<SerialNumber, Error> {
    bytes[0] = (bytes[0] & 0x7F) | 0x01;
    Ok(SerialNumber::new(&bytes)?)
}

fn spki(key: &RsaPublicKey) -> Result<SubjectPublicKeyInfoOwned, Error> {
    SubjectPublicKeyInfoOwned::from_key(key.clone()).map_err(|e| Error::Pki(e.to_string()))
}

/// What kind of component certificate to build.
#[derive(Clone, Debug)]
pub enum ComponentProfile {
    /// Self-signed root.
    Root,
    /// Intermediate CA issued by `issuer`.
    SubCa(Name),
    /// End-entity (the chip) issued by `issuer`.
    Leaf(Name),
}

/// Issues a component certificate signed with SHA-1 (sha1WithRSAEncryption), as the chip chain
/// of a real DNIe (DNIE.md §3.2 step 1).
pub fn issue_component(
    profile: ComponentProfile,
    serial_no: [u8; 16],
    validity: (NaiveDate, NaiveDate),
    subject: Name,
    subject_key: &RsaPublicKey,
    issuer_key: &RsaPrivateKey,
) -> Result<Vec<u8>, Error> {
    let signer = SigningKey::<sha1::Sha1>::new(issuer_key.clone());
    let profile = match profile {
        ComponentProfile::Root => Profile::Root,
        ComponentProfile::SubCa(issuer) => Profile::SubCA {
            issuer,
            path_len_constraint: Some(0),
        },
        ComponentProfile::Leaf(issuer) => Profile::Leaf {
            issuer,
            enable_key_agreement: false,
            enable_key_encipherment: false,
            include_subject_key_identifier: true,
        },
    };
    let builder = CertificateBuilder::new(
        profile,
        serial(serial_no)?,
        Validity {
            not_before: time(validity.0)?,
            not_after: time(validity.1)?,
        },
        subject,
        spki(subject_key)?,
        &signer,
    )?;
    let cert = builder.build::<rsa::pkcs1v15::Signature>()?;
    Ok(cert.to_der()?)
}

/// Issues a self-signed CA certificate with SHA-256 (the citizen CA of the test PKI).
pub fn issue_citizen_ca(
    serial_no: [u8; 16],
    validity: (NaiveDate, NaiveDate),
    subject: Name,
    key: &RsaPrivateKey,
) -> Result<Vec<u8>, Error> {
    let signer = SigningKey::<sha2::Sha256>::new(key.clone());
    let builder = CertificateBuilder::new(
        Profile::Root,
        serial(serial_no)?,
        Validity {
            not_before: time(validity.0)?,
            not_after: time(validity.1)?,
        },
        subject,
        spki(&key.to_public_key())?,
        &signer,
    )?;
    Ok(builder.build::<rsa::pkcs1v15::Signature>()?.to_der()?)
}

/// Which citizen certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CitizenCertKind {
    /// Authentication certificate (key `3F11/0101`, EF `6061/7001`), CN ends "(AUTENTICACIÓN)".
    Auth,
    /// Signature certificate (key `3F11/0102`, EF `6061/7002`), CN ends "(FIRMA)".
    Sign,
}

/// The person a citizen certificate names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSubject {
    /// Given name(s), e.g. "FICTICIO".
    pub given_name: String,
    /// First surname.
    pub first_surname: String,
    /// Second surname (may be empty).
    pub second_surname: String,
    /// serialNumber attribute as it goes in the certificate ("99999018D" or "IDCES-99999018D").
    pub serial_number: String,
    /// Date of birth (SubjectDirectoryAttributes).
    pub birth_date: NaiveDate,
}

impl CertSubject {
    /// "FIRST SECOND" (or "FIRST").
    pub fn surnames(&self) -> String {
        if self.second_surname.is_empty() {
            self.first_surname.clone()
        } else {
            format!("{} {}", self.first_surname, self.second_surname)
        }
    }

    /// The subject DN: C, serialNumber, SN, GN, CN as in the specimen.
    pub fn name(&self, kind: CitizenCertKind) -> Result<Name, Error> {
        let suffix = match kind {
            CitizenCertKind::Auth => "AUTENTICACIÓN",
            CitizenCertKind::Sign => "FIRMA",
        };
        let cn = format!("{}, {} ({suffix})", self.surnames(), self.given_name);
        let surnames = self.surnames();
        name(&[
            (OID_C, Tag::PrintableString, "ES"),
            (OID_SERIAL_NUMBER, Tag::PrintableString, &self.serial_number),
            (OID_SN, Tag::Utf8String, &surnames),
            (OID_GN, Tag::Utf8String, &self.given_name),
            (OID_CN, Tag::Utf8String, &cn),
        ])
    }
}

/// SubjectDirectoryAttributes carrying dateOfBirth (RFC 3739), DER written by hand because
/// x509-cert 0.2 models the extension without the SET OF values.
struct DateOfBirth(Vec<u8>);

impl AssociatedOid for DateOfBirth {
    const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.9");
}

impl Encode for DateOfBirth {
    fn encoded_len(&self) -> der::Result<der::Length> {
        der::Length::try_from(self.0.len())
    }

    fn encode(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        writer.write(&self.0)
    }
}

impl x509_cert::ext::AsExtension for DateOfBirth {
    fn critical(&self, _: &Name, _: &[x509_cert::ext::Extension]) -> bool {
        false
    }
}

fn date_of_birth_ext(date: NaiveDate) -> DateOfBirth {
    use crate::tlv::t;
    let gt = format!("{}120000Z", date.format("%Y%m%d"));
    let oid = [0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x09, 0x01];
    let attr = t(
        0x30,
        &[t(0x06, &oid), t(0x31, &t(0x18, gt.as_bytes()))].concat(),
    );
    DateOfBirth(t(0x30, &attr))
}

/// Issues a citizen certificate (SHA-256) under the test citizen CA.
#[allow(clippy::too_many_arguments)]
pub fn issue_citizen(
    kind: CitizenCertKind,
    subject: &CertSubject,
    subject_key: &RsaPublicKey,
    serial_no: [u8; 16],
    validity: (NaiveDate, NaiveDate),
    ca_cert_der: &[u8],
    ca_key: &RsaPrivateKey,
) -> Result<Vec<u8>, Error> {
    let ca = Certificate::from_der(ca_cert_der)?;
    let signer = SigningKey::<sha2::Sha256>::new(ca_key.clone());
    let mut builder = CertificateBuilder::new(
        Profile::Manual {
            issuer: Some(ca.tbs_certificate.subject.clone()),
        },
        serial(serial_no)?,
        Validity {
            not_before: time(validity.0)?,
            not_after: time(validity.1)?,
        },
        subject.name(kind)?,
        spki(subject_key)?,
        &signer,
    )?;
    builder.add_extension(&BasicConstraints {
        ca: false,
        path_len_constraint: None,
    })?;
    let usage = match kind {
        CitizenCertKind::Auth => KeyUsages::DigitalSignature.into(),
        CitizenCertKind::Sign => KeyUsages::NonRepudiation.into(),
    };
    builder.add_extension(&KeyUsage(usage))?;
    let policy = match kind {
        CitizenCertKind::Auth => POLICY_AUTH,
        CitizenCertKind::Sign => POLICY_SIGN,
    };
    builder.add_extension(&CertificatePolicies(vec![PolicyInformation {
        policy_identifier: ObjectIdentifier::from_str(policy)?,
        policy_qualifiers: None,
    }]))?;
    builder.add_extension(&date_of_birth_ext(subject.birth_date))?;
    Ok(builder.build::<rsa::pkcs1v15::Signature>()?.to_der()?)
}

/// Subject and issuer Name DER and serial-number bytes of a certificate (for PKCS#15 CDF).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertNames {
    /// Subject Name, DER.
    pub subject: Vec<u8>,
    /// Issuer Name, DER.
    pub issuer: Vec<u8>,
    /// Serial number bytes.
    pub serial: Vec<u8>,
}

/// The [`CertNames`] of a certificate.
pub fn cert_names(cert_der: &[u8]) -> Result<CertNames, Error> {
    let cert = Certificate::from_der(cert_der)?;
    let tbs = &cert.tbs_certificate;
    Ok(CertNames {
        subject: tbs.subject.to_der()?,
        issuer: tbs.issuer.to_der()?,
        serial: tbs.serial_number.as_bytes().to_vec(),
    })
}

/// The RSA public key of a certificate.
pub fn cert_public_key(cert_der: &[u8]) -> Result<RsaPublicKey, Error> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let cert = Certificate::from_der(cert_der)?;
    let bits = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    RsaPublicKey::from_pkcs1_der(bits).map_err(|e| Error::Pki(e.to_string()))
}

/// Verifies that `cert_der` was signed by `issuer` (sha1WithRSA or sha256WithRSA).
pub fn verify_signed_by(cert_der: &[u8], issuer: &RsaPublicKey) -> Result<(), Error> {
    let cert = Certificate::from_der(cert_der)?;
    let tbs = cert.tbs_certificate.to_der()?;
    let sig = cert.signature.raw_bytes();
    let alg = cert.signature_algorithm.oid.to_string();
    let res = match alg.as_str() {
        "1.2.840.113549.1.1.5" => {
            use sha1::Digest;
            let h = sha1::Sha1::digest(&tbs);
            issuer.verify(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &h, sig)
        }
        "1.2.840.113549.1.1.11" => {
            use sha2::Digest;
            let h = sha2::Sha256::digest(&tbs);
            issuer.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &h, sig)
        }
        other => {
            return Err(Error::Pki(format!(
                "unexpected signature algorithm {other}"
            )));
        }
    };
    res.map_err(|e| Error::Pki(format!("certificate signature: {e}")))
}
