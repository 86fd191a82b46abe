/** DESIGN.md §9: core imports nothing from Node built-ins, so it runs in any worker. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const coreSrc = fileURLToPath(new URL("../../packages/core/src", import.meta.url));

function* sources(dir: string): Generator<string> {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (f.endsWith(".ts") && !f.endsWith(".test.ts")) yield p;
  }
}

it("packages/core imports no Node built-in", () => {
  const offenders: string[] = [];
  const re = /from\s+["'](node:[^"']+|fs|path|os|worker_threads|child_process|url|crypto|util)["']/;
  for (const f of sources(coreSrc)) if (re.test(readFileSync(f, "utf8"))) offenders.push(f);
  expect(offenders).toEqual([]);
});
