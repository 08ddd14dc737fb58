//! The built `clave-app` binary as a process: `$CLAVE_APP_STATE`, stdin for the SMS
//! code, exit statuses, output streams, nothing secret printed. (The binary signs with
//! the real clock; the server's manual clock starts at the real time and stays there.)

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::*;

/// Runs the binary off the async thread (the server runs on it).
async fn cli(state: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let state = state.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clave-app"))
            .args(&args)
            .env("CLAVE_APP_STATE", &state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).unwrap();
        }
        drop(pipe);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn the_binary_activates_scans_and_confirms() {
    let h = Harness::start().await;
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("telefono");
    let mut printed = String::new();

    // SMS activation, the code typed on stdin.
    let out = cli(
        &state,
        &[
            "activate",
            "--endpoint",
            &h.running.base_url,
            "--document",
            CARLOS.0,
            "--contrast",
            CARLOS.1,
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    printed += &text(&out.stdout);
    let code = h.code_sent(CARLOS.2, 1).await;
    let out = cli(
        &state,
        &["--json", "activate-confirm"],
        Some(&format!("{code}\n")),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["document_masked"], "X****567L");
    printed += &text(&out.stdout);
    printed += &text(&out.stderr);

    // A QR request: scan (human output), confirm (JSON).
    let req = h.service.create_qr(Some(2)).await.unwrap();
    let out = cli(&state, &["scan", &h.frame(&req.id).await], None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("Agencia Tributaria solicita su autenticación (con QR, puesto 2)."));
    assert!(shown.contains(&format!("Código de verificación: {}", req.code)));
    printed += &shown;
    let out = cli(&state, &["confirm", &req.id, "--json"], None).await;
    assert!(out.status.success());
    let confirmed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(confirmed["status"], "confirmed");
    assert!(h.service.wait_outcome(&req.id, 5).await.unwrap().is_final);

    // Errors: exit 1 with the endpoint's code on stderr, nothing on stdout.
    let out = cli(&state, &["scan", "basura"], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).starts_with("Error CM-QR-001: QR no reconocido."));
    let out = cli(&state, &["--json", "confirm", &req.id], None).await;
    assert_eq!(out.status.code(), Some(1));
    let e: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(e["error"]["code"], "CM-REQ-002");
    assert_eq!(e["error"]["exit"], 1);
    let out = cli(&state, &["frobnicate"], None).await;
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&state, &["--version"], None).await;
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("clave-app "));

    // The files: owner-only; and nothing secret was ever printed.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&state.join("device.key")), 0o600);
        assert_eq!(mode(&state.join("state.json")), 0o600);
    }
    let out = cli(&state, &["status"], None).await;
    printed += &text(&out.stdout);
    assert!(printed.contains("X****567L"));
    for secret in [CARLOS.0, CARLOS.1, code.as_str()] {
        assert!(!printed.contains(secret), "printed {secret}");
    }
    let der = std::fs::read(state.join("device.key")).unwrap();
    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!printed.contains(&hex[hex.len() - 32..]));

    let out = cli(&state, &["sign-out"], None).await;
    assert!(out.status.success());
    let out = cli(&state, &["pending"], None).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).starts_with("Error APP-001:"));
}
