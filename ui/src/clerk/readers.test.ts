import { describe, expect, it } from "vitest";
import type { CardIdentityDto, ReadersDto, ReaderStateDto } from "../bindings";
import { LANGS, messages } from "../i18n";
import {
  cardDetails,
  cardName,
  overallLabel,
  overallState,
  readerStateLabel,
  readyIdentity,
  selectedReader,
  trainingCardLabel,
} from "./readers";

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

const ready: ReaderStateDto = { state: "ready", identity: ANA };

function readers(...list: Array<[string, ReaderStateDto, boolean]>): ReadersDto {
  return { service: true, readers: list.map(([name, state, selected]) => ({ name, state, selected })) };
}

describe("reader picture → state", () => {
  it("no picture yet, no service, no reader", () => {
    expect(overallState(null)).toBe("unknown");
    expect(overallState({ service: false, readers: [] })).toBe("noService");
    expect(overallState({ service: true, readers: [] })).toBe("noReader");
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
    expect(readyIdentity({ service: false, readers: [{ name: "A", state: ready, selected: true }] })).toBeNull();
    expect(readyIdentity(readers(["A", { state: "notADnie" }, true]))).toBeNull();
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

  it("translates the error code of a failed read", () => {
    const l = readerStateLabel(es, { state: "error", code: "PCSC-004" });
    expect(l.icon).toBe("warning");
    expect(l.text).toContain("Se ha retirado la tarjeta");
    expect(readerStateLabel(es, { state: "error", code: "NEW-123" }).text).toContain("NEW-123");
  });

  it("labels the whole area when there is no reader to list", () => {
    expect(overallLabel(es, { service: false, readers: [] })?.text).toContain("pcscd");
    expect(overallLabel(es, { service: true, readers: [] })?.text).toBe(es.clerk.readers.noReader);
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
