/**
 * The bpf_conformance corpus (313 files) on the interpreter: every file must
 * pass. The corpus lives beside the repository (`../shared/conformance`);
 * without it the test is skipped with the reason printed.
 */
import { describe, it, expect } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { interpreterEngine } from "@bpfsim/core";
import { ConformanceEnv, runDataText } from "@bpfsim/loader";

const repoRoot = resolve(__dirname, "../..");
const corpus = resolve(repoRoot, "../shared/conformance/bpf_conformance");
const have = existsSync(corpus);
if (!have) console.log(`conformance corpus not found at ${corpus}: skipping`);

describe.skipIf(!have)("conformance corpus on the interpreter", () => {
  it("passes all 313 files", () => {
    const files = readdirSync(corpus).filter((f) => f.endsWith(".data")).sort();
    expect(files.length).toBe(313);
    const env = new ConformanceEnv();
    const failures: string[] = [];
    for (const name of files) {
      const r = runDataText(name, readFileSync(resolve(corpus, name), "utf8"), interpreterEngine, env);
      if (r.status !== "pass") failures.push(`${name}: ${r.status} ${r.reason ?? ""}`);
    }
    expect(failures).toEqual([]);
  });
});
