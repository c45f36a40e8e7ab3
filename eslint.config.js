// ESLint flat config: the ecosystem's recommended sets for JavaScript, TypeScript and React hooks. Formatting is
// Prettier's job (.prettierrc), so no stylistic rules here.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["build/", "data/", "node_modules/", "test/.tmp/", "test-results/", "bench/results/", "extensions/*/dist/", ".cache/", "public/build/"],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      // `_name` marks a parameter or binding kept on purpose (a callback's signature, a destructured field left out).
      // Off: `any` marks untyped vendor JSON (webhook bodies, GraphQL results, raw SQL rows) and the tests' fakes; zod
      // schemas and the source mappers are where that data gets its types.
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
    },
  },
);
