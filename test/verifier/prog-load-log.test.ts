/**
 * The verifier log through BPF_PROG_LOAD: a level-1 log is sized by its
 * peak (Linux's log_true_size, len_max), not by what is left after the
 * verifier rewound it, and a log that ever outgrew the buffer fails the load
 * with ENOSPC, for an accepted program and a rejected one alike. Each case
 * is also loaded into the running kernel when it can be (root, gcc).
 */
import { describe, expect, it } from "vitest";
import { Kernel, BpfCmd, ProgType } from "@bpfsim/core";
import type { Process } from "../../packages/core/src/kernel/process.js";
import * as a from "./asm.js";
import { kernelHelper, kernelSkipReason, runKernel, type Case } from "./harness.js";

const ENOSPC = 28;
const EACCES = 13;

// Accepted with a branch: at level 1 only the summary line is left in the end, but the log
// held both paths' instructions on the way.
const branchy: Case = {
  name: "branchy", category: "log", accept: true, progType: ProgType.Xdp,
  insns: a.prog(a.ldx("w", 2, 1, 0), a.mov(0, 1), a.jmpi("jgt", 2, 5, 2), a.mov(0, 2), a.add(0, 3), a.exit()),
};
// Rejected: reads an uninitialised register.
const bad: Case = { name: "bad", category: "log", accept: false, progType: ProgType.Xdp, insns: a.prog(a.movr(0, 3), a.exit()) };

function load(p: Process, c: Case, logSize: number): { err: number; log: string; trueSize: number } {
  const logBuf = new Uint8Array(logSize);
  const attr = { progType: c.progType!, insns: c.insns, license: "GPL", logLevel: 1, logSize, logBuf, logTrueSize: 0 };
  const fd = p.bpf(BpfCmd.ProgLoad, attr);
  if (fd >= 0) p.close(fd);
  const end = logBuf.indexOf(0);
  return { err: fd < 0 ? -fd : 0, log: new TextDecoder().decode(logBuf.subarray(0, end < 0 ? logSize : end)), trueSize: attr.logTrueSize };
}

describe("verifier log sizes through BPF_PROG_LOAD", () => {
  const k = Kernel.create({ ncpus: 1, size: 16 << 20 });
  const p = k.createProcess({ comm: "loglen" });
  const kernel = kernelHelper();
  if (!kernel) console.log(`log sizes not compared with Linux: ${kernelSkipReason}`);

  it("an accepted program whose level-1 log shrank still needs its peak size (ENOSPC below it)", () => {
    const full = load(p, branchy, 1 << 16);
    expect(full.err).toBe(0);
    expect(full.log.startsWith("processed ")).toBe(true);
    // The peak (the first path's instructions plus the summary) is more than what is left.
    expect(full.trueSize).toBeGreaterThan(full.log.length + 1);
    const between = full.log.length + 2;
    const cut = load(p, branchy, between);
    expect(cut.err).toBe(ENOSPC);
    expect(cut.log).toBe(full.log);
    expect(load(p, branchy, full.trueSize).err).toBe(0);
    if (kernel) {
      expect(runKernel(branchy, 1, between)!.errno).toBe(ENOSPC);
      expect(runKernel(branchy, 1, full.trueSize)!.errno).toBe(0);
    }
  });

  it("a rejected program whose log was cut fails with ENOSPC, not its own errno", () => {
    const full = load(p, bad, 1 << 16);
    expect(full.err).toBe(EACCES);
    const cut = load(p, bad, 20);
    expect(cut.err).toBe(ENOSPC);
    expect(cut.log).toBe(full.log.slice(full.log.length - 19));
    if (kernel) {
      expect(runKernel(bad, 1, 1 << 16)!.errno).toBe(EACCES);
      const kc = runKernel(bad, 1, 20)!;
      expect(kc.errno).toBe(ENOSPC);
      expect(cut.log).toBe(kc.log);
    }
  });
});
