// The DNIe PIN as the UI sees it: the format check done before anything is sent, and the
// texts of a failed PIN step (wrong PIN with the tries left, blocked, card removed…).
// DOM-free (unit-tested in node). Nothing here keeps or logs a PIN.
import { errorText, fmt, type Messages } from "../i18n";

export const PIN_MIN_LENGTH = 8;
export const PIN_MAX_LENGTH = 16;

export const WRONG_PIN_CODE = "PIN-001";
export const PIN_BLOCKED_CODE = "PIN-002";
export const PIN_FORMAT_CODE = "PIN-003";

export type PinProblem = "empty" | "tooShort" | "tooLong" | "badChars";

/**
 * Why a typed PIN cannot be a DNIe PIN, or null if it can. A DNIe PIN has 8–16 characters:
 * letters and digits (printable ASCII, as the `dnie` crate's `Pin::new` accepts, so a PIN
 * the card would take is never refused here); no spaces, no accented letters. Checked
 * before sending, so a mistyped format never costs the citizen one of the card's tries.
 */
export function pinProblem(pin: string): PinProblem | null {
  if (pin.length === 0) return "empty";
  for (const ch of pin) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x21 || c > 0x7e) return "badChars";
  }
  if (pin.length < PIN_MIN_LENGTH) return "tooShort";
  if (pin.length > PIN_MAX_LENGTH) return "tooLong";
  return null;
}

/** "Wrong PIN, N tries left" in the given pair of templates ({tries} placeholder). */
export function triesLeftText(templates: { wrongOne: string; wrongMany: string }, triesLeft: number): string {
  return triesLeft === 1 ? templates.wrongOne : fmt(templates.wrongMany, { tries: String(triesLeft) });
}

/** The tries left carried by a CommandError's params, if the backend sent them. */
export function triesFromParams(params: Readonly<Record<string, string | undefined>>): number | null {
  const raw = params["triesLeft"] ?? params["tries_left"] ?? params["tries"];
  if (raw === undefined) return null;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/**
 * The message for a failed PIN step, for the citizen (counter screen) or the clerk. A wrong
 * PIN with a known number of tries says how many are left; other codes use the shared
 * error table.
 */
export function pinFailureText(
  m: Messages,
  audience: "citizen" | "clerk",
  code: string,
  triesLeft: number | null,
): string {
  if (code === WRONG_PIN_CODE && triesLeft !== null && triesLeft > 0) {
    return triesLeftText(audience === "citizen" ? m.counter.pin : m.clerk.identify, triesLeft);
  }
  return errorText(m, code, triesLeft === null ? {} : { triesLeft: String(triesLeft) });
}
