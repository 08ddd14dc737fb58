//! Activation: SMS code read from the outbox (from `--code` and from stdin), the
//! counter's activation QR (payload and PNG, over pinned TLS), one device per citizen,
//! what the state directory holds.

use std::sync::{Arc, Mutex};

use clave_app::Env;
use clave_app::error::{EXIT_LOCAL, EXIT_REFUSED};

use crate::common::*;

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn sms_activation_reads_the_code_from_the_outbox() {
    let h = Harness::start().await;
    let app = h.app();
    assert_eq!(app.fails_with(&["pending"], EXIT_LOCAL).await, "APP-001");
    assert_eq!(
        app.fails_with(&["activate-confirm", "--code", "123456"], EXIT_LOCAL)
            .await,
        "APP-002"
    );

    let started = app
        .run(&[
            "activate",
            "--endpoint",
            &h.running.base_url,
            "--document",
            ANA.0,
            "--contrast",
            ANA.1,
        ])
        .await;
    assert_eq!(started.exit, 0, "{}", started.stderr);
    assert!(started.stdout.contains("SMS"), "{}", started.stdout);
    assert!(!started.stdout.contains(ANA.0));
    let code = h.code_sent(ANA.2, 1).await;

    // A wrong code: refused by the endpoint, with the tries left.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (exit, e) = app.fails(&["activate-confirm", "--code", wrong]).await;
    assert_eq!(exit, EXIT_REFUSED);
    assert_eq!(e["code"], "CM-ACT-002");
    assert_eq!(e["tries_left"], 2);
    let human = app.run(&["activate-confirm", "--code", wrong]).await;
    assert_eq!(human.exit, EXIT_REFUSED);
    assert!(
        human
            .stderr
            .starts_with("Error CM-ACT-002: Código incorrecto. Quedan 1 intentos."),
        "{}",
        human.stderr
    );

    // The right one.
    let done = app.run(&["activate-confirm", "--code", &code]).await;
    assert_eq!(done.exit, 0, "{}", done.stderr);
    assert!(
        done.stdout
            .starts_with("Dispositivo activado para ****5678Z"),
        "{}",
        done.stdout
    );
    assert!(!done.stdout.contains(&code));
    let status = app.ok(&["status"]).await;
    assert_eq!(status["activated"], true);
    assert_eq!(status["document_masked"], "****5678Z");
    assert_eq!(status["endpoint"], h.running.base_url.as_str());
    assert_eq!(status["pinned"], false);
    assert!(status["activation_pending"].is_null());
    assert_eq!(
        app.ok(&["pending"]).await["requests"],
        serde_json::json!([])
    );

    // The state directory: owner-only files, no DNI, contrast datum or code in clear.
    #[cfg(unix)]
    {
        assert_eq!(mode(&app.file("device.key")), 0o600);
        assert_eq!(mode(&app.file("state.json")), 0o600);
    }
    let state = std::fs::read_to_string(app.file("state.json")).unwrap();
    for secret in [ANA.0, ANA.1, code.as_str()] {
        assert!(!state.contains(secret), "state.json holds {secret}");
    }
    let der = std::fs::read(app.file("device.key")).unwrap();
    assert!(clave_movil::client::DeviceKey::from_pkcs8_der(&der).is_ok());

    // The code can come from stdin instead of the command line.
    let typed = Arc::new(Mutex::new(String::new()));
    let from_stdin = typed.clone();
    let nie = App {
        state: tempfile::tempdir().unwrap(),
        env: Env {
            read_code: Box::new(move || Ok(format!("{}\n", from_stdin.lock().unwrap()))),
            ..Env::with_clock(Arc::new(h.clock.clone()))
        },
    };
    nie.ok(&[
        "activate",
        "--endpoint",
        &format!("{}/", h.running.base_url),
        "--document",
        CARLOS.0,
        "--contrast",
        CARLOS.1,
    ])
    .await;
    *typed.lock().unwrap() = h.code_sent(CARLOS.2, 1).await;
    let done = nie.ok(&["activate-confirm"]).await;
    assert_eq!(done["document_masked"], "X****567L");
}

#[tokio::test]
async fn qr_activation_over_pinned_tls_and_one_device_per_citizen() {
    let h = Harness::start_with(|c| c.tls = true).await;
    let pin = h.running.tls_pin.clone().unwrap();
    let app = h.app();
    let qr = h.office.activation_qr(ANA.0).await.unwrap();
    let done = app.ok(&["activate", "--qr", &qr.payload]).await;
    assert_eq!(done["document_masked"], "****5678Z");
    assert_eq!(done["endpoint"], h.running.base_url.as_str());
    let status = app.ok(&["status"]).await;
    assert_eq!(status["pinned"], true);
    assert_eq!(status["pin"], pin.as_str());
    // The SMS path over TLS, the pin given by hand. (Before the failed QR below: the
    // endpoint's limiter gives an address that failed once an empty activation bucket.)
    let bea = h.app();
    // Another key's pin: nothing is sent (exit 3).
    let wrong = bea
        .run(&[
            "activate",
            "--endpoint",
            &h.running.base_url,
            "--pin",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "--document",
            BEA.0,
            "--contrast",
            BEA.1,
        ])
        .await;
    assert_eq!(wrong.exit, clave_app::error::EXIT_NETWORK);
    assert!(
        wrong
            .stderr
            .starts_with("Error APP-012: La clave TLS del servidor no es la fijada"),
        "{}",
        wrong.stderr
    );
    // The right pin given by hand works (the SMS path over TLS).
    bea.ok(&[
        "activate",
        "--endpoint",
        &h.running.base_url,
        "--pin",
        &pin,
        "--document",
        BEA.0,
        "--contrast",
        BEA.1,
    ])
    .await;
    let code = h.code_sent(BEA.2, 1).await;
    let done = bea.ok(&["activate-confirm", "--code", &code]).await;
    assert_eq!(done["document_masked"], "****0000T");
    assert_eq!(bea.ok(&["status"]).await["pin"], pin.as_str());

    // Single use.
    let thief = h.app();
    assert_eq!(
        thief
            .fails_with(&["activate", "--qr", &qr.payload], EXIT_REFUSED)
            .await,
        "CM-ACT-005"
    );

    // A whole QR flow over TLS, trusting only the pin.
    let req = h.service.create_qr(None).await.unwrap();
    let frame = h.frame(&req.id).await;
    let seen = app.ok(&["scan", &frame]).await;
    assert_eq!(seen["code"], req.code.as_str());
    assert_eq!(app.ok(&["confirm", &req.id]).await["status"], "confirmed");

    // The activation QR as a PNG (what the counter screen shows).
    let second = h.app();
    let qr = h.office.activation_qr(ANA.0).await.unwrap();
    let png = clave_movil::domain::qr::render_png(&qr.payload, 4).unwrap();
    let path = second.file("activation.png");
    std::fs::write(&path, png).unwrap();
    let done = second
        .ok(&["activate", "--qr-image", path.to_str().unwrap()])
        .await;
    assert_eq!(done["document_masked"], "****5678Z");
    // The second device replaced the first.
    assert_eq!(
        app.fails_with(&["pending"], EXIT_REFUSED).await,
        "CM-AUTH-007"
    );
    assert_eq!(
        second.ok(&["pending"]).await["requests"],
        serde_json::json!([])
    );

    // Wrong kinds of QR are caught before anything is sent.
    let fresh = h.app();
    let req = h.service.create_qr(None).await.unwrap();
    let frame = h.frame(&req.id).await;
    assert_eq!(
        fresh
            .fails_with(&["activate", "--qr", &frame], EXIT_LOCAL)
            .await,
        "APP-008"
    );
    let qr = h.office.activation_qr(BEA.0).await.unwrap();
    assert_eq!(
        second.fails_with(&["scan", &qr.payload], EXIT_LOCAL).await,
        "APP-008"
    );
    assert_eq!(
        fresh
            .fails_with(&["activate", "--qr", "hola"], EXIT_LOCAL)
            .await,
        "APP-007"
    );
}
