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
import { runSimLockProbe, runSimProbe } from "./hash-probe-sim.js";

const probeSrc = (name: string) => fileURLToPath(new URL(`../../scripts/maps/${name}.c`, import.meta.url));

function runKernelProbe(name: string, libs: string[] = []): { out?: string; why?: string } {
  if (process.platform !== "linux") return { why: "not Linux" };
  if (process.getuid?.() !== 0) return { why: "bpf() needs root" };
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  try {
    const bin = join(dir, name);
    try {
      execFileSync("gcc", ["-O2", "-D_GNU_SOURCE", "-o", bin, probeSrc(name), ...libs], { stdio: "pipe" });
    } catch (e) {
      return { why: `gcc could not build the probe: ${(e as Error).message.split("\n")[0]}` };
    }
    let out: string;
    try {
      out = execFileSync(bin, { encoding: "utf8", timeout: 60_000 });
    } catch (e) {
      return { why: `the probe failed (no bpf() or BTF here?): ${(e as Error).message.split("\n")[0]}` };
    }
    // EPERM where a valid map should have been created: bpf() is not ours to use.
    if (/^(create\.hash\.no_prealloc|lock\.create\.hash) -1$/m.test(out)) return { why: "bpf() is not permitted here" };
    return { out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const probe = runKernelProbe("hash-probe");
if (probe.why) console.log(`hash-kernel: skipped, ${probe.why}`);
const lockProbe = probe.out ? runKernelProbe("hash-lock-probe", ["-lbpf"]) : probe;
if (lockProbe.why) console.log(`hash-kernel (BPF_F_LOCK): skipped, ${lockProbe.why}`);

function compare(kernel: Map<string, string>, sim: Map<string, string>): string[] {
  const diff: string[] = [];
  for (const [name, want] of kernel) {
    if (name === "ncpus") continue;
    if (sim.get(name) !== want) diff.push(`${name}: kernel ${want}, bpfsim ${sim.get(name)}`);
  }
  return diff;
}

describe.skipIf(!probe.out)("hash maps: bpfsim vs the running kernel", () => {
  const kernel = parseFacts(probe.out ?? "");
  const ncpus = Number(kernel.get("ncpus") ?? 1);
  const sim = runSimProbe(Arena.create({ size: 64 << 20 }), ncpus);
  it("answers every probe line like the kernel", () => expect(compare(kernel, sim)).toEqual([]));
});

describe.skipIf(!lockProbe.out)("hash maps with a bpf_spin_lock: bpfsim vs the running kernel", () => {
  it("answers every BPF_F_LOCK probe line like the kernel", () => {
    const kernel = parseFacts(lockProbe.out ?? "");
    const ncpus = Number(parseFacts(probe.out ?? "").get("ncpus") ?? 1);
    expect(compare(kernel, runSimLockProbe(Arena.create({ size: 4 << 20 }), ncpus))).toEqual([]);
  });
});
