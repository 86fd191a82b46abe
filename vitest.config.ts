import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

// Tests import the TypeScript sources directly; worker threads load the built
// `dist/` files, which `pnpm test` builds first.
export default defineConfig({
  resolve: {
    alias: {
      "@bpfsim/core": pkg("core"),
      "@bpfsim/loader": pkg("loader"),
      "@bpfsim/cpu-worker": pkg("cpu-worker"),
      "@bpfsim/harness": pkg("harness"),
    },
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["test/setup/fast-check-seed.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"],
  },
});
