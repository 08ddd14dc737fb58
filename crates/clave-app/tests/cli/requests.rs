//! Answering requests: scan (payload and PNG screenshot) → show → confirm, the service
//! sees the signed outcome; reject; number matching; "this wasn't me"; pending by
//! long-poll.

use std::time::{Duration, Instant};

use clave_app::error::{EXIT_LOCAL, EXIT_REFUSED};
use clave_movil::client::verify_outcome;
use clave_movil::domain::{CompletedBy, Reason, RequestStatus};
use image::{GenericImage, Rgb, RgbImage};

use crate::common::*;

#[tokio::test]
async fn scan_and_confirm_gives_the_service_a_signed_outcome() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;
    let req = h.service.create_qr(Some(3)).await.unwrap();
    let frame = h.frame(&req.id).await;
    let seen = app.ok(&["scan", &frame]).await;
    assert_eq!(seen["id"], req.id.as_str());
    assert_eq!(seen["body"], BODY);
    assert_eq!(seen["code"], req.code.as_str());
    assert_eq!(seen["type"], "qr");
    assert_eq!(seen["status"], "pending");
    assert_eq!(seen["counter"], 3);
    assert_eq!(seen["seconds_left"], 300);

    h.advance(2);
    let shown = app.run(&["show", &req.id]).await;
    assert_eq!(shown.exit, 0);
    assert!(shown.stdout.starts_with(&format!(
        "{BODY} solicita su autenticación (con QR, puesto 3)."
    )));
    assert!(
        shown
            .stdout
            .contains(&format!("Código de verificación: {} — compruebe", req.code))
    );
    assert!(
        shown.stdout.contains("Caduca en 4 min 58 s."),
        "{}",
        shown.stdout
    );

    let confirmed = app.run(&["confirm", &req.id]).await;
    assert_eq!(confirmed.exit, 0, "{}", confirmed.stderr);
    assert!(
        confirmed
            .stdout
            .starts_with("Autenticación confirmada ante Agencia Tributaria.")
    );
    let outcome = h.service.wait_outcome(&req.id, 5).await.unwrap();
    assert!(outcome.is_final);
    assert_eq!(outcome.request.completed_by, Some(CompletedBy::Device));
    let claims = verify_outcome(&outcome, &h.service.jwks().await.unwrap()).unwrap();
    assert_eq!(claims.status, RequestStatus::Confirmed);
    assert_eq!(claims.document.as_deref(), Some(ANA.0));
    assert_eq!(claims.request_id, req.id);

    // Final is final.
    let (exit, e) = app.fails(&["confirm", &req.id]).await;
    assert_eq!(exit, EXIT_REFUSED);
    assert_eq!(e["code"], "CM-REQ-002");
    assert_eq!(e["request_status"], "confirmed");
}

/// A "screenshot": the counter's QR pasted on a larger coloured window.
fn screenshot(payload: &str) -> Vec<u8> {
    let png = clave_movil::domain::qr::render_png(payload, 5).unwrap();
    let qr = image::load_from_memory(&png).unwrap().to_rgb8();
    let mut shot = RgbImage::from_pixel(900, 640, Rgb([0x1f, 0x3a, 0x5f]));
    let panel = RgbImage::from_pixel(qr.width() + 80, qr.height() + 160, Rgb([250, 250, 250]));
    shot.copy_from(&panel, 300, 40).unwrap();
    shot.copy_from(&qr, 340, 120).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    shot.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn scan_from_a_png_screenshot() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;
    let req = h.service.create_qr(None).await.unwrap();
    let path = app.file("pantalla.png");
    std::fs::write(&path, screenshot(&h.frame(&req.id).await)).unwrap();
    let seen = app.ok(&["scan", "--image", path.to_str().unwrap()]).await;
    assert_eq!(seen["id"], req.id.as_str());
    assert_eq!(seen["code"], req.code.as_str());

    // An image without a QR, and a file that is not an image.
    let blank = app.file("blanco.png");
    let mut out = std::io::Cursor::new(Vec::new());
    RgbImage::from_pixel(200, 200, Rgb([255, 255, 255]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    std::fs::write(&blank, out.into_inner()).unwrap();
    assert_eq!(
        app.fails_with(&["scan", "--image", blank.to_str().unwrap()], EXIT_LOCAL)
            .await,
        "APP-006"
    );
    let text = app.file("nota.png");
    std::fs::write(&text, "no soy una imagen").unwrap();
    assert_eq!(
        app.fails_with(&["scan", "--image", text.to_str().unwrap()], EXIT_LOCAL)
            .await,
        "APP-005"
    );
}

#[tokio::test]
async fn reject_reaches_the_service() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;
    let req = h.other.create_qr(None).await.unwrap();
    app.ok(&["scan", &h.other.qr_frame(&req.id).await.unwrap().payload])
        .await;
    let rejected = app.run(&["reject", &req.id]).await;
    assert_eq!(rejected.exit, 0);
    assert!(
        rejected
            .stdout
            .starts_with("Solicitud de Dirección General de Tráfico rechazada.")
    );
    let outcome = h.other.wait_outcome(&req.id, 5).await.unwrap();
    assert_eq!(outcome.request.status, RequestStatus::Rejected);
    assert_eq!(outcome.request.reason, Some(Reason::RejectedByCitizen));
    let claims = verify_outcome(&outcome, &h.other.jwks().await.unwrap()).unwrap();
    assert_eq!(claims.status, RequestStatus::Rejected);
    assert_eq!(claims.document, None);
}

#[tokio::test]
async fn number_matching_on_requests_without_qr() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let pending = app.ok(&["pending"]).await;
    let shown = &pending["requests"][0];
    assert_eq!(shown["id"], req.id.as_str());
    assert_eq!(shown["type"], "no_qr");
    assert!(
        shown["code"].is_null(),
        "no-QR: the app does not give the code"
    );
    let choices: Vec<String> = shown["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(choices.len(), 3);
    assert!(choices.contains(&req.code));
    let human = app.run(&["show", &req.id]).await;
    assert!(
        human.stdout.contains(&format!(
            "¿Qué código ve en la pantalla? {}",
            choices.join(" · ")
        )),
        "{}",
        human.stdout
    );

    // The pick is required; a wrong pick rejects the request.
    assert_eq!(
        app.fails_with(&["confirm", &req.id], EXIT_REFUSED).await,
        "CM-REQ-006"
    );
    let wrong = choices.iter().find(|c| **c != req.code).unwrap();
    let e = app.run(&["confirm", &req.id, "--code", wrong]).await;
    assert_eq!(e.exit, EXIT_REFUSED);
    assert!(
        e.stderr.starts_with(
            "Error CM-REQ-004: El código elegido no es el de la pantalla: la solicitud se ha rechazado."
        ),
        "{}",
        e.stderr
    );
    let outcome = h.service.wait_outcome(&req.id, 5).await.unwrap();
    assert_eq!(outcome.request.status, RequestStatus::Rejected);
    assert_eq!(outcome.request.reason, Some(Reason::CodeMismatch));

    // The right pick confirms.
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let done = app.ok(&["confirm", &req.id, "--code", &req.code]).await;
    assert_eq!(done["status"], "confirmed");
    let outcome = h.service.wait_outcome(&req.id, 5).await.unwrap();
    let claims = verify_outcome(&outcome, &h.service.jwks().await.unwrap()).unwrap();
    assert_eq!(claims.status, RequestStatus::Confirmed);
    assert_eq!(claims.document.as_deref(), Some(ANA.0));
}

#[tokio::test]
async fn pending_waits_for_a_request() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;
    let service = h.service.clone();
    let creator = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        service.create_no_qr(ANA.0, ANA.1).await.unwrap()
    });
    let started = Instant::now();
    let pending = app.ok(&["pending", "--wait", "10"]).await;
    let waited = started.elapsed();
    let req = creator.await.unwrap();
    assert_eq!(pending["requests"][0]["id"], req.id.as_str());
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "woke after {waited:?}"
    );
    let human = app.run(&["pending"]).await;
    assert!(human.stdout.starts_with("Solicitudes pendientes: 1\n"));

    // Nothing pending: the wait runs out and the list is empty.
    app.ok(&["reject", &req.id]).await;
    let started = Instant::now();
    let pending = app.ok(&["pending", "--wait", "1"]).await;
    assert_eq!(pending["requests"], serde_json::json!([]));
    assert!(started.elapsed() >= Duration::from_millis(900));
    let human = app.run(&["pending"]).await;
    assert_eq!(
        human.stdout,
        "No hay solicitudes pendientes. (No pending requests.)\n"
    );
}

#[tokio::test]
async fn this_wasnt_me_blocks_the_device_and_alerts_the_office() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let recorded = app.ok(&["not-me", &req.id]).await;
    assert_eq!(recorded["blocked"], true);
    let alerts = h.office.alerts().await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].request_id, req.id);
    assert_eq!(alerts[0].id, recorded["alert_id"].as_str().unwrap());
    let outcome = h.service.wait_outcome(&req.id, 5).await.unwrap();
    assert_eq!(outcome.request.status, RequestStatus::Rejected);
    assert_eq!(app.ok(&["status"]).await["blocked"], true);
    let e = app.run(&["pending"]).await;
    assert_eq!(e.exit, EXIT_REFUSED);
    assert!(
        e.stderr
            .starts_with("Error CM-AUTH-007: Este dispositivo ya no está activo")
    );
}
