/*
 * Clerk console (clerk.html), the main monitor.
 *
 * Stable element ids for the end-to-end (WebDriver) tests:
 *   body[data-view]     starting | bootError | login | locked | home | alta
 *   login               #login-username #login-password #login-submit #login-error
 *                       #login-demo-fill (training mode only)
 *   header / main       #clerk-lang (select) #logout #new-alta (home, and after a completed alta)
 *   alta form           #alta-document #alta-expiry #alta-permanent #alta-issue #alta-support
 *                       #alta-given-name #alta-first-surname #alta-second-surname #alta-phone
 *                       #alta-email #alta-submit #alta-cancel (discards the form; while waiting
 *                       for the citizen: stops waiting) #alta-document-kind
 *   field errors        #err-<field>, field = document|expiryDate|permanent|issueDate|
 *                       supportNumber|givenName|firstSurname|secondSurname|phone|email;
 *                       #err-form lists errors that belong to no visible field
 *   status banner       #alta-status[data-state] editing|awaiting|completed|backToClerk|
 *                       timedOut|failed|alreadyRegistered  (also [data-code] = error code)
 *   waiting             #alta-countdown, masked data #clerk-masked-<name|document|contrast|
 *                       phone|email|level>
 *   completed           #alta-level #alta-registration-id #alta-audit-seq #new-alta #alta-home
 *   lock screen         #unlock-password #unlock-submit #unlock-error #lock-logout
 *   audit (supervisor/admin)  #audit-verify (header) #audit-result[data-intact] #audit-close
 *   card readers        #reader-status[data-state] unknown|noService|noReader|empty|reading|ready|
 *                       notADnie|finalised|error|pinOnly (the selected reader; pinOnly: a DNIe
 *                       2.0, identity behind the PIN); one li.reader per reader with
 *                       [data-state], [data-selected] and, for an error, [data-code]
 *   identify panel      #identify[data-situation] noCard|offer|inUse|removed|otherCard|pinOnly
 *                       #pin-only-note (DNIe 2.0: identify with the PIN; #request-pin then
 *                       says "identify with the DNIe's PIN")
 *                       #use-card #type-manually #request-pin #pin-status[data-state]
 *                       waiting|verified|failed (+ [data-code]) #pin-cancel-clerk
 *                       #pin-badge ("identity proven with DNIe and PIN", next to the document)
 *                       card-given inputs carry [readonly][data-from-card="true"]
 *   Cl@ve Móvil (home)  #clave-start #clave-status[data-state] idle|pending|scanned|identifying|
 *                       waiting|smsSent|confirmed|rejected|expired|cancelled (+ [data-code]
 *                       after a failed command; [data-by-sms] once ended with the SMS PIN)
 *                       #clave-code #clave-countdown #clave-cancel (while in progress)
 *                       without QR: #clave-document (masked; unmasked after #clave-show-document,
 *                       supervisors and admins only, audited) #clave-sms (#clave-sms-countdown
 *                       until the SMS option opens) #clave-tries
 *   training mode       #training-panel #training-insert-<id> #training-remove #training-error
 */
import "../shared/base.css";
import "./clerk.css";
import type {
  AppInfo,
  AuditReportDto,
  ClaveStatusDto,
  ClerkEvent,
  ClerkSessionDto,
  CommandError,
  FieldErrorDto,
  Lang,
  LevelDto,
  MaskedCitizenDto,
  AltaFormDto,
  CardIdentityDto,
  ReadersDto,
} from "../bindings";
import {
  commandErrorText,
  enabledLangs,
  errorText,
  fmt,
  isLang,
  LANG_NAMES,
  levelName,
  messages,
  type Messages,
} from "../i18n";
import { Deadline, formatCountdown } from "../shared/countdown";
import { captureFocus, focusById, h, icon, type IconName, withSlot } from "../shared/dom";
import { asCommandError } from "../shared/ipc";
import { maskedList } from "../shared/masked";
import { triesFromParams } from "../shared/pin";
import * as api from "./api";
import {
  type AltaField,
  contrastLayout,
  emptyForm,
  FIELD_INPUT_IDS,
  firstInvalidField,
  fromDto,
  groupFieldErrors,
  isAltaField,
  isEmptyForm,
  toDto,
} from "./altaForm";
import { altaFormView } from "./altaView";
import {
  afterCardIdentified,
  CARD_FIELDS,
  formFromCard,
  isCardField,
  PIN_IDLE,
  pinAfterFormChange,
  pinFailed,
  pinPadOpen,
  type PinStep,
  shouldAutoFill,
  typeManually,
} from "./card";
import { identifyPanel, pinBadge, readerStatusView, type TrainingState, trainingPanel } from "./cardViews";
import { cardIdentity, type IdentifiedCard, identifiedCard, keepIdentified } from "./readers";
import { throttle } from "./throttle";

// ---------------------------------------------------------------------------------------
// State

type AltaPhase =
  | "editing"
  | "submitting"
  | "awaiting"
  | "completed"
  | "backToClerk"
  | "timedOut"
  | "failed"
  | "alreadyRegistered";

type AltaState = {
  phase: AltaPhase;
  /** Phase to go back to if a submission is refused for a reason that keeps the form. */
  phaseBeforeSubmit: AltaPhase;
  form: AltaFormDto;
  fieldErrors: FieldErrorDto[];
  error: CommandError | null;
  cancelledNote: boolean;
  citizen: MaskedCitizenDto | null;
  deadline: Deadline | null;
  cancelling: boolean;
  result: { registrationId: string; level: LevelDto; auditSeq: string } | null;
  /** The optional "verify with PIN" step (the PIN itself never reaches this window). */
  pin: PinStep;
  pinCancelling: boolean;
  /** Document of a DNIe the clerk chose not to use: it is offered, never filled in by itself. */
  declinedCard: string | null;
};

type AuditState =
  | { status: "running" }
  | { status: "done"; report: AuditReportDto }
  | { status: "error"; error: CommandError };

type TimedError = { error: CommandError; retry: Deadline | null };

const state = {
  info: null as AppInfo | null,
  bootError: null as CommandError | null,
  lang: "es" as Lang,
  session: null as ClerkSessionDto | null,
  locked: false,
  /** Who was logged in when the console locked (the lock screen names them). */
  lockedName: null as string | null,
  subscribed: false,
  /** Bumped on logout/login: events from an older channel are ignored. */
  generation: 0,
  busy: false,
  login: { username: "", password: "" },
  loginError: null as TimedError | null,
  sessionEnded: false,
  unlockError: null as TimedError | null,
  alta: null as AltaState | null,
  audit: null as AuditState | null,
  /** A command failed outside the alta form (shown on the home view). */
  flash: null as CommandError | null,
  /** Element to focus after the next render (by id). */
  focus: null as string | null,
  /** Focus to restore after unlocking. */
  focusBeforeLock: null as string | null,
  /** The card readers, live from the `readers` events (null until the first one). */
  readers: null as ReadersDto | null,
  /** A DNIe 2.0 in the selected reader that told who it is after its PIN (`cardIdentified`). */
  identified: null as IdentifiedCard | null,
  /** Training mode: the virtual cards. */
  training: { cards: null, busy: false, error: null } as TrainingState,
  /**
   * Document of the DNIe whose alta just completed: while it stays in the reader it is not
   * filled into the next alta by itself.
   */
  doneCard: null as string | null,
  /** The Cl@ve Móvil request started from this console (live from the `clave` events). */
  clave: {
    status: "idle" as ClaveStatusDto | "idle",
    code: "",
    deadline: null as Deadline | null,
    busy: false,
    error: null as CommandError | null,
    noQr: false,
    /** The document the citizen typed, masked. */
    document: null as string | null,
    /** The same, unmasked, after a supervisor asked for it (audited); dropped with the request. */
    revealed: null as string | null,
    smsDeadline: null as Deadline | null,
    triesLeft: null as number | null,
    bySms: false,
  },
};

const root = document.getElementById("app") ?? document.body;

function m(): Messages {
  return messages(state.lang);
}

/** The backend says what the role allows (`registry::Role::can`), so the rule lives in one place. */
function canVerifyAudit(): boolean {
  return state.session?.mayVerifyAudit === true;
}

function canShowTypedDocument(): boolean {
  return state.session?.mayShowTypedDocument === true;
}

function newAlta(form: AltaFormDto = emptyForm()): AltaState {
  return {
    pin: PIN_IDLE,
    pinCancelling: false,
    declinedCard: state.doneCard,
    phase: "editing",
    phaseBeforeSubmit: "editing",
    form,
    fieldErrors: [],
    error: null,
    cancelledNote: false,
    citizen: null,
    deadline: null,
    cancelling: false,
    result: null,
  };
}

function timedError(error: CommandError): TimedError {
  const secs = Number(error.params["retryAfterSecs"]);
  return {
    error,
    retry: error.code === "AUTH-002" && Number.isFinite(secs) ? new Deadline(secs) : null,
  };
}

function timedErrorText(t: TimedError): string {
  if (t.retry === null) return commandErrorText(m(), t.error);
  const left = t.retry.secondsLeft();
  if (left === 0) return m().clerk.login.retryNow;
  return errorText(m(), t.error.code, { ...t.error.params, retryAfterSecs: String(left) });
}

// ---------------------------------------------------------------------------------------
// Rendering

function render(): void {
  const restore = captureFocus();
  const msg = m();
  document.documentElement.lang = state.lang;
  document.title = msg.clerk.title;
  const view = currentView();
  document.body.dataset["view"] = view;
  root.replaceChildren(
    ...(state.info === null ? [] : [header(msg)]),
    ...(view === "home" || view === "alta" ? [cardBar(msg)] : []),
    mainView(view, msg),
  );
  if (state.focus !== null) {
    const target = state.focus;
    state.focus = null;
    focusById(target);
  } else {
    restore();
  }
}

function currentView(): string {
  if (state.bootError !== null) return "bootError";
  if (state.info === null) return "starting";
  if (state.locked) return "locked";
  if (state.session === null) return "login";
  return state.alta === null ? "home" : "alta";
}

function header(msg: Messages): HTMLElement {
  const info = state.info;
  if (info === null) return h("header");
  const session = state.locked ? null : state.session;
  const langs = enabledLangs(info.languages, info.defaultLanguage);
  return h(
    "header",
    { class: "topbar" },
    h(
      "div",
      { class: "where" },
      info.training
        ? h("strong", { class: "training-badge", id: "training-badge" }, icon("warning"), msg.common.training)
        : null,
      h("span", { class: "office-name" }, info.officeName),
      h("span", { class: "office-code" }, `${msg.clerk.header.office} ${info.officeCode}`),
      h("span", { class: "counter-no" }, fmt(msg.clerk.header.counter, { counter: String(info.counter) })),
    ),
    h(
      "div",
      { class: "tools" },
      session !== null
        ? h(
            "span",
            { class: "who" },
            icon("user"),
            h(
              "span",
              { id: "clerk-user" },
              fmt(msg.clerk.header.user, {
                name: session.displayName,
                role: msg.roles[session.role],
              }),
            ),
            session.demo ? h("span", { class: "demo-tag" }, `(${msg.clerk.header.demoAccount})`) : null,
          )
        : null,
      session !== null && canVerifyAudit()
        ? h(
            "button",
            {
              id: "audit-verify",
              type: "button",
              class: "secondary small",
              disabled: state.audit?.status === "running",
              onclick: () => void verifyAudit(),
            },
            msg.clerk.header.auditVerify,
          )
        : null,
      h(
        "span",
        { class: "lang" },
        h("label", { for: "clerk-lang" }, msg.clerk.header.language),
        h(
          "select",
          {
            id: "clerk-lang",
            onchange: (ev: Event) => {
              const value = (ev.target as HTMLSelectElement).value;
              if (isLang(value)) {
                state.lang = value;
                render();
              }
            },
          },
          langs.map((l) =>
            h("option", { value: l, lang: l, selected: l === state.lang }, LANG_NAMES[l]),
          ),
        ),
      ),
      session !== null
        ? h(
            "button",
            { id: "logout", type: "button", class: "secondary small", onclick: () => void logout() },
            msg.clerk.header.logout,
          )
        : null,
    ),
  );
}

function mainView(view: string, msg: Messages): HTMLElement {
  switch (view) {
    case "bootError":
      return h(
        "main",
        { class: "center" },
        h(
          "p",
          { class: "alert", role: "alert" },
          icon("warning"),
          fmt(msg.clerk.bootFailed, {
            error: state.bootError === null ? "" : commandErrorText(msg, state.bootError),
          }),
        ),
      );
    case "starting":
      return h("main", { class: "center" }, h("p", { class: "muted" }, msg.common.loading));
    case "locked":
      return lockView(msg);
    case "login":
      return loginView(msg);
    case "home":
      return homeView(msg);
    default:
      return altaView(msg);
  }
}

function loginView(msg: Messages): HTMLElement {
  const info = state.info;
  const l = msg.clerk.login;
  const demo = info?.training === true ? info.demoClerk : null;
  const err = state.loginError;
  const notice = err === null && state.sessionEnded ? msg.clerk.sessionEnded : null;
  const errText = err !== null ? timedErrorText(err) : notice ?? "";
  const username = h("input", {
    id: "login-username",
    name: "username",
    autocomplete: "username",
    spellcheck: "false",
    autocapitalize: "off",
    value: state.login.username,
    required: true,
    "aria-invalid": err !== null ? "true" : "false",
    "aria-describedby": "login-error",
    oninput: (ev: Event) => {
      state.login.username = (ev.target as HTMLInputElement).value;
    },
  });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    value: state.login.password,
    required: true,
    "aria-invalid": err !== null ? "true" : "false",
    "aria-describedby": "login-error",
    oninput: (ev: Event) => {
      state.login.password = (ev.target as HTMLInputElement).value;
    },
  });
  return h(
    "main",
    { class: "center" },
    h(
      "section",
      { class: "card login", "aria-labelledby": "login-title" },
      h("h1", { id: "login-title" }, l.title),
      info?.training === true
        ? h("p", { class: "training-note" }, icon("warning"), msg.common.trainingNote)
        : null,
      h(
        "form",
        {
          id: "login-form",
          novalidate: true,
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void login();
          },
        },
        h("div", { class: "field" }, h("label", { for: "login-username" }, l.username), username),
        h("div", { class: "field" }, h("label", { for: "login-password" }, l.password), password),
        h(
          "p",
          {
            id: "login-error",
            class: err !== null ? "field-error" : "notice",
            role: "alert",
            hidden: errText === "",
            "data-code": err?.error.code,
          },
          errText === "" ? null : icon(err !== null ? "warning" : "info"),
          h("span", { class: "timed-error" }, errText),
        ),
        h(
          "div",
          { class: "actions" },
          h(
            "button",
            { id: "login-submit", type: "submit", class: "primary", disabled: state.busy },
            state.busy ? l.submitting : l.submit,
          ),
        ),
      ),
      demo !== null && demo !== undefined
        ? h(
            "section",
            { class: "demo", "aria-labelledby": "demo-title" },
            h("h2", { id: "demo-title" }, icon("info"), l.demoTitle),
            h("p", {}, l.demoText),
            h(
              "dl",
              {},
              h("dt", {}, l.demoUsername),
              h("dd", { id: "demo-username" }, demo.username),
              h("dt", {}, l.demoPassword),
              h("dd", { id: "demo-password" }, demo.password),
            ),
            h(
              "button",
              {
                id: "login-demo-fill",
                type: "button",
                class: "secondary",
                onclick: () => {
                  state.login = { username: demo.username, password: demo.password };
                  state.focus = "login-submit";
                  render();
                },
              },
              l.useDemo,
            ),
          )
        : null,
    ),
    info !== null ? h("p", { class: "version muted" }, fmt(msg.clerk.version, { version: info.version })) : null,
  );
}

function lockView(msg: Messages): HTMLElement {
  const l = msg.clerk.lock;
  const err = state.unlockError;
  const errText = err !== null ? timedErrorText(err) : "";
  const name = state.session?.displayName ?? state.lockedName;
  return h(
    "main",
    { class: "center" },
    h(
      "section",
      { class: "card lock", "aria-labelledby": "lock-title" },
      h("h1", { id: "lock-title" }, icon("lock"), l.title),
      h("p", {}, l.body),
      name !== null ? h("p", { class: "who" }, icon("user"), fmt(l.user, { name })) : null,
      h(
        "form",
        {
          id: "unlock-form",
          novalidate: true,
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void unlock();
          },
        },
        h(
          "div",
          { class: "field" },
          h("label", { for: "unlock-password" }, l.password),
          h("input", {
            id: "unlock-password",
            name: "password",
            type: "password",
            autocomplete: "current-password",
            required: true,
            "aria-invalid": err !== null ? "true" : "false",
            "aria-describedby": "unlock-error",
          }),
        ),
        h(
          "p",
          {
            id: "unlock-error",
            class: "field-error",
            role: "alert",
            hidden: errText === "",
            "data-code": err?.error.code,
          },
          errText === "" ? null : icon("warning"),
          h("span", { class: "timed-error" }, errText),
        ),
        h(
          "div",
          { class: "actions" },
          h(
            "button",
            { id: "unlock-submit", type: "submit", class: "primary", disabled: state.busy },
            state.busy ? l.submitting : l.submit,
          ),
          h(
            "button",
            { id: "lock-logout", type: "button", class: "secondary", onclick: () => void logout() },
            l.logout,
          ),
        ),
      ),
    ),
  );
}

function auditPanel(msg: Messages): HTMLElement | null {
  const audit = state.audit;
  if (audit === null) return null;
  const a = msg.clerk.audit;
  let body: HTMLElement[];
  let intact: string | undefined;
  if (audit.status === "running") {
    body = [h("p", { class: "muted" }, a.verifying)];
  } else if (audit.status === "error") {
    body = [
      h(
        "p",
        { class: "alert" },
        icon("warning"),
        fmt(a.failed, { error: commandErrorText(msg, audit.error) }),
      ),
    ];
  } else {
    const r = audit.report;
    intact = r.intact ? "true" : "false";
    const kinds: Readonly<Record<string, string | undefined>> = a.kinds;
    body = [
      r.intact
        ? h("p", { class: "ok" }, icon("check"), fmt(a.intact, { entries: String(r.entries) }))
        : h(
            "p",
            { class: "alert" },
            icon("warning"),
            fmt(a.broken, { count: String(r.problems.length), entries: String(r.entries) }),
          ),
    ];
    if (r.problems.length > 0) {
      body.push(
        h(
            "ul",
            { class: "problems" },
            r.problems.map((p) =>
              h(
                "li",
                { "data-kind": p.kind, "data-seq": String(p.seq) },
                fmt(a.problem, {
                  seq: String(p.seq),
                  kind: kinds[p.kind] ?? fmt(a.unknownKind, { kind: p.kind }),
                }),
              ),
            ),
          ),
      );
    }
  }
  return h(
    "section",
    {
      id: "audit-result",
      class: "panel audit",
      tabindex: "-1",
      "aria-labelledby": "audit-title",
      "aria-busy": audit.status === "running" ? "true" : "false",
      "data-status": audit.status,
      "data-intact": intact,
    },
    h(
      "div",
      { class: "panel-head" },
      h("h2", { id: "audit-title" }, a.title),
      h(
        "button",
        {
          id: "audit-close",
          type: "button",
          class: "secondary small",
          onclick: () => {
            state.audit = null;
            state.focus = "audit-verify";
            render();
          },
        },
        msg.common.close,
      ),
    ),
    ...body,
  );
}

function flashView(msg: Messages): HTMLElement | null {
  return state.flash !== null
    ? h(
        "p",
        { id: "clerk-flash", class: "alert", role: "alert", "data-code": state.flash.code },
        icon("warning"),
        commandErrorText(msg, state.flash),
      )
    : null;
}

function homeView(msg: Messages): HTMLElement {
  const home = msg.clerk.home;
  return h(
    "main",
    { class: "home" },
    auditPanel(msg),
    flashView(msg),
    h("h1", {}, home.title),
    h(
      "div",
      { class: "operations" },
      h(
        "button",
        {
          id: "new-alta",
          type: "button",
          class: "primary big",
          "aria-describedby": "new-alta-hint",
          onclick: () => startAlta(),
        },
        home.newAlta,
      ),
      h("p", { id: "new-alta-hint", class: "muted" }, home.newAltaHint),
    ),
    clavePanel(msg),
  );
}

function claveOpen(): boolean {
  const st = state.clave.status;
  return st === "pending" || st === "scanned" || st === "identifying" || st === "waiting" || st === "smsSent";
}

/** The Cl@ve Móvil check: start, state (text and icon, not colour alone), code, cancel. */
function clavePanel(msg: Messages): HTMLElement {
  const c = msg.clerk.clave;
  const cl = state.clave;
  const open = claveOpen();
  const icons: Record<ClaveStatusDto | "idle", IconName> = {
    idle: "info",
    pending: "clock",
    scanned: "clock",
    identifying: "user",
    waiting: "clock",
    smsSent: "clock",
    confirmed: "check",
    rejected: "cross",
    expired: "warning",
    cancelled: "info",
  };
  return h(
    "section",
    { id: "clave-panel", class: "operations clave-panel", "aria-labelledby": "clave-title" },
    h("h2", { id: "clave-title" }, c.title),
    open
      ? null
      : h(
          "button",
          {
            id: "clave-start",
            type: "button",
            class: "primary big",
            "aria-describedby": "clave-hint",
            disabled: cl.busy,
            onclick: () => void startClave(),
          },
          c.start,
        ),
    h("p", { id: "clave-hint", class: "muted" }, c.hint),
    h(
      "p",
      {
        id: "clave-status",
        class: cl.error !== null ? "message alert" : "message",
        role: "status",
        "data-state": cl.status,
        "data-code": cl.error?.code,
      },
      icon(cl.error !== null ? "warning" : icons[cl.status]),
      h("span", {}, cl.error !== null ? commandErrorText(msg, cl.error) : c.status[cl.status]),
    ),
    cl.bySms && !open
      ? h(
          "p",
          { id: "clave-by-sms", class: "message" },
          cl.status === "confirmed" ? c.bySms : c.bySmsRejected,
        )
      : null,
    open && cl.noQr && cl.document !== null ? claveDocument(msg) : null,
    open && cl.noQr && cl.status === "waiting"
      ? h(
          "p",
          { id: "clave-sms", class: "message" },
          ...((cl.smsDeadline?.secondsLeft() ?? 0) > 0
            ? withSlot(
                c.smsIn,
                "time",
                h("span", { id: "clave-sms-countdown" }, formatCountdown(cl.smsDeadline?.secondsLeft() ?? 0)),
              )
            : [c.smsOpen]),
        )
      : null,
    open && cl.triesLeft !== null
      ? h("p", { id: "clave-tries", class: "message" }, fmt(c.triesLeft, { tries: String(cl.triesLeft) }))
      : null,
    open
      ? h(
          "p",
          { class: "big-line" },
          // While the citizen types their data there is no code yet.
          cl.code !== "" ? h("span", { id: "clave-code" }, fmt(c.code, { code: cl.code })) : null,
          cl.code !== "" ? " · " : null,
          ...withSlot(
            c.timeLeft,
            "time",
            h("span", { id: "clave-countdown" }, formatCountdown(cl.deadline?.secondsLeft() ?? 0)),
          ),
        )
      : null,
    open
      ? h(
          "button",
          { id: "clave-cancel", type: "button", disabled: cl.busy, onclick: () => void cancelClave() },
          icon("cross"),
          h("span", {}, c.cancel),
        )
      : null,
  );
}

/** The document typed at the counter: masked; a supervisor may show it (audited each time). */
function claveDocument(msg: Messages): HTMLElement {
  const c = msg.clerk.clave;
  const cl = state.clave;
  const shown = cl.revealed ?? cl.document ?? "";
  return h(
    "div",
    { class: "clave-document" },
    h(
      "p",
      { class: "big-line" },
      ...withSlot(c.document, "document", h("span", { id: "clave-document", class: "doc" }, shown)),
    ),
    canShowTypedDocument()
      ? h(
          "button",
          {
            id: "clave-show-document",
            type: "button",
            "aria-pressed": cl.revealed !== null ? "true" : "false",
            "aria-describedby": "clave-show-note",
            disabled: cl.busy,
            onclick: () => void toggleClaveDocument(),
          },
          icon(cl.revealed !== null ? "eyeOff" : "eye"),
          h("span", {}, cl.revealed !== null ? c.hideDocument : c.showDocument),
        )
      : null,
    canShowTypedDocument() ? h("p", { id: "clave-show-note", class: "muted" }, c.showNote) : null,
  );
}

async function toggleClaveDocument(): Promise<void> {
  const cl = state.clave;
  if (cl.busy) return;
  if (cl.revealed !== null) {
    cl.revealed = null;
    refreshClave();
    focusById("clave-show-document");
    return;
  }
  await claveCommand(async () => {
    cl.revealed = await api.claveShowDocument();
  }, () => "clave-show-document");
}

function refreshClave(): void {
  swap("clave-panel", clavePanel(m()));
}

/**
 * Runs one Cl@ve Móvil command with the panel's buttons disabled, shows its error in the
 * panel (unless it was a session error the console handles), redraws the panel and
 * moves focus to the element `focusAfter` names.
 */
async function claveCommand(run: () => Promise<void>, focusAfter: () => string): Promise<void> {
  const cl = state.clave;
  if (cl.busy) return;
  cl.busy = true;
  cl.error = null;
  refreshClave();
  try {
    await run();
  } catch (e) {
    const error = asCommandError(e);
    if (handleGlobalError(error)) return;
    cl.error = error;
  } finally {
    cl.busy = false;
  }
  refreshClave();
  focusById(focusAfter());
}

async function startClave(): Promise<void> {
  await claveCommand(api.claveStart, () => (claveOpen() ? "clave-cancel" : "clave-start"));
}

async function cancelClave(): Promise<void> {
  await claveCommand(api.claveCancel, () => "clave-start");
}

function onClaveEvent(event: Extract<ClerkEvent, { kind: "clave" }>): void {
  const wasOpen = claveOpen();
  const cl = state.clave;
  if (event.document !== cl.document || event.code !== cl.code || !event.noQr) cl.revealed = null;
  cl.status = event.status;
  cl.code = event.code;
  cl.deadline = new Deadline(event.expiresInSecs);
  cl.error = null;
  cl.noQr = event.noQr;
  cl.document = event.document;
  cl.smsDeadline = event.smsInSecs !== null ? new Deadline(event.smsInSecs) : null;
  cl.triesLeft = event.triesLeft;
  cl.bySms = event.bySms;
  if (!claveOpen()) cl.revealed = null;
  refreshClave();
  if (wasOpen !== claveOpen()) focusById(claveOpen() ? "clave-cancel" : "clave-start");
}

function statusOf(alta: AltaState, msg: Messages): { state: string; icon: IconName; text: string } {
  const s = msg.clerk.alta.status;
  switch (alta.phase) {
    case "submitting":
      return { state: "editing", icon: "clock", text: msg.clerk.alta.submitting };
    case "editing": {
      const n = alta.fieldErrors.length;
      if (n > 0) {
        return { state: "editing", icon: "warning", text: fmt(s.invalid, { count: String(n) }) };
      }
      if (alta.error !== null) {
        return { state: "editing", icon: "warning", text: commandErrorText(msg, alta.error) };
      }
      if (alta.cancelledNote) return { state: "editing", icon: "info", text: s.cancelled };
      if (alta.form.fromCard) return { state: "editing", icon: "info", text: s.fromCard };
      return { state: "editing", icon: "info", text: s.editing };
    }
    case "awaiting":
      return { state: "awaiting", icon: "clock", text: s.awaiting };
    case "completed":
      return {
        state: "completed",
        icon: "check",
        text: fmt(s.completed, { level: levelName(msg, alta.result?.level ?? "avanzado") }),
      };
    case "backToClerk":
      return { state: "backToClerk", icon: "warning", text: s.backToClerk };
    case "timedOut":
      return { state: "timedOut", icon: "clock", text: s.timedOut };
    case "failed":
      return {
        state: "failed",
        icon: "warning",
        text: fmt(s.failed, { error: alta.error === null ? "" : commandErrorText(msg, alta.error) }),
      };
    case "alreadyRegistered":
      return {
        state: "alreadyRegistered",
        icon: "warning",
        text: fmt(s.alreadyRegistered, {
          error: alta.error === null ? "" : commandErrorText(msg, alta.error),
        }),
      };
  }
}

function altaView(msg: Messages): HTMLElement {
  const alta = state.alta;
  if (alta === null) return homeView(msg);
  const a = msg.clerk.alta;
  const status = statusOf(alta, msg);
  const banner = h(
    "div",
    {
      id: "alta-status",
      class: `status status-${status.state}`,
      role: "status",
      "aria-live": "polite",
      "data-state": status.state,
      "data-code": alta.error?.code,
    },
    icon(status.icon),
    h("span", {}, status.text),
  );
  let body: HTMLElement[];
  if (alta.phase === "awaiting") {
    body = [awaitingPanel(alta, msg)];
  } else if (alta.phase === "completed") {
    body = [completedPanel(alta, msg)];
  } else {
    body = [
      identifyView(alta, msg),
      altaFormView({
        m: msg,
        form: alta.form,
        errors: alta.fieldErrors,
        submitting: alta.phase === "submitting",
        identitySlot: h("div", { id: "pin-badge-slot", class: "badge-slot" }, pinBadge(msg, alta.pin, alta.form)),
        handlers: {
          onChange: (field: AltaField) => {
            alta.fieldErrors = alta.fieldErrors.filter((e) => e.field !== field);
            if (field === "document") {
              // A proof with the PIN holds only for the document it proved.
              alta.pin = pinAfterFormChange(alta.pin, alta.form);
              refreshCardParts();
            }
          },
          onSubmit: () => void submitAlta(),
          onCancel: () => void discardAlta(),
        },
      }),
    ];
  }
  return h(
    "main",
    { class: "alta" },
    auditPanel(msg),
    flashView(msg),
    h("h1", { id: "alta-title", tabindex: "-1" }, a.title),
    banner,
    ...body,
  );
}

function identifyView(alta: AltaState, msg: Messages): HTMLElement {
  return identifyPanel({
    m: msg,
    form: alta.form,
    readers: state.readers,
    identified: state.identified,
    pin: alta.pin,
    cancelling: alta.pinCancelling,
    handlers: {
      onUseCard: () => useCard(),
      onTypeManually: () => typeByHand(),
      onRequestPin: () => void requestPin(),
      onCancelPin: () => void cancelPin(),
    },
  });
}

/** Under the header while logged in: the readers and, in training mode, the test cards. */
function cardBar(msg: Messages): HTMLElement {
  return h(
    "div",
    { id: "card-bar", class: "card-bar" },
    readerStatusView(msg, state.readers),
    state.info?.training === true
      ? trainingPanel(msg, state.training, {
          onInsert: (id) => void trainingInsert(id),
          onRemove: () => void trainingRemove(),
        })
      : null,
  );
}

/**
 * Replaces one element (by id) with a fresh build, only if it changed, keeping the focus:
 * reader and PIN events never rebuild the form under the clerk's fingers, and an
 * unchanged alert is not announced again.
 */
function swap(id: string, next: HTMLElement | null): void {
  const current = document.getElementById(id);
  if (current === null || next === null) return;
  if (current.outerHTML === next.outerHTML) return;
  const restore = captureFocus();
  current.replaceWith(next);
  restore();
}

/** Updates the DNIe parts of the screen in place (reader strip, identify panel, PIN badge). */
function refreshCardParts(): void {
  if (state.session === null || state.locked) return;
  const msg = m();
  swap("reader-status", readerStatusView(msg, state.readers));
  if (state.info?.training === true) {
    swap(
      "training-panel",
      trainingPanel(msg, state.training, {
        onInsert: (id) => void trainingInsert(id),
        onRemove: () => void trainingRemove(),
      }),
    );
  }
  const alta = state.alta;
  if (alta === null) return;
  swap("identify", identifyView(alta, msg));
  swap("pin-badge-slot", h("div", { id: "pin-badge-slot", class: "badge-slot" }, pinBadge(msg, alta.pin, alta.form)));
}

function awaitingPanel(alta: AltaState, msg: Messages): HTMLElement {
  const a = msg.clerk.alta;
  const left = alta.deadline?.secondsLeft() ?? null;
  return h(
    "section",
    { class: "panel awaiting", "aria-labelledby": "awaiting-title" },
    h("h2", { id: "awaiting-title" }, a.waitingTitle),
    alta.citizen !== null ? maskedList(msg, alta.citizen, "clerk-masked-") : null,
    left !== null
      ? h(
          "p",
          { class: "countdown" },
          icon("clock"),
          h(
            "span",
            {},
            ...withSlot(a.status.timeLeft, "time", h("span", { id: "alta-countdown" }, formatCountdown(left))),
          ),
        )
      : null,
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          id: "alta-cancel",
          type: "button",
          class: "secondary",
          disabled: alta.cancelling,
          onclick: () => void cancelWait(),
        },
        a.cancelWait,
      ),
    ),
  );
}

function completedPanel(alta: AltaState, msg: Messages): HTMLElement {
  const a = msg.clerk.alta;
  const r = alta.result;
  return h(
    "section",
    { class: "panel completed", "aria-labelledby": "alta-status" },
    r !== null
      ? h(
          "dl",
          { class: "result" },
          h("dt", {}, a.level),
          h("dd", { id: "alta-level", "data-level": r.level }, levelName(msg, r.level)),
          h("dt", {}, a.registrationId),
          h("dd", { id: "alta-registration-id", class: "mono" }, r.registrationId),
          h("dt", {}, a.auditSeq),
          h("dd", { id: "alta-audit-seq", class: "mono" }, r.auditSeq),
        )
      : null,
    h(
      "div",
      { class: "actions" },
      h("button", { id: "new-alta", type: "button", class: "primary", onclick: () => startAlta() }, a.newAlta),
      h(
        "button",
        {
          id: "alta-home",
          type: "button",
          class: "secondary",
          onclick: () => {
            state.alta = null;
            state.focus = "new-alta";
            render();
          },
        },
        a.backHome,
      ),
    ),
  );
}

/** Updates the texts that change every second, without re-rendering. */
function tick(): void {
  if (claveOpen() && state.clave.deadline !== null) {
    const el = document.getElementById("clave-countdown");
    const left = formatCountdown(state.clave.deadline.secondsLeft());
    if (el !== null && el.textContent !== left) el.textContent = left;
    const sms = document.getElementById("clave-sms-countdown");
    const smsLeft = state.clave.smsDeadline?.secondsLeft() ?? 0;
    if (sms !== null) {
      if (smsLeft === 0) refreshClave();
      else if (sms.textContent !== formatCountdown(smsLeft)) sms.textContent = formatCountdown(smsLeft);
    }
  }
  const alta = state.alta;
  if (alta !== null && alta.phase === "awaiting" && alta.deadline !== null) {
    const left = formatCountdown(alta.deadline.secondsLeft());
    const el = document.getElementById("alta-countdown");
    if (el !== null && el.textContent !== left) el.textContent = left;
  }
  for (const [id, err] of [
    ["login-error", state.loginError],
    ["unlock-error", state.unlockError],
  ] as const) {
    if (err === null || err.retry === null) continue;
    const span = document.getElementById(id)?.querySelector(".timed-error");
    if (span !== null && span !== undefined) {
      const text = timedErrorText(err);
      if (span.textContent !== text) span.textContent = text;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Actions

/** Common handling of errors that change the whole console (lock, session gone). */
function handleGlobalError(error: CommandError): boolean {
  if (error.code === "SESSION-LOCKED") {
    lockConsole();
    return true;
  }
  if (error.code === "AUTH-003") {
    endSession(true);
    return true;
  }
  return false;
}

function lockConsole(): void {
  if (state.locked) return;
  const active = document.activeElement;
  state.focusBeforeLock = active instanceof HTMLElement && active.id !== "" ? active.id : null;
  state.locked = true;
  state.lockedName = state.session?.displayName ?? state.lockedName;
  state.unlockError = null;
  state.audit = null;
  state.focus = "unlock-password";
  render();
}

function endSession(expired: boolean): void {
  state.generation += 1;
  state.subscribed = false;
  state.session = null;
  state.locked = false;
  state.lockedName = null;
  state.alta = null;
  state.audit = null;
  state.flash = null;
  state.unlockError = null;
  state.loginError = null;
  // The reader picture carries a citizen's identity: not kept past the session.
  state.readers = null;
  state.identified = null;
  state.doneCard = null;
  state.training = { cards: null, busy: false, error: null };
  state.sessionEnded = expired;
  state.login = { username: "", password: "" };
  state.focus = "login-username";
  render();
}

async function subscribe(): Promise<void> {
  if (state.subscribed) return;
  const generation = state.generation;
  try {
    await api.clerkSubscribe((event) => {
      if (generation === state.generation) onEvent(event);
    });
    state.subscribed = true;
    // The backend sends the readers right after subscribing; ask once in case it did not.
    if (state.readers === null) {
      api
        .readersState()
        .then((readers) => {
          if (generation === state.generation && state.readers === null) onReaders(readers);
        })
        .catch(() => {
          // The next `readers` event brings the picture anyway.
        });
    }
    if (state.info?.training === true && state.training.cards === null) void loadTrainingCards();
  } catch (e) {
    const error = asCommandError(e);
    if (!handleGlobalError(error)) {
      state.flash = error;
      render();
    }
  }
}

async function login(): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  state.loginError = null;
  state.sessionEnded = false;
  render();
  try {
    const session = await api.clerkLogin(state.login.username, state.login.password);
    state.generation += 1;
    state.subscribed = false;
    state.session = session;
    state.login = { username: "", password: "" };
    state.alta = null;
    state.flash = null;
    activity.reset();
    state.focus = "new-alta";
    state.busy = false;
    render();
    await subscribe();
  } catch (e) {
    state.busy = false;
    state.loginError = timedError(asCommandError(e));
    state.login.password = "";
    state.focus = state.loginError.error.code === "AUTH-002" ? "login-username" : "login-password";
    render();
  }
}

async function unlock(): Promise<void> {
  if (state.busy) return;
  const input = document.getElementById("unlock-password");
  const password = input instanceof HTMLInputElement ? input.value : "";
  state.busy = true;
  state.unlockError = null;
  render();
  try {
    const session = await api.clerkUnlock(password);
    state.busy = false;
    state.session = session;
    state.locked = false;
    state.lockedName = null;
    activity.reset();
    state.focus = state.focusBeforeLock ?? (state.alta === null ? "new-alta" : "alta-title");
    state.focusBeforeLock = null;
    render();
    await subscribe();
  } catch (e) {
    state.busy = false;
    const error = asCommandError(e);
    if (error.code === "AUTH-003") {
      endSession(true);
      return;
    }
    state.unlockError = timedError(error);
    state.focus = "unlock-password";
    render();
  }
}

async function logout(): Promise<void> {
  try {
    await api.clerkLogout();
  } catch {
    // Logging out of a session the backend already ended is fine.
  }
  endSession(false);
}

function startAlta(): void {
  const alta = newAlta();
  state.alta = alta;
  state.flash = null;
  state.focus = autoFill(alta) ? FIELD_INPUT_IDS.expiryDate : FIELD_INPUT_IDS.document;
  render();
}

/** Whether the alta form is on screen and editable (not sent, not done). */
function formShown(alta: AltaState): boolean {
  return alta.phase !== "awaiting" && alta.phase !== "completed" && alta.phase !== "submitting";
}

/** Fills an empty form from the DNIe in the selected reader. True if it did. */
function autoFill(alta: AltaState): boolean {
  const identity = currentCard();
  if (!formShown(alta) || !shouldAutoFill(alta.form, identity, alta.declinedCard)) return false;
  alta.form = formFromCard(alta.form, identity);
  alta.pin = pinAfterFormChange(alta.pin, alta.form);
  return true;
}

/** The DNIe in the selected reader, if its identity is known (read, or a 2.0 after its PIN). */
function currentCard(): CardIdentityDto | null {
  return cardIdentity(state.readers, state.identified);
}

function onReaders(readers: ReadersDto): void {
  state.readers = readers;
  // A DNIe 2.0 identified by its PIN is remembered while it stays in its reader.
  state.identified = keepIdentified(readers, state.identified);
  const identity = currentCard();
  if (identity === null) state.doneCard = null;
  const alta = state.alta;
  if (alta !== null && identity === null && !alta.form.fromCard && isEmptyForm(alta.form)) {
    // The card the clerk did not want is gone: the next one may fill the form again.
    alta.declinedCard = null;
  }
  if (alta !== null && !state.locked && state.session !== null && autoFill(alta)) {
    alta.fieldErrors = alta.fieldErrors.filter((e) => !isCardFieldName(e.field));
    state.focus = FIELD_INPUT_IDS.expiryDate;
    render();
    return;
  }
  refreshCardParts();
}

function isCardFieldName(field: string): boolean {
  return isAltaField(field) && isCardField(field);
}

/** "Use the DNIe's data": the card-given fields come from the card and lock. */
function useCard(): void {
  const alta = state.alta;
  const identity = currentCard();
  if (alta === null || identity === null || !formShown(alta)) return;
  fillFromCard(alta, identity);
  state.focus = FIELD_INPUT_IDS.expiryDate;
  render();
}

function fillFromCard(alta: AltaState, identity: CardIdentityDto): void {
  const next = afterCardIdentified(alta.form, alta.pin, identity);
  alta.form = next.form;
  alta.pin = next.pin;
  alta.declinedCard = null;
  alta.fieldErrors = alta.fieldErrors.filter((e) => !isCardFieldName(e.field));
}

/**
 * A DNIe 2.0 told who it is after the citizen's PIN (the clerk asked for it with "identify
 * with the DNIe's PIN"): the form fills from it as "use the DNIe's data" does. The
 * `pinVerified` event that follows shows the proof.
 */
function onCardIdentified(identity: CardIdentityDto): void {
  state.identified = identifiedCard(state.readers, identity);
  const alta = state.alta;
  if (alta === null || !formShown(alta)) {
    refreshCardParts();
    return;
  }
  fillFromCard(alta, identity);
  if (state.locked) return;
  // The clerk may be typing (phone, email) while the citizen types the PIN: keep the focus
  // there; otherwise go on with the first field the card does not give.
  if (!typingInForm()) state.focus = FIELD_INPUT_IDS.expiryDate;
  render();
}

/** The focus is in a field of the alta form the card does not give (the clerk is typing). */
function typingInForm(): boolean {
  const active = document.activeElement;
  if (!(active instanceof HTMLInputElement || active instanceof HTMLSelectElement)) return false;
  if (active.closest("#alta-form") === null) return false;
  return !CARD_FIELDS.some((field) => FIELD_INPUT_IDS[field] === active.id);
}

/** "Type by hand": the values stay, the card-given fields unlock. */
function typeByHand(): void {
  const alta = state.alta;
  if (alta === null || !formShown(alta)) return;
  alta.form = typeManually(alta.form);
  const identity = currentCard();
  alta.declinedCard = identity?.document ?? alta.form.document;
  state.focus = FIELD_INPUT_IDS.document;
  render();
}

async function requestPin(): Promise<void> {
  const alta = state.alta;
  if (alta === null || pinPadOpen(alta.pin)) return;
  alta.pin = { status: "requesting" };
  refreshCardParts();
  focusById("pin-cancel-clerk");
  try {
    await api.altaRequestPin();
    // The pinRequested event usually arrives first.
    if (state.alta === alta && alta.pin.status === "requesting") {
      alta.pin = { status: "waiting" };
      refreshCardParts();
    }
  } catch (e) {
    const error = asCommandError(e);
    if (handleGlobalError(error)) return;
    if (state.alta !== alta) return;
    alta.pin = pinFailed(error.code, triesFromParams(error.params), false);
    refreshCardParts();
    focusById("request-pin");
  }
}

async function cancelPin(): Promise<void> {
  const alta = state.alta;
  if (alta === null || alta.pinCancelling) return;
  alta.pinCancelling = true;
  refreshCardParts();
  try {
    await api.pinCancel();
  } catch (e) {
    const error = asCommandError(e);
    if (handleGlobalError(error)) return;
    // Nothing to cancel any more (the PIN step just ended: its event tells how) is fine.
  } finally {
    alta.pinCancelling = false;
  }
  if (state.alta === alta && pinPadOpen(alta.pin)) alta.pin = PIN_IDLE;
  refreshCardParts();
  focusById(document.getElementById("request-pin") !== null ? "request-pin" : "identify-title");
}

function onPinEvent(event: Extract<ClerkEvent, { kind: "pinRequested" | "pinVerified" | "pinFailed" }>): void {
  const alta = state.alta;
  if (alta === null) return;
  switch (event.kind) {
    case "pinRequested":
      alta.pin = { status: "waiting" };
      break;
    case "pinVerified":
      alta.pin = { status: "verified", document: event.document };
      break;
    case "pinFailed":
      if (event.code === "PIN-CANCELLED" && (alta.pinCancelling || alta.pin.status === "idle")) {
        // The clerk's own cancel coming back: nothing to report.
        alta.pin = PIN_IDLE;
      } else {
        alta.pin = pinFailed(event.code, event.triesLeft);
      }
      break;
  }
  refreshCardParts();
}

async function loadTrainingCards(): Promise<void> {
  try {
    state.training.cards = await api.trainingCards();
    state.training.error = null;
  } catch (e) {
    const error = asCommandError(e);
    if (handleGlobalError(error)) return;
    state.training.cards = [];
    state.training.error = error;
  }
  refreshCardParts();
}

async function trainingAction(run: () => Promise<void>): Promise<void> {
  if (state.training.busy) return;
  state.training.busy = true;
  state.training.error = null;
  refreshCardParts();
  try {
    await run();
  } catch (e) {
    const error = asCommandError(e);
    if (handleGlobalError(error)) {
      state.training.busy = false;
      return;
    }
    state.training.error = error;
  }
  state.training.busy = false;
  // The readers' events show the card going in or out.
  refreshCardParts();
}

function trainingInsert(id: string): Promise<void> {
  return trainingAction(() => api.trainingInsertCard(id));
}

function trainingRemove(): Promise<void> {
  return trainingAction(() => api.trainingRemoveCard());
}

async function discardAlta(): Promise<void> {
  // A PIN pad still open on the counter screen closes with the form.
  if (state.alta !== null && pinPadOpen(state.alta.pin)) {
    try {
      await api.pinCancel();
    } catch (e) {
      if (handleGlobalError(asCommandError(e))) return;
    }
  }
  // The backend may still hold the alta (e.g. the counter shows "the clerk is correcting"):
  // cancelling puts the counter screen back to welcome. Nothing in progress is fine.
  try {
    await api.altaCancel();
  } catch (e) {
    const error = asCommandError(e);
    if (handleGlobalError(error)) return;
  }
  state.alta = null;
  state.focus = "new-alta";
  render();
}

async function submitAlta(): Promise<void> {
  const alta = state.alta;
  if (alta === null || alta.phase === "submitting" || alta.phase === "awaiting" || alta.phase === "completed") {
    return;
  }
  state.flash = null;
  alta.phaseBeforeSubmit = alta.phase;
  alta.phase = "submitting";
  alta.fieldErrors = [];
  alta.error = null;
  alta.cancelledNote = false;
  showSubmitting(alta);
  try {
    const citizen = await api.altaSubmit(toDto(alta.form));
    if (state.alta === alta && alta.phase === "submitting") {
      // The awaiting event (with the countdown) usually arrives first; if not, show the
      // masked data now and let the event add the countdown.
      alta.phase = "awaiting";
      alta.citizen = citizen;
      state.focus = "alta-title";
      render();
    }
  } catch (e) {
    if (state.alta !== alta) return;
    const error = asCommandError(e);
    alta.phase = alta.phaseBeforeSubmit;
    if (handleGlobalError(error)) return;
    applyAltaError(alta, error);
    render();
  }
}

/** While the submission is in flight: no re-render (the clerk may keep typing). */
function showSubmitting(alta: AltaState): void {
  const button = document.getElementById("alta-submit");
  if (button instanceof HTMLButtonElement) {
    button.disabled = true;
    button.textContent = m().clerk.alta.submitting;
  }
  const banner = document.getElementById("alta-status");
  if (banner !== null) {
    const s = statusOf(alta, m());
    banner.dataset["state"] = s.state;
    banner.replaceChildren(icon(s.icon), h("span", {}, s.text));
  }
}

function applyAltaError(alta: AltaState, error: CommandError): void {
  alta.citizen = null;
  alta.deadline = null;
  if (error.fields.length > 0) {
    alta.phase = "editing";
    alta.fieldErrors = error.fields;
    alta.error = null;
    const first = firstInvalidField(groupFieldErrors(error.fields, contrastLayout(alta.form)));
    state.focus = first !== undefined ? FIELD_INPUT_IDS[first] : "alta-title";
  } else if (error.code === "ALT-003") {
    alta.phase = "alreadyRegistered";
    alta.error = error;
    state.focus = "alta-title";
  } else {
    alta.phase = "failed";
    alta.error = error;
    state.focus = "alta-title";
  }
}

async function cancelWait(): Promise<void> {
  const alta = state.alta;
  if (alta === null || alta.phase !== "awaiting" || alta.cancelling) return;
  alta.cancelling = true;
  render();
  try {
    await api.altaCancel();
    if (state.alta === alta && alta.phase === "awaiting") {
      alta.phase = "editing";
      alta.cancelledNote = true;
      alta.citizen = null;
      alta.deadline = null;
      state.focus = FIELD_INPUT_IDS.document;
      render();
    }
  } catch (e) {
    const error = asCommandError(e);
    if (handleGlobalError(error)) return;
    // ALTA-002: the alta had already ended (its event tells how); anything else is shown.
    if (error.code !== "ALTA-002") state.flash = error;
    render();
  } finally {
    alta.cancelling = false;
  }
}

function onEvent(event: ClerkEvent): void {
  switch (event.kind) {
    case "locked":
      lockConsole();
      return;
    case "readers":
      if (state.session !== null || state.locked) onReaders(event.readers);
      return;
    case "pinRequested":
    case "pinVerified":
    case "pinFailed":
      if (state.session !== null || state.locked) onPinEvent(event);
      return;
    case "cardIdentified":
      if (state.session !== null || state.locked) onCardIdentified(event.identity);
      return;
    case "clave":
      if (state.session !== null || state.locked) onClaveEvent(event);
      return;
  }
  if (state.session === null && !state.locked) return;
  const alta = (state.alta ??= newAlta());
  alta.citizen = null;
  alta.deadline = null;
  alta.fieldErrors = [];
  alta.error = null;
  alta.cancelledNote = false;
  switch (event.kind) {
    case "altaAwaitingCitizen":
      alta.phase = "awaiting";
      alta.citizen = event.citizen;
      alta.deadline = new Deadline(event.expiresInSecs);
      state.focus = "alta-title";
      break;
    case "altaCompleted":
      alta.phase = "completed";
      // While this citizen's DNIe stays in the reader, the next alta does not fill it in.
      state.doneCard = alta.form.fromCard ? alta.form.document : state.doneCard;
      // Forget the citizen's data as soon as it is stored.
      alta.form = emptyForm();
      alta.pin = PIN_IDLE;
      alta.result = {
        registrationId: event.registrationId,
        level: event.level,
        auditSeq: String(event.auditSeq),
      };
      state.focus = "new-alta";
      break;
    case "altaBackToClerk":
    case "altaTimedOut":
      alta.form = fromDto(event.form);
      if (alta.cancelling) {
        // Our own cancel came back as an event: the clerk stopped waiting.
        alta.phase = "editing";
        alta.cancelledNote = true;
      } else {
        alta.phase = event.kind === "altaBackToClerk" ? "backToClerk" : "timedOut";
      }
      state.focus = FIELD_INPUT_IDS.document;
      break;
    case "altaFailed":
      alta.form = fromDto(event.form);
      applyAltaError(alta, event.error);
      break;
  }
  if (state.locked) state.focus = null;
  render();
}

async function verifyAudit(): Promise<void> {
  if (state.audit?.status === "running") return;
  state.audit = { status: "running" };
  state.focus = "audit-result";
  render();
  try {
    const report = await api.auditVerify();
    state.audit = { status: "done", report };
  } catch (e) {
    const error = asCommandError(e);
    if (handleGlobalError(error)) return;
    state.audit = { status: "error", error };
  }
  state.focus = "audit-result";
  render();
}

// Tell the backend about real activity (at most every 20 s) so its idle lock counts from it.
const activity = throttle(
  () => {
    api.clerkActivity().catch((e: unknown) => {
      handleGlobalError(asCommandError(e));
    });
  },
  20_000,
  () => performance.now(),
);

function onActivity(): void {
  if (state.session !== null && !state.locked) activity();
}

for (const type of ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"] as const) {
  window.addEventListener(type, onActivity, { passive: true, capture: true });
}

// ---------------------------------------------------------------------------------------
// Boot

async function boot(): Promise<void> {
  render();
  try {
    const info = await api.appInfo();
    state.info = info;
    state.lang = enabledLangs(info.languages, info.defaultLanguage).includes(info.defaultLanguage)
      ? info.defaultLanguage
      : (enabledLangs(info.languages, info.defaultLanguage)[0] ?? "es");
  } catch (e) {
    state.bootError = asCommandError(e);
    render();
    return;
  }
  try {
    const session = await api.clerkSession();
    if (session !== null && session.locked) {
      // Reloaded while idle-locked: the lock screen, not the login.
      state.locked = true;
      state.lockedName = session.displayName;
      state.focus = "unlock-password";
    } else if (session !== null) {
      state.session = session;
      state.focus = "new-alta";
    } else {
      state.focus = "login-username";
    }
  } catch (e) {
    const error = asCommandError(e);
    if (error.code === "SESSION-LOCKED") {
      state.locked = true;
      state.focus = "unlock-password";
    } else {
      state.focus = "login-username";
    }
  }
  render();
  if (state.session !== null) await subscribe();
}

window.setInterval(tick, 250);
void boot();
