import { describe, expect, it } from "vitest";
import type { AltaFormDto, CardIdentityDto } from "../bindings";
import { ALTA_FIELDS, emptyForm, toDto } from "./altaForm";
import {
  afterCardIdentified,
  CARD_FIELDS,
  canRequestPin,
  cardSituation,
  fieldLocked,
  formFromCard,
  PIN_IDLE,
  pinAfterFormChange,
  pinFailed,
  pinOffer,
  pinPadOpen,
  pinProven,
  pinStatusState,
  type PinStep,
  sameDocument,
  shouldAutoFill,
  typeManually,
} from "./card";
import { ANA, ANTIGUO } from "./testCards";

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

describe("PIN offer (#request-pin)", () => {
  const fromAna = formFromCard(emptyForm(), ANA);
  const inUse = cardSituation(fromAna, ANA);
  const verified: PinStep = { status: "verified", document: "99999999R" };

  it("verify: for data read from the DNIe in the reader, until proven, as before", () => {
    expect(pinOffer(PIN_IDLE, inUse, fromAna)).toEqual({ purpose: "verify", again: false, enabled: true });
    expect(pinOffer(pinFailed("PCSC-004", null), inUse, fromAna)).toEqual({ purpose: "verify", again: true, enabled: true });
    expect(pinOffer(verified, inUse, fromAna)).toBeNull();
    expect(pinOffer({ status: "waiting" }, inUse, fromAna)).toBeNull();
    // Card removed: shown, but it cannot be asked.
    expect(pinOffer(PIN_IDLE, cardSituation(fromAna, null), fromAna)).toEqual({
      purpose: "verify",
      again: false,
      enabled: false,
    });
    // A form typed by hand, a DNIe 3.0 ready in the reader: "use the card" first, no PIN.
    expect(pinOffer(PIN_IDLE, cardSituation(typed, ANA), typed)).toBeNull();
    expect(pinOffer(PIN_IDLE, cardSituation(typed, null), typed)).toBeNull();
  });

  it("pinOnly: a DNIe 2.0 of unknown identity offers 'identify with the PIN' whatever the form", () => {
    expect(cardSituation(emptyForm(), null, true)).toEqual({ kind: "pinOnly" });
    expect(cardSituation(typed, null, true)).toEqual({ kind: "pinOnly" });
    expect(cardSituation(fromAna, null, true)).toEqual({ kind: "pinOnly" });
    for (const form of [emptyForm(), typed, fromAna]) {
      const situation = cardSituation(form, null, true);
      expect(canRequestPin(PIN_IDLE, situation)).toBe(true);
      expect(pinOffer(PIN_IDLE, situation, form)).toEqual({ purpose: "identify", again: false, enabled: true });
    }
  });

  it("pinOnly: not while the pad is open, 'again' after a failure, never once blocked", () => {
    const situation = cardSituation(emptyForm(), null, true);
    expect(pinOffer({ status: "requesting" }, situation, emptyForm())).toBeNull();
    expect(pinOffer({ status: "waiting" }, situation, emptyForm())).toBeNull();
    expect(pinOffer(pinFailed("PIN-001", 2), situation, emptyForm())).toBeNull();
    expect(pinOffer(pinFailed("PIN-CANCELLED", null), situation, emptyForm())).toEqual({
      purpose: "identify",
      again: true,
      enabled: true,
    });
    expect(pinOffer(pinFailed("PIN-002", null), situation, emptyForm())).toEqual({
      purpose: "identify",
      again: true,
      enabled: false,
    });
  });

  it("a known identity wins over pinOnly (a DNIe 2.0 already identified)", () => {
    expect(cardSituation(emptyForm(), ANTIGUO, true)).toEqual({ kind: "offer", identity: ANTIGUO });
    const from20 = formFromCard(emptyForm(), ANTIGUO);
    expect(cardSituation(from20, ANTIGUO, true)).toEqual({ kind: "inUse", identity: ANTIGUO });
  });
});

describe("cardIdentified → form", () => {
  it("fills the form as 'use the DNIe's data' does: chip fields, IDESP, fromCard, locked", () => {
    const { form, pin } = afterCardIdentified(emptyForm(), { status: "waiting" }, ANTIGUO);
    expect(form).toEqual(formFromCard(emptyForm(), ANTIGUO));
    expect(form).toEqual({
      ...emptyForm(),
      document: "12345678Z",
      supportNumber: "AAA111222",
      givenName: "LUIS",
      firstSurname: "ANTIGUO",
      secondSurname: "ANTIGUO",
      fromCard: true,
    });
    expect(toDto(form).fromCard).toBe(true);
    expect(ALTA_FIELDS.filter((field) => fieldLocked(form, field))).toEqual([...CARD_FIELDS]);
    // The PIN pad is still open: pinVerified comes next.
    expect(pin).toEqual({ status: "waiting" });
  });

  it("keeps what the clerk typed that the card does not give; replaces typed identity fields", () => {
    const mine: AltaFormDto = { ...typed, document: "12345678z", givenName: "Luis", firstSurname: "Antiguo" };
    const { form } = afterCardIdentified(mine, { status: "waiting" }, ANTIGUO);
    expect([form.document, form.givenName, form.firstSurname, form.supportNumber]).toEqual([
      "12345678Z",
      "LUIS",
      "ANTIGUO",
      "AAA111222",
    ]);
    expect([form.expiryDate, form.phone, form.email]).toEqual(["31/12/2031", "612345678", "ana@example.org"]);
    // Typed for another document: its contrast date is dropped.
    expect(afterCardIdentified(typed, PIN_IDLE, ANTIGUO).form.expiryDate).toBe("");
  });

  it("drops a proof for another document", () => {
    const other: PinStep = { status: "verified", document: "99999999R" };
    expect(afterCardIdentified(formFromCard(emptyForm(), ANA), other, ANTIGUO).pin).toEqual(PIN_IDLE);
  });

  it("the whole 2.0 sequence: pinOnly → identify → cardIdentified → pinVerified → proven", () => {
    let form = typed;
    let pin: PinStep = PIN_IDLE;
    let situation = cardSituation(form, null, true);
    expect(pinOffer(pin, situation, form)?.purpose).toBe("identify");
    pin = { status: "waiting" };
    expect(pinOffer(pin, situation, form)).toBeNull();
    ({ form, pin } = afterCardIdentified(form, pin, ANTIGUO));
    situation = cardSituation(form, ANTIGUO, true);
    expect(situation).toEqual({ kind: "inUse", identity: ANTIGUO });
    expect(pinProven(pin, form)).toBe(false);
    pin = { status: "verified", document: "12345678Z" };
    expect(pinProven(pin, form)).toBe(true);
    expect(pinStatusState(pin)).toBe("verified");
    // Proven: nothing more to ask.
    expect(pinOffer(pin, situation, form)).toBeNull();
  });
});
