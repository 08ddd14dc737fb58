/*
 * Counter screen (counter.html), facing the citizen. Imports only shared modules (i18n,
 * IPC helpers, bindings): never anything from ../clerk.
 *
 * Stable element ids for the end-to-end (WebDriver) tests:
 *   body[data-screen]   starting | error | welcome | confirmAlta | altaDone | backToClerk |
 *                       identified | enterPin | pinChecking | pinVerified | pinBlocked |
 *                       claveQr | claveDone
 *   body[data-lang]     the language shown (es|ca|gl|eu|en)
 *   #screen-title       the heading of every screen
 *   #training-badge     training mode only
 *   welcome             #lang-es #lang-ca #lang-gl #lang-eu #lang-en (aria-pressed)
 *   confirmAlta         #masked-name #masked-document #masked-contrast #masked-phone
 *                       #masked-email #masked-level #countdown (m:ss) #counter-confirm
 *                       #counter-reject #counter-error
 *   altaDone            #done-level #return-countdown (seconds)
 *   identified          #identified-name #identified-document (masked), language buttons
 *   enterPin            #pin-input (password, 8–16) #pin-toggle (show/hide; [data-shown])
 *                       #pin-submit #pin-cancel #pin-error (role=alert; [data-code]; hidden
 *                       when empty) #pin-citizen (the masked holder; absent for a DNIe 2.0,
 *                       which tells who it is only after its PIN: #pin-holder instead)
 *   pinChecking         #pin-checking (role=status)
 *   pinBlocked          #pin-blocked-pad (the PAD kiosk explanation)
 *   claveQr             #clave-body (requesting body) #clave-qr (img, SVG data URL; absent once
 *                       the app scanned it: #clave-scanned instead) #clave-code ("Código 123 ·
 *                       Ventanilla 3") #countdown (m:ss) #timer[data-warn] #clave-renew
 *                       #clave-error
 *                       #clave-no-qr ("without QR": DNI/NIE instead; absent once scanned)
 *   claveIdentify       #clave-id-form #clave-id-document #clave-id-expiry #clave-id-permanent
 *                       #clave-id-issue (permanent DNI) #clave-id-support (NIE: shown when the
 *                       document starts with X, Y or Z) #clave-id-submit #clave-id-back
 *                       #clave-id-err-<field> (field = document|expiryDate|issueDate|
 *                       supportNumber) #clave-error #countdown #timer #clave-renew
 *   claveNoQr           #clave-open ("Abra la app Cl@ve y elija el código 123") #clave-code
 *                       #clave-document (masked) #clave-sms-wait (+ #clave-sms-countdown)
 *                       until the SMS option opens, then #clave-sms-link; #countdown #timer
 *                       #clave-renew #clave-error
 *   claveSmsPin         #clave-pin-input (6 digits) #clave-pin-submit #clave-pin-error
 *                       (role=alert; [data-code]; hidden when empty) #clave-pin-tries
 *                       #clave-pin-resend (after #clave-pin-resend-wait) #clave-code
 *                       #countdown #timer #clave-renew
 *   claveDone           #clave-outcome[data-outcome] confirmed|rejected|expired|cancelled
 *                       [data-by-sms] true|false
 *
 * The PINs typed here (DNIe, SMS) are read from the input only when the citizen submits
 * them, sent, and the input cleared at once: never kept in state, never logged, never
 * re-rendered. The DNI/NIE and contrast datum of the "without QR" form live in `idForm`
 * only while that form is on screen (so that a new timer does not wipe them) and are
 * cleared as soon as the screen changes.
 *
 * The citizen's language choice never touches the clerk's; it goes back to the default
 * language whenever the screen returns to welcome from another screen (operation done,
 * timed out or cancelled).
 */
import "../shared/base.css";
import "./counter.css";
import type {
  ClaveIdentityDto,
  CommandError,
  CounterInfo,
  CounterView,
  FieldErrorDto,
  Lang,
} from "../bindings";
import {
  commandErrorText,
  enabledLangs,
  errorText,
  fmt,
  LANG_NAMES,
  levelName,
  messages,
  type Messages,
} from "../i18n";
import { Deadline, formatCountdown } from "../shared/countdown";
import { h, icon, withSlot } from "../shared/dom";
import { asCommandError, call, Channel } from "../shared/ipc";
import { maskedList } from "../shared/masked";
import {
  PIN_MAX_LENGTH,
  PIN_MIN_LENGTH,
  pinFailureText,
  pinProblem,
  type PinProblem,
  triesFromParams,
  WRONG_PIN_CODE,
} from "../shared/pin";

/** Below this many seconds the countdown turns into a warning (text + icon, not only colour). */
const WARN_SECS = 30;

const state = {
  info: null as CounterInfo | null,
  bootError: null as CommandError | null,
  lang: "es" as Lang,
  view: null as CounterView | null,
  deadline: null as Deadline | null,
  sending: false,
  error: null as CommandError | null,
  warned: false,
  /** Why the PIN typed cannot be a DNIe PIN (checked before sending; never the PIN itself). */
  pinProblem: null as PinProblem | null,
  /** The "without QR" form as typed, while it is on screen. */
  idForm: emptyIdForm(),
  /** Field errors of the "without QR" form, from the last submission. */
  idErrors: [] as FieldErrorDto[],
  /** Until the SMS option opens (claveNoQr) or another PIN may be asked for (claveSmsPin). */
  smsDeadline: null as Deadline | null,
  /** The SMS PIN typed is not 6 digits (checked before sending). */
  smsPinFormat: false,
};

function emptyIdForm(): ClaveIdentityDto {
  return { document: "", expiryDate: "", permanent: false, issueDate: "", supportNumber: "" };
}

/** NIE numbers start with X, Y or Z; anything else is taken for a DNI. */
function looksLikeNie(document: string): boolean {
  return /^\s*[XYZxyz]/.test(document);
}

const root = document.getElementById("app") ?? document.body;

function m(): Messages {
  return messages(state.lang);
}

function defaultLang(info: CounterInfo): Lang {
  const langs = enabledLangs(info.languages, info.defaultLanguage);
  return langs.includes(info.defaultLanguage) ? info.defaultLanguage : (langs[0] ?? "es");
}

// ---------------------------------------------------------------------------------------
// Rendering

function screenName(): string {
  if (state.bootError !== null) return "error";
  if (state.info === null || state.view === null) return "starting";
  return state.view.screen;
}

function render(focus: "title" | string | null = null): void {
  const msg = m();
  document.documentElement.lang = state.lang;
  document.title = msg.counter.title;
  const screen = screenName();
  document.body.dataset["screen"] = screen;
  document.body.dataset["lang"] = state.lang;
  root.replaceChildren(topBar(msg), h("main", { class: `screen screen-${screen}` }, ...screenBody(msg)));
  if (focus === "title") document.getElementById("screen-title")?.focus();
  else if (focus !== null) document.getElementById(focus)?.focus();
}

function topBar(msg: Messages): HTMLElement {
  const info = state.info;
  return h(
    "header",
    { class: "topbar" },
    info !== null
      ? h(
          "div",
          { class: "where" },
          h("span", { class: "office" }, info.officeName),
          h("span", { class: "counter-no" }, fmt(msg.counter.counter, { counter: String(info.counter) })),
        )
      : null,
    info?.training === true
      ? h("strong", { id: "training-badge", class: "training-badge" }, icon("warning"), msg.common.training)
      : null,
  );
}

function title(text: string, iconName?: Parameters<typeof icon>[0]): HTMLElement {
  return h(
    "h1",
    { id: "screen-title", tabindex: "-1" },
    iconName !== undefined ? icon(iconName) : null,
    h("span", {}, text),
  );
}

function screenBody(msg: Messages): HTMLElement[] {
  const c = msg.counter;
  if (state.bootError !== null) {
    return [
      h(
        "p",
        { class: "message alert", role: "alert" },
        icon("warning"),
        fmt(c.bootFailed, { error: commandErrorText(msg, state.bootError) }),
      ),
    ];
  }
  const view = state.view;
  if (state.info === null || view === null) {
    return [h("p", { class: "message muted" }, c.starting)];
  }
  switch (view.screen) {
    case "welcome":
      return welcome(msg, state.info);
    case "confirmAlta":
      return confirmAlta(msg, view);
    case "altaDone":
      return [
        title(c.done.title, "check"),
        h(
          "p",
          { class: "big-line", id: "done-level", "data-level": view.level },
          fmt(c.done.level, { level: levelName(msg, view.level) }),
        ),
        h(
          "p",
          { class: "message muted" },
          ...withSlot(
            c.done.returning,
            "secs",
            h("span", { id: "return-countdown" }, String(state.deadline?.secondsLeft() ?? view.returnInSecs)),
          ),
        ),
      ];
    case "backToClerk":
      return [
        title(c.backToClerk.title, "user"),
        h("p", { class: "message" }, c.backToClerk.body),
      ];
    case "identified":
      return identified(msg, state.info, view);
    case "enterPin":
      return pinPad(msg, view);
    case "pinChecking":
      return [
        title(c.pinChecking.title, "clock"),
        h(
          "div",
          { id: "pin-checking", class: "calm", role: "status", "aria-live": "polite" },
          h("p", { class: "message" }, icon("clock"), h("span", {}, c.pinChecking.body)),
        ),
      ];
    case "pinVerified":
      return [
        title(c.pinVerified.title, "check"),
        h("p", { class: "message", id: "pin-verified", role: "status" }, c.pinVerified.body),
      ];
    case "pinBlocked":
      return [
        title(c.pinBlocked.title, "lock"),
        h("p", { class: "message" }, c.pinBlocked.body),
        h("p", { class: "message alert pad", id: "pin-blocked-pad" }, icon("info"), h("span", {}, c.pinBlocked.pad)),
        h("p", { class: "message" }, c.pinBlocked.next),
      ];
    case "claveQr":
      return claveQr(msg, view);
    case "claveIdentify":
      return claveIdentify(msg, view);
    case "claveNoQr":
      return claveNoQr(msg, view);
    case "claveSmsPin":
      return claveSmsPin(msg, view);
    case "claveDone":
      return claveDone(msg, view);
  }
}

/** The QR as an image (the CSP allows `img-src data:`); the SVG is ASCII. */
function qrSource(svg: string): string {
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}

function claveQr(msg: Messages, view: Extract<CounterView, { screen: "claveQr" }>): HTMLElement[] {
  const c = msg.counter.clave;
  const left = state.deadline?.secondsLeft() ?? view.expiresInSecs;
  return [
    title(c.title, "lock"),
    h("p", { class: "big-line", id: "clave-body" }, fmt(c.body, { body: view.body })),
    h(
      "div",
      { class: "clave-layout" },
      view.qrSvg !== null
        ? h(
            "div",
            { class: "clave-qr-box" },
            h("img", { id: "clave-qr", class: "clave-qr", alt: c.qrAlt, src: qrSource(view.qrSvg) }),
            h("p", { class: "message" }, c.scan),
          )
        : h(
            "p",
            { id: "clave-scanned", class: "message calm", role: "status" },
            icon("check"),
            h("span", {}, c.scanned),
          ),
      h(
        "div",
        { class: "clave-side" },
        h(
          "p",
          { id: "clave-code", class: "clave-code", "data-code": view.code },
          fmt(c.code, { code: view.code, counter: String(view.counter) }),
        ),
        h("p", { class: "message" }, c.compare),
        claveTimer(msg, left),
        // WCAG 2.2.1: one tap for a new request with the full time again.
        h(
          "button",
          {
            id: "clave-renew",
            type: "button",
            class: "extend",
            disabled: state.sending,
            onclick: () => void renewClave(),
          },
          icon("clock"),
          h("span", {}, c.renew),
        ),
        // Cl@ve's "continue without scanning the QR": DNI/NIE and contrast datum instead.
        view.qrSvg !== null
          ? h(
              "div",
              { class: "clave-alt" },
              h(
                "button",
                {
                  id: "clave-no-qr",
                  type: "button",
                  class: "extend",
                  "aria-describedby": "clave-no-qr-hint",
                  disabled: state.sending,
                  onclick: () => void claveAction("counter_clave_without_qr"),
                },
                icon("card"),
                h("span", {}, c.withoutQr),
              ),
              h("p", { id: "clave-no-qr-hint", class: "message muted" }, c.withoutQrHint),
            )
          : null,
        claveError(msg),
      ),
    ),
  ];
}

function claveError(msg: Messages): HTMLElement | null {
  const e = state.error;
  if (e === null) return null;
  // The renew button's own failure keeps its wording; other steps say what went wrong.
  const text =
    e.code === "CLAVE-003" || e.code === "CLAVE-002"
      ? fmt(msg.counter.clave.failed, { error: commandErrorText(msg, e) })
      : fmt(msg.counter.clave.actionFailed, { error: commandErrorText(msg, e) });
  return h(
    "p",
    { id: "clave-error", class: "message alert", role: "alert", tabindex: "-1", "data-code": e.code },
    icon("warning"),
    h("span", {}, text),
  );
}

function renewButton(msg: Messages): HTMLElement {
  return h(
    "button",
    {
      id: "clave-renew",
      type: "button",
      class: "extend",
      disabled: state.sending,
      onclick: () => void renewClave(),
    },
    icon("clock"),
    h("span", {}, msg.counter.clave.renew),
  );
}

/** One input of the "without QR" form, with its label and its error line. */
function idField(
  msg: Messages,
  field: "document" | "expiryDate" | "issueDate" | "supportNumber",
  id: string,
  label: string,
  hint: string | null,
): HTMLElement {
  const err = state.idErrors.find((f) => f.field === field);
  const errId = `clave-id-err-${field}`;
  const input = h("input", {
    id,
    name: field,
    type: "text",
    class: "id-input",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    value: state.idForm[field],
    disabled: state.sending,
    "aria-invalid": err !== undefined ? "true" : "false",
    "aria-describedby": hint !== null ? `${id}-hint ${errId}` : errId,
  });
  input.addEventListener("input", () => {
    state.idForm[field] = input.value;
    if (field === "document") {
      // The contrast field follows the kind of document as it is typed.
      const nie = looksLikeNie(input.value);
      if (nie !== (document.getElementById("clave-id-support") !== null)) {
        state.idErrors = [];
        render("clave-id-document");
      }
    }
  });
  return h(
    "div",
    { class: "id-field" },
    h("label", { for: id, class: "id-label" }, label),
    input,
    hint !== null ? h("p", { id: `${id}-hint`, class: "message muted id-hint" }, hint) : null,
    h(
      "p",
      { id: errId, class: "message alert id-error", role: "alert", hidden: err === undefined },
      err !== undefined ? icon("warning") : null,
      h("span", {}, err !== undefined ? errorText(msg, err.code, err.params) : ""),
    ),
  );
}

function claveIdentify(msg: Messages, view: Extract<CounterView, { screen: "claveIdentify" }>): HTMLElement[] {
  const c = msg.counter.clave;
  const f = c.identify;
  const left = state.deadline?.secondsLeft() ?? view.expiresInSecs;
  const nie = looksLikeNie(state.idForm.document);
  const permanent = h("input", {
    id: "clave-id-permanent",
    type: "checkbox",
    class: "id-check",
    checked: state.idForm.permanent,
    disabled: state.sending,
  });
  permanent.addEventListener("change", () => {
    state.idForm.permanent = permanent.checked;
    state.idErrors = [];
    render("clave-id-permanent");
  });
  const contrast: HTMLElement[] = nie
    ? [idField(msg, "supportNumber", "clave-id-support", f.support, null)]
    : [
        h(
          "label",
          { class: "id-check-row", for: "clave-id-permanent" },
          permanent,
          h("span", {}, f.permanent),
        ),
        state.idForm.permanent
          ? idField(msg, "issueDate", "clave-id-issue", f.issue, null)
          : idField(msg, "expiryDate", "clave-id-expiry", f.expiry, null),
      ];
  return [
    title(f.title, "card"),
    h("p", { class: "big-line", id: "clave-body" }, fmt(c.body, { body: view.body })),
    h(
      "div",
      { class: "clave-layout" },
      h(
        "form",
        {
          id: "clave-id-form",
          class: "id-form",
          novalidate: true,
          autocomplete: "off",
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void submitIdentity();
          },
        },
        h("p", { class: "message" }, f.intro),
        idField(msg, "document", "clave-id-document", f.document, f.documentHint),
        ...contrast,
        state.sending ? h("p", { class: "message muted", role: "status" }, f.sending) : null,
        h(
          "div",
          { class: "answers" },
          h(
            "button",
            { id: "clave-id-submit", type: "submit", class: "answer yes", disabled: state.sending || left === 0 },
            icon("check"),
            h("span", {}, f.submit),
          ),
          h(
            "button",
            {
              id: "clave-id-back",
              type: "button",
              class: "answer no",
              disabled: state.sending,
              onclick: () => void claveAction("counter_clave_with_qr"),
            },
            icon("lock"),
            h("span", {}, f.back),
          ),
        ),
      ),
      h("div", { class: "clave-side" }, claveTimer(msg, left), renewButton(msg), claveError(msg)),
    ),
  ];
}

/** Where the citizen asks for an SMS PIN (the first or a new one): a countdown until it is allowed, then the button. */
function smsOffer(
  left: number,
  o: { waitId: string; countdownId: string; waitText: string; buttonId: string; buttonClass: string; label: string },
): HTMLElement {
  if (left > 0) {
    return h(
      "p",
      { id: o.waitId, class: "message muted" },
      ...withSlot(o.waitText, "secs", h("span", { id: o.countdownId }, String(left))),
    );
  }
  return h(
    "button",
    {
      id: o.buttonId,
      type: "button",
      class: o.buttonClass,
      disabled: state.sending,
      onclick: () => void claveAction("counter_clave_request_sms"),
    },
    icon("info"),
    h("span", {}, o.label),
  );
}

function claveNoQr(msg: Messages, view: Extract<CounterView, { screen: "claveNoQr" }>): HTMLElement[] {
  const c = msg.counter.clave;
  const n = c.noQr;
  const left = state.deadline?.secondsLeft() ?? view.expiresInSecs;
  const smsLeft = state.smsDeadline?.secondsLeft() ?? view.smsInSecs;
  return [
    title(n.title, "lock"),
    h("p", { class: "big-line", id: "clave-body" }, fmt(c.body, { body: view.body })),
    h(
      "div",
      { class: "clave-layout" },
      h(
        "div",
        { class: "clave-main" },
        h("p", { id: "clave-open", class: "clave-open" }, fmt(n.open, { code: view.code })),
        h(
          "p",
          { id: "clave-code", class: "clave-code", "data-code": view.code },
          fmt(c.code, { code: view.code, counter: String(view.counter) }),
        ),
        h(
          "p",
          { class: "message" },
          ...withSlot(n.document, "document", h("span", { id: "clave-document", class: "doc" }, view.document)),
        ),
        h("p", { class: "message" }, n.instructions),
        smsOffer(smsLeft, {
          waitId: "clave-sms-wait",
          countdownId: "clave-sms-countdown",
          waitText: n.smsWait,
          buttonId: "clave-sms-link",
          buttonClass: "extend sms-link",
          label: n.smsLink,
        }),
      ),
      h("div", { class: "clave-side" }, claveTimer(msg, left), renewButton(msg), claveError(msg)),
    ),
  ];
}

/** The error line of the SMS PIN: a format problem, a failed send, or a wrong PIN. */
function smsPinError(msg: Messages, view: Extract<CounterView, { screen: "claveSmsPin" }>): { text: string; code: string | null } {
  if (state.smsPinFormat) return { text: msg.counter.clave.smsPin.format, code: null };
  if (state.error !== null) return { text: commandErrorText(msg, state.error), code: state.error.code };
  if (view.errorCode !== null) {
    return { text: errorText(msg, view.errorCode, { triesLeft: String(view.triesLeft) }), code: view.errorCode };
  }
  return { text: "", code: null };
}

function claveSmsPin(msg: Messages, view: Extract<CounterView, { screen: "claveSmsPin" }>): HTMLElement[] {
  const c = msg.counter.clave;
  const p = c.smsPin;
  const left = state.deadline?.secondsLeft() ?? view.expiresInSecs;
  const resendLeft = state.smsDeadline?.secondsLeft() ?? view.resendInSecs;
  const err = smsPinError(msg, view);
  const input = h("input", {
    id: "clave-pin-input",
    name: "sms-pin",
    type: "text",
    inputmode: "numeric",
    pattern: "[0-9]*",
    class: "pin-input",
    autocomplete: "one-time-code",
    maxlength: 6,
    required: true,
    disabled: state.sending,
    "aria-describedby": "clave-pin-hint clave-pin-error clave-pin-tries",
    "aria-invalid": err.text !== "" ? "true" : "false",
  });
  return [
    title(p.title, "lock"),
    h(
      "div",
      { class: "clave-layout" },
      h(
        "form",
        {
          id: "clave-pin-form",
          class: "pin-form",
          novalidate: true,
          autocomplete: "off",
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void submitSmsPin();
          },
        },
        h("label", { for: "clave-pin-input", class: "pin-label" }, p.label),
        h("div", { class: "pin-row" }, input),
        h("p", { id: "clave-pin-hint", class: "message pin-hint" }, p.hint),
        h(
          "p",
          {
            id: "clave-pin-error",
            class: "message alert",
            role: "alert",
            hidden: err.text === "",
            "data-code": err.code ?? undefined,
          },
          err.text === "" ? null : icon("warning"),
          h("span", {}, err.text),
        ),
        h("p", { id: "clave-pin-tries", class: "message" }, fmt(p.tries, { tries: String(view.triesLeft) })),
        h(
          "div",
          { class: "answers" },
          h(
            "button",
            { id: "clave-pin-submit", type: "submit", class: "answer yes", disabled: state.sending || left === 0 },
            icon("check"),
            h("span", {}, p.submit),
          ),
        ),
        smsOffer(resendLeft, {
          waitId: "clave-pin-resend-wait",
          countdownId: "clave-pin-resend-countdown",
          waitText: p.resendWait,
          buttonId: "clave-pin-resend",
          buttonClass: "extend",
          label: p.resend,
        }),
      ),
      h(
        "div",
        { class: "clave-side" },
        h(
          "p",
          { id: "clave-code", class: "message", "data-code": view.code },
          fmt(c.code, { code: view.code, counter: String(view.counter) }),
        ),
        claveTimer(msg, left),
        renewButton(msg),
      ),
    ),
  ];
}

function claveTimer(msg: Messages, left: number): HTMLElement {
  const c = msg.counter.clave;
  const warn = left <= WARN_SECS;
  return h(
    "div",
    { class: warn ? "timer warn" : "timer", id: "timer", "data-warn": warn ? "true" : "false" },
    icon(warn ? "warning" : "clock"),
    h("span", { class: "timer-label", id: "countdown-label" }, c.timeLeft),
    h(
      "span",
      { id: "countdown", role: "timer", "aria-labelledby": "countdown-label", "aria-live": "off" },
      formatCountdown(left),
    ),
    h(
      "span",
      { id: "countdown-warning", class: "timer-warning", role: "status" },
      claveWarning(msg, left),
    ),
  );
}

function claveWarning(msg: Messages, left: number): string {
  const c = msg.counter.clave;
  return left === 0 ? c.expired : left <= WARN_SECS ? fmt(c.warning, { secs: String(WARN_SECS) }) : "";
}

function claveDone(msg: Messages, view: Extract<CounterView, { screen: "claveDone" }>): HTMLElement[] {
  const c = msg.counter.clave;
  const text = {
    confirmed: view.bySms ? c.doneSms : c.confirmed,
    rejected: view.bySms ? c.rejectedSms : c.rejected,
    expired: c.doneExpired,
    cancelled: c.cancelled,
  }[view.outcome];
  return [
    h(
      "h1",
      { id: "screen-title", tabindex: "-1" },
      icon(view.outcome === "confirmed" ? "check" : "info"),
      h(
        "span",
        { id: "clave-outcome", "data-outcome": view.outcome, "data-by-sms": view.bySms ? "true" : "false" },
        text,
      ),
    ),
    h("p", { class: "message" }, c.next),
  ];
}

/** Updates the rotating QR and the code in place (focus stays on the renew button). */
function updateClaveQr(view: Extract<CounterView, { screen: "claveQr" }>): boolean {
  const img = document.getElementById("clave-qr");
  const code = document.getElementById("clave-code");
  if (view.qrSvg === null || !(img instanceof HTMLImageElement) || code?.dataset["code"] !== view.code) {
    return false;
  }
  img.src = qrSource(view.qrSvg);
  return true;
}

function languagePicker(msg: Messages, info: CounterInfo): HTMLElement[] {
  const c = msg.counter;
  const langs = enabledLangs(info.languages, info.defaultLanguage);
  if (langs.length <= 1) return [];
  return [
    h(
      "section",
      { class: "languages", "aria-labelledby": "languages-title" },
      h("h2", { id: "languages-title" }, c.languages),
      h(
        "div",
        { class: "lang-buttons", role: "group", "aria-labelledby": "languages-title" },
        langs.map((l) =>
          h(
            "button",
            {
              id: `lang-${l}`,
              type: "button",
              lang: l,
              class: "lang-button",
              "aria-pressed": l === state.lang ? "true" : "false",
              onclick: () => {
                state.lang = l;
                render(`lang-${l}`);
              },
            },
            l === state.lang ? icon("check") : null,
            h("span", {}, LANG_NAMES[l]),
          ),
        ),
      ),
    ),
  ];
}

function identified(
  msg: Messages,
  info: CounterInfo,
  view: Extract<CounterView, { screen: "identified" }>,
): HTMLElement[] {
  const c = msg.counter.identified;
  return [
    h(
      "h1",
      { id: "screen-title", tabindex: "-1" },
      icon("user"),
      h("span", {}, ...withSlot(c.title, "name", h("span", { id: "identified-name" }, view.citizen.name))),
    ),
    h(
      "p",
      { class: "big-line" },
      ...withSlot(c.document, "document", h("span", { id: "identified-document", class: "doc" }, view.citizen.document)),
    ),
    h("p", { class: "message" }, c.body),
    ...languagePicker(msg, info),
  ];
}

/** The error line of the PIN pad: a format problem, a failed send, or the card's answer. */
function pinErrorText(msg: Messages, view: Extract<CounterView, { screen: "enterPin" }>): { text: string; code: string | null } {
  const c = msg.counter.pin;
  if (state.pinProblem !== null) return { text: c[state.pinProblem], code: null };
  if (state.error !== null) {
    const e = state.error;
    const tries = triesFromParams(e.params);
    return {
      text: e.code === WRONG_PIN_CODE && tries !== null
        ? pinFailureText(msg, "citizen", e.code, tries)
        : fmt(c.failed, { error: pinFailureText(msg, "citizen", e.code, tries) }),
      code: e.code,
    };
  }
  if (view.errorCode !== null) {
    return { text: pinFailureText(msg, "citizen", view.errorCode, view.triesLeft), code: view.errorCode };
  }
  return { text: "", code: null };
}

function pinPad(msg: Messages, view: Extract<CounterView, { screen: "enterPin" }>): HTMLElement[] {
  const c = msg.counter.pin;
  const err = pinErrorText(msg, view);
  const input = h("input", {
    id: "pin-input",
    name: "dnie-pin",
    type: "password",
    class: "pin-input",
    autocomplete: "off",
    autocapitalize: "off",
    autocorrect: "off",
    spellcheck: "false",
    minlength: PIN_MIN_LENGTH,
    maxlength: PIN_MAX_LENGTH,
    required: true,
    disabled: state.sending,
    "aria-describedby": "pin-hint pin-error",
    "aria-invalid": err.text !== "" ? "true" : "false",
  });
  input.addEventListener("input", () => {
    // A format message goes away as soon as the citizen types again.
    if (state.pinProblem === null) return;
    state.pinProblem = null;
    updatePinError(msg, view);
  });
  const toggle = h(
    "button",
    {
      id: "pin-toggle",
      type: "button",
      class: "pin-toggle",
      "aria-controls": "pin-input",
      "data-shown": "false",
      disabled: state.sending,
      onclick: () => {
        const show = input.type === "password";
        input.type = show ? "text" : "password";
        toggle.dataset["shown"] = show ? "true" : "false";
        toggle.replaceChildren(icon(show ? "eyeOff" : "eye"), h("span", {}, show ? c.hide : c.show));
      },
    },
    icon("eye"),
    h("span", {}, c.show),
  );
  return [
    title(c.title, "lock"),
    // A DNIe 2.0 tells who it is only after its PIN: no name yet, only what the PIN will do.
    view.citizen !== null
      ? h(
          "p",
          { class: "pin-citizen", id: "pin-citizen" },
          icon("user"),
          h("span", {}, fmt(c.who, { name: view.citizen.name, document: view.citizen.document })),
        )
      : h("p", { class: "message", id: "pin-holder" }, c.holder),
    h(
      "form",
      {
        id: "pin-form",
        class: "pin-form",
        novalidate: true,
        autocomplete: "off",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void submitPin();
        },
      },
      h("label", { for: "pin-input", class: "pin-label" }, c.label),
      h("div", { class: "pin-row" }, input, toggle),
      h("p", { id: "pin-hint", class: "message pin-hint" }, c.hint),
      pinErrorElement(err),
      state.sending ? h("p", { class: "message muted", role: "status" }, c.sending) : null,
      h(
        "div",
        { class: "answers" },
        h(
          "button",
          { id: "pin-submit", type: "submit", class: "answer yes", disabled: state.sending },
          icon("check"),
          h("span", {}, c.submit),
        ),
        h(
          "button",
          {
            id: "pin-cancel",
            type: "button",
            class: "answer no",
            disabled: state.sending,
            onclick: () => void cancelPin(),
          },
          icon("cross"),
          h("span", {}, c.cancel),
        ),
      ),
      h("p", { class: "message pin-forgot" }, c.forgot),
    ),
  ];
}

function pinErrorElement(err: { text: string; code: string | null }): HTMLElement {
  return h(
    "p",
    {
      id: "pin-error",
      class: "message alert",
      role: "alert",
      hidden: err.text === "",
      "data-code": err.code ?? undefined,
    },
    err.text === "" ? null : icon("warning"),
    h("span", {}, err.text),
  );
}

/** Refreshes the error line and the input's aria-invalid without touching what is typed. */
function updatePinError(msg: Messages, view: Extract<CounterView, { screen: "enterPin" }>): void {
  const err = pinErrorText(msg, view);
  document.getElementById("pin-error")?.replaceWith(pinErrorElement(err));
  document.getElementById("pin-input")?.setAttribute("aria-invalid", err.text !== "" ? "true" : "false");
}

function welcome(msg: Messages, info: CounterInfo): HTMLElement[] {
  const c = msg.counter;
  return [
    title(c.welcome.title),
    h("p", { class: "office-big" }, info.officeName),
    h("p", { class: "counter-big" }, fmt(c.counter, { counter: String(info.counter) })),
    h("p", { class: "message" }, c.welcome.body),
    ...languagePicker(msg, info),
  ];
}

function confirmAlta(msg: Messages, view: Extract<CounterView, { screen: "confirmAlta" }>): HTMLElement[] {
  const c = msg.counter.confirm;
  const left = state.deadline?.secondsLeft() ?? view.expiresInSecs;
  return [
    title(c.title),
    h(
      "div",
      { class: "confirm-layout" },
      h(
        "div",
        { class: "confirm-data" },
        h("p", { class: "intro" }, c.intro),
        maskedList(msg, view.citizen, "masked-"),
      ),
      h(
        "div",
        { class: "confirm-side" },
        timer(msg, left),
        // WCAG 2.2.1: the citizen can ask for more time, as often as needed.
        h(
          "button",
          {
            id: "counter-extend",
            type: "button",
            class: "extend",
            disabled: state.sending || left === 0,
            onclick: () => void answer("counter_extend"),
          },
          icon("clock"),
          h("span", {}, c.extend),
        ),
        h("p", { class: "question" }, c.question),
        state.error !== null
          ? h(
              "p",
              {
                id: "counter-error",
                class: "message alert",
                role: "alert",
                tabindex: "-1",
                "data-code": state.error.code,
              },
              icon("warning"),
              fmt(c.failed, { error: commandErrorText(msg, state.error) }),
            )
          : null,
        state.sending ? h("p", { class: "message muted", role: "status" }, c.sending) : null,
        h(
          "div",
          { class: "answers" },
          h(
            "button",
            {
              id: "counter-confirm",
              type: "button",
              class: "answer yes",
              disabled: state.sending || left === 0,
              onclick: () => void answer("counter_confirm"),
            },
            icon("check"),
            h("span", {}, c.confirm),
          ),
          h(
            "button",
            {
              id: "counter-reject",
              type: "button",
              class: "answer no",
              disabled: state.sending || left === 0,
              onclick: () => void answer("counter_reject"),
            },
            icon("cross"),
            h("span", {}, c.reject),
          ),
        ),
      ),
    ),
  ];
}

function timer(msg: Messages, left: number): HTMLElement {
  const c = msg.counter.confirm;
  const warn = left <= WARN_SECS;
  return h(
    "div",
    { class: warn ? "timer warn" : "timer", id: "timer", "data-warn": warn ? "true" : "false" },
    icon(warn ? "warning" : "clock"),
    h("span", { class: "timer-label", id: "countdown-label" }, c.timeLeft),
    h(
      "span",
      { id: "countdown", role: "timer", "aria-labelledby": "countdown-label", "aria-live": "off" },
      formatCountdown(left),
    ),
    h(
      "span",
      { id: "countdown-warning", class: "timer-warning", role: "status" },
      left === 0 ? c.expired : warn ? fmt(c.warning, { secs: String(WARN_SECS) }) : "",
    ),
  );
}

/**
 * Updates the 5-minute timer in place: the countdown, its warning look from WARN_SECS on,
 * and the warning `note` (a live region that stays in place, so a new text is announced).
 */
function updateTimer(left: number, note: string): void {
  const el = document.getElementById("countdown");
  const text = formatCountdown(left);
  if (el !== null && el.textContent !== text) el.textContent = text;
  const warn = left <= WARN_SECS;
  const box = document.getElementById("timer");
  if (box !== null && (box.dataset["warn"] === "true") !== warn) {
    box.dataset["warn"] = warn ? "true" : "false";
    box.className = warn ? "timer warn" : "timer";
    box.firstElementChild?.replaceWith(icon(warn ? "warning" : "clock"));
  }
  const w = document.getElementById("countdown-warning");
  if (w !== null && w.textContent !== note) w.textContent = note;
}

/** Updates the countdowns in place every 250 ms (no re-render, focus stays put). */
function tick(): void {
  const view = state.view;
  if (view === null || state.deadline === null) return;
  const left = state.deadline.secondsLeft();
  if (view.screen === "confirmAlta") {
    const c = m().counter.confirm;
    const warn = left <= WARN_SECS;
    updateTimer(left, left === 0 ? c.expired : warn ? fmt(c.warning, { secs: String(WARN_SECS) }) : "");
    if (left === 0) {
      for (const id of ["counter-confirm", "counter-reject"]) {
        const b = document.getElementById(id);
        if (b instanceof HTMLButtonElement) b.disabled = true;
      }
    }
  } else if (
    view.screen === "claveQr" ||
    view.screen === "claveIdentify" ||
    view.screen === "claveNoQr" ||
    view.screen === "claveSmsPin"
  ) {
    if (view.screen === "claveNoQr" || view.screen === "claveSmsPin") {
      const waitId = view.screen === "claveNoQr" ? "clave-sms-countdown" : "clave-pin-resend-countdown";
      const smsLeft = state.smsDeadline?.secondsLeft() ?? 0;
      const wait = document.getElementById(waitId);
      if (wait !== null && smsLeft === 0) {
        // The SMS link (or "send another PIN") appears; what is typed and the focus stay.
        const focused = document.activeElement?.id;
        const typed = (document.getElementById("clave-pin-input") as HTMLInputElement | null)?.value ?? "";
        render(focused !== undefined && focused !== "" ? focused : null);
        const input = document.getElementById("clave-pin-input");
        if (input instanceof HTMLInputElement) input.value = typed;
      } else if (wait !== null && wait.textContent !== String(smsLeft)) {
        wait.textContent = String(smsLeft);
      }
    }
    updateTimer(left, claveWarning(m(), left));
  } else if (view.screen === "altaDone") {
    const el = document.getElementById("return-countdown");
    if (el !== null && el.textContent !== String(left)) el.textContent = String(left);
  }
}

// ---------------------------------------------------------------------------------------
// Actions

/**
 * Sends a command whose result arrives through the channel as the next view. The buttons
 * are disabled meanwhile (focus moves to `focus`, or stays with `undefined`); if it
 * fails, the error is shown, focused on `errorFocus`, when the counter is still on a
 * screen `stillThere` accepts.
 */
async function send(
  command: string,
  args: Record<string, unknown> | undefined,
  stillThere: (screen: string | undefined) => boolean,
  errorFocus: string,
  focus: string | undefined = "title",
): Promise<void> {
  state.sending = true;
  state.error = null;
  if (focus !== undefined) render(focus);
  try {
    await call<void>(command, args);
  } catch (e) {
    state.error = asCommandError(e);
    state.sending = false;
    if (stillThere(state.view?.screen)) render(errorFocus);
  }
}

async function answer(command: "counter_confirm" | "counter_reject" | "counter_extend"): Promise<void> {
  if (state.sending) return;
  await send(command, undefined, (s) => s === "confirmAlta", "counter-error");
}

/** Reads the PIN from the input, checks its format, sends it and clears the input. */
async function submitPin(): Promise<void> {
  const view = state.view;
  const input = document.getElementById("pin-input");
  if (view?.screen !== "enterPin" || state.sending || !(input instanceof HTMLInputElement)) return;
  const problem = pinProblem(input.value);
  if (problem !== null) {
    // Not sent: a PIN the card cannot accept never costs one of its tries.
    state.pinProblem = problem;
    state.error = null;
    updatePinError(m(), view);
    input.focus();
    return;
  }
  const pin = input.value;
  input.value = "";
  state.pinProblem = null;
  // The next view (checking, verified, wrong PIN, blocked) arrives through the channel.
  await send("counter_submit_pin", { pin }, (s) => s === "enterPin", "pin-input");
}

/** One tap: the old request is cancelled and a new one (new code, full time) shown. */
async function renewClave(): Promise<void> {
  if (state.sending) return;
  // The new request arrives through the channel; focus stays on the button.
  await send("counter_clave_renew", undefined, (s) => s?.startsWith("clave") === true, "clave-error", undefined);
}

type ClaveCommand = "counter_clave_without_qr" | "counter_clave_with_qr" | "counter_clave_request_sms";

/** A Cl@ve Móvil step with no data: the next view arrives through the channel. */
async function claveAction(command: ClaveCommand): Promise<void> {
  if (state.sending) return;
  const screen = state.view?.screen;
  state.sending = true;
  state.error = null;
  render(document.activeElement?.id ?? null);
  try {
    await call<void>(command);
    if (state.view?.screen === screen && state.sending) {
      // Same screen again (e.g. another PIN sent): nothing new to render but the buttons.
      state.sending = false;
      render(document.activeElement?.id ?? null);
    }
  } catch (e) {
    state.error = asCommandError(e);
    state.sending = false;
    if (state.view?.screen === screen) render("clave-error");
  }
}

/** Sends the "without QR" form; field errors come back next to their inputs. */
async function submitIdentity(): Promise<void> {
  if (state.sending || state.view?.screen !== "claveIdentify") return;
  const f = state.idForm;
  const nie = looksLikeNie(f.document);
  // Only the contrast datum of the kind of document typed goes.
  const form: ClaveIdentityDto = {
    document: f.document,
    expiryDate: !nie && !f.permanent ? f.expiryDate : "",
    permanent: !nie && f.permanent,
    issueDate: !nie && f.permanent ? f.issueDate : "",
    supportNumber: nie ? f.supportNumber : "",
  };
  state.sending = true;
  state.error = null;
  state.idErrors = [];
  render("clave-id-submit");
  try {
    await call<void>("counter_clave_identify", { form });
    // The request's screen arrives through the channel.
  } catch (e) {
    const error = asCommandError(e);
    state.sending = false;
    if (state.view?.screen !== "claveIdentify") return;
    if (error.fields.length > 0) {
      state.idErrors = error.fields;
      const first = error.fields[0]?.field;
      const ids: Record<string, string> = {
        document: "clave-id-document",
        expiryDate: "clave-id-expiry",
        issueDate: "clave-id-issue",
        supportNumber: "clave-id-support",
      };
      render((first !== undefined ? ids[first] : undefined) ?? "clave-id-document");
    } else {
      state.error = error;
      render("clave-error");
    }
  }
}

/** Reads the SMS PIN from the input, checks it is 6 digits, sends it, clears the input. */
async function submitSmsPin(): Promise<void> {
  const view = state.view;
  const input = document.getElementById("clave-pin-input");
  if (view?.screen !== "claveSmsPin" || state.sending || !(input instanceof HTMLInputElement)) return;
  const pin = input.value.trim();
  if (!/^[0-9]{6}$/.test(pin)) {
    // Not sent: a malformed PIN costs no try.
    state.smsPinFormat = true;
    state.error = null;
    render("clave-pin-input");
    return;
  }
  input.value = "";
  state.smsPinFormat = false;
  // A wrong PIN comes back as a new view (tries left); the right one ends the request.
  await send("counter_clave_submit_pin", { pin }, (s) => s === "claveSmsPin", "clave-pin-input");
}

async function cancelPin(): Promise<void> {
  if (state.sending) return;
  const input = document.getElementById("pin-input");
  if (input instanceof HTMLInputElement) input.value = "";
  state.pinProblem = null;
  await send("counter_cancel_pin", undefined, (s) => s === "enterPin", "pin-input");
}

function onView(view: CounterView): void {
  const previous = state.view?.screen;
  if (view.screen === "claveQr" && previous === "claveQr") {
    // A new frame every second: redraw in place, keep the deadline and the focus.
    const sameRequest = state.view?.screen === "claveQr" && state.view.code === view.code;
    state.view = view;
    if (sameRequest && !state.sending) {
      state.deadline = new Deadline(view.expiresInSecs);
      if (updateClaveQr(view)) {
        tick();
        return;
      }
    }
    state.sending = false;
    state.deadline = new Deadline(view.expiresInSecs);
    const focused = document.activeElement?.id;
    render(focused !== undefined && focused !== "" ? focused : null);
    return;
  }
  if (view.screen !== "claveIdentify") {
    // What the citizen typed goes as soon as the form does.
    state.idForm = emptyIdForm();
    state.idErrors = [];
  }
  state.view = view;
  state.sending = false;
  state.error = null;
  state.pinProblem = null;
  state.smsPinFormat = false;
  state.deadline =
    view.screen === "confirmAlta" ||
    view.screen === "claveQr" ||
    view.screen === "claveIdentify" ||
    view.screen === "claveNoQr" ||
    view.screen === "claveSmsPin"
      ? new Deadline(view.expiresInSecs)
      : view.screen === "altaDone"
        ? new Deadline(view.returnInSecs)
        : null;
  state.smsDeadline =
    view.screen === "claveNoQr"
      ? new Deadline(view.smsInSecs)
      : view.screen === "claveSmsPin"
        ? new Deadline(view.resendInSecs)
        : null;
  if (
    view.screen === "claveNoQr" &&
    previous === "claveNoQr" &&
    document.getElementById("clave-code")?.dataset["code"] === view.code &&
    (document.getElementById("clave-sms-link") !== null) === (state.smsDeadline?.expired() ?? false)
  ) {
    // The same request, and the SMS link already as it should be (the desk says it opened
    // when this screen's own countdown has already shown it): nothing to redraw, so a
    // tap on the link is never lost to a redraw.
    tick();
    return;
  }
  if (view.screen === previous && view.screen === "claveIdentify") {
    // A renewed request behind the form: new time, the form and the focus stay.
    const focused = document.activeElement?.id;
    render(focused !== undefined && focused !== "" ? focused : null);
    return;
  }
  if (view.screen === "claveSmsPin") {
    render("clave-pin-input");
    return;
  }
  if (view.screen === "welcome" && previous !== undefined && previous !== "welcome" && state.info !== null) {
    // A new citizen may be next: back to the office's default language.
    state.lang = defaultLang(state.info);
  }
  // The PIN pad takes the focus on its input (also after a wrong PIN, to type again).
  render(view.screen === "enterPin" ? "pin-input" : view.screen === previous ? null : "title");
}

async function boot(): Promise<void> {
  render();
  try {
    const info = await call<CounterInfo>("counter_info");
    state.info = info;
    state.lang = defaultLang(info);
  } catch (e) {
    state.bootError = asCommandError(e);
    render();
    return;
  }
  render();
  try {
    const channel = new Channel<CounterView>(onView);
    await call<void>("counter_subscribe", { onView: channel });
  } catch (e) {
    state.bootError = asCommandError(e);
    render();
  }
}

window.setInterval(tick, 250);
void boot();
