//! The office domain of Ventanilla: identifiers (DNI/NIE, IDESP, NIE support number,
//! phone, email, DIR3, names), Cl@ve levels, the alta state machine, clerk accounts, audit
//! vocabulary, `Clock`/`Random`, secrets and error codes. No Tauri, SQL, HTTP or readers.
//!
//! # Personal data
//! Types holding personal data mask themselves in `Display` and `Debug` (`****5678Z`,
//! `*******789`, `j***@example.com`, `J*** G*** L***`), expose the full value through an
//! explicit method (`unmasked()`, `e164()`, `full_unmasked()`), and have no `Serialize`:
//! storage opts in with `#[serde(with = "registry::<module>::unmasked_serde")]`.
//!
//! # Error codes
//! Every error type is a `#[non_exhaustive]` thiserror enum implementing [`Coded`]:
//! `code()` is stable, `params()` gives the named values a translated message needs (they
//! may contain personal data: screen only, never logs), and `Display` is short English
//! without personal data. [`ERROR_CODES`] lists them for the UI's translation files.
//!
//! | code | type | params | meaning |
//! |---|---|---|---|
//! | `DOC-001` | [`DocumentError`] |  | document number is empty |
//! | `DOC-002` | [`DocumentError`] | character | document number contains a character that is not allowed |
//! | `DOC-003` | [`DocumentError`] | expected, actual | document number has the wrong number of digits |
//! | `DOC-004` | [`DocumentError`] | digits, expected, given | check letter does not match the digits |
//! | `DOC-005` | [`DocumentError`] |  | document number has no check letter |
//! | `DOC-006` | [`DocumentError`] | prefix | K/L/M NIF: Cl@ve registers DNI and NIE holders |
//! | `DOC-007` | [`DocumentError`] |  | company CIF: Cl@ve registers DNI and NIE holders |
//! | `DOC-008` | [`DocumentError`] |  | not a DNI or NIE shape |
//! | `CTR-001` | [`ContrastError`] |  | date is empty |
//! | `CTR-002` | [`ContrastError`] |  | date format not recognised (DD/MM/YYYY, DD-MM-YYYY, YYYY-MM-DD) |
//! | `CTR-003` | [`ContrastError`] |  | date does not exist (e.g. 31/02) |
//! | `CTR-004` | [`ContrastError`] | expiry | document expired |
//! | `CTR-005` | [`ContrastError`] | issue | issue date is in the future |
//! | `CTR-006` | [`ContrastError`] |  | permanent DNI needs its issue date |
//! | `CTR-007` | [`ContrastError`] |  | expiry date is required |
//! | `CTR-008` | [`ContrastError`] |  | NIE needs its support number |
//! | `CTR-009` | [`ContrastError`] |  | IDESP must be three letters and six digits |
//! | `CTR-010` | [`ContrastError`] |  | NIE support number must be a letter and eight digits |
//! | `CTR-011` | [`ContrastError`] | document | contrast datum does not belong to this kind of document |
//! | `CTR-012` | [`ContrastError`] |  | issue date is after the expiry date |
//! | `CTR-013` | [`ContrastError`] |  | permanent flag with an expiry date other than 01/01/9999 |
//! | `CTR-014` | [`ContrastError`] |  | only a DNI can be permanent |
//! | `PHN-001` | [`PhoneError`] |  | phone number is empty |
//! | `PHN-002` | [`PhoneError`] | character | phone number contains a character that is not allowed |
//! | `PHN-003` | [`PhoneError`] |  | not a valid phone number |
//! | `PHN-004` | [`PhoneError`] |  | Spanish landline: a mobile is required |
//! | `PHN-005` | [`PhoneError`] |  | not a mobile number |
//! | `EML-001` | [`EmailError`] |  | email is empty |
//! | `EML-002` | [`EmailError`] | max | email is too long |
//! | `EML-003` | [`EmailError`] |  | email has no @ |
//! | `EML-004` | [`EmailError`] |  | part before the @ is not valid |
//! | `EML-005` | [`EmailError`] |  | domain is not valid |
//! | `DIR-001` | [`Dir3Error`] |  | DIR3 code is empty |
//! | `DIR-002` | [`Dir3Error`] | prefix | DIR3 office code must start with O |
//! | `DIR-003` | [`Dir3Error`] | actual | DIR3 office code must be O + 8 digits |
//! | `DIR-004` | [`Dir3Error`] | character | DIR3 code contains a character that is not allowed |
//! | `NAM-001` | [`NameError`] |  | name is empty |
//! | `NAM-002` | [`NameError`] | max | name is too long |
//! | `NAM-003` | [`NameError`] | character | name contains a character that is not allowed |
//! | `NAM-004` | [`NameError`] |  | name has no letter |
//! | `VAL-001` | [`UnknownValue`] | kind, value | unknown value for an enumeration |
//! | `USR-001` | [`UsernameError`] | min | username too short |
//! | `USR-002` | [`UsernameError`] | max | username too long |
//! | `USR-003` | [`UsernameError`] | character | username contains a character that is not allowed |
//! | `PWD-001` | [`PasswordError`] | min | password too short |
//! | `PWD-002` | [`PasswordError`] |  | password is one character repeated |
//! | `PWD-003` | [`PasswordError`] |  | password equals the username |
//! | `PWD-004` | [`PasswordError`] | max | password too long |
//! | `PWH-001` | [`PasswordHashError`] |  | password hashing failed |
//! | `PWH-002` | [`PasswordHashError`] |  | stored password hash is not a valid PHC string |
//! | `PWH-003` | [`PasswordHashError`] |  | stored password hash is not argon2id |
//! | `ALT-001` | [`AltaError`] | state, event | operation not allowed in the current state |
//! | `ALT-002` | [`AltaError`] | count, fields | the form has invalid fields |
//! | `ALT-003` | [`AltaError`] | level | the citizen is already registered in Cl@ve |

pub mod alta;
pub mod audit;
pub mod clerk;
pub mod clock;
pub mod contrast;
pub mod dir3;
pub mod document_number;
pub mod email;
pub mod error;
pub mod level;
pub mod person_name;
pub mod phone_number;
pub mod secret;

pub use alta::{
    Alta, AltaData, AltaError, AltaEvent, AltaField, AltaForm, AltaState, FieldError,
    MaskedAltaView, Transition, validate_contrast,
};
pub use audit::AuditAction;
pub use clerk::{
    Argon2Params, LockoutPolicy, PasswordError, PasswordHash, PasswordHashError, PasswordPolicy,
    Permission, Role, Username, UsernameError,
};
pub use clock::{Clock, ManualClock, OsRandom, Random, SeededRandom, SystemClock};
pub use contrast::{
    ContrastData, ContrastError, ContrastInput, ContrastKind, Idesp, NieSupportNumber, parse_date,
};
pub use dir3::{Dir3Error, Dir3Office};
pub use document_number::{Dni, DocumentError, DocumentKind, DocumentNumber, Nie};
pub use email::{Email, EmailError};
pub use error::{Coded, ERROR_CODES};
pub use level::{AccountStatus, Level, UnknownValue};
pub use person_name::{NameError, NamePart, PersonName};
pub use phone_number::{PhoneError, PhoneNumber};
pub use secret::Secret;
