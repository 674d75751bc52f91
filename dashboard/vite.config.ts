import { defineConfig } from "vitest/config";

// In development the backend runs separately; in production it is the same origin.
const backend = process.env.SST_DASHBOARD_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  server: {
    proxy: {
      "/api": { target: backend, changeOrigin: true },
      "/socket.io": { target: backend, changeOrigin: true, ws: true },
    },
  },
  build: {
    target: "es2022",
    sourcemap: true,
  },
  test: {
    include: ["tests/**/*.test.{ts,tsx}"],
    environment: "node",
  },
});
