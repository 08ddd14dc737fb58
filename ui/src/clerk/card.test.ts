import { describe, expect, it } from "vitest";
import type { AltaFormDto, CardIdentityDto } from "../bindings";
import { ALTA_FIELDS, emptyForm, toDto } from "./altaForm";
import {
  CARD_FIELDS,
  canRequestPin,
  cardSituation,
  fieldLocked,
  formFromCard,
  PIN_IDLE,
  pinAfterFormChange,
  pinFailed,
  pinPadOpen,
  pinProven,
  pinStatusState,
  type PinStep,
  sameDocument,
  shouldAutoFill,
  typeManually,
} from "./card";

const ANA: CardIdentityDto = {
  document: "99999999R",
  givenName: "ANA",
  surnames: "ESPAÑOLA ESPAÑOLA",
  firstSurname: "ESPAÑOLA",
  secondSurname: "ESPAÑOLA",
  idesp: "BAA000589",
  certValidUntil: "2030-06-30",
  version: "3.0",
};
const LUIS: CardIdentityDto = { ...ANA, document: "12345678Z", givenName: "LUIS", idesp: "BAB123456" };

const typed: AltaFormDto = {
  ...emptyForm(),
  document: "99999999r",
  expiryDate: "31/12/2031",
  givenName: "Ana",
  firstSurname: "Española",
  phone: "612345678",
  email: "ana@example.org",
};

describe("card → form", () => {
  it("fills document, name, surnames and IDESP, and sets fromCard", () => {
    const f = formFromCard(emptyForm(), ANA);
    expect(f).toEqual({
      ...emptyForm(),
      document: "99999999R",
      supportNumber: "BAA000589",
      givenName: "ANA",
      firstSurname: "ESPAÑOLA",
      secondSurname: "ESPAÑOLA",
      fromCard: true,
    });
    expect(toDto(f).fromCard).toBe(true);
  });

  it("keeps what the card does not give (expiry, phone, email) for the same document", () => {
    const f = formFromCard(typed, ANA);
    expect([f.expiryDate, f.phone, f.email]).toEqual(["31/12/2031", "612345678", "ana@example.org"]);
    expect(f.givenName).toBe("ANA");
  });

  it("drops the contrast dates typed for another document", () => {
    const f = formFromCard({ ...typed, permanent: true, issueDate: "01/01/2000" }, LUIS);
    expect([f.document, f.expiryDate, f.issueDate, f.permanent]).toEqual(["12345678Z", "", "", false]);
    expect(f.phone).toBe("612345678");
  });

  it("does not mutate the form it is given", () => {
    const copy = { ...typed };
    formFromCard(copy, ANA);
    expect(copy).toEqual(typed);
  });
});

describe("locking", () => {
  it("locks exactly the card-given fields while fromCard", () => {
    const f = formFromCard(emptyForm(), ANA);
    expect(ALTA_FIELDS.filter((field) => fieldLocked(f, field))).toEqual([...CARD_FIELDS]);
    expect(fieldLocked(f, "expiryDate")).toBe(false);
    expect(fieldLocked(f, "phone")).toBe(false);
    expect(fieldLocked(f, "email")).toBe(false);
    expect(fieldLocked(f, "permanent")).toBe(false);
  });

  it("locks nothing in a form typed by hand", () => {
    expect(ALTA_FIELDS.filter((field) => fieldLocked(typed, field))).toEqual([]);
  });

  it("'type by hand' keeps the values and unlocks", () => {
    const f = formFromCard(typed, ANA);
    const manual = typeManually(f);
    expect(manual).toEqual({ ...f, fromCard: false });
    expect(ALTA_FIELDS.some((field) => fieldLocked(manual, field))).toBe(false);
  });
});

describe("documents", () => {
  it.each([
    ["99999999R", "99999999r", true],
    ["99.999.999-R", "99999999R", true],
    ["99999999R", "12345678Z", false],
    ["****9999R", "99999999R", true],
    ["99999999R", "****9999R", true],
    ["****5678Z", "99999999R", false],
    ["***R", "99999999R", false],
    ["", "", false],
  ])("%j vs %j → %s", (a, b, same) => {
    expect(sameDocument(a, b)).toBe(same);
  });
});

describe("card situation and auto-fill", () => {
  const fromAna = formFromCard(emptyForm(), ANA);

  it("no card / offer / in use / removed / another card", () => {
    expect(cardSituation(typed, null)).toEqual({ kind: "noCard" });
    expect(cardSituation(typed, ANA)).toEqual({ kind: "offer", identity: ANA });
    expect(cardSituation(fromAna, ANA)).toEqual({ kind: "inUse", identity: ANA });
    expect(cardSituation(fromAna, null)).toEqual({ kind: "removed" });
    expect(cardSituation(fromAna, LUIS)).toEqual({ kind: "otherCard", identity: LUIS });
  });

  it("a removed card keeps the values", () => {
    expect(cardSituation(fromAna, null).kind).toBe("removed");
    expect(fromAna.givenName).toBe("ANA");
  });

  it("fills only an empty form, never over what the clerk typed", () => {
    expect(shouldAutoFill(emptyForm(), ANA, null)).toBe(true);
    expect(shouldAutoFill(typed, ANA, null)).toBe(false);
    expect(shouldAutoFill({ ...emptyForm(), phone: "6" }, ANA, null)).toBe(false);
    expect(shouldAutoFill(emptyForm(), null, null)).toBe(false);
    expect(shouldAutoFill(fromAna, ANA, null)).toBe(false);
  });

  it("does not fill again a card the clerk declined (or that just finished an alta)", () => {
    expect(shouldAutoFill(emptyForm(), ANA, "99999999R")).toBe(false);
    expect(shouldAutoFill(emptyForm(), LUIS, "99999999R")).toBe(true);
  });
});

describe("PIN step", () => {
  const fromAna = formFromCard(emptyForm(), ANA);
  const inUse = cardSituation(fromAna, ANA);
  const verified: PinStep = { status: "verified", document: "99999999R" };

  it("maps to #pin-status data-state", () => {
    expect(pinStatusState(PIN_IDLE)).toBeNull();
    expect(pinStatusState({ status: "requesting" })).toBe("waiting");
    expect(pinStatusState({ status: "waiting" })).toBe("waiting");
    expect(pinStatusState(verified)).toBe("verified");
    expect(pinStatusState(pinFailed("PIN-001", 2))).toBe("failed");
  });

  it("can be asked only for card data with the card in the reader", () => {
    expect(canRequestPin(PIN_IDLE, inUse)).toBe(true);
    expect(canRequestPin(PIN_IDLE, cardSituation(fromAna, null))).toBe(false);
    expect(canRequestPin(PIN_IDLE, cardSituation(fromAna, LUIS))).toBe(false);
    expect(canRequestPin(PIN_IDLE, cardSituation(typed, ANA))).toBe(false);
  });

  it("a wrong or malformed PIN leaves the pad open on the counter screen", () => {
    expect(pinFailed("PIN-001", 2)).toEqual({ status: "failed", code: "PIN-001", triesLeft: 2, open: true });
    expect(pinPadOpen(pinFailed("PIN-003", null))).toBe(true);
    expect(pinPadOpen(pinFailed("PIN-002", null))).toBe(false);
    expect(pinPadOpen(pinFailed("PCSC-004", null))).toBe(false);
    expect(pinPadOpen(pinFailed("PIN-CANCELLED", null))).toBe(false);
    // A refused request opened nothing.
    expect(pinPadOpen(pinFailed("PIN-001", 2, false))).toBe(false);
    expect(pinPadOpen({ status: "waiting" })).toBe(true);
    expect(pinPadOpen(PIN_IDLE)).toBe(false);
  });

  it("is never asked twice at once, only by the clerk after it ended, never once blocked", () => {
    expect(canRequestPin({ status: "waiting" }, inUse)).toBe(false);
    expect(canRequestPin({ status: "requesting" }, inUse)).toBe(false);
    // Wrong PIN: the citizen types again on the counter screen; the clerk does not re-ask.
    expect(canRequestPin(pinFailed("PIN-001", 2), inUse)).toBe(false);
    expect(canRequestPin(pinFailed("PCSC-004", null), inUse)).toBe(true);
    expect(canRequestPin(pinFailed("PIN-CANCELLED", null), inUse)).toBe(true);
    expect(canRequestPin(pinFailed("PIN-TIMEOUT", null), inUse)).toBe(true);
    expect(canRequestPin(pinFailed("CARD-NONE", null, false), inUse)).toBe(true);
    expect(canRequestPin(pinFailed("PIN-002", null), inUse)).toBe(false);
  });

  it("the proof holds for its document only", () => {
    expect(pinProven(verified, fromAna)).toBe(true);
    expect(pinProven(verified, { document: "12345678Z" })).toBe(false);
    expect(pinProven({ status: "waiting" }, fromAna)).toBe(false);
    expect(pinAfterFormChange(verified, fromAna)).toBe(verified);
    expect(pinAfterFormChange(verified, { document: "12345678Z" })).toEqual(PIN_IDLE);
    expect(pinAfterFormChange(verified, typeManually(fromAna))).toBe(verified);
    const failed: PinStep = pinFailed("PIN-001", 1);
    expect(pinAfterFormChange(failed, { document: "1" })).toBe(failed);
  });
});
