/**
 * The verifier corpus: every case's verdict and key message on bpfsim's
 * verifier, then (where this machine lets us) the same programs on the
 * running kernel, with the agreement figure printed.
 */
import { describe, it, expect } from "vitest";
import { corpus } from "./corpus.js";
import fc from "fast-check";
import { runOurs, runKernel, kernelHelper, kernelSkipReason, type Case } from "./harness.js";
import { genSteps, build, genMapSteps, buildMap, genPktSteps, buildPkt, genAnyInsns } from "./gen.js";

/** The last line before the `processed N insns` summary: the error in the kernel's words. */
function errorLine(log: string): string {
  const lines = log.trimEnd().split("\n");
  const i = lines.findIndex((l) => l.startsWith("processed "));
  return (i > 0 ? lines[i - 1] : lines[lines.length - 1]) ?? "";
}

describe("verifier corpus", () => {
  it("has at least 200 cases with unique names", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
  });

  for (const c of corpus) {
    it(`${c.category}: ${c.name}`, () => {
      const r = runOurs(c);
      if (c.accept) {
        expect(r.ok, r.log).toBe(true);
      } else {
        expect(r.ok, r.log).toBe(false);
        expect(r.log + (r.message ?? ""), r.log).toContain(c.msg ?? "");
      }
    });
  }
});

const kernel = kernelHelper();
if (!kernel) console.log(kernelSkipReason);

describe.skipIf(!kernel)("verifier corpus against the running kernel", () => {
  it("agrees with Linux on every case the kernel can judge", () => {
    const judged: { c: Case; ours: boolean; linux: boolean; ourLine: string; linuxLine: string; ourLog: string; linuxLog: string; sameErrno: boolean }[] = [];
    const skipped: Case[] = [];
    for (const c of corpus) {
      if (c.noKernel) {
        skipped.push(c);
        continue;
      }
      const k = runKernel(c)!;
      const o = runOurs(c);
      judged.push({
        c, ours: o.ok, linux: k.ok, ourLine: o.ok ? "" : errorLine(o.log), linuxLine: k.ok ? "" : errorLine(k.log), ourLog: o.log, linuxLog: k.log,
        sameErrno: o.errno === k.errno,
      });
    }
    // Level-1 logs line by line (map addresses differ by nature and are masked).
    const norm = (l: string): string => l.replace(/\(18\) r(\d+) = \S+/, "(18) r$1 = X").replace(/ +;/, " ;");
    let lines = 0;
    let sameLines = 0;
    for (const j of judged) {
      if (j.c.heavy) continue;
      const k = j.linuxLog.split("\n").map(norm);
      const o = j.ourLog.split("\n").map(norm);
      lines += k.length;
      for (let i = 0; i < k.length; i++) if (k[i] === o[i]) sameLines++;
    }
    const agree = judged.filter((j) => j.ours === j.linux);
    const sameLine = judged.filter((j) => !j.linux && !j.ours && j.ourLine === j.linuxLine);
    const rejected = judged.filter((j) => !j.linux);
    console.log(
      `verifier vs Linux: verdicts agree on ${agree.length}/${judged.length} cases ` +
        `(${((100 * agree.length) / judged.length).toFixed(1)}%); error line identical on ${sameLine.length}/${rejected.length} rejected cases; ` +
        `errno identical on ${rejected.filter((j) => j.sameErrno).length}/${rejected.length}; ` +
        `level-1 log lines identical ${sameLines}/${lines}; ` +
        `${skipped.length} cases not judged by this kernel (${[...new Set(skipped.map((s) => s.noKernel))].join("; ")})`,
    );
    for (const j of judged) {
      if (j.ours !== j.linux) console.log(`  DIFFERENT ${j.c.category}/${j.c.name}: bpfsim ${j.ours ? "accepts" : `rejects (${j.ourLine})`}, Linux ${j.linux ? "accepts" : `rejects (${j.linuxLine})`}`);
    }
    for (const j of judged) {
      if (!j.ours && !j.linux && !j.sameErrno) console.log(`  errno ${j.c.category}/${j.c.name}: ${j.ourLine}`);
      if (!j.ours && !j.linux && j.ourLine !== j.linuxLine) console.log(`  wording ${j.c.category}/${j.c.name}: bpfsim "${j.ourLine}" | Linux "${j.linuxLine}"`);
    }
    // Never accept what Linux rejects; and the corpus' expectations are Linux's.
    expect(judged.filter((j) => j.ours && !j.linux).map((j) => j.c.name)).toEqual([]);
    expect(judged.filter((j) => j.c.accept !== j.linux).map((j) => `${j.c.name}: expected ${j.c.accept}, Linux ${j.linux}`)).toEqual([]);
  });

  it("truncates a log that does not fit as Linux does (its end kept, ENOSPC whatever the verdict)", () => {
    for (const c of corpus.filter((x) => !x.noKernel && !x.heavy).slice(0, 40)) {
      for (const size of [40, 100]) {
        const k = runKernel(c, 1, size)!;
        const o = runOurs(c, 1, size);
        expect(o.errno, c.name).toBe(k.errno);
        expect(o.log.length, c.name).toBe(k.log.length);
        // Where the counts of the summary line agree, the kept text must be the same bytes.
        const summary = (t: string): string => t.trimEnd().split("\n").at(-1) ?? "";
        if (summary(runOurs(c, 1).log) === summary(runKernel(c, 1)!.log)) expect(o.log, c.name).toBe(k.log);
      }
    }
  });

  const families: [string, fc.Arbitrary<Case>][] = [
    ["stack and context", genSteps.map((st) => ({ name: "g", category: "generated", insns: build(st), accept: true }))],
    ["map values", genMapSteps.map((st) => ({ name: "g", category: "generated", insns: buildMap(st), accept: true, maps: [{ type: 2, key: 4, value: 16, max: 4 }] }))],
    ["xdp packets", genPktSteps.map((st) => ({ name: "g", category: "generated", insns: buildPkt(st), accept: true, progType: 6 }))],
    ["random instructions", genAnyInsns.map((insns) => ({ name: "g", category: "generated", insns, accept: true, maps: [{ type: 2, key: 4, value: 8, max: 4 }] }))],
  ];
  for (const [family, gen] of families) {
    it(`agrees with Linux on generated programs: ${family}`, () => {
      let n = 0;
      let accepted = 0;
      let rejected = 0;
      let sameErrno = 0;
      let sameLine = 0;
      const diffs: string[] = [];
      const unsafe: string[] = [];
      fc.assert(
        fc.property(gen, (c) => {
          const o = runOurs(c);
          const k = runKernel(c)!;
          n++;
          if (k.ok) accepted++;
          if (!o.ok && !k.ok) {
            rejected++;
            if (o.errno === k.errno) sameErrno++;
            else if (process.env.VERIFIER_DIFF) console.log(`  errno ${o.errno} vs Linux ${k.errno}: ${o.message} | ${errorLine(k.log)}`);
            if (errorLine(o.log) === errorLine(k.log)) sameLine++;
            else if (process.env.VERIFIER_DIFF) console.log(`  line: ${errorLine(o.log)} | Linux: ${errorLine(k.log)}`);
          }
          if (o.ok !== k.ok) {
            const hex = Buffer.from(c.insns).toString("hex");
            diffs.push(`bpfsim ${o.ok ? "accepts" : `rejects (${o.message})`}, Linux ${k.ok ? "accepts" : `rejects (${errorLine(k.log)})`}: ${hex}`);
            if (o.ok) unsafe.push(hex);
          }
          return true;
        }),
        { numRuns: 200 },
      );
      console.log(
        `verifier vs Linux on generated ${family} programs: verdicts agree on ${n - diffs.length}/${n} (Linux accepted ${accepted}); ` +
          `of ${rejected} rejected by both, same errno ${sameErrno}, same error line ${sameLine}`,
      );
      for (const d of diffs) console.log(`  DIFFERENT ${d}`);
      expect(unsafe).toEqual([]);
    });
  }
});
