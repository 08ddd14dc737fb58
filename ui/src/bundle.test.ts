// The counter page must never load clerk code: walk the static import graph from the
// counter entry and check that no module under src/clerk/ is reachable.
import { describe, expect, it } from "vitest";

const sources = import.meta.glob<string>(["./**/*.ts", "!./**/*.test.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
});

function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null; // packages (@tauri-apps/api)
  const parts = from.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== ".") parts.push(seg);
  }
  const base = parts.join("/");
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (candidate in sources) return candidate;
  }
  return base; // CSS and other assets
}

function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop();
    if (file === undefined || seen.has(file)) continue;
    seen.add(file);
    const text = sources[file];
    if (text === undefined) continue;
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*["']([^"']+)["']|import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec === undefined) continue;
      const target = resolveImport(file, spec);
      if (target !== null) todo.push(target);
    }
  }
  return seen;
}

describe("bundle boundary", () => {
  it("finds the entries", () => {
    expect(Object.keys(sources)).toContain("./counter/main.ts");
    expect(Object.keys(sources)).toContain("./clerk/main.ts");
  });

  it("the counter entry reaches no clerk module", () => {
    const graph = reachable("./counter/main.ts");
    expect(graph.has("./i18n/index.ts")).toBe(true);
    expect([...graph].filter((f) => f.startsWith("./clerk/"))).toEqual([]);
  });

  it("shared modules import nothing from either window", () => {
    for (const file of Object.keys(sources)) {
      if (file.startsWith("./clerk/") || file.startsWith("./counter/")) continue;
      const graph = reachable(file);
      const leaks = [...graph].filter((f) => f.startsWith("./clerk/") || f.startsWith("./counter/"));
      expect(leaks, file).toEqual([]);
    }
  });
});
