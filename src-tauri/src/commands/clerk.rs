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
