//! The `ventanilla` binary as an office admin uses it: clerk accounts, the
//! audit verification after someone edited the file by hand, and a bad
//! configuration file.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use sqlx::Connection;
use ventanilla_tests::app_binary;

fn ventanilla(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(app_binary().unwrap())
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn config_in(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("ventanilla.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = {:?}\n[office]\ncode = \"O00012345\"\nname = \"Oficina de Pruebas\"\n",
            dir.join("data")
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_admin_creates_clerks_and_verifies_the_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());

    let out = ventanilla(
        &config,
        &[
            "admin",
            "create-clerk",
            "--username",
            "ana",
            "--name",
            "Ana García",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("una-clave-bien-larga\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A weak password and a duplicate username are refused with their codes.
    let out = ventanilla(
        &config,
        &[
            "admin",
            "create-clerk",
            "--username",
            "luis",
            "--name",
            "Luis",
            "--password-stdin",
        ],
        Some("corta\n"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("PWD-001"),
        "{}",
        text(&out.stderr)
    );
    let out = ventanilla(
        &config,
        &[
            "admin",
            "create-clerk",
            "--username",
            "ana",
            "--name",
            "Otra",
            "--password-stdin",
        ],
        Some("otra-clave-bien-larga\n"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("CLK-001"),
        "{}",
        text(&out.stderr)
    );

    let out = ventanilla(&config, &["admin", "list-clerks"], None);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("ana\tadmin\tAna García"));

    let out = ventanilla(&config, &["admin", "verify-audit"], None);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("intact"));

    // Someone edits the file by hand: verify-audit says where, and fails.
    let db = dir.path().join("data").join(store::DB_FILE);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn =
            sqlx::sqlite::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
        for sql in [
            "DROP TRIGGER audit_log_no_update",
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    });
    let out = ventanilla(&config, &["admin", "verify-audit"], None);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(
        report.contains("BROKEN") && report.contains("entry 1: changed"),
        "{report}"
    );

    // The export is JSON lines, one per entry, with no personal data to hide.
    let out = ventanilla(&config, &["admin", "export-audit"], None);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 3);
    assert_eq!(lines[0]["seq"], 1);
}

#[test]
fn a_bad_configuration_file_names_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ventanilla.toml");
    std::fs::write(
        &config,
        "[office]\nname = \"Oficina\"\ncode = \"E00012345\"\n",
    )
    .unwrap();
    let out = ventanilla(&config, &["admin", "list-clerks"], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("line 3") && err.contains("code") && err.contains("DIR3"),
        "{err}"
    );

    std::fs::write(&config, "[idle]\nclerk_lock = 60\n").unwrap();
    let err = text(&ventanilla(&config, &["admin", "list-clerks"], None).stderr);
    assert!(
        err.contains("line 2") && err.contains("clerk_lock"),
        "{err}"
    );

    let missing = dir.path().join("nope.toml");
    let err = text(&ventanilla(&missing, &["admin", "list-clerks"], None).stderr);
    assert!(err.contains("cannot read the configuration file"), "{err}");
}
