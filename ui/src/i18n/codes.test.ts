// Every error code the backend of this window pair can send has a translation: the codes
// are read from the Rust sources (the registry domain crate, the store, the shell and the
// `dnie` crate, whose codes reach both windows through reader states and PIN failures).
import { describe, expect, it } from "vitest";
import { isKnownCode, LANGS, messages } from ".";

const rust = import.meta.glob<string>(
  [
    "../../../crates/registry/src/**/*.rs",
    "../../../crates/store/src/**/*.rs",
    "../../../crates/dnie/src/**/*.rs",
    "../../../src-tauri/src/**/*.rs",
  ],
  { query: "?raw", import: "default", eager: true },
);

/**
 * Codes in `=> "XXX-000"` match arms, `("XXX-000", …)` tables and `code: "XXX-000"` fields,
 * and the desk's word codes written the same way (`CARD-NONE`, `PIN-CANCELLED`).
 */
/** Strings of that shape that are data, not error codes (a DNIe's PKCS#15 manufacturer). */
const NOT_CODES = new Set(["DGP-FNMT"]);

function rustCodes(): Set<string> {
  const codes = new Set<string>();
  const pattern = /(?:=>\s*|\(\s*|code:\s*)"([A-Z]{2,8}-(?:\d{3}|[A-Z]{4,12})|INTERNAL)"/g;
  for (const text of Object.values(rust)) {
    for (const m of text.matchAll(pattern)) {
      if (m[1] !== undefined && !NOT_CODES.has(m[1])) codes.add(m[1]);
    }
  }
  return codes;
}

describe("error codes from the Rust sources", () => {
  const codes = rustCodes();

  it("finds the Rust sources", () => {
    expect(Object.keys(rust).length).toBeGreaterThan(0);
    expect(codes.has("DOC-004")).toBe(true);
    // The dnie crate's error table.
    expect(codes.has("PCSC-001")).toBe(true);
    expect(codes.has("PIN-002")).toBe(true);
    expect(codes.has("SESSION-LOCKED")).toBe(true);
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
