// Generated from src-tauri/src/ipc.rs by src-tauri/src/bindings.rs. Do not edit:
// run `VENTANILLA_UPDATE_BINDINGS=1 cargo test -p ventanilla bindings` instead.

export type Lang = "es" | "ca" | "gl" | "eu" | "en";

export type CommandError = { code: string, message: string, params: { [key in string]: string }, 
/**
 * Per-field problems of a form, all of them at once.
 */
fields: Array<FieldErrorDto>, };

export type FieldErrorDto = { 
/**
 * camelCase name of the form field (`document`, `phone`, …).
 */
field: string, code: string, params: { [key in string]: string }, };

export type AppInfo = { officeName: string, 
/**
 * DIR3 code of the office (`O` + 8 digits).
 */
officeCode: string, counter: number, training: boolean, languages: Array<Lang>, defaultLanguage: Lang, clerkIdleLockSecs: number, 
/**
 * Training mode only: the seeded demo account, shown as such on screen.
 */
demoClerk: DemoClerk | null, version: string, };

export type DemoClerk = { username: string, password: string, };

export type RoleDto = "clerk" | "supervisor" | "admin";

export type ClerkSessionDto = { username: string, displayName: string, role: RoleDto, 
/**
 * What the role allows beyond serving citizens (`registry::Role::can`: the
 * one place these rules live).
 */
mayVerifyAudit: boolean, mayShowTypedDocument: boolean, 
/**
 * The seeded training account.
 */
demo: boolean, 
/**
 * The console is idle-locked: the clerk must type the password again.
 */
locked: boolean, };

export type AltaFormDto = { document: string, 
/**
 * `YYYY-MM-DD` (or `DD/MM/YYYY`); DNI only.
 */
expiryDate: string, 
/**
 * Permanent DNI (holders over 70): the contrast datum is the issue date.
 */
permanent: boolean, issueDate: string, 
/**
 * IDESP for a DNI (optional), support number for a NIE (required).
 */
supportNumber: string, givenName: string, firstSurname: string, secondSurname: string, phone: string, email: string, 
/**
 * The clerk took document, name and support number from the DNIe in the
 * reader (the backend checks they still match the card).
 */
fromCard: boolean, };

export type LevelDto = "basico" | "avanzado";

export type DocumentKindDto = "dni" | "nie";

export type ContrastKindDto = "dniExpiry" | "permanentDniIssue" | "nieSupport";

export type MaskedCitizenDto = { documentKind: DocumentKindDto, 
/**
 * e.g. `****5678Z`.
 */
document: string, 
/**
 * Name as the citizen should recognise it.
 */
name: string, contrastKind: ContrastKindDto, 
/**
 * Dates show only their year; support numbers their last characters.
 */
contrast: string, 
/**
 * Last 3 digits only.
 */
phone: string, 
/**
 * First letter and domain only.
 */
email: string, level: LevelDto, };

export type CounterView = { "screen": "welcome" } | { "screen": "confirmAlta", citizen: MaskedCitizenDto, 
/**
 * Seconds until the request times out and the screen clears.
 */
expiresInSecs: number, } | { "screen": "altaDone", level: LevelDto, returnInSecs: number, } | { "screen": "backToClerk" } | { "screen": "identified", citizen: MaskedIdentityDto, } | { "screen": "enterPin", citizen: MaskedIdentityDto | null, triesLeft: number | null, errorCode: string | null, } | { "screen": "pinChecking" } | { "screen": "pinVerified" } | { "screen": "pinBlocked" } | { "screen": "claveQr", 
/**
 * The requesting body, as the app shows it too.
 */
body: string, 
/**
 * The 3-digit verification code.
 */
code: string, counter: number, qrSvg: string | null, expiresInSecs: number, } | { "screen": "claveIdentify", body: string, counter: number, expiresInSecs: number, } | { "screen": "claveNoQr", body: string, code: string, counter: number, 
/**
 * The document the citizen typed, masked (`****5678Z`).
 */
document: string, expiresInSecs: number, smsInSecs: number, } | { "screen": "claveSmsPin", body: string, code: string, counter: number, document: string, expiresInSecs: number, triesLeft: number, errorCode: string | null, resendInSecs: number, } | { "screen": "claveDone", outcome: ClaveOutcomeDto, bySms: boolean, };

export type CounterInfo = { officeName: string, counter: number, training: boolean, languages: Array<Lang>, defaultLanguage: Lang, };

export type ClerkEvent = { "kind": "altaAwaitingCitizen", citizen: MaskedCitizenDto, expiresInSecs: number, } | { "kind": "altaCompleted", registrationId: string, level: LevelDto, auditSeq: number, } | { "kind": "altaBackToClerk", form: AltaFormDto, } | { "kind": "altaTimedOut", form: AltaFormDto, } | { "kind": "altaFailed", error: CommandError, form: AltaFormDto, } | { "kind": "locked" } | { "kind": "readers", readers: ReadersDto, } | { "kind": "pinRequested" } | { "kind": "cardIdentified", identity: CardIdentityDto, } | { "kind": "pinVerified", document: string, } | { "kind": "pinFailed", code: string, triesLeft: number | null, } | { "kind": "clave", status: ClaveStatusDto, code: string, expiresInSecs: number, noQr: boolean, document: string | null, smsInSecs: number | null, triesLeft: number | null, 
/**
 * Ended with the SMS PIN.
 */
bySms: boolean, };

export type AuditReportDto = { entries: number, intact: boolean, problems: Array<AuditProblemDto>, };

export type AuditProblemDto = { seq: number, 
/**
 * `changed`, `missing`, `inserted`, `reordered`, `truncated`.
 */
kind: string, };

export type MaskedIdentityDto = { 
/**
 * e.g. `****5678Z`.
 */
document: string, name: string, };

export type CardIdentityDto = { document: string, givenName: string, surnames: string, 
/**
 * The split of `surnames` the alta form uses (first, second).
 */
firstSurname: string, secondSurname: string, 
/**
 * Support number (IDESP) read from the chip.
 */
idesp: string, 
/**
 * Last day of the authentication certificate, `YYYY-MM-DD`.
 */
certValidUntil: string, 
/**
 * `2.0` or `3.0` (3.0 and 4.0 behave alike over contact).
 */
version: string, };

export type ReaderStateDto = { "state": "empty" } | { "state": "reading" } | { "state": "ready", identity: CardIdentityDto, } | { "state": "notADnie" } | { "state": "finalised" } | { "state": "error", code: string, };

export type ReaderDto = { name: string, state: ReaderStateDto, 
/**
 * The reader whose card the desk uses.
 */
selected: boolean, };

export type ReadersDto = { 
/**
 * pcscd (the PC/SC service) is running.
 */
service: boolean, 
/**
 * The selected reader holds a DNIe 2.0: its identity comes with the PIN.
 */
pinOnly: boolean, readers: Array<ReaderDto>, };

export type TrainingCardDto = { id: string, 
/**
 * What kind of card it is, for the trainee (no real person's data).
 */
label: string, };

export type ClaveOutcomeDto = "confirmed" | "rejected" | "expired" | "cancelled";

export type ClaveStatusDto = "pending" | "scanned" | "identifying" | "waiting" | "smsSent" | "confirmed" | "rejected" | "expired" | "cancelled";

export type ClaveIdentityDto = { document: string, 
/**
 * DNI: its expiry date (`YYYY-MM-DD` or `DD/MM/YYYY`).
 */
expiryDate: string, 
/**
 * Permanent DNI (holders over 70): the contrast datum is the issue date.
 */
permanent: boolean, issueDate: string, 
/**
 * NIE: the card's support number (a letter and 8 digits).
 */
supportNumber: string, };
