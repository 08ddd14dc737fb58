//! Commands of the counter screen (window `counter`), which faces the citizen.
//! It can only read its own view and answer the question it is shown.

use std::sync::Arc;

use registry::Secret;
use tauri::State;
use tauri::ipc::Channel;

use super::{AppState, ChannelSink};
use crate::errors::DeskError;
use crate::ipc::{ClaveIdentityDto, CounterInfo, CounterView};

#[tauri::command]
pub fn counter_info(state: State<'_, AppState>) -> CounterInfo {
    state.counter_info.clone()
}

/// The counter opens its own channel; the current view is sent at once.
#[tauri::command]
pub async fn counter_subscribe(
    state: State<'_, AppState>,
    on_view: Channel<CounterView>,
) -> Result<(), DeskError> {
    state.startup.counter_ready();
    state
        .desk
        .subscribe_counter(Arc::new(ChannelSink(on_view)))
        .await;
    Ok(())
}

#[tauri::command]
pub async fn counter_confirm(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.counter_confirm().await
}

#[tauri::command]
pub async fn counter_reject(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.counter_reject().await
}

/// The citizen asks for more time to answer.
#[tauri::command]
pub async fn counter_extend(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.counter_extend().await
}

/// The citizen's DNIe PIN, typed on the counter screen. It goes to the card
/// once and is dropped (zeroized) right after.
#[tauri::command]
pub async fn counter_submit_pin(state: State<'_, AppState>, pin: String) -> Result<(), DeskError> {
    state.desk.counter_submit_pin(Secret::new(pin)).await
}

/// The citizen asks for a new Cl@ve Móvil request (new code, full time).
#[tauri::command]
pub async fn counter_clave_renew(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.counter_clave_renew().await
}

#[tauri::command]
pub async fn counter_cancel_pin(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.counter_cancel_pin().await
}

/// The citizen chooses Cl@ve Móvil "without QR": the counter asks for their data.
#[tauri::command]
pub async fn counter_clave_without_qr(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.counter_clave_without_qr().await
}

/// Back from the "without QR" form to the QR.
#[tauri::command]
pub async fn counter_clave_with_qr(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.counter_clave_with_qr().await
}

/// The DNI/NIE and contrast datum the citizen typed here: the request goes to
/// their phone. Errors name the fields (as the alta form's do).
#[tauri::command]
pub async fn counter_clave_identify(
    state: State<'_, AppState>,
    form: ClaveIdentityDto,
) -> Result<(), DeskError> {
    state.desk.counter_clave_identify(form).await
}

/// "¿No recibe la petición?": a 6-digit PIN by SMS (60 s after the request).
#[tauri::command]
pub async fn counter_clave_request_sms(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.counter_clave_request_sms().await
}

/// The SMS PIN typed here; dropped (zeroized) right after the check.
#[tauri::command]
pub async fn counter_clave_submit_pin(
    state: State<'_, AppState>,
    pin: String,
) -> Result<(), DeskError> {
    state.desk.counter_clave_submit_pin(Secret::new(pin)).await
}
