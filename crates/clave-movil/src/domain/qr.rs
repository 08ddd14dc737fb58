//! QR payloads and their rendering.
//!
//! A **request QR** carries the endpoint address, the request's single-use token
//! (128 random bits), the seconds elapsed since the request was created, an
//! HMAC-SHA256 of those seconds under a per-request secret that never leaves the
//! server, and the SHA-256 pin of the endpoint's TLS public key (SPKI), so the
//! phone talks to this endpoint and no other. The frame changes every second
//! (as Swedish BankID's animated QR does): a photographed or relayed code is
//! stale within a second or two and is refused.
//!
//! ```text
//! clave-movil:r?u=https%3A%2F%2F192.168.1.20%3A8443&t=<token b64url>&s=<secs>&h=<hmac hex>&p=<pin b64url>
//! clave-movil:a?u=https%3A%2F%2F192.168.1.20%3A8443&t=<token b64url>&p=<pin b64url>
//! ```
//! The second form is the counter's single-use, 5-minute **activation QR**.

use image::{GrayImage, ImageEncoder, Luma};
use qrcode::{Color, EcLevel, QrCode};

use crate::error::ClaveError;
use crate::util::{b64, hmac_plain, unb64};

pub const REQUEST_PREFIX: &str = "clave-movil:r?";
pub const ACTIVATION_PREFIX: &str = "clave-movil:a?";

/// A decoded QR payload.
#[derive(Clone, PartialEq, Eq)]
pub enum QrPayload {
    Request {
        endpoint: String,
        token: Vec<u8>,
        elapsed: u64,
        hmac: [u8; 32],
        pin: String,
    },
    Activation {
        endpoint: String,
        token: Vec<u8>,
        pin: String,
    },
}

impl std::fmt::Debug for QrPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QrPayload::Request { elapsed, .. } => {
                write!(f, "QrPayload::Request {{ elapsed: {elapsed}, .. }}")
            }
            QrPayload::Activation { .. } => f.write_str("QrPayload::Activation { .. }"),
        }
    }
}

/// The frame HMAC: `HMAC-SHA256(secret, decimal seconds)`.
pub fn frame_hmac(secret: &[u8], elapsed: u64) -> [u8; 32] {
    hmac_plain(secret, elapsed.to_string().as_bytes())
}

impl QrPayload {
    /// The request frame for second `elapsed`.
    pub fn request_frame(
        endpoint: &str,
        token: &[u8],
        secret: &[u8],
        elapsed: u64,
        pin: &str,
    ) -> QrPayload {
        QrPayload::Request {
            endpoint: endpoint.to_owned(),
            token: token.to_vec(),
            elapsed,
            hmac: frame_hmac(secret, elapsed),
            pin: pin.to_owned(),
        }
    }

    pub fn encode(&self) -> String {
        let pairs: Vec<(&str, String)> = match self {
            QrPayload::Request {
                endpoint,
                token,
                elapsed,
                hmac,
                pin,
            } => vec![
                ("u", endpoint.clone()),
                ("t", b64(token)),
                ("s", elapsed.to_string()),
                ("h", hex::encode(hmac)),
                ("p", pin.clone()),
            ],
            QrPayload::Activation {
                endpoint,
                token,
                pin,
            } => vec![
                ("u", endpoint.clone()),
                ("t", b64(token)),
                ("p", pin.clone()),
            ],
        };
        let prefix = match self {
            QrPayload::Request { .. } => REQUEST_PREFIX,
            QrPayload::Activation { .. } => ACTIVATION_PREFIX,
        };
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{prefix}{query}")
    }

    /// Parses a scanned payload. Anything unexpected is [`ClaveError::QrMalformed`].
    pub fn parse(text: &str) -> Result<QrPayload, ClaveError> {
        let text = text.trim();
        let (activation, query) = if let Some(q) = text.strip_prefix(REQUEST_PREFIX) {
            (false, q)
        } else if let Some(q) = text.strip_prefix(ACTIVATION_PREFIX) {
            (true, q)
        } else {
            return Err(ClaveError::QrMalformed);
        };
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| ClaveError::QrMalformed)?;
        let get = |k: &str| -> Result<&str, ClaveError> {
            let mut found = pairs.iter().filter(|(key, _)| key == k);
            match (found.next(), found.next()) {
                (Some((_, v)), None) => Ok(v.as_str()),
                _ => Err(ClaveError::QrMalformed),
            }
        };
        let expected = if activation { 3 } else { 5 };
        if pairs.len() != expected {
            return Err(ClaveError::QrMalformed);
        }
        let endpoint = get("u")?.to_owned();
        let token = unb64(get("t")?).ok_or(ClaveError::QrMalformed)?;
        if !(16..=64).contains(&token.len()) {
            return Err(ClaveError::QrMalformed);
        }
        let pin = get("p")?.to_owned();
        if pin.len() > 64 || endpoint.len() > 200 {
            return Err(ClaveError::QrMalformed);
        }
        if activation {
            return Ok(QrPayload::Activation {
                endpoint,
                token,
                pin,
            });
        }
        let s = get("s")?;
        if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ClaveError::QrMalformed);
        }
        let elapsed: u64 = s.parse().map_err(|_| ClaveError::QrMalformed)?;
        let mut hmac = [0u8; 32];
        hex::decode_to_slice(get("h")?, &mut hmac).map_err(|_| ClaveError::QrMalformed)?;
        Ok(QrPayload::Request {
            endpoint,
            token,
            elapsed,
            hmac,
            pin,
        })
    }

    pub fn token(&self) -> &[u8] {
        match self {
            QrPayload::Request { token, .. } | QrPayload::Activation { token, .. } => token,
        }
    }

    pub fn endpoint(&self) -> &str {
        match self {
            QrPayload::Request { endpoint, .. } | QrPayload::Activation { endpoint, .. } => {
                endpoint
            }
        }
    }

    pub fn pin(&self) -> &str {
        match self {
            QrPayload::Request { pin, .. } | QrPayload::Activation { pin, .. } => pin,
        }
    }
}

fn code_for(payload: &str) -> Result<QrCode, ClaveError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|_| ClaveError::Internal)
}

/// The payload as an SVG image (black modules on white, 4-module quiet zone).
pub fn render_svg(payload: &str) -> Result<String, ClaveError> {
    let code = code_for(payload)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// The payload as a PNG, `scale` pixels per module, with a 4-module quiet zone.
pub fn render_png(payload: &str, scale: u32) -> Result<Vec<u8>, ClaveError> {
    let code = code_for(payload)?;
    let modules = u32::try_from(code.width()).map_err(|_| ClaveError::Internal)?;
    let colors = code.to_colors();
    let scale = scale.clamp(1, 32);
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let mut img = GrayImage::from_pixel(side, side, Luma([255u8]));
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let i = i as u32;
        let (mx, my) = (i % modules + quiet, i / modules + quiet);
        for dy in 0..scale {
            for dx in 0..scale {
                img.put_pixel(mx * scale + dx, my * scale + dy, Luma([0u8]));
            }
        }
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), side, side, image::ExtendedColorType::L8)
        .map_err(|_| ClaveError::Internal)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_payload_round_trips() {
        let p = QrPayload::request_frame(
            "https://10.0.0.5:8443",
            &[7u8; 16],
            &[1u8; 32],
            42,
            "pinpin",
        );
        let text = p.encode();
        assert!(text.starts_with(REQUEST_PREFIX));
        assert!(text.contains("u=https%3A%2F%2F10.0.0.5%3A8443"));
        assert_eq!(QrPayload::parse(&text).unwrap(), p);
        // The frame changes every second.
        let next = QrPayload::request_frame(
            "https://10.0.0.5:8443",
            &[7u8; 16],
            &[1u8; 32],
            43,
            "pinpin",
        );
        assert_ne!(next.encode(), text);
        assert_eq!(format!("{p:?}"), "QrPayload::Request { elapsed: 42, .. }");
    }

    #[test]
    fn activation_payload_round_trips() {
        let p = QrPayload::Activation {
            endpoint: "https://h:1".into(),
            token: vec![9u8; 16],
            pin: "x".into(),
        };
        assert_eq!(QrPayload::parse(&p.encode()).unwrap(), p);
    }

    #[test]
    fn garbage_is_malformed() {
        for bad in [
            "",
            "hello",
            "clave-movil:r?",
            "clave-movil:r?u=a&t=AAAAAAAAAAAAAAAAAAAAAA&s=1&h=00&p=x",
            "clave-movil:a?u=a&t=short&p=x",
            "clave-movil:a?u=a&t=AAAAAAAAAAAAAAAAAAAAAA&p=x&p=y",
            "clave-movil:r?u=a&t=AAAAAAAAAAAAAAAAAAAAAA&s=-1&h=00&p=x",
        ] {
            assert_eq!(QrPayload::parse(bad), Err(ClaveError::QrMalformed), "{bad}");
        }
    }

    #[test]
    fn renders_decodable_images() {
        let p = QrPayload::request_frame("https://10.0.0.5:8443", &[7u8; 16], &[1u8; 32], 3, "abc")
            .encode();
        let png = render_png(&p, 4).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, p);
        let svg = render_svg(&p).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    }
}
