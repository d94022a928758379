// Builds the UI into dist/ (served by `aiops serve` behind Envoy) and runs its tests in jsdom.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Relative asset URLs: the built UI works wherever it is mounted.
  base: "./",
  plugins: [react()],
  // One bundle (about 170 KB gzipped, most of it React and the contract's descriptors): an
  // operator's tab loads it once.
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
