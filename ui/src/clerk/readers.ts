// The card readers as the clerk console shows them: which reader the desk uses, what each
// one shows (state → icon + text), and the identity of the DNIe in the selected reader.
// DOM-free (unit-tested in node).
import type { CardIdentityDto, ReaderDto, ReadersDto, ReaderStateDto, TrainingCardDto } from "../bindings";
import { displayDate, errorText, fmt, type Messages } from "../i18n";
import type { IconName } from "../shared/dom";

/** Every state the reader area can show (`data-state` of #reader-status). */
export type ReaderUiState =
  | "unknown"
  | "noService"
  | "noReader"
  /** The selected reader holds a DNIe 2.0: its identity comes with the PIN. */
  | "pinOnly"
  | ReaderStateDto["state"];

/**
 * The error code a DNIe 2.0 gives when read without its PIN. It is the normal state of
 * such a card (shown as information, not as a failure).
 */
export const PIN_ONLY_CODE = "CARD-006";

/** Whether a reader's state is that of a DNIe 2.0 (identity behind the PIN). */
export function isPinOnlyState(state: ReaderStateDto): boolean {
  return state.state === "error" && state.code === PIN_ONLY_CODE;
}

/** The reader whose card the desk uses: the one marked selected, else the only one. */
export function selectedReader(readers: ReadersDto | null): ReaderDto | null {
  if (readers === null || !readers.service) return null;
  return readers.readers.find((r) => r.selected) ?? (readers.readers.length === 1 ? (readers.readers[0] ?? null) : null);
}

/** The overall state: the service, the presence of readers, then the selected reader. */
export function overallState(readers: ReadersDto | null): ReaderUiState {
  if (readers === null) return "unknown";
  if (!readers.service) return "noService";
  if (readers.readers.length === 0) return "noReader";
  const sel = selectedReader(readers);
  // Several readers, none selected: the desk waits for a card in any of them.
  if (sel === null) return "empty";
  return readers.pinOnly && isPinOnlyState(sel.state) ? "pinOnly" : sel.state.state;
}

/** The selected reader holds a DNIe 2.0: "identify with the PIN" is what it offers. */
export function pinOnlyCard(readers: ReadersDto | null): boolean {
  return readers !== null && readers.service && readers.pinOnly;
}

/** The DNIe identity in the selected reader, if it is ready. */
export function readyIdentity(readers: ReadersDto | null): CardIdentityDto | null {
  const sel = selectedReader(readers);
  return sel !== null && sel.state.state === "ready" ? sel.state.identity : null;
}

/**
 * A DNIe 2.0 that told who it is after its PIN (`cardIdentified`), and the reader it was
 * in. The reader picture keeps showing that card as "data with the PIN", so the window
 * remembers the identity for as long as that reader holds a DNIe 2.0.
 */
export type IdentifiedCard = { reader: string | null; identity: CardIdentityDto };

/** The `cardIdentified` identity, tied to the reader selected now. */
export function identifiedCard(readers: ReadersDto | null, identity: CardIdentityDto): IdentifiedCard {
  return { reader: selectedReader(readers)?.name ?? null, identity };
}

/**
 * The identified DNIe 2.0 after a new reader picture: kept while the same reader is
 * selected and still holds a DNIe 2.0; forgotten once the card goes (or another is read).
 */
export function keepIdentified(readers: ReadersDto | null, card: IdentifiedCard | null): IdentifiedCard | null {
  if (card === null || !pinOnlyCard(readers)) return null;
  return (selectedReader(readers)?.name ?? null) === card.reader ? card : null;
}

/**
 * The identity of the DNIe in the selected reader: read without the PIN (3.0/4.0, `ready`),
 * or a DNIe 2.0 that told it after its PIN.
 */
export function cardIdentity(readers: ReadersDto | null, identified: IdentifiedCard | null): CardIdentityDto | null {
  return readyIdentity(readers) ?? keepIdentified(readers, identified)?.identity ?? null;
}

/** Full name as on the card: given name, then surnames. */
export function cardName(identity: CardIdentityDto): string {
  const surnames =
    identity.surnames.trim() !== ""
      ? identity.surnames.trim()
      : [identity.firstSurname, identity.secondSurname].filter((s) => s.trim() !== "").join(" ");
  return [identity.givenName.trim(), surnames].filter((s) => s !== "").join(" ");
}

export type StateLabel = { icon: IconName; text: string };

/** Icon + text of one reader state (text always carries the meaning, never colour alone). */
export function readerStateLabel(m: Messages, state: ReaderStateDto): StateLabel {
  const r = m.clerk.readers;
  switch (state.state) {
    case "empty":
      return { icon: "info", text: r.empty };
    case "reading":
      return { icon: "clock", text: r.reading };
    case "ready":
      return {
        icon: "check",
        text: fmt(r.ready, { name: cardName(state.identity), document: state.identity.document }),
      };
    case "notADnie":
      return { icon: "cross", text: r.notADnie };
    case "finalised":
      return { icon: "warning", text: r.finalised };
    case "error":
      // A DNIe 2.0 is read with its PIN: information, not a failure.
      if (isPinOnlyState(state)) return { icon: "info", text: r.pinOnly };
      return { icon: "warning", text: fmt(r.error, { error: errorText(m, state.code) }) };
  }
}

/** Icon + text of the whole reader area when there is no reader to describe. */
export function overallLabel(m: Messages, readers: ReadersDto | null): StateLabel | null {
  const r = m.clerk.readers;
  const s = overallState(readers);
  if (s === "unknown") return { icon: "clock", text: r.unknown };
  if (s === "noService") return { icon: "warning", text: r.noService };
  if (s === "noReader") return { icon: "warning", text: r.noReader };
  return null;
}

/** A short "DNIe 3.0 · certificate valid until dd/mm/yyyy" line for the clerk. */
export function cardDetails(m: Messages, identity: CardIdentityDto): string {
  return fmt(m.clerk.identify.cardDetails, {
    version: identity.version,
    date: displayDate(identity.certValidUntil),
  });
}

/**
 * A training card's label in the clerk's language: the fixed non-DNIe cards by their id;
 * the specimen identities as the backend labels them (its labels are Spanish only).
 */
export function trainingCardLabel(m: Messages, card: TrainingCardDto): string {
  const kinds: Readonly<Record<string, string | undefined>> = m.clerk.training.kinds;
  return Object.prototype.hasOwnProperty.call(kinds, card.id) ? (kinds[card.id] ?? card.label) : card.label;
}
