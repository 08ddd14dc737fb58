//! What a command can fail with, its stable code, its exit status and a short message
//! in Spanish (then the endpoint's English title).

use clave_movil::api::Problem;
use clave_movil::client::ClientError;
use clave_movil::net::NetError;
use serde_json::{Value, json};

/// Exit status: the endpoint refused (problem+json).
pub const EXIT_REFUSED: u8 = 1;
/// Exit status: bad command line (clap's own).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: the endpoint could not be reached or answered something unexpected.
pub const EXIT_NETWORK: u8 = 3;
/// Exit status: a local problem (not activated, state directory, QR image, QR payload).
pub const EXIT_LOCAL: u8 = 4;

/// The app's own error codes (the endpoint's are `CM-…`), with their meaning.
pub const APP_CODES: &[(&str, &str)] = &[
    ("APP-001", "this device is not activated (activate first)"),
    (
        "APP-002",
        "no SMS activation in progress (run activate first)",
    ),
    ("APP-003", "the state directory cannot be read or written"),
    (
        "APP-004",
        "the device key file is readable by others (chmod 600)",
    ),
    ("APP-005", "the image cannot be read (PNG expected)"),
    ("APP-006", "no QR code found in the image"),
    ("APP-007", "QR payload not recognised"),
    (
        "APP-008",
        "wrong kind of QR (activation QR to scan, or request QR to activate)",
    ),
    (
        "APP-009",
        "the QR names another endpoint than the one this device is activated on",
    ),
    (
        "APP-010",
        "plain HTTP is only allowed to a loopback address",
    ),
    ("APP-011", "invalid input"),
    ("APP-012", "the endpoint cannot be reached"),
    ("APP-013", "the endpoint's answer was not understood"),
];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The endpoint answered with a problem.
    #[error("{} ({})", .0.code, .0.title)]
    Refused(Box<Problem>),
    #[error("this device is not activated")]
    NotActivated,
    #[error("no SMS activation in progress")]
    NoActivation,
    #[error("state directory: {0}")]
    State(String),
    #[error("the device key file {0} is readable by others")]
    KeyPermissions(String),
    #[error("image: {0}")]
    Image(String),
    #[error("no QR code in the image")]
    NoQrInImage,
    #[error("QR payload not recognised")]
    QrNotRecognised,
    #[error("this is an activation QR, not a request")]
    ActivationQrScanned,
    #[error("this is a request QR, not an activation QR")]
    RequestQrForActivation,
    #[error("the QR names another endpoint")]
    QrOtherEndpoint,
    #[error("plain HTTP is only allowed to a loopback address")]
    PlainHttpOffLoopback,
    #[error("invalid input: {0}")]
    Input(String),
    /// `reason`: a short phrase for people; `detail`: the transport's own words.
    #[error("cannot reach the endpoint: {reason}")]
    Network {
        reason: &'static str,
        detail: String,
    },
    #[error("answer not understood: {0}")]
    Answer(String),
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> AppError {
        match e {
            ClientError::Problem(p) => AppError::Refused(p),
            ClientError::Net(n) => {
                let detail = n.to_string();
                let reason = match &n {
                    NetError::Timeout => "timed out",
                    NetError::Request(_) => "bad address",
                    _ if detail.contains("InvalidCertificate") => {
                        "the server's TLS key is not the pinned one"
                    }
                    _ if detail.contains("ConnectionRefused") => "connection refused",
                    _ => "connection failed",
                };
                AppError::Network { reason, detail }
            }
            ClientError::NotActivated => AppError::NotActivated,
            ClientError::Key(_) => AppError::State("the device key cannot be read".into()),
            ClientError::Unexpected { status, .. } => {
                AppError::Answer(format!("unexpected HTTP {status}"))
            }
            other => AppError::Answer(other.to_string()),
        }
    }
}

impl AppError {
    /// The stable code: the endpoint's `CM-…` or the app's `APP-0xx`.
    pub fn code(&self) -> &str {
        match self {
            AppError::Refused(p) => &p.code,
            AppError::NotActivated => "APP-001",
            AppError::NoActivation => "APP-002",
            AppError::State(_) => "APP-003",
            AppError::KeyPermissions(_) => "APP-004",
            AppError::Image(_) => "APP-005",
            AppError::NoQrInImage => "APP-006",
            AppError::QrNotRecognised => "APP-007",
            AppError::ActivationQrScanned | AppError::RequestQrForActivation => "APP-008",
            AppError::QrOtherEndpoint => "APP-009",
            AppError::PlainHttpOffLoopback => "APP-010",
            AppError::Input(_) => "APP-011",
            AppError::Network { .. } => "APP-012",
            AppError::Answer(_) => "APP-013",
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Refused(_) => EXIT_REFUSED,
            AppError::Network { .. } | AppError::Answer(_) => EXIT_NETWORK,
            _ => EXIT_LOCAL,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            AppError::Refused(p) => Some(p),
            _ => None,
        }
    }

    /// One or two lines for a person: Spanish first, then the English title.
    pub fn human(&self) -> String {
        let spanish = match self {
            AppError::Refused(p) => spanish_for(p),
            AppError::NotActivated => "Este dispositivo no está activado: use `clave-app activate`.".into(),
            AppError::NoActivation => {
                "No hay ninguna activación por SMS en curso: empiece con `clave-app activate --document …`.".into()
            }
            AppError::State(d) => format!("No se puede usar el directorio de estado ({d})."),
            AppError::KeyPermissions(path) => format!(
                "El fichero de la clave del dispositivo ({path}) es legible por otros usuarios: `chmod 600` o active de nuevo."
            ),
            AppError::Image(d) => format!("No se puede leer la imagen ({d}); se espera un PNG."),
            AppError::NoQrInImage => "No se encuentra ningún código QR en la imagen.".into(),
            AppError::QrNotRecognised => "QR no reconocido: no es un código de Cl@ve Móvil.".into(),
            AppError::ActivationQrScanned => {
                "Es un QR de activación: use `clave-app activate --qr …`.".into()
            }
            AppError::RequestQrForActivation => {
                "Es un QR de solicitud de autenticación: use `clave-app scan …`.".into()
            }
            AppError::QrOtherEndpoint => {
                "Este QR es de otro servidor distinto del que activó este dispositivo: no se envía nada.".into()
            }
            AppError::PlainHttpOffLoopback => {
                "Sin TLS solo se permite la dirección local (127.0.0.1, localhost): use https:// y --pin.".into()
            }
            AppError::Input(d) => format!("Dato no válido: {d}."),
            AppError::Network { reason, .. } => match *reason {
                "the server's TLS key is not the pinned one" => {
                    "La clave TLS del servidor no es la fijada (--pin o QR): no se envía nada.".into()
                }
                "connection refused" => "El servidor rechaza la conexión: ¿está en marcha?".into(),
                "timed out" => "El servidor no responde.".into(),
                _ => "No se puede conectar con el servidor.".into(),
            },
            AppError::Answer(d) => format!("Respuesta del servidor no comprendida ({d})."),
        };
        let english = match self {
            AppError::Refused(p) => p.title.clone(),
            other => other.to_string(),
        };
        format!("Error {}: {spanish} [{english}]", self.code())
    }

    /// `{"error": {...}}` for `--json`.
    pub fn json(&self) -> Value {
        let mut error = match self {
            AppError::Refused(p) => serde_json::to_value(p).unwrap_or_else(|_| json!({})),
            AppError::Network { detail, .. } => {
                json!({ "title": self.to_string(), "detail": detail })
            }
            other => json!({ "title": other.to_string() }),
        };
        if let Value::Object(map) = &mut error {
            map.insert("code".into(), Value::String(self.code().to_owned()));
            map.insert("exit".into(), Value::from(self.exit_code()));
        }
        json!({ "error": error })
    }
}

fn spanish_for(p: &Problem) -> String {
    let status = p
        .request_status
        .map(|s| format!(" ({})", crate::render::status_es(s)))
        .unwrap_or_default();
    let tries = p
        .tries_left
        .map(|n| format!(" Quedan {n} intentos."))
        .unwrap_or_default();
    let wait = p
        .retry_after
        .map(|s| format!(" Espere {s} s."))
        .unwrap_or_default();
    let text = match p.code.as_str() {
        "CM-002" => "Dato no válido.",
        "CM-009" => "Demasiados intentos.",
        "CM-012" => "DNI/NIE o dato de contraste con formato incorrecto.",
        "CM-AUTH-003" | "CM-AUTH-004" => {
            "Firma del dispositivo no válida o dispositivo desconocido."
        }
        "CM-AUTH-005" => "La hora de este dispositivo no coincide con la del servidor.",
        "CM-AUTH-006" => "Petición repetida.",
        "CM-AUTH-007" => {
            "Este dispositivo ya no está activo (sesión cerrada, sustituido por otro o bloqueado): actívelo de nuevo."
        }
        "CM-REQ-001" => "No existe esa solicitud (o no es suya).",
        "CM-REQ-002" => "La solicitud ya no está pendiente",
        "CM-REQ-004" => "El código elegido no es el de la pantalla: la solicitud se ha rechazado.",
        "CM-REQ-005" => "No es posible con este tipo de solicitud.",
        "CM-REQ-006" => {
            "Elija el código que ve en la pantalla entre los tres: `clave-app confirm ID --code NNN`."
        }
        "CM-QR-001" => "QR no reconocido.",
        "CM-QR-002" => "El QR ha caducado: escanee el que se ve ahora en la pantalla.",
        "CM-QR-003" => "Ese QR ya se ha usado.",
        "CM-QR-004" => "QR no válido.",
        "CM-ACT-001" => "La activación no existe o ha caducado.",
        "CM-ACT-002" => "Código incorrecto.",
        "CM-ACT-003" => "No quedan intentos: empiece de nuevo la activación.",
        "CM-ACT-004" => "Clave pública no válida.",
        "CM-ACT-005" => "El QR de activación ya se ha usado o ha caducado.",
        _ => "El servidor ha rechazado la petición.",
    };
    let mut out = format!("{text}{status}");
    if p.code == "CM-REQ-002" {
        out.push('.');
    }
    out.push_str(&tries);
    out.push_str(&wait);
    out
}
