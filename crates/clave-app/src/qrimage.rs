//! Reading a QR code from a PNG (a photo or a screenshot of the counter screen) with
//! `rqrr`, a maintained pure-Rust decoder independent of the encoder the endpoint uses.

use std::path::Path;

use crate::error::AppError;

/// Images larger than this (pixels) are refused rather than decoded slowly.
const MAX_PIXELS: u64 = 40_000_000;

/// The payloads of every QR code in the image: Cl@ve Móvil payloads first.
pub fn decode_all(png: &[u8]) -> Result<Vec<String>, AppError> {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .map_err(|e| AppError::Image(e.to_string()))?;
    if u64::from(img.width()) * u64::from(img.height()) > MAX_PIXELS {
        return Err(AppError::Image("image too large".into()));
    }
    let mut luma = img.to_luma8();
    let mut found = decode_luma(luma.clone());
    if found.is_empty() {
        // Dark mode: light modules on a dark background.
        image::imageops::invert(&mut luma);
        found = decode_luma(luma);
    }
    found.sort_by_key(|p| !p.starts_with("clave-movil:"));
    Ok(found)
}

fn decode_luma(luma: image::GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    prepared
        .detect_grids()
        .iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, content)| content))
        .collect()
}

/// The one payload to use from an image file.
pub fn decode_file(path: &Path) -> Result<String, AppError> {
    let bytes =
        std::fs::read(path).map_err(|e| AppError::Image(format!("{}: {e}", path.display())))?;
    decode_all(&bytes)?
        .into_iter()
        .next()
        .ok_or(AppError::NoQrInImage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(img: &image::GrayImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_light_and_dark_mode_codes() {
        let payload = "clave-movil:a?u=https%3A%2F%2F10.0.0.5%3A8443&t=AAAAAAAAAAAAAAAAAAAAAA&p=x";
        let light = clave_movil::domain::qr::render_png(payload, 4).unwrap();
        assert_eq!(decode_all(&light).unwrap(), [payload]);
        let mut dark = image::load_from_memory(&light).unwrap().to_luma8();
        image::imageops::invert(&mut dark);
        assert_eq!(decode_all(&png(&dark)).unwrap(), [payload]);
        let blank = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
        assert!(decode_all(&png(&blank)).unwrap().is_empty());
        assert_eq!(decode_all(b"GIF89a").unwrap_err().code(), "APP-005");
    }
}
