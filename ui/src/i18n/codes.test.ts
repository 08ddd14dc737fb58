// Every error code the backend of this window pair can send has a translation: the codes
// are read from the Rust sources (the registry domain crate, the store and the shell).
import { describe, expect, it } from "vitest";
import { isKnownCode, LANGS, messages } from ".";

const rust = import.meta.glob<string>(
  ["../../../crates/registry/src/**/*.rs", "../../../crates/store/src/**/*.rs", "../../../src-tauri/src/**/*.rs"],
  { query: "?raw", import: "default", eager: true },
);

/** Codes in `=> "XXX-000"` match arms, `("XXX-000", …)` tables and `code: "XXX-000"` fields. */
function rustCodes(): Set<string> {
  const codes = new Set<string>();
  const pattern = /(?:=>\s*|\(\s*|code:\s*)"([A-Z]{2,8}-\d{3}|SESSION-LOCKED|INTERNAL)"/g;
  for (const text of Object.values(rust)) {
    for (const m of text.matchAll(pattern)) if (m[1] !== undefined) codes.add(m[1]);
  }
  return codes;
}

describe("error codes from the Rust sources", () => {
  const codes = rustCodes();

  it("finds the Rust sources", () => {
    expect(Object.keys(rust).length).toBeGreaterThan(0);
    expect(codes.has("DOC-004")).toBe(true);
  });

  it("are all translated", () => {
    expect([...codes].filter((c) => !isKnownCode(c)).sort()).toEqual([]);
  });

  it("are translated in every language", () => {
    for (const lang of LANGS) {
      const table: Readonly<Record<string, string | undefined>> = messages(lang).errors;
      expect([...codes].filter((c) => (table[c] ?? "") === ""), lang).toEqual([]);
    }
  });
});
