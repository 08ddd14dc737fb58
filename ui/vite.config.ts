// Two entries, one per window: clerk.html (clerk console) and counter.html (counter
// screen). Rollup splits what both import (i18n, IPC helpers, bindings) into shared
// chunks; clerk modules are only reachable from clerk.html.
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

const root = import.meta.dirname;

export default defineConfig({
  root,
  // Tauri serves ui/dist from its own origin (tauri://localhost), so the default base works.
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The strict CSP forbids inline scripts and styles: never inline assets as data: URLs
    // into CSS/JS either.
    assetsInlineLimit: 0,
    // WebKitGTK supports <link rel="modulepreload">: no polyfill chunk needed.
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        clerk: resolve(root, "clerk.html"),
        counter: resolve(root, "counter.html"),
      },
      output: {
        // Everything both pages import (i18n, IPC helpers, DOM helpers, @tauri-apps/api)
        // goes into one "shared" chunk; clerk modules can only end up in clerk chunks.
        manualChunks(id) {
          const path = id.replaceAll("\\", "/");
          const shared = ["/src/i18n/", "/src/shared/", "/src/bindings", "/node_modules/"];
          return shared.some((dir) => path.includes(dir)) ? "shared" : undefined;
        },
      },
    },
  },
  server: {
    port: 5173,
    strictPort: true,
  },
  clearScreen: false,
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
