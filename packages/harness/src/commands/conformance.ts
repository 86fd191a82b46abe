/**
 * `bpfsim conformance <dir|file.data>... [--engine interpreter|jit]`: runs
 * conformance `.data` tests and prints one line per failure with its reason,
 * then `N passed, N failed`. Exit 1 if any test failed.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { getEngine, listEngines } from "@bpfsim/core";
import { ConformanceEnv, runDataText } from "@bpfsim/loader";
import { parseArgs, UsageError, type Command } from "../cli.js";

function dataFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`cannot read '${path}'`);
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith(".data"))
    .sort()
    .map((f) => join(path, f));
}

export const conformanceCommand: Command = {
  name: "conformance",
  summary: "run conformance .data tests on an engine",
  usage: "conformance <dir|file.data>... [--engine interpreter|jit]",
  async run(ctx) {
    const args = parseArgs(ctx.argv, ["--engine"]);
    if (args.positionals.length === 0) throw new UsageError("no test directory given");
    const engineName = (args.options.get("--engine") as string | undefined) ?? "interpreter";
    const engine = getEngine(engineName);
    if (!engine) {
      ctx.err(`bpfsim: engine '${engineName}' is not available (registered: ${listEngines().join(", ")})`);
      return 1;
    }
    const files = args.positionals.flatMap(dataFiles);
    if (files.length === 0) throw new UsageError("no .data files found");
    const env = new ConformanceEnv();
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const file of files) {
      const r = runDataText(basename(file), readFileSync(file, "utf8"), engine, env);
      if (r.status === "pass") passed++;
      else if (r.status === "skip") {
        skipped++;
        ctx.out(`SKIP ${r.name}: ${r.reason}`);
      } else {
        failed++;
        ctx.out(`FAIL ${r.name}: ${r.reason}`);
      }
    }
    if (skipped > 0) ctx.out(`${skipped} skipped`);
    ctx.out(`${passed} passed, ${failed} failed`);
    return failed === 0 ? 0 : 1;
  },
};
