import { describe, expect, it } from "vitest";
import { LANGS, messages } from "../i18n";
import {
  PIN_MAX_LENGTH,
  PIN_MIN_LENGTH,
  pinFailureText,
  pinProblem,
  triesFromParams,
  triesLeftText,
} from "./pin";

describe("pinProblem (DNIe PIN: 8–16 letters and digits)", () => {
  it.each([
    ["abcd1234", null],
    ["ABCDEFGH", null],
    ["12345678", null],
    ["aB3dE5gH9jK1mN0p", null],
    // Symbols are printable ASCII: the card accepts them, so the UI does too.
    ["abcd-123", null],
  ])("accepts %j", (pin, problem) => {
    expect(pinProblem(pin)).toBe(problem);
  });

  it.each([
    ["", "empty"],
    ["abc1234", "tooShort"],
    ["a", "tooShort"],
    ["abcdefghijklmnopq", "tooLong"],
    ["abcd 1234", "badChars"],
    ["abcdñ123", "badChars"],
    ["contraseña", "badChars"],
    ["áéíóú123", "badChars"],
    ["abcd\t1234", "badChars"],
    ["😀abcdefgh", "badChars"],
  ])("refuses %j (%s)", (pin, problem) => {
    expect(pinProblem(pin)).toBe(problem);
  });

  it("has the DNIe's bounds", () => {
    expect([PIN_MIN_LENGTH, PIN_MAX_LENGTH]).toEqual([8, 16]);
    expect(pinProblem("a".repeat(PIN_MIN_LENGTH))).toBeNull();
    expect(pinProblem("a".repeat(PIN_MAX_LENGTH))).toBeNull();
    expect(pinProblem("a".repeat(PIN_MIN_LENGTH - 1))).toBe("tooShort");
    expect(pinProblem("a".repeat(PIN_MAX_LENGTH + 1))).toBe("tooLong");
  });

  it("has a message for every problem in every language", () => {
    for (const lang of LANGS) {
      const c = messages(lang).counter.pin;
      for (const p of ["empty", "tooShort", "tooLong", "badChars"] as const) expect(c[p], lang).not.toBe("");
    }
  });
});

describe("wrong PIN texts", () => {
  const es = messages("es");

  it("says how many tries are left, singular and plural", () => {
    expect(triesLeftText(es.counter.pin, 2)).toBe("PIN incorrecto. Le quedan 2 intentos.");
    expect(triesLeftText(es.counter.pin, 1)).toContain("Le queda 1 intento");
    expect(pinFailureText(es, "citizen", "PIN-001", 2)).toBe("PIN incorrecto. Le quedan 2 intentos.");
    expect(pinFailureText(es, "clerk", "PIN-001", 2)).toContain("Le quedan 2 intentos");
    expect(pinFailureText(messages("en"), "citizen", "PIN-001", 1)).toContain("1 try left");
  });

  it("without a count, or for other codes, uses the error table", () => {
    expect(pinFailureText(es, "citizen", "PIN-001", null)).toBe("PIN incorrecto.");
    expect(pinFailureText(es, "citizen", "PIN-002", null)).toContain("Punto de Actualización del DNIe");
    expect(pinFailureText(es, "clerk", "PCSC-004", null)).toContain("retirado la tarjeta");
    expect(pinFailureText(es, "clerk", "CARD-002", null)).toContain("inutilizado");
    expect(pinFailureText(es, "clerk", "XYZ-999", null)).toContain("XYZ-999");
  });

  it("reads the tries left from a CommandError's params", () => {
    expect(triesFromParams({ triesLeft: "2" })).toBe(2);
    expect(triesFromParams({ tries_left: "1" })).toBe(1);
    expect(triesFromParams({})).toBeNull();
    expect(triesFromParams({ triesLeft: "x" })).toBeNull();
    expect(triesFromParams({ triesLeft: "-1" })).toBeNull();
  });
});
