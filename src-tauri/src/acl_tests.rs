//! Each window may call only its own commands. These tests run the real
//! command handler and the real capabilities (`capabilities/*.json`, compiled
//! into the context) under `tauri::test`, with requests from
//! `tauri://localhost`, the origin of the app's pages on Linux.

use std::sync::Arc;

use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use crate::config::Config;

fn app() -> tauri::App<MockRuntime> {
    let state = tauri::async_runtime::block_on(async {
        let store = store::Store::open_in_memory().await.unwrap();
        crate::app_state(
            &Config::training_defaults(),
            store,
            Arc::new(registry::SystemClock),
            Arc::new(registry::SeededRandom::new(3)),
            std::time::Instant::now(),
            None,
        )
        .await
        .unwrap()
    });
    crate::with_commands(mock_builder())
        .manage(state)
        .build(crate::context())
        .unwrap()
}

fn window(app: &tauri::App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    WebviewWindowBuilder::new(app, label, WebviewUrl::App("index.html".into()))
        .build()
        .unwrap()
}

fn invoke(
    window: &WebviewWindow<MockRuntime>,
    cmd: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, String> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(body),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<serde_json::Value>().unwrap())
    .map_err(|e| e.to_string())
}

fn refused(result: &Result<serde_json::Value, String>) -> bool {
    matches!(result, Err(e) if e.contains("not allowed"))
}

const CLERK_ONLY: &[&str] = &[
    "app_info",
    "clerk_login",
    "clerk_session",
    "clerk_logout",
    "clerk_unlock",
    "clerk_activity",
    "alta_submit",
    "alta_cancel",
    "audit_verify",
    "readers_state",
    "alta_request_pin",
    "pin_cancel",
    "training_cards",
    "training_insert_card",
    "training_remove_card",
    "clave_start",
    "clave_cancel",
    "clave_show_document",
];
const COUNTER_ONLY: &[&str] = &[
    "counter_info",
    "counter_confirm",
    "counter_reject",
    "counter_extend",
    "counter_submit_pin",
    "counter_cancel_pin",
    "counter_clave_renew",
    "counter_clave_without_qr",
    "counter_clave_with_qr",
    "counter_clave_identify",
    "counter_clave_request_sms",
    "counter_clave_submit_pin",
];

#[test]
fn the_counter_window_is_refused_every_clerk_command() {
    let app = app();
    let counter = window(&app, crate::COUNTER_WINDOW);
    for cmd in CLERK_ONLY {
        let result = invoke(&counter, cmd, serde_json::json!({}));
        assert!(refused(&result), "counter may call {cmd}: {result:?}");
    }
    // …and may call its own.
    let info = invoke(&counter, "counter_info", serde_json::json!({})).unwrap();
    assert_eq!(info["counter"], 1);
    // Its Cl@ve Móvil commands get through (and say the endpoint is off here).
    let err = invoke(&counter, "counter_clave_without_qr", serde_json::json!({})).unwrap_err();
    assert!(err.contains("CLAVE-001"), "{err}");
}

#[test]
fn the_clerk_window_is_refused_the_counter_only_commands() {
    let app = app();
    let clerk = window(&app, crate::CLERK_WINDOW);
    for cmd in COUNTER_ONLY {
        let result = invoke(&clerk, cmd, serde_json::json!({}));
        assert!(refused(&result), "clerk may call {cmd}: {result:?}");
    }
    let info = invoke(&clerk, "app_info", serde_json::json!({})).unwrap();
    assert_eq!(info["training"], true);
    // An allowed command still applies its own rules.
    let err = invoke(&clerk, "alta_cancel", serde_json::json!({})).unwrap_err();
    assert!(err.contains("AUTH-003"), "{err}");
    // No endpoint in these tests: Cl@ve Móvil says it is off.
    let err = invoke(&clerk, "clave_start", serde_json::json!({})).unwrap_err();
    assert!(err.contains("CLAVE-001"), "{err}");
    let err = invoke(&clerk, "clave_show_document", serde_json::json!({})).unwrap_err();
    assert!(err.contains("CLAVE-001"), "{err}");
}

#[test]
fn the_counter_window_has_no_core_or_event_permissions() {
    let app = app();
    let counter = window(&app, crate::COUNTER_WINDOW);
    for cmd in [
        "plugin:event|listen",
        "plugin:event|emit",
        "plugin:window|close",
        "plugin:webview|create_webview_window",
        "plugin:app|version",
    ] {
        let result = invoke(&counter, cmd, serde_json::json!({}));
        assert!(refused(&result), "counter may call {cmd}: {result:?}");
    }
}

#[test]
fn a_window_with_any_other_label_gets_nothing() {
    let app = app();
    let intruder = window(&app, "intruder");
    for cmd in CLERK_ONLY.iter().chain(COUNTER_ONLY) {
        let result = invoke(&intruder, cmd, serde_json::json!({}));
        assert!(
            refused(&result),
            "an unknown window may call {cmd}: {result:?}"
        );
    }
}
