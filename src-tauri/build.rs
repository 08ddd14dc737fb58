// Every command is listed here, so that `capabilities/*.json` can grant each
// window only its own (Tauri refuses app commands a capability doesn't name
// once the app has an ACL manifest).
const COMMANDS: &[&str] = &[
    // clerk console (commands/clerk.rs)
    "app_info",
    "clerk_login",
    "clerk_session",
    "clerk_logout",
    "clerk_unlock",
    "clerk_activity",
    "clerk_subscribe",
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
    // counter screen (commands/counter.rs)
    "counter_info",
    "counter_subscribe",
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

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        println!("cargo:warning=tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
