//! End to end: the real app (release-like custom-protocol build) under a
//! private Xvfb, driven over WebDriver (tauri-driver + WebKitWebDriver)
//! through both windows, with the real SQLite file behind it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use ventanilla_tests::{BoxError, TauriDriver, Xvfb, app_binary, read_all_files, save_screenshot};

// Generous: CI machines are busy, and a wait only costs time when it fails.
const WAIT: Duration = Duration::from_secs(40);

/// One app under WebDriver at a time: two would fight for the 2 cores and
/// the waits would turn flaky.
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Specimen-style data. Valid, but nobody's: 99999999R is the reserved test DNI.
const DOC: &str = "99999999R";
const DOC_DIGITS: &str = "99999999";
const PHONE_NATIONAL: &str = "612345678";
const PHONE_E164: &str = "+34612345678";
const EMAIL: &str = "ciudadana.prueba@example.org";

struct Windows {
    clerk: WindowHandle,
    counter: WindowHandle,
}

async fn find_windows(c: &Client) -> Result<Windows, BoxError> {
    let deadline = Instant::now() + WAIT;
    loop {
        let handles = c.windows().await?;
        let (mut clerk, mut counter) = (None, None);
        for h in handles {
            c.switch_to_window(h.clone()).await?;
            let url = c.current_url().await?;
            if url.path().ends_with("clerk.html") {
                clerk = Some(h);
            } else if url.path().ends_with("counter.html") {
                counter = Some(h);
            }
        }
        if let (Some(clerk), Some(counter)) = (clerk, counter) {
            return Ok(Windows { clerk, counter });
        }
        if Instant::now() > deadline {
            return Err("the two windows did not appear".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_css(c: &Client, css: &str) -> Result<Element, BoxError> {
    Ok(c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await?)
}

/// Waits until an element has an attribute value (the UI's state markers).
async fn wait_attr(c: &Client, css: &str, attr: &str, value: &str) -> Result<(), BoxError> {
    let deadline = Instant::now() + WAIT;
    let mut last = None;
    while Instant::now() < deadline {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            last = el.attr(attr).await.ok().flatten();
            if last.as_deref() == Some(value) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css}[{attr}] stayed {last:?}, expected {value:?}").into())
}

async fn fill(c: &Client, css: &str, value: &str) -> Result<(), BoxError> {
    let el = wait_css(c, css).await?;
    el.clear().await?;
    if !value.is_empty() {
        el.send_keys(value).await?;
    }
    Ok(())
}

async fn value_of(c: &Client, css: &str) -> Result<String, BoxError> {
    Ok(wait_css(c, css)
        .await?
        .prop("value")
        .await?
        .unwrap_or_default())
}

async fn text_of(c: &Client, css: &str) -> Result<String, BoxError> {
    Ok(wait_css(c, css).await?.text().await?)
}

/// Waits until the element shows some text (answers arrive asynchronously).
async fn wait_text(c: &Client, css: &str) -> Result<String, BoxError> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            let text = el.text().await.unwrap_or_default();
            if !text.trim().is_empty() {
                return Ok(text);
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{css} stayed empty").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(c: &Client, css: &str) -> Result<(), BoxError> {
    wait_css(c, css).await?.click().await?;
    Ok(())
}

/// WebDriver screenshots can lag the DOM: let the page paint first.
async fn screenshot(c: &Client, name: &str) -> Result<(), BoxError> {
    tokio::time::sleep(Duration::from_millis(800)).await;
    save_screenshot(name, &c.screenshot().await?)
}

async fn fill_alta(c: &Client, document: &str, phone: &str, email: &str) -> Result<(), BoxError> {
    fill(c, "#alta-document", document).await?;
    fill(c, "#alta-expiry", "2031-06-30").await?;
    fill(c, "#alta-given-name", "Ficticia").await?;
    fill(c, "#alta-first-surname", "Especimen").await?;
    fill(c, "#alta-second-surname", "Prueba").await?;
    fill(c, "#alta-phone", phone).await?;
    fill(c, "#alta-email", email).await?;
    Ok(())
}

/// The port the app's Cl@ve Móvil endpoint listens on (plain HTTP on loopback).
fn clave_port(dir: &Path) -> Result<u16, BoxError> {
    let text = std::fs::read_to_string(dir.join("ventanilla.toml"))?;
    let port = text
        .lines()
        .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
        .and_then(|rest| rest.trim_end_matches('"').parse().ok())
        .ok_or("no Cl@ve Móvil port in the config")?;
    Ok(port)
}

fn write_config(dir: &Path) -> Result<PathBuf, BoxError> {
    let path = dir.join("ventanilla.toml");
    let data = dir.join("data");
    let port = ventanilla_tests::free_port()?;
    std::fs::write(
        &path,
        format!(
            "training = true\ndata_dir = {data:?}\n\n[office]\ncode = \"O00012345\"\nname = \"Oficina de Registro de Pruebas\"\ncounter = 3\n\n[log]\nlevel = \"debug\"\n\n[clave_movil]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    )?;
    Ok(path)
}

/// The reference Cl@ve app, run in process with its own state directory.
async fn clave_app(state: &Path, args: &[&str]) -> Result<serde_json::Value, BoxError> {
    let mut argv = vec![
        "clave-app".to_owned(),
        "--json".to_owned(),
        "--state".to_owned(),
        state.display().to_string(),
    ];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let done = clave_app::run(argv, &clave_app::Env::system()).await;
    if done.exit != 0 {
        return Err(format!("clave-app {args:?}: exit {} {}", done.exit, done.stderr).into());
    }
    done.json().ok_or_else(|| "clave-app gave no JSON".into())
}

/// The citizen registered by the alta activates the reference app (SMS code
/// read from the app's outbox), the clerk starts a Cl@ve Móvil request, the
/// test screenshots the counter, the app decodes the QR in it and confirms,
/// and the counter shows the authentication completed.
async fn drive_clave_movil(c: &Client, w: &Windows, dir: &Path) -> Result<(), BoxError> {
    let port = clave_port(dir)?;
    let state = dir.join("clave-app");
    let endpoint = format!("http://127.0.0.1:{port}");
    clave_app(
        &state,
        &[
            "activate",
            "--endpoint",
            &endpoint,
            "--document",
            DOC,
            "--contrast",
            "2031-06-30",
        ],
    )
    .await?;
    let store = store::Store::open_in_dir(&dir.join("data")).await?;
    let mut code = None;
    for _ in 0..100 {
        let sent = clave_movil::sms::outbox_entries(&store).await?;
        if let Some(sms) = sent.iter().find(|m| m.phone == PHONE_E164) {
            code = clave_movil::sms::code_in(&sms.text);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    let code = code.ok_or("no activation SMS in the outbox")?;
    clave_app(&state, &["activate-confirm", "--code", &code]).await?;

    c.switch_to_window(w.clerk.clone()).await?;
    click(c, "#alta-home").await?;
    click(c, "#clave-start").await?;
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "claveQr").await?;
    wait_css(c, "#clave-qr").await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let png = c.screenshot().await?;
    save_screenshot("counter-clave-qr.png", &png)?;
    let shot = dir.join("counter.png");
    std::fs::write(&shot, &png)?;
    // Two decoders independent of the encoder and of each other read the same code off
    // the screen: zbar (a C library, Debian's zbar-tools) and rqrr (what clave-app uses).
    let by_zbar = zbar_decode(&shot)?;
    let by_rqrr = clave_app::qrimage::decode_all(&png)?;
    assert_eq!(
        by_rqrr,
        vec![by_zbar.clone()],
        "both decoders read one code"
    );
    assert!(by_zbar.starts_with("clave-movil:r?"), "a request QR");
    let shot = shot.display().to_string();
    let seen = clave_app(&state, &["scan", "--image", &shot]).await?;
    let id = seen["id"]
        .as_str()
        .ok_or("scan gave no request id")?
        .to_owned();
    clave_app(&state, &["confirm", &id]).await?;
    wait_attr(c, "[data-screen]", "data-screen", "claveDone").await?;
    wait_attr(c, "#clave-outcome", "data-outcome", "confirmed").await?;
    screenshot(c, "counter-clave-done.png").await?;
    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#clave-status", "data-state", "confirmed").await?;

    drive_clave_without_qr(c, w, dir, &state).await
}

/// The clerk starts a request and the citizen chooses "without QR": DNI and
/// expiry date typed on the counter (a wrong letter first, explained), the
/// request reaches the app, which picks the counter's code among three. Then
/// again, and this time the app does not answer: after 60 s the counter offers
/// the PIN by SMS (read from the outbox); a wrong PIN first, then the right one.
async fn drive_clave_without_qr(
    c: &Client,
    w: &Windows,
    dir: &Path,
    state: &Path,
) -> Result<(), BoxError> {
    start_without_qr(c, w).await?;
    let code = wait_css(c, "#clave-code")
        .await?
        .attr("data-code")
        .await?
        .ok_or("no code on the counter")?;
    let open = text_of(c, "#clave-open").await?;
    assert!(open.contains(&code), "{open}");
    assert!(!text_of(c, "#clave-document").await?.contains(DOC_DIGITS));
    screenshot(c, "counter-clave-no-qr.png").await?;

    // The clerk follows it, masked; the demo account is a supervisor: it may
    // show the document (audited).
    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#clave-status", "data-state", "waiting").await?;
    assert!(!text_of(c, "#clave-document").await?.contains(DOC_DIGITS));
    click(c, "#clave-show-document").await?;
    wait_attr(c, "#clave-show-document", "aria-pressed", "true").await?;
    assert!(text_of(c, "#clave-document").await?.contains(DOC));
    click(c, "#clave-show-document").await?;
    wait_attr(c, "#clave-show-document", "aria-pressed", "false").await?;

    // The phone: three codes, the citizen picks the counter's.
    let pending = clave_app(state, &["pending", "--wait", "20"]).await?;
    let request = &pending["requests"][0];
    let id = request["id"]
        .as_str()
        .ok_or("no pending request")?
        .to_owned();
    let choices = request["choices"].as_array().ok_or("no choices")?;
    assert_eq!(choices.len(), 3);
    assert!(choices.iter().any(|c| c.as_str() == Some(code.as_str())));
    clave_app(state, &["confirm", &id, "--code", &code]).await?;
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "#clave-outcome", "data-outcome", "confirmed").await?;
    wait_attr(c, "#clave-outcome", "data-by-sms", "false").await?;
    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#clave-status", "data-state", "confirmed").await?;

    // Again; the phone stays silent and the SMS link opens after 60 s.
    start_without_qr(c, w).await?;
    let store = store::Store::open_in_dir(&dir.join("data")).await?;
    let sent = clave_movil::sms::outbox_entries(&store).await?.len();
    let link = c
        .wait()
        .at_most(Duration::from_secs(90))
        .for_element(Locator::Css("#clave-sms-link"))
        .await?;
    link.click().await?;
    wait_attr(c, "[data-screen]", "data-screen", "claveSmsPin").await?;
    let mut pin = None;
    for _ in 0..100 {
        let all = clave_movil::sms::outbox_entries(&store).await?;
        if all.len() > sent
            && let Some(sms) = all.iter().find(|m| m.phone == PHONE_E164)
        {
            pin = clave_movil::sms::code_in(&sms.text);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    let pin = pin.ok_or("no PIN in the outbox")?;
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    fill(c, "#clave-pin-input", wrong).await?;
    click(c, "#clave-pin-submit").await?;
    wait_attr(c, "#clave-pin-error", "data-code", "CLAVE-009").await?;
    assert!(text_of(c, "#clave-pin-error").await?.contains('2'));
    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#clave-status", "data-state", "smsSent").await?;
    wait_text(c, "#clave-tries").await?;
    c.switch_to_window(w.counter.clone()).await?;
    fill(c, "#clave-pin-input", &pin).await?;
    click(c, "#clave-pin-submit").await?;
    wait_attr(c, "#clave-outcome", "data-outcome", "confirmed").await?;
    wait_attr(c, "#clave-outcome", "data-by-sms", "true").await?;
    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#clave-status", "data-state", "confirmed").await?;
    wait_css(c, "#clave-by-sms").await?;
    Ok(())
}

/// Clerk: a new Cl@ve Móvil request; counter: "without QR", the DNI with a
/// wrong letter (refused next to the field), then right.
async fn start_without_qr(c: &Client, w: &Windows) -> Result<(), BoxError> {
    c.switch_to_window(w.clerk.clone()).await?;
    click(c, "#clave-start").await?;
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "claveQr").await?;
    click(c, "#clave-no-qr").await?;
    wait_attr(c, "[data-screen]", "data-screen", "claveIdentify").await?;
    fill(c, "#clave-id-document", "99999999A").await?;
    fill(c, "#clave-id-expiry", "30/06/2031").await?;
    click(c, "#clave-id-submit").await?;
    wait_text(c, "#clave-id-err-document").await?;
    assert!(text_of(c, "#clave-id-err-document").await?.contains('R'));
    fill(c, "#clave-id-document", DOC).await?;
    click(c, "#clave-id-submit").await?;
    wait_attr(c, "[data-screen]", "data-screen", "claveNoQr").await?;
    Ok(())
}

async fn session(driver: &TauriDriver, app: &Path) -> Result<Client, BoxError> {
    let caps = json!({
        "browserName": "wry",
        "tauri:options": { "application": app, "args": [] }
    });
    let caps = caps.as_object().cloned().ok_or("capabilities")?;
    Ok(ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)] // held on purpose for the whole test
async fn alta_end_to_end_through_both_windows() -> Result<(), BoxError> {
    let _one = ONE_APP.lock().await;
    // Not while the stack tests restart pcscd and load both cores.
    let _readers = ventanilla_tests::pcsc::lock_readers();
    let app = app_binary()?;
    let tmp = tempfile::tempdir()?;
    let config = write_config(tmp.path())?;
    let xvfb = Xvfb::start(1920, 1080)?;
    let driver = TauriDriver::start(&xvfb.display, &[("VENTANILLA_CONFIG", &config)])?;
    let c = session(&driver, &app).await?;
    let result = drive_alta(&c, tmp.path()).await;
    let _ = c.close().await;
    drop(driver);
    drop(xvfb);
    result?;

    // Nothing personal in any log file the app wrote.
    let logs = read_all_files(&tmp.path().join("data").join("logs"))?;
    assert!(!logs.is_empty(), "the app wrote no log file");
    let mut checked_bytes = 0;
    for (path, bytes) in &logs {
        checked_bytes += bytes.len();
        let text = String::from_utf8_lossy(bytes);
        for needle in [
            DOC,
            DOC_DIGITS,
            PHONE_NATIONAL,
            PHONE_E164,
            EMAIL,
            "ciudadana.prueba",
        ] {
            assert!(
                !text.contains(needle),
                "{} contains personal data",
                path.display()
            );
        }
    }
    assert!(checked_bytes > 0, "the log files are empty");

    // The store holds the citizen at level avanzado and an intact audit chain.
    let store = store::Store::open_in_dir(&tmp.path().join("data")).await?;
    let doc = registry::DocumentNumber::parse(DOC)?;
    let citizen = store
        .citizen_by_document(&doc)
        .await?
        .ok_or("citizen not stored")?;
    assert_eq!(citizen.level, registry::Level::Avanzado);
    let report = store.verify_audit().await?;
    assert!(report.intact(), "{report:?}");
    let actions: Vec<String> = store
        .audit_entries()
        .await?
        .into_iter()
        .map(|e| e.action)
        .collect();
    for expected in [
        "clerk_created",
        "clerk_login",
        "alta_rejected_by_citizen",
        "alta_completed",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "no {expected} in {actions:?}"
        );
    }
    store.close().await;
    Ok(())
}

async fn drive_alta(c: &Client, dir: &Path) -> Result<(), BoxError> {
    let w = find_windows(c).await?;

    // Counter: welcome, in Spanish; the citizen switches to Catalan.
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "welcome").await?;
    screenshot(c, "counter-welcome.png").await?;
    click(c, "#lang-ca").await?;
    wait_attr(c, "body", "data-lang", "ca").await?;

    // Clerk: log in with the training account shown on screen.
    c.switch_to_window(w.clerk.clone()).await?;
    wait_css(c, "#login-username").await?;
    // The citizen's language choice does not change the clerk's.
    wait_attr(c, "html", "lang", "es").await?;
    screenshot(c, "clerk-login.png").await?;
    fill(c, "#login-username", "formacion").await?;
    fill(c, "#login-password", "wrong-password-1").await?;
    click(c, "#login-submit").await?;
    // A wrong password is said so, in Spanish, with its code for support.
    wait_text(c, "#login-error").await?;
    wait_attr(c, "#login-error", "data-code", "AUTH-001").await?;
    fill(c, "#login-password", "ventanilla-formacion").await?;
    click(c, "#login-submit").await?;
    click(c, "#new-alta").await?;

    // Bad input: wrong DNI letter, a landline, a broken email — all explained at once.
    fill_alta(c, "99999999A", "912345678", "no-es-un-correo").await?;
    click(c, "#alta-submit").await?;
    for field in ["document", "phone", "email"] {
        wait_text(c, &format!("#err-{field}")).await?;
    }
    assert!(
        text_of(c, "#err-document").await?.contains('R'),
        "the error names the right letter"
    );
    screenshot(c, "clerk-invalid-fields.png").await?;

    // Correct it and send it to the citizen.
    fill_alta(c, DOC, PHONE_NATIONAL, EMAIL).await?;
    click(c, "#alta-submit").await?;
    wait_attr(c, "#alta-status", "data-state", "awaiting").await?;

    // The counter shows the data masked; the citizen says it is wrong.
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "confirmAlta").await?;
    let shown = [
        text_of(c, "#masked-document").await?,
        text_of(c, "#masked-phone").await?,
        text_of(c, "#masked-email").await?,
    ]
    .join(" ");
    assert!(
        shown.contains("9999R") && !shown.contains(DOC_DIGITS),
        "document masked"
    );
    assert!(
        shown.contains("678") && !shown.contains(PHONE_NATIONAL),
        "phone masked"
    );
    assert!(!shown.contains("ciudadana.prueba"), "email masked");
    // Still in the language the citizen chose.
    assert!(
        text_of(c, "#counter-confirm")
            .await?
            .contains("les meves dades")
    );
    screenshot(c, "counter-confirm-ca.png").await?;
    click(c, "#counter-reject").await?;
    wait_attr(c, "[data-screen]", "data-screen", "backToClerk").await?;

    // The form comes back to the clerk exactly as typed.
    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#alta-status", "data-state", "backToClerk").await?;
    assert_eq!(value_of(c, "#alta-document").await?, DOC);
    assert_eq!(value_of(c, "#alta-phone").await?, PHONE_NATIONAL);
    assert_eq!(value_of(c, "#alta-email").await?, EMAIL);
    assert_eq!(value_of(c, "#alta-given-name").await?, "Ficticia");

    // Send again; this time the citizen confirms.
    click(c, "#alta-submit").await?;
    wait_attr(c, "#alta-status", "data-state", "awaiting").await?;
    screenshot(c, "clerk-awaiting-citizen.png").await?;
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "confirmAlta").await?;
    click(c, "#counter-confirm").await?;
    wait_attr(c, "[data-screen]", "data-screen", "altaDone").await?;
    screenshot(c, "counter-done.png").await?;

    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#alta-status", "data-state", "completed").await?;
    screenshot(c, "clerk-completed.png").await?;

    // The new citizen checks they can log in with Cl@ve Móvil.
    drive_clave_movil(c, &w, dir).await?;

    // A second alta for the same document is refused with the level.
    click(c, "#new-alta").await?;
    fill_alta(c, DOC, PHONE_NATIONAL, EMAIL).await?;
    click(c, "#alta-submit").await?;
    wait_attr(c, "#alta-status", "data-state", "alreadyRegistered").await?;
    let message = text_of(c, "#alta-status").await?.to_lowercase();
    assert!(
        message.contains("avanzado"),
        "the refusal names the level: {message}"
    );
    screenshot(c, "clerk-already-registered.png").await?;
    Ok(())
}

/// The DNIe path: the clerk inserts a virtual DNIe from the training panel (it
/// reaches the app through the real pcscd + vpcd), the identity fills the
/// form, the citizen types the PIN on the counter screen, the card signs, and
/// the alta is audited as proven with DNIe and PIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The readers' lock is held on purpose for the whole test: the stack tests
// must not restart pcscd under this one.
#[allow(clippy::await_holding_lock)]
async fn alta_with_the_dnie_and_its_pin_end_to_end() -> Result<(), BoxError> {
    let _one = ONE_APP.lock().await;
    let _readers = ventanilla_tests::pcsc::lock_readers();
    ventanilla_tests::pcsc::ensure_pcscd()?;
    // The app selects any reader with a card: one left in by an earlier test would
    // stand in for the training card (and stay "ready" when that one is taken out).
    readers_empty()?;
    let app = app_binary()?;
    let tmp = tempfile::tempdir()?;
    let config = write_config(tmp.path())?;
    let xvfb = Xvfb::start(1920, 1080)?;
    let driver = TauriDriver::start(&xvfb.display, &[("VENTANILLA_CONFIG", &config)])?;
    let c = session(&driver, &app).await?;
    let result = drive_dnie_alta(&c).await;
    if result.is_err() {
        print_reader_states(&c).await;
    }
    // Take the virtual card out whatever happened, so the reader is free.
    let _ = click(&c, "#training-remove").await;
    let _ = c.close().await;
    drop(driver);
    drop(xvfb);
    if result.is_err() {
        // What the app and pcscd saw, for a failure on a CI machine (the logs hold no
        // personal data: the passing run checks that below).
        print_log_tails(&tmp.path().join("data").join("logs"));
    }
    result?;

    let identities = card_sim::IdentityFile::builtin()?;
    let especimen = identities.get("especimen").ok_or("no especimen")?;
    let logs = read_all_files(&tmp.path().join("data").join("logs"))?;
    for (path, bytes) in &logs {
        let text = String::from_utf8_lossy(bytes);
        for needle in [
            especimen.document_number.as_str(),
            &especimen.document_number[..8],
            especimen.pin.as_str(),
            PHONE_NATIONAL,
            EMAIL,
        ] {
            assert!(
                !text.contains(needle),
                "{} contains personal data or the PIN",
                path.display()
            );
        }
    }

    let store = store::Store::open_in_dir(&tmp.path().join("data")).await?;
    let entries = store.audit_entries().await?;
    let alta = entries
        .iter()
        .find(|e| e.action == "alta_completed")
        .ok_or("no alta in the audit trail")?;
    assert!(alta.detail.contains("dnie_pin"), "{}", alta.detail);
    assert!(store.verify_audit().await?.intact());
    store.close().await;
    Ok(())
}

/// The one QR code in a PNG, read by zbar's `zbarimg` (Debian's zbar-tools).
fn zbar_decode(png: &Path) -> Result<String, BoxError> {
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .arg(png)
        .output()
        .map_err(|e| format!("zbarimg: {e} (apt-get install zbar-tools)"))?;
    if !out.status.success() {
        return Err(format!("zbarimg found no QR code (exit {:?})", out.status.code()).into());
    }
    let text = String::from_utf8(out.stdout)?;
    let codes: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    match codes.as_slice() {
        [one] => Ok((*one).to_owned()),
        _ => Err(format!("zbarimg read {} codes, expected one", codes.len()).into()),
    }
}

/// What the clerk window shows of each reader (states only: no names or citizens).
async fn print_reader_states(c: &Client) {
    let Ok(items) = c
        .find_all(Locator::Css("#reader-status [data-state]"))
        .await
    else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let state = item.attr("data-state").await.ok().flatten();
        let selected = item.attr("data-selected").await.ok().flatten();
        eprintln!("reader status item {i}: state {state:?}, selected {selected:?}");
    }
}

/// Waits until both vpcd readers are empty, or says which one still holds a card.
fn readers_empty() -> Result<(), BoxError> {
    let ctx = dnie::transport::pcsc::PcscContext::establish()?;
    for name in ventanilla_tests::pcsc::VPCD_READERS {
        let reader = std::ffi::CString::new(name)?;
        if ctx
            .wait_for_status(&reader, Duration::from_secs(10), |s| !s.present)?
            .is_none()
        {
            return Err(format!("{name} still holds a card from an earlier test").into());
        }
    }
    Ok(())
}

/// Prints the last lines of the app's logs and of the harness's pcscd log.
fn print_log_tails(app_logs: &Path) {
    let mut files = read_all_files(app_logs).unwrap_or_default();
    if let Some(log) = ventanilla_tests::pcsc::ensure_pcscd()
        .ok()
        .and_then(|p| p.log())
        && let Ok(bytes) = std::fs::read(&log)
    {
        files.push((log, bytes));
    }
    for (path, bytes) in files {
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        eprintln!("---- last lines of {} ----", path.display());
        for line in &lines[lines.len().saturating_sub(60)..] {
            eprintln!("{line}");
        }
    }
}

async fn drive_dnie_alta(c: &Client) -> Result<(), BoxError> {
    let identities = card_sim::IdentityFile::builtin()?;
    let especimen = identities.get("especimen").ok_or("no especimen")?;
    let w = find_windows(c).await?;

    c.switch_to_window(w.clerk.clone()).await?;
    fill(c, "#login-username", "formacion").await?;
    fill(c, "#login-password", "ventanilla-formacion").await?;
    click(c, "#login-submit").await?;
    click(c, "#new-alta").await?;

    // Insert the virtual DNIe: the reader shows it, the form fills itself.
    click(c, "#training-insert-especimen").await?;
    wait_attr(c, "#reader-status", "data-state", "ready").await?;
    if value_of(c, "#alta-document").await? != especimen.document_number {
        click(c, "#use-card").await?;
    }
    let deadline = Instant::now() + WAIT;
    while value_of(c, "#alta-document").await? != especimen.document_number {
        if Instant::now() > deadline {
            return Err("the form was not filled from the card".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(value_of(c, "#alta-given-name").await?, especimen.given_name);
    let readonly = wait_css(c, "#alta-document")
        .await?
        .attr("readonly")
        .await?;
    assert!(readonly.is_some(), "card-given fields are not editable");
    screenshot(c, "clerk-dnie-read.png").await?;

    // The counter shows the citizen, masked.
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "identified").await?;
    let shown = text_of(c, "#identified-document").await?;
    assert!(
        !shown.contains(&especimen.document_number[..8]),
        "masked on the counter"
    );

    // The PIN: asked by the clerk, typed by the citizen on the counter.
    c.switch_to_window(w.clerk.clone()).await?;
    click(c, "#request-pin").await?;
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "enterPin").await?;
    fill(c, "#pin-input", "WRONGPIN99").await?;
    click(c, "#pin-submit").await?;
    let error = wait_text(c, "#pin-error").await?;
    assert!(error.contains('2'), "tries left shown: {error}");
    screenshot(c, "counter-pin-wrong.png").await?;
    fill(c, "#pin-input", &especimen.pin).await?;
    click(c, "#pin-submit").await?;
    wait_attr(c, "[data-screen]", "data-screen", "pinVerified").await?;
    screenshot(c, "counter-pin-verified.png").await?;

    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#pin-status", "data-state", "verified").await?;

    // The rest of the alta.
    fill(c, "#alta-expiry", "2034-01-15").await?;
    fill(c, "#alta-phone", PHONE_NATIONAL).await?;
    fill(c, "#alta-email", EMAIL).await?;
    click(c, "#alta-submit").await?;
    wait_attr(c, "#alta-status", "data-state", "awaiting").await?;
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "confirmAlta").await?;
    click(c, "#counter-confirm").await?;
    wait_attr(c, "[data-screen]", "data-screen", "altaDone").await?;
    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#alta-status", "data-state", "completed").await?;
    screenshot(c, "clerk-dnie-completed.png").await?;

    // A DNIe 2.0 gives its holder's data only after the PIN.
    let antiguo = identities.get("antiguo").ok_or("no antiguo")?;
    click(c, "#new-alta").await?;
    click(c, "#training-remove").await?;
    wait_attr(c, "#reader-status", "data-state", "empty").await?;
    click(c, "#training-insert-antiguo").await?;
    wait_attr(c, "#reader-status", "data-state", "pinOnly").await?;
    click(c, "#request-pin").await?;
    c.switch_to_window(w.counter.clone()).await?;
    wait_attr(c, "[data-screen]", "data-screen", "enterPin").await?;
    fill(c, "#pin-input", &antiguo.pin).await?;
    click(c, "#pin-submit").await?;
    wait_attr(c, "[data-screen]", "data-screen", "pinVerified").await?;
    c.switch_to_window(w.clerk.clone()).await?;
    wait_attr(c, "#pin-status", "data-state", "verified").await?;
    let deadline = Instant::now() + WAIT;
    while value_of(c, "#alta-document").await? != antiguo.document_number {
        if Instant::now() > deadline {
            return Err("the DNIe 2.0's identity did not fill the form".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The PIN never reached the clerk window. (The training panel names the
    // fictitious card's test PIN for the trainee: take the card out and the
    // panel away, then nothing may show it.)
    click(c, "#training-remove").await?;
    c.execute(
        "document.getElementById('training-panel')?.remove()",
        Vec::new(),
    )
    .await?;
    let page = c.source().await?;
    for pin in [&especimen.pin, &antiguo.pin] {
        assert!(
            !page.contains(pin.as_str()),
            "the PIN never reaches the clerk window"
        );
    }
    Ok(())
}
