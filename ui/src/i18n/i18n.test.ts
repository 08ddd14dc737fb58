import { describe, expect, it } from "vitest";
import {
  commandErrorText,
  errorText,
  fmt,
  isKnownCode,
  LANG_NAMES,
  LANGS,
  messages,
  placeholders,
} from ".";
import { es } from "./es";

type Tree = { [key: string]: string | Tree };

function leaves(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    if (typeof value === "string") out.set(path, value);
    else for (const [k, v] of leaves(value, path)) out.set(k, v);
  }
  return out;
}

const reference = leaves(es as unknown as Tree);

describe("dictionaries", () => {
  it("has the five languages, each named in itself", () => {
    expect(LANGS).toEqual(["es", "ca", "gl", "eu", "en"]);
    expect(LANG_NAMES).toEqual({
      es: "Español",
      ca: "Català",
      gl: "Galego",
      eu: "Euskara",
      en: "English",
    });
  });

  for (const lang of LANGS) {
    describe(lang, () => {
      const dict = leaves(messages(lang) as unknown as Tree);

      it("has exactly the Spanish keys", () => {
        expect([...dict.keys()].sort()).toEqual([...reference.keys()].sort());
      });

      it("has no empty string", () => {
        const empty = [...dict].filter(([, v]) => v.trim() === "").map(([k]) => k);
        expect(empty).toEqual([]);
      });

      it("uses the same placeholders as Spanish", () => {
        const mismatched = [...reference]
          .filter(([k, v]) => placeholders(dict.get(k) ?? "").join() !== placeholders(v).join())
          .map(([k]) => k);
        expect(mismatched).toEqual([]);
      });
    });
  }

  it("translates the codes the shell itself produces", () => {
    for (const code of [
      "AUTH-001",
      "AUTH-002",
      "AUTH-003",
      "AUTH-010",
      "SESSION-LOCKED",
      "ALTA-002",
      "ALTA-003",
      "STORE-001",
      "INTERNAL",
      "CARD-NONE",
      "TRAIN-001",
      "TRAIN-002",
    ]) {
      expect(isKnownCode(code), code).toBe(true);
    }
  });
});

describe("fmt", () => {
  it("replaces every occurrence of each placeholder", () => {
    expect(fmt("{a}-{b}-{a}", { a: "1", b: "2" })).toBe("1-2-1");
  });

  it("leaves unknown placeholders visible", () => {
    expect(fmt("wait {secs} s", {})).toBe("wait {secs} s");
  });

  it("does not interpret $ patterns in values", () => {
    expect(fmt("{x}", { x: "$& $1" })).toBe("$& $1");
  });

  it("lists placeholders sorted and unique", () => {
    expect(placeholders("{b} {a} {b}")).toEqual(["a", "b"]);
  });
});

describe("errorText", () => {
  it("interpolates params in the chosen language", () => {
    const params = { digits: "12345678", expected: "Z", given: "A" };
    expect(errorText(messages("es"), "DOC-004", params)).toBe("La letra de 12345678 es Z, no A.");
    expect(errorText(messages("en"), "DOC-004", params)).toBe(
      "The letter for 12345678 is Z, not A.",
    );
  });

  it("translates the level parameter", () => {
    const params = { level: "avanzado" };
    expect(errorText(messages("es"), "ALT-003", params)).toContain("nivel Avanzado");
    expect(errorText(messages("en"), "ALT-003", params)).toContain("level Advanced");
    expect(errorText(messages("ca"), "ALT-003", { level: "basico" })).toContain("Bàsic");
  });

  it("shows the seconds of a lockout", () => {
    expect(errorText(messages("es"), "AUTH-002", { retryAfterSecs: "30" })).toContain("30 s");
  });

  it("falls back to a generic message that shows an unknown code", () => {
    expect(errorText(messages("es"), "XYZ-999")).toBe("Error inesperado (código XYZ-999).");
    expect(errorText(messages("eu"), "XYZ-999")).toContain("XYZ-999");
  });

  it("does not treat inherited object properties as codes", () => {
    expect(errorText(messages("en"), "constructor")).toContain("constructor");
    expect(isKnownCode("toString")).toBe(false);
  });

  it("formats a CommandError", () => {
    expect(
      commandErrorText(messages("gl"), {
        code: "AUTH-001",
        message: "bad credentials",
        params: {},
        fields: [],
      }),
    ).toBe("Usuario ou contrasinal incorrectos.");
  });
});

describe("parameter localisation", () => {
  it("shows ISO dates as on the document", () => {
    expect(errorText(messages("es"), "CTR-004", { expiry: "2020-01-31" })).toBe(
      "El documento caducó el 31/01/2020.",
    );
  });

  it("translates a document kind", () => {
    expect(errorText(messages("eu"), "CTR-011", { document: "nie" })).toContain("AIZ");
    expect(errorText(messages("en"), "CTR-011", { document: "dni" })).toBe(
      "This datum does not belong to a DNI.",
    );
  });

  it("leaves other values alone", () => {
    expect(errorText(messages("es"), "DOC-002", { character: "#" })).toContain("«#»");
  });
});
