//! Errors: the endpoint's problem code (or the app's own), a clear Spanish message and
//! a non-zero exit; sign-out; the state directory's protections.

use std::sync::Arc;

use clave_app::error::{EXIT_LOCAL, EXIT_REFUSED, EXIT_USAGE};
use clave_movil::client::{DeviceClient, DeviceKey, Endpoint};
use clave_movil::domain::QrPayload;

use crate::common::*;

#[tokio::test]
async fn bad_payloads_and_expired_requests() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;

    // A payload that is no Cl@ve QR: the endpoint's code.
    assert_eq!(
        app.fails_with(&["scan", "esto no es un QR"], EXIT_REFUSED)
            .await,
        "CM-QR-001"
    );
    let human = app.run(&["scan", "esto no es un QR"]).await;
    assert_eq!(human.exit, EXIT_REFUSED);
    assert!(human.stdout.is_empty());
    assert_eq!(
        human.stderr,
        "Error CM-QR-001: QR no reconocido. [QR payload not recognised]\n"
    );

    // A photo of a frame three seconds old is stale.
    let req = h.service.create_qr(None).await.unwrap();
    let old = h.frame(&req.id).await;
    h.advance(3);
    assert_eq!(
        app.fails_with(&["scan", &old], EXIT_REFUSED).await,
        "CM-QR-002"
    );
    // Five minutes later the request has expired.
    let last = h.frame(&req.id).await;
    h.advance(300);
    let (exit, e) = app.fails(&["scan", &last]).await;
    assert_eq!(exit, EXIT_REFUSED);
    assert_eq!(e["code"], "CM-REQ-002");
    assert_eq!(e["request_status"], "expired");
    assert_eq!(e["status"], 409);

    // An expired no-QR request cannot be confirmed.
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(301);
    let done = app.run(&["confirm", &req.id, "--code", &req.code]).await;
    assert_eq!(done.exit, EXIT_REFUSED);
    assert!(
        done.stderr
            .starts_with("Error CM-REQ-002: La solicitud ya no está pendiente (caducada)."),
        "{}",
        done.stderr
    );
    // Unknown request; malformed pick.
    assert_eq!(
        app.fails_with(
            &["show", "00000000-0000-4000-8000-000000000000"],
            EXIT_REFUSED
        )
        .await,
        "CM-REQ-001"
    );
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    assert_eq!(
        app.fails_with(&["confirm", &req.id, "--code", "12"], EXIT_REFUSED)
            .await,
        "CM-002"
    );

    // A QR naming another endpoint is not followed (nothing is sent).
    let elsewhere =
        QrPayload::request_frame("http://127.0.0.1:9", &[1u8; 16], &[2u8; 32], 0, "").encode();
    assert_eq!(
        app.fails_with(&["scan", &elsewhere], EXIT_LOCAL).await,
        "APP-009"
    );
    // Plain HTTP off loopback is refused before connecting.
    let other = h.app();
    assert_eq!(
        other
            .fails_with(
                &[
                    "activate",
                    "--endpoint",
                    "http://192.0.2.7:8080",
                    "--document",
                    ANA.0,
                    "--contrast",
                    ANA.1
                ],
                EXIT_LOCAL
            )
            .await,
        "APP-010"
    );
    // Nothing listening: exit 3.
    assert_eq!(
        other
            .fails_with(
                &[
                    "activate",
                    "--endpoint",
                    "http://127.0.0.1:9",
                    "--document",
                    ANA.0,
                    "--contrast",
                    ANA.1
                ],
                clave_app::error::EXIT_NETWORK
            )
            .await,
        "APP-012"
    );
    // Malformed document: the endpoint's CM-012 with the registry's inner code.
    let (exit, e) = other
        .fails(&[
            "activate",
            "--endpoint",
            &h.running.base_url,
            "--document",
            "12345678A",
            "--contrast",
            ANA.1,
        ])
        .await;
    assert_eq!(exit, EXIT_REFUSED);
    assert_eq!(e["code"], "CM-012");
    assert!(e["inner"].as_str().unwrap().starts_with("DOC-"));

    // Usage errors: exit 2 and clap's message.
    for bad in [
        &["scan"][..],
        &["confirm"],
        &["activate", "--document", ANA.0],
        &[
            "activate",
            "--qr",
            "x",
            "--document",
            ANA.0,
            "--contrast",
            ANA.1,
        ],
        &["frobnicate"],
    ] {
        let done = app.run(bad).await;
        assert_eq!(done.exit, EXIT_USAGE, "{bad:?}");
        assert!(done.stderr.contains("Usage"), "{}", done.stderr);
    }
    let help = app.run(&["--help"]).await;
    assert_eq!(help.exit, 0);
    assert!(help.stdout.contains("activate-confirm") && help.stdout.contains("sign-out"));
}

#[tokio::test]
async fn sign_out_then_calls_are_refused() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;
    let device_id = app.ok(&["status"]).await["device_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let der = std::fs::read(app.file("device.key")).unwrap();

    let out = app.run(&["sign-out"]).await;
    assert_eq!(out.exit, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("Sesión cerrada"));
    assert!(!app.file("device.key").exists());
    let status = app.ok(&["status"]).await;
    assert_eq!(status["activated"], false);
    assert_eq!(
        status["endpoint"],
        h.running.base_url.as_str(),
        "kept for next time"
    );
    assert_eq!(app.fails_with(&["pending"], EXIT_LOCAL).await, "APP-001");
    assert_eq!(app.fails_with(&["sign-out"], EXIT_LOCAL).await, "APP-001");

    // The old key is refused by the endpoint too.
    let old = DeviceClient::new(
        Endpoint::plain(&h.running.base_url).unwrap(),
        DeviceKey::from_pkcs8_der(&der).unwrap(),
        Arc::new(h.clock.clone()),
        Arc::new(registry::OsRandom),
    )
    .with_device_id(&device_id);
    assert_eq!(
        old.pending(0).await.unwrap_err().code(),
        Some("CM-AUTH-007")
    );
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    assert_eq!(
        old.confirm(&req.id, Some(&req.code))
            .await
            .unwrap_err()
            .code(),
        Some("CM-AUTH-007")
    );

    // Activating again (SMS path; the endpoint is remembered) works.
    app.ok(&["activate", "--document", ANA.0, "--contrast", ANA.1])
        .await;
    let code = h.code_sent(ANA.2, 1).await;
    app.ok(&["activate-confirm", "--code", &code]).await;
    assert!(app.ok(&["pending"]).await["requests"].is_array());

    // Signing out a device that was replaced meanwhile still forgets it.
    let newer = h.activated_app(ANA.0).await;
    let out = app.ok(&["sign-out"]).await;
    assert_eq!(out["endpoint_answer"], "already_inactive");
    assert!(newer.ok(&["pending"]).await["requests"].is_array());
}

#[cfg(unix)]
#[tokio::test]
async fn the_state_directory_is_protected() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::start().await;
    let app = h.activated_app(BEA.0).await;
    let key = app.file("device.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = app.run(&["pending"]).await;
    assert_eq!(e.exit, EXIT_LOCAL);
    assert!(e.stderr.starts_with("Error APP-004:"), "{}", e.stderr);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    app.ok(&["pending"]).await;

    let state = app.file("state.json");
    let saved = std::fs::read(&state).unwrap();
    std::fs::write(&state, b"{not json").unwrap();
    assert_eq!(app.fails_with(&["pending"], EXIT_LOCAL).await, "APP-003");
    std::fs::write(&state, saved).unwrap();
    app.ok(&["pending"]).await;

    // A fresh directory is created owner-only.
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("nuevo/clave-app");
    let qr = h.office.activation_qr(CARLOS.0).await.unwrap();
    let done = clave_app::run(
        [
            "clave-app",
            "--json",
            "--state",
            dir.to_str().unwrap(),
            "activate",
            "--qr",
            &qr.payload,
        ],
        &app.env,
    )
    .await;
    assert_eq!(done.exit, 0, "{}", done.stderr);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}
