// "Identify the citizen" as data: the DNIe's identity → the alta form, which fields the
// card gives (and so are locked while `fromCard`), what the identify panel offers for the
// card in the reader, and the optional PIN step. DOM-free (unit-tested in node); any
// operation that starts by identifying the citizen can reuse it.
import type { AltaFormDto, CardIdentityDto } from "../bindings";
import type { AltaField } from "./altaForm";
import { isEmptyForm } from "./altaForm";

/** The fields the DNIe gives: read-only while the form is `fromCard`. */
export const CARD_FIELDS = [
  "document",
  "supportNumber",
  "givenName",
  "firstSurname",
  "secondSurname",
] as const satisfies readonly AltaField[];
export type CardField = (typeof CARD_FIELDS)[number];

export function isCardField(field: AltaField): field is CardField {
  return (CARD_FIELDS as readonly string[]).includes(field);
}

/** Whether the clerk may not edit this field now (it came from the DNIe). */
export function fieldLocked(form: Pick<AltaFormDto, "fromCard">, field: AltaField): boolean {
  return form.fromCard && isCardField(field);
}

/** Document number for comparisons: upper case, letters and digits only. */
export function normaliseDocument(document: string): string {
  return document.toUpperCase().replace(/[^0-9A-Z*]/g, "");
}

/**
 * Whether two document numbers are the same. One of them may be masked (`****5678Z`,
 * as the backend sends to a window that should not see it whole): then the visible tail
 * must match.
 */
export function sameDocument(a: string, b: string): boolean {
  const x = normaliseDocument(a);
  const y = normaliseDocument(b);
  if (x === "" || y === "") return false;
  if (!x.includes("*") && !y.includes("*")) return x === y;
  const tail = (s: string): string => s.slice(s.lastIndexOf("*") + 1);
  const [masked, plain] = x.includes("*") ? [x, y] : [y, x];
  const visible = tail(masked);
  // At least the last four characters visible (e.g. `****5678Z`); fewer prove nothing.
  return visible.length >= 4 && !plain.includes("*") && plain.endsWith(visible);
}

/**
 * The form with the card's identity in it: document, given name, surnames and support
 * number (IDESP) from the chip, `fromCard` set. What the card does not give (expiry or
 * issue date, phone, email) stays as the clerk typed it, except that the contrast dates of
 * a different document are dropped (they belonged to the other document).
 */
export function formFromCard(form: AltaFormDto, identity: CardIdentityDto): AltaFormDto {
  const sameDoc = form.document.trim() === "" || sameDocument(form.document, identity.document);
  return {
    ...form,
    document: identity.document,
    supportNumber: identity.idesp,
    givenName: identity.givenName,
    firstSurname: identity.firstSurname,
    secondSurname: identity.secondSurname,
    expiryDate: sameDoc ? form.expiryDate : "",
    issueDate: sameDoc ? form.issueDate : "",
    permanent: sameDoc ? form.permanent : false,
    fromCard: true,
  };
}

/** "Type by hand": the values stay, the card-given fields unlock, `fromCard` is cleared. */
export function typeManually(form: AltaFormDto): AltaFormDto {
  return { ...form, fromCard: false };
}

/** What the identify panel shows about the card in the selected reader and the form. */
export type CardSituation =
  /** No DNIe ready, the form typed by hand. */
  | { kind: "noCard" }
  /** A DNIe is ready and the form does not hold its data: offer "use the card's data". */
  | { kind: "offer"; identity: CardIdentityDto }
  /** The form holds the data of the DNIe in the reader. */
  | { kind: "inUse"; identity: CardIdentityDto }
  /** The form came from a DNIe that is no longer in the reader. */
  | { kind: "removed" }
  /** The form came from a DNIe; another one is in the reader now. */
  | { kind: "otherCard"; identity: CardIdentityDto }
  /**
   * A DNIe 2.0 is in the reader and has not told who it is: its data come only with the
   * citizen's PIN (offer "identify with the PIN").
   */
  | { kind: "pinOnly" };

/**
 * `identity`: the DNIe in the selected reader, if known (read, or a 2.0 identified by its
 * PIN); `pinOnly`: the selected reader holds a DNIe 2.0 (used only while its identity is
 * unknown).
 */
export function cardSituation(
  form: AltaFormDto,
  identity: CardIdentityDto | null,
  pinOnly = false,
): CardSituation {
  if (identity === null && pinOnly) return { kind: "pinOnly" };
  if (form.fromCard) {
    if (identity === null) return { kind: "removed" };
    return sameDocument(form.document, identity.document)
      ? { kind: "inUse", identity }
      : { kind: "otherCard", identity };
  }
  return identity === null ? { kind: "noCard" } : { kind: "offer", identity };
}

/**
 * Whether inserting this card fills the form on its own: only an empty form (nothing the
 * clerk typed is ever overwritten), and not a card the clerk already chose to type by hand.
 */
export function shouldAutoFill(
  form: AltaFormDto,
  identity: CardIdentityDto | null,
  declinedDocument: string | null,
): identity is CardIdentityDto {
  if (identity === null || form.fromCard || !isEmptyForm(form)) return false;
  return declinedDocument === null || !sameDocument(declinedDocument, identity.document);
}

// ---------------------------------------------------------------------------------------
// The optional "verify with PIN" step (the PIN itself is typed on the counter screen and
// never reaches this window).

export type PinStep =
  | { status: "idle" }
  /** `alta_request_pin` sent, no answer yet. */
  | { status: "requesting" }
  /** The counter screen shows the PIN pad. */
  | { status: "waiting" }
  | { status: "verified"; document: string }
  /**
   * The last try failed. `open`: the PIN pad is still on the counter screen (wrong or
   * malformed PIN), so the citizen may type it again there; the clerk may only cancel.
   */
  | { status: "failed"; code: string; triesLeft: number | null; open: boolean };

export const PIN_IDLE: PinStep = { status: "idle" };

/** Codes after which the backend keeps the PIN pad open for another try by hand. */
const RETRYABLE_PIN_CODES: readonly string[] = ["PIN-001", "PIN-003"];

/** The step after a `pinFailed` event (or a refused request, which leaves nothing open). */
export function pinFailed(code: string, triesLeft: number | null, fromEvent = true): PinStep {
  return { status: "failed", code, triesLeft, open: fromEvent && RETRYABLE_PIN_CODES.includes(code) };
}

/** The PIN pad is on the counter screen: the clerk can cancel it, not ask again. */
export function pinPadOpen(step: PinStep): boolean {
  return step.status === "requesting" || step.status === "waiting" || (step.status === "failed" && step.open);
}

/** `data-state` of #pin-status, or null when the status line is not shown. */
export function pinStatusState(step: PinStep): "waiting" | "verified" | "failed" | null {
  switch (step.status) {
    case "requesting":
    case "waiting":
      return "waiting";
    case "verified":
      return "verified";
    case "failed":
      return "failed";
    case "idle":
      return null;
  }
}

/** The "identity proven with DNIe and PIN" badge holds only for the document it proved. */
export function pinProven(step: PinStep, form: Pick<AltaFormDto, "document">): boolean {
  return step.status === "verified" && sameDocument(step.document, form.document);
}

/**
 * Whether the PIN can be asked now: only for data read from the DNIe that is in the reader
 * ("verify"), or to identify a DNIe 2.0 ("identify"), not while a request is under way, never automatically after a failure (the
 * clerk asks again), and not once the PIN is blocked.
 */
export function canRequestPin(step: PinStep, situation: CardSituation): boolean {
  if (situation.kind !== "inUse" && situation.kind !== "pinOnly") return false;
  if (pinPadOpen(step)) return false;
  if (step.status === "failed" && step.code === "PIN-002") return false;
  return true;
}

/** The PIN step after the form's document changed: a proof for another document is dropped. */
export function pinAfterFormChange(step: PinStep, form: Pick<AltaFormDto, "document">): PinStep {
  if (step.status === "verified" && !sameDocument(step.document, form.document)) return PIN_IDLE;
  return step;
}

/**
 * The #request-pin button of the identify panel, or null when it is not shown.
 * - `verify`: the form holds data read from a DNIe ("Verify with PIN"), until proven;
 * - `identify`: a DNIe 2.0 that gives its holder's data only with the PIN ("Identify with
 *   the DNIe's PIN"), whatever the form holds.
 * Never while the PIN pad is open on the counter screen; `again` after a failed try;
 * `enabled` as `canRequestPin` says.
 */
export type PinOffer = { purpose: "verify" | "identify"; again: boolean; enabled: boolean };

export function pinOffer(step: PinStep, situation: CardSituation, form: AltaFormDto): PinOffer | null {
  const identify = situation.kind === "pinOnly";
  if (!identify && !form.fromCard) return null;
  if (pinPadOpen(step)) return null;
  if (!identify && pinProven(step, form)) return null;
  return {
    purpose: identify ? "identify" : "verify",
    again: step.status === "failed",
    enabled: canRequestPin(step, situation),
  };
}

/**
 * A DNIe 2.0 told who it is after its PIN (`cardIdentified`): the form and the PIN step as
 * "use the DNIe's data" leaves them (card-given fields from the chip and locked, `fromCard`).
 * The `pinVerified` that follows proves the same document.
 */
export function afterCardIdentified(
  form: AltaFormDto,
  step: PinStep,
  identity: CardIdentityDto,
): { form: AltaFormDto; pin: PinStep } {
  const next = formFromCard(form, identity);
  return { form: next, pin: pinAfterFormChange(step, next) };
}
