/**
 * Vite build of the web client into dist/public/app (served by the Worker's static assets at /app/).
 * `npx vite --config client/app/vite.config.ts` serves it with hot reload on :5173 and proxies the
 * API to the `npm run dev` Worker, so the client stays same-origin with the API (cookie flow).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const api = process.env.PETREL_API_URL ?? "http://127.0.0.1:8787";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/app/",
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../../dist/public/app", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // A module-preload polyfill would be an extra script; every supported browser has it.
    modulePreload: { polyfill: false },
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: { "/v1": api, "/.well-known": api },
  },
});
