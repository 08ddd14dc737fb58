//! Commands of the clerk console (window `clerk`).

use std::sync::Arc;

use registry::Secret;
use tauri::State;
use tauri::ipc::Channel;

use super::{AppState, ChannelSink};
use crate::errors::DeskError;
use crate::ipc::{
    AltaFormDto, AppInfo, AuditReportDto, ClerkEvent, ClerkSessionDto, MaskedCitizenDto,
};
use crate::ipc::{ReadersDto, TrainingCardDto};

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.startup.clerk_ready();
    state.app_info.clone()
}

#[tauri::command]
pub async fn clerk_login(
    state: State<'_, AppState>,
    username: String,
    password: String,
) -> Result<ClerkSessionDto, DeskError> {
    state.desk.login(&username, Secret::new(password)).await
}

#[tauri::command]
pub async fn clerk_session(
    state: State<'_, AppState>,
) -> Result<Option<ClerkSessionDto>, DeskError> {
    Ok(state.desk.session().await)
}

#[tauri::command]
pub async fn clerk_logout(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.logout().await
}

#[tauri::command]
pub async fn clerk_unlock(
    state: State<'_, AppState>,
    password: String,
) -> Result<ClerkSessionDto, DeskError> {
    state.desk.unlock(Secret::new(password)).await
}

#[tauri::command]
pub async fn clerk_activity(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.activity().await
}

#[tauri::command]
pub async fn clerk_subscribe(
    state: State<'_, AppState>,
    on_event: Channel<ClerkEvent>,
) -> Result<(), DeskError> {
    state
        .desk
        .subscribe_clerk(Arc::new(ChannelSink(on_event)))
        .await;
    Ok(())
}

#[tauri::command]
pub async fn alta_submit(
    state: State<'_, AppState>,
    form: AltaFormDto,
) -> Result<MaskedCitizenDto, DeskError> {
    state.desk.submit_alta(form).await
}

#[tauri::command]
pub async fn alta_cancel(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.cancel_alta().await
}

#[tauri::command]
pub async fn audit_verify(state: State<'_, AppState>) -> Result<AuditReportDto, DeskError> {
    state.desk.verify_audit().await
}

#[tauri::command]
pub async fn readers_state(state: State<'_, AppState>) -> Result<ReadersDto, DeskError> {
    Ok(state.desk.readers().await)
}

/// Asks the citizen for their DNIe PIN on the counter screen (never here).
#[tauri::command]
pub async fn alta_request_pin(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.request_pin().await
}

/// Starts a Cl@ve Móvil request for the citizen at the counter (QR on the
/// counter screen).
#[tauri::command]
pub async fn clave_start(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.clave_start().await
}

#[tauri::command]
pub async fn clave_cancel(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.clave_cancel().await
}

/// The document the citizen typed for a Cl@ve Móvil request without QR,
/// unmasked: supervisors and admins only, and audited every time.
#[tauri::command]
pub async fn clave_show_document(state: State<'_, AppState>) -> Result<String, DeskError> {
    state.desk.clave_show_document().await
}

#[tauri::command]
pub async fn pin_cancel(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.cancel_pin().await
}

fn training(state: &AppState) -> Result<&crate::training::Training, DeskError> {
    state
        .training
        .as_ref()
        .ok_or(DeskError::Training("TRAIN-001"))
}

#[tauri::command]
pub async fn training_cards(state: State<'_, AppState>) -> Result<Vec<TrainingCardDto>, DeskError> {
    state.desk.activity().await?;
    Ok(training(&state)?.cards())
}

#[tauri::command]
pub async fn training_insert_card(state: State<'_, AppState>, id: String) -> Result<(), DeskError> {
    state.desk.activity().await?;
    let training = training(&state)?;
    tokio::task::block_in_place(|| training.insert(&id))
}

#[tauri::command]
pub async fn training_remove_card(state: State<'_, AppState>) -> Result<(), DeskError> {
    state.desk.activity().await?;
    let training = training(&state)?;
    tokio::task::block_in_place(|| training.remove())
}
