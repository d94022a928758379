import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  // Generated code is checked by its generator, not by us.
  globalIgnores(["src/gen/", "node_modules/"]),
  js.configs.recommended,
  tseslint.configs.recommended,
);
