/**
 * The bpf_conformance corpus on the JIT, through the same runner the
 * interpreter and the CLI use (r1 = mem, r2 = its length, helper 5).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { getEngine } from "@bpfsim/core";
import { ConformanceEnv, runDataText } from "@bpfsim/loader";

const dir = fileURLToPath(new URL("../../../shared/conformance/bpf_conformance/", import.meta.url));
const present = existsSync(dir);
if (!present) console.log("conformance corpus not found at ../shared/conformance/bpf_conformance: skipping");
const files = present ? readdirSync(dir).filter((f) => f.endsWith(".data")).sort() : [];

describe.skipIf(!present)("conformance corpus on the JIT", () => {
  const env = new ConformanceEnv();

  it("is registered as engine 'jit'", () => {
    expect(getEngine("jit")?.name).toBe("jit");
  });

  it.each(files)("%s", (file) => {
    const r = runDataText(file, readFileSync(dir + file, "utf8"), getEngine("jit")!, env);
    if (r.status === "skip") {
      console.log(`${file}: skipped (${r.reason})`);
      return;
    }
    expect(r.reason).toBeUndefined();
    expect(r.status).toBe("pass");
  });

  it("passes every file it does not skip", () => {
    const results = files.map((f) => runDataText(f, readFileSync(dir + f, "utf8"), getEngine("jit")!, env));
    const passed = results.filter((r) => r.status === "pass").length;
    const skipped = results.filter((r) => r.status === "skip").length;
    console.log(`JIT conformance: ${passed}/${files.length} pass, ${skipped} skipped`);
    expect(passed + skipped).toBe(files.length);
  });
});
