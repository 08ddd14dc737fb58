import { describe, expect, it } from "vitest";
import type { ReadersDto, ReaderStateDto } from "../bindings";
import { LANGS, messages } from "../i18n";
import {
  cardDetails,
  cardIdentity,
  cardName,
  identifiedCard,
  isPinOnlyState,
  keepIdentified,
  overallLabel,
  overallState,
  pinOnlyCard,
  readerStateLabel,
  readyIdentity,
  selectedReader,
  trainingCardLabel,
} from "./readers";
import { ANA, ANTIGUO } from "./testCards";

const ready: ReaderStateDto = { state: "ready", identity: ANA };

/** What the selected reader shows for a DNIe 2.0 (its identity is behind the PIN). */
const v20: ReaderStateDto = { state: "error", code: "CARD-006" };

function readers(...list: Array<[string, ReaderStateDto, boolean]>): ReadersDto {
  return { service: true, pinOnly: false, readers: list.map(([name, state, selected]) => ({ name, state, selected })) };
}

/** As the backend sends it: `pinOnly` when the selected reader holds a DNIe 2.0. */
function pinOnly(r: ReadersDto): ReadersDto {
  return { ...r, pinOnly: true };
}

describe("reader picture → state", () => {
  it("no picture yet, no service, no reader", () => {
    expect(overallState(null)).toBe("unknown");
    expect(overallState({ service: false, pinOnly: false, readers: [] })).toBe("noService");
    expect(overallState({ service: true, pinOnly: false, readers: [] })).toBe("noReader");
  });

  it("follows the selected reader", () => {
    const r = readers(["A", { state: "empty" }, false], ["B", ready, true]);
    expect(selectedReader(r)?.name).toBe("B");
    expect(overallState(r)).toBe("ready");
    expect(readyIdentity(r)).toBe(ANA);
  });

  it("a single reader counts as selected; several without selection wait for a card", () => {
    expect(overallState(readers(["A", { state: "reading" }, false]))).toBe("reading");
    const two = readers(["A", ready, false], ["B", { state: "empty" }, false]);
    expect(selectedReader(two)).toBeNull();
    expect(overallState(two)).toBe("empty");
    expect(readyIdentity(two)).toBeNull();
  });

  it("no identity without the service, or when the selected reader is not ready", () => {
    expect(readyIdentity({ service: false, pinOnly: false, readers: [{ name: "A", state: ready, selected: true }] })).toBeNull();
    expect(readyIdentity(readers(["A", { state: "notADnie" }, true]))).toBeNull();
  });
});

describe("DNIe 2.0: identity behind the PIN", () => {
  const r20 = pinOnly(readers(["A", { state: "empty" }, false], ["B", v20, true]));

  it("the selected reader's DNIe 2.0 is its own state, and offers the PIN", () => {
    expect(isPinOnlyState(v20)).toBe(true);
    expect(isPinOnlyState({ state: "error", code: "PCSC-004" })).toBe(false);
    expect(isPinOnlyState(ready)).toBe(false);
    expect(overallState(r20)).toBe("pinOnly");
    expect(pinOnlyCard(r20)).toBe(true);
    expect(readyIdentity(r20)).toBeNull();
    expect(cardIdentity(r20, null)).toBeNull();
  });

  it("is not offered without pinOnly, without the service, or with no picture", () => {
    expect(pinOnlyCard(readers(["B", v20, true]))).toBe(false);
    expect(pinOnlyCard(readers(["B", ready, true]))).toBe(false);
    expect(pinOnlyCard({ ...r20, service: false })).toBe(false);
    expect(pinOnlyCard(null)).toBe(false);
    // Another error in the selected reader stays an error.
    expect(overallState(pinOnly(readers(["B", { state: "error", code: "PCSC-004" }, true])))).toBe("error");
  });

  it("remembers the identity the PIN gave while that reader holds the DNIe 2.0", () => {
    const known = identifiedCard(r20, ANTIGUO);
    expect(known).toEqual({ reader: "B", identity: ANTIGUO });
    expect(cardIdentity(r20, known)).toBe(ANTIGUO);
    // A later picture with the same card: still known.
    const again = pinOnly(readers(["A", { state: "reading" }, false], ["B", v20, true]));
    expect(keepIdentified(again, known)).toBe(known);
    expect(cardIdentity(again, known)).toBe(ANTIGUO);
  });

  it("forgets it once the card goes, another reader is selected, or a card is read without PIN", () => {
    const known = identifiedCard(r20, ANTIGUO);
    const gone = readers(["A", { state: "empty" }, false], ["B", { state: "empty" }, true]);
    expect(keepIdentified(gone, known)).toBeNull();
    expect(cardIdentity(gone, known)).toBeNull();
    const otherReader = pinOnly(readers(["A", v20, true], ["B", v20, false]));
    expect(keepIdentified(otherReader, known)).toBeNull();
    const read = readers(["A", { state: "empty" }, false], ["B", ready, true]);
    expect(keepIdentified(read, known)).toBeNull();
    expect(cardIdentity(read, known)).toBe(ANA);
    expect(keepIdentified(null, known)).toBeNull();
    expect(keepIdentified(r20, null)).toBeNull();
  });
});

describe("labels", () => {
  const es = messages("es");

  it("gives each state an icon and a text", () => {
    const cases: Array<[ReaderStateDto, string, string]> = [
      [{ state: "empty" }, "info", "Sin tarjeta"],
      [{ state: "reading" }, "clock", "Leyendo el DNIe…"],
      [ready, "check", "DNIe listo: ANA ESPAÑOLA ESPAÑOLA · 99999999R"],
      [{ state: "notADnie" }, "cross", "La tarjeta no es un DNIe"],
      [{ state: "finalised" }, "warning", "DNIe inutilizado: el ciudadano necesita uno nuevo"],
    ];
    for (const [state, icon, text] of cases) expect(readerStateLabel(es, state)).toEqual({ icon, text });
  });

  it("shows a DNIe 2.0 as information, not as a failure", () => {
    expect(readerStateLabel(es, v20)).toEqual({ icon: "info", text: "DNIe 2.0: los datos se leen con el PIN" });
    for (const lang of LANGS) {
      const text = readerStateLabel(messages(lang), v20).text;
      expect(text, lang).toBe(messages(lang).clerk.readers.pinOnly);
      expect(text, lang).not.toContain(messages(lang).clerk.readers.error.replace("{error}", "").trim());
    }
  });

  it("translates the error code of a failed read", () => {
    const l = readerStateLabel(es, { state: "error", code: "PCSC-004" });
    expect(l.icon).toBe("warning");
    expect(l.text).toContain("Se ha retirado la tarjeta");
    expect(readerStateLabel(es, { state: "error", code: "NEW-123" }).text).toContain("NEW-123");
  });

  it("labels the whole area when there is no reader to list", () => {
    expect(overallLabel(es, { service: false, pinOnly: false, readers: [] })?.text).toContain("pcscd");
    expect(overallLabel(es, { service: true, pinOnly: false, readers: [] })?.text).toBe(es.clerk.readers.noReader);
    expect(overallLabel(es, readers(["A", ready, true]))).toBeNull();
  });

  it("has a non-empty label for every state in every language", () => {
    const states: ReaderStateDto[] = [
      { state: "empty" },
      { state: "reading" },
      ready,
      { state: "notADnie" },
      { state: "finalised" },
      { state: "error", code: "PCSC-001" },
      v20,
    ];
    for (const lang of LANGS) {
      for (const s of states) {
        const text = readerStateLabel(messages(lang), s).text;
        expect(text.trim(), `${lang} ${s.state}`).not.toBe("");
        expect(text, `${lang} ${s.state}`).not.toMatch(/\{[a-z]+\}/i);
      }
    }
  });

  it("names the card holder and shows the card's details", () => {
    expect(cardName(ANA)).toBe("ANA ESPAÑOLA ESPAÑOLA");
    expect(cardName({ ...ANA, surnames: "", firstSurname: "GARCÍA", secondSurname: "" })).toBe("ANA GARCÍA");
    expect(cardDetails(es, ANA)).toBe("DNIe 3.0 · certificado válido hasta 30/06/2030");
  });
});

describe("training cards", () => {
  it("translates the fixed cards by id and keeps the backend's label for the others", () => {
    expect(trainingCardLabel(messages("en"), { id: "ceres", label: "Tarjeta FNMT (no es un DNIe)" })).toBe(
      "FNMT card (not a DNIe)",
    );
    expect(trainingCardLabel(messages("en"), { id: "ana", label: "DNIe 3.0 · ANA" })).toBe("DNIe 3.0 · ANA");
    expect(trainingCardLabel(messages("en"), { id: "toString", label: "x" })).toBe("x");
  });
});
