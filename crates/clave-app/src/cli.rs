//! The command line (clap derive).

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use clave_movil::api::HistoryOrder;
use clave_movil::domain::{RequestStatus, RequestType};

/// La app Cl@ve de referencia: activa este "teléfono", escanea QR y confirma
/// autenticaciones contra el servidor Cl@ve Móvil de la oficina.
///
/// The reference Cl@ve app: activate this "phone", scan QR codes and confirm
/// authentications against the office's Cl@ve Móvil endpoint.
#[derive(Debug, Parser)]
#[command(name = "clave-app", version, max_term_width = 100)]
pub struct Cli {
    /// Directorio de estado (clave del dispositivo y datos recordados) · state directory
    /// [default: $XDG_DATA_HOME/clave-app or ~/.local/share/clave-app]
    #[arg(
        long,
        global = true,
        env = "CLAVE_APP_STATE",
        value_name = "DIR",
        help_heading = "Opciones globales · Global options"
    )]
    pub state: Option<PathBuf>,

    /// Salida JSON para máquinas · machine-readable JSON output
    #[arg(
        long,
        global = true,
        help_heading = "Opciones globales · Global options"
    )]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Activar el dispositivo: con DNI/NIE + dato de contraste (llega un SMS) o con el QR
    /// de activación de la ventanilla · activate by SMS code or with the counter's QR
    Activate(ActivateArgs),

    /// Terminar la activación por SMS con el código de 6 cifras · finish SMS activation
    ActivateConfirm {
        /// El código del SMS (si se omite, se lee de la entrada estándar) · the SMS code
        /// (read from stdin when omitted)
        #[arg(long, value_name = "6DIGITS")]
        code: Option<String>,
    },

    /// Escanear el QR de una solicitud (texto o imagen PNG) · scan a request QR
    Scan(ScanArgs),

    /// Ver una solicitud: organismo, código, tipo, tiempo restante · show a request
    Show { id: String },

    /// Confirmar una solicitud · confirm a request
    Confirm {
        id: String,
        /// Sin QR: el código que se ve en la pantalla, entre los tres ofrecidos · no-QR:
        /// the code shown on the screen, one of the three choices
        #[arg(long, value_name = "NNN")]
        code: Option<String>,
    },

    /// Rechazar una solicitud · reject a request
    Reject { id: String },

    /// "No he sido yo": rechaza, bloquea el dispositivo y avisa a la oficina · "this
    /// wasn't me": rejects, blocks this device and alerts the office
    NotMe { id: String },

    /// Solicitudes pendientes; con --wait espera a que llegue una · pending requests
    Pending {
        /// Segundos de espera (long-poll) · seconds to wait for one
        #[arg(long, default_value_t = 0, value_name = "SECS",
              value_parser = clap::value_parser!(u64).range(0..=3600))]
        wait: u64,
    },

    /// "Mis solicitudes": filtros, orden y páginas · "My requests"
    Requests(RequestsArgs),

    /// Qué recuerda la app: servidor, dispositivo, documento (enmascarado) · what the
    /// app remembers
    Status,

    /// Cerrar sesión: desactiva el dispositivo y borra su clave · sign out
    SignOut {
        /// Borrar la clave aunque el servidor no responda · forget the key even when the
        /// endpoint cannot be reached
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("how").required(true).args(["document", "qr", "qr_image"])
))]
pub struct ActivateArgs {
    /// Dirección del servidor (https://… o http:// local) · endpoint address
    #[arg(long, value_name = "URL", conflicts_with_all = ["qr", "qr_image"])]
    pub endpoint: Option<String>,

    /// SHA-256 de la clave TLS del servidor (base64url) · TLS SPKI SHA-256 pin
    // base64url may start with '-' (1 pin in 64): it is a value, not an option.
    #[arg(long, value_name = "SHA256", allow_hyphen_values = true, conflicts_with_all = ["qr", "qr_image"])]
    pub pin: Option<String>,

    /// DNI o NIE
    #[arg(long, value_name = "DNI", requires = "contrast")]
    pub document: Option<String>,

    /// Fecha de caducidad (DNI), de expedición (DNI permanente) o número de soporte (NIE)
    /// · contrast datum
    #[arg(long, value_name = "VALUE", requires = "document")]
    pub contrast: Option<String>,

    /// El contenido del QR de activación · the activation QR's payload
    #[arg(long, value_name = "PAYLOAD")]
    pub qr: Option<String>,

    /// Una imagen PNG con el QR de activación · a PNG with the activation QR
    #[arg(long, value_name = "FILE.png")]
    pub qr_image: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["payload", "image"])))]
pub struct ScanArgs {
    /// El contenido del QR (`clave-movil:r?…`) · the QR payload
    pub payload: Option<String>,

    /// Una imagen PNG (foto o captura de pantalla) con el QR · a PNG with the QR
    #[arg(long, value_name = "FILE.png")]
    pub image: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RequestsArgs {
    /// Estado · status
    #[arg(long)]
    pub status: Option<StatusArg>,

    /// Tipo · type
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<TypeArg>,

    /// Parte del nombre del organismo · part of the requesting body's name
    #[arg(long, value_name = "TEXT")]
    pub body: Option<String>,

    /// Desde el día (AAAA-MM-DD o DD/MM/AAAA) · from this day (UTC)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: Option<NaiveDate>,

    /// Hasta el día, incluido · to this day, inclusive
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub to: Option<NaiveDate>,

    /// Orden · ordering
    #[arg(long, value_name = "ORDER")]
    pub order: Option<OrderArg>,

    /// Página (desde 1) · page, from 1
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub page: Option<u32>,

    /// Por página (1–100, 20 por defecto) · per page
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub per_page: Option<u32>,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .map_err(|_| "expected YYYY-MM-DD or DD/MM/YYYY".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    #[value(alias = "pendiente")]
    Pending,
    #[value(alias = "confirmada")]
    Confirmed,
    #[value(alias = "rechazada")]
    Rejected,
    #[value(alias = "caducada")]
    Expired,
    #[value(alias = "cancelada")]
    Cancelled,
}

impl From<StatusArg> for RequestStatus {
    fn from(s: StatusArg) -> RequestStatus {
        match s {
            StatusArg::Pending => RequestStatus::Pending,
            StatusArg::Confirmed => RequestStatus::Confirmed,
            StatusArg::Rejected => RequestStatus::Rejected,
            StatusArg::Expired => RequestStatus::Expired,
            StatusArg::Cancelled => RequestStatus::Cancelled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    #[value(alias = "con-qr")]
    Qr,
    #[value(name = "no_qr", alias = "no-qr", alias = "sin-qr")]
    NoQr,
    Sms,
}

impl From<TypeArg> for RequestType {
    fn from(t: TypeArg) -> RequestType {
        match t {
            TypeArg::Qr => RequestType::Qr,
            TypeArg::NoQr => RequestType::NoQr,
            TypeArg::Sms => RequestType::Sms,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    #[value(alias = "recientes")]
    Newest,
    #[value(alias = "antiguas")]
    Oldest,
    #[value(alias = "organismo")]
    Body,
}

impl From<OrderArg> for HistoryOrder {
    fn from(o: OrderArg) -> HistoryOrder {
        match o {
            OrderArg::Newest => HistoryOrder::Newest,
            OrderArg::Oldest => HistoryOrder::Oldest,
            OrderArg::Body => HistoryOrder::Body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_that_starts_with_a_dash_is_a_value() {
        let cli = Cli::try_parse_from([
            "clave-app",
            "activate",
            "--endpoint",
            "https://127.0.0.1:8443",
            "--pin",
            "-xpMxZeXLaVTkt7bhB0os1xZ4226bYBQkuCvXoivFKw",
            "--document",
            "00000000T",
            "--contrast",
            "2031-06-30",
        ])
        .unwrap();
        let Command::Activate(args) = cli.command else {
            panic!("not activate");
        };
        assert_eq!(
            args.pin.as_deref(),
            Some("-xpMxZeXLaVTkt7bhB0os1xZ4226bYBQkuCvXoivFKw")
        );
    }
}
