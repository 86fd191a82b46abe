/**
 * Differential test against the running kernel: build scripts/maps/hash-probe.c,
 * run it, and compare every line with the same probe replayed on bpfsim (with
 * the kernel's CPU count). Skips, saying why, without root, gcc or bpf().
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Arena } from "../../packages/core/src/memory/arena.js";
import { parseFacts } from "./hash-kernel-facts.js";
import { runSimProbe } from "./hash-probe-sim.js";

const src = fileURLToPath(new URL("../../scripts/maps/hash-probe.c", import.meta.url));

function runKernelProbe(): { out?: string; why?: string } {
  if (process.platform !== "linux") return { why: "not Linux" };
  if (process.getuid?.() !== 0) return { why: "bpf() needs root" };
  const dir = mkdtempSync(join(tmpdir(), "hash-probe-"));
  try {
    const bin = join(dir, "hash-probe");
    try {
      execFileSync("gcc", ["-O2", "-D_GNU_SOURCE", "-o", bin, src], { stdio: "pipe" });
    } catch (e) {
      return { why: `gcc could not build the probe: ${(e as Error).message.split("\n")[0]}` };
    }
    const out = execFileSync(bin, { encoding: "utf8", timeout: 60_000 });
    if (out.includes("create.max0 -1\n") || !out.includes("order.h16 ")) return { why: "bpf() is not permitted here" };
    return { out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const probe = runKernelProbe();
if (probe.why) console.log(`hash-kernel: skipped, ${probe.why}`);

describe.skipIf(!probe.out)("hash maps: bpfsim vs the running kernel", () => {
  const kernel = parseFacts(probe.out ?? "");
  const ncpus = Number(kernel.get("ncpus") ?? 1);
  const sim = runSimProbe(Arena.create({ size: 64 << 20 }), ncpus);
  it("answers every probe line like the kernel", () => {
    const diff: string[] = [];
    for (const [name, want] of kernel) {
      if (name === "ncpus") continue;
      if (sim.get(name) !== want) diff.push(`${name}: kernel ${want}, bpfsim ${sim.get(name)}`);
    }
    expect(diff).toEqual([]);
  });
});
