//! Rotating QR codes: every second a new frame; stale, forged and replayed codes are
//! refused; images decode with an independent decoder.

use clave_movil::domain::QrPayload;

use crate::common::*;

#[tokio::test]
async fn frames_rotate_and_stale_ones_are_refused() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let req = h.service.create_qr(None).await.unwrap();
    let f0 = h.service.qr_frame(&req.id).await.unwrap();
    assert_eq!(f0.elapsed, 0);
    let p0 = QrPayload::parse(&f0.payload).unwrap();
    assert_eq!(p0.endpoint(), h.running.endpoint);
    assert!(p0.token().len() >= 16, "at least 128 random bits");
    h.advance(1);
    let f1 = h.service.qr_frame(&req.id).await.unwrap();
    assert_eq!(f1.elapsed, 1);
    assert_ne!(f0.payload, f1.payload);
    assert_eq!(QrPayload::parse(&f1.payload).unwrap().token(), p0.token());

    // A photo taken 3 seconds ago is stale (tolerance 2 s for the phone to decode).
    h.advance(2);
    let e = device.scan(&f0.payload).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-QR-002"));
    // A frame from the future (or a forged second) does not verify.
    let forged = QrPayload::Request {
        endpoint: p0.endpoint().to_owned(),
        token: p0.token().to_vec(),
        elapsed: 3,
        hmac: [7u8; 32],
        pin: String::new(),
    };
    let e = device.scan(&forged.encode()).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-QR-004"));
    // An unknown token.
    let unknown = QrPayload::request_frame(&h.running.endpoint, &[1u8; 16], &[2u8; 32], 3, "");
    assert_eq!(
        device.scan(&unknown.encode()).await.unwrap_err().code(),
        Some("CM-QR-004")
    );
    assert_eq!(
        device.scan("not a qr").await.unwrap_err().code(),
        Some("CM-QR-001")
    );

    // The current frame works, once.
    let f3 = h.service.qr_frame(&req.id).await.unwrap();
    assert_eq!(f3.elapsed, 3);
    device.scan(&f3.payload).await.unwrap();
    let thief = h.activated(BEA.0).await;
    let e = thief.scan(&f3.payload).await.unwrap_err();
    assert!(
        matches!(e.code(), Some("CM-QR-003") | Some("CM-QR-004")),
        "replayed QR: {e}"
    );
    // And no more frames are drawn for a used code.
    assert_eq!(
        h.service.qr_frame(&req.id).await.unwrap_err().code(),
        Some("CM-QR-003")
    );
    // The thief cannot see or confirm it.
    assert_eq!(
        thief.confirm(&req.id, None).await.unwrap_err().code(),
        Some("CM-REQ-001")
    );
}

#[tokio::test]
async fn qr_images_decode_to_the_current_frame() {
    let h = Harness::start().await;
    let req = h.service.create_qr(None).await.unwrap();
    let (ct, png) = h.service.qr_image(&req.id, "png").await.unwrap();
    assert_eq!(ct, "image/png");
    let frame = h.service.qr_frame(&req.id).await.unwrap();
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, frame.payload);
    let (ct, svg) = h.service.qr_image(&req.id, "svg").await.unwrap();
    assert_eq!(ct, "image/svg+xml");
    assert!(std::str::from_utf8(&svg).unwrap().contains("<svg"));
    // A no-QR request has no QR.
    let no_qr = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    assert_eq!(
        h.service.qr_frame(&no_qr.id).await.unwrap_err().code(),
        Some("CM-REQ-005")
    );
}

#[tokio::test]
async fn expired_qr_requests_draw_no_frames_and_cannot_be_scanned() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let req = h.service.create_qr(None).await.unwrap();
    h.advance(299);
    let last = h.service.qr_frame(&req.id).await.unwrap();
    h.advance(1);
    assert_eq!(
        h.service.qr_frame(&req.id).await.unwrap_err().code(),
        Some("CM-REQ-002")
    );
    let e = device.scan(&last.payload).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-REQ-002"));
}
