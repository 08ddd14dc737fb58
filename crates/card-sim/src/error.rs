//! Errors of the card simulator (not of the card: the card answers status words).

/// What can go wrong building, loading or connecting a virtual card.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// I/O (files, the vpcd socket).
    #[error("CS0001 I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The TEST PKI is missing a file or a file does not parse/verify.
    #[error("CS0002 test PKI: {0}")]
    Pki(String),
    /// The identities file is invalid.
    #[error("CS0003 identity: {0}")]
    Identity(String),
    /// DER encoding/decoding.
    #[error("CS0004 DER: {0}")]
    Der(#[from] der::Error),
    /// Certificate building.
    #[error("CS0005 X.509 builder: {0}")]
    Builder(#[from] x509_cert::builder::Error),
    /// RSA.
    #[error("CS0006 RSA: {0}")]
    Rsa(#[from] rsa::Error),
}

impl Error {
    /// Stable code of the variant.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io(_) => "CS0001",
            Error::Pki(_) => "CS0002",
            Error::Identity(_) => "CS0003",
            Error::Der(_) => "CS0004",
            Error::Builder(_) => "CS0005",
            Error::Rsa(_) => "CS0006",
        }
    }
}

impl From<der::oid::Error> for Error {
    fn from(e: der::oid::Error) -> Self {
        Error::Pki(format!("OID: {e}"))
    }
}
