#!/usr/bin/env node
// `pnpm bench <suite> [--json]`: runs bench/<suite>.mjs against the built packages.
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const suites = readdirSync(here)
  .filter((f) => f.endsWith(".mjs") && f !== "run.mjs" && !f.startsWith("_"))
  .map((f) => f.slice(0, -4));
const [suite, ...args] = process.argv.slice(2);
if (!suite || !suites.includes(suite)) {
  console.error(`usage: pnpm bench <suite> [--json]\nsuites: ${suites.join(", ") || "(none yet)"}`);
  process.exit(2);
}
const mod = await import(pathToFileURL(`${here}${suite}.mjs`).href);
await mod.default(args);
