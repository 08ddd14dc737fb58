// The clerk window's commands (see src-tauri/capabilities/clerk.json). Clerk-only module.
import type {
  AltaFormDto,
  AppInfo,
  AuditReportDto,
  ClerkEvent,
  ClerkSessionDto,
  MaskedCitizenDto,
  ReadersDto,
  TrainingCardDto,
} from "../bindings";
import { call, Channel } from "../shared/ipc";

export const appInfo = (): Promise<AppInfo> => call<AppInfo>("app_info");

export const clerkLogin = (username: string, password: string): Promise<ClerkSessionDto> =>
  call<ClerkSessionDto>("clerk_login", { username, password });

export const clerkSession = (): Promise<ClerkSessionDto | null> =>
  call<ClerkSessionDto | null>("clerk_session");

export const clerkLogout = (): Promise<void> => call<void>("clerk_logout");

export const clerkUnlock = (password: string): Promise<ClerkSessionDto> =>
  call<ClerkSessionDto>("clerk_unlock", { password });

export const clerkActivity = (): Promise<void> => call<void>("clerk_activity");

/** Opens the clerk's own event channel; the handler is set before the channel is sent. */
export function clerkSubscribe(onEvent: (event: ClerkEvent) => void): Promise<void> {
  const channel = new Channel<ClerkEvent>(onEvent);
  return call<void>("clerk_subscribe", { onEvent: channel });
}

/** Resolves with the masked data now shown to the citizen; the rest arrives as events. */
export const altaSubmit = (form: AltaFormDto): Promise<MaskedCitizenDto> =>
  call<MaskedCitizenDto>("alta_submit", { form });

export const altaCancel = (): Promise<void> => call<void>("alta_cancel");

export const auditVerify = (): Promise<AuditReportDto> => call<AuditReportDto>("audit_verify");

/** The whole reader picture now (the same as the `readers` events carry). */
export const readersState = (): Promise<ReadersDto> => call<ReadersDto>("readers_state");

/**
 * Asks the citizen for the DNIe PIN on the counter screen (the PIN never comes here).
 * Rejects with e.g. CARD-NONE (no DNIe ready) or ALTA-003 (the counter screen is busy).
 */
export const altaRequestPin = (): Promise<void> => call<void>("alta_request_pin");

export const pinCancel = (): Promise<void> => call<void>("pin_cancel");

/** Training mode only (TRAIN-001 otherwise). */
export const trainingCards = (): Promise<TrainingCardDto[]> => call<TrainingCardDto[]>("training_cards");

export const trainingInsertCard = (id: string): Promise<void> => call<void>("training_insert_card", { id });

export const trainingRemoveCard = (): Promise<void> => call<void>("training_remove_card");

/** Shows a Cl@ve Móvil QR on the counter screen; the state arrives as `clave` events. */
export const claveStart = (): Promise<void> => call<void>("clave_start");

export const claveCancel = (): Promise<void> => call<void>("clave_cancel");

/**
 * The document the citizen typed for a request without QR, unmasked: supervisors and admins
 * only (AUTH-010 otherwise); every call is audited.
 */
export const claveShowDocument = (): Promise<string> => call<string>("clave_show_document");
