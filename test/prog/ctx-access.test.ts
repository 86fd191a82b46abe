/**
 * Context layouts and access rules against the kernel:
 *  - field offsets of __sk_buff, xdp_md, bpf_perf_event_data and pt_regs
 *    from the installed UAPI headers (a C program printing offsetof());
 *  - for every naturally aligned (offset, size, read/write) of a type's
 *    context, whether Linux's verifier accepts the access, compared with
 *    the type's `ctxAccess`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PerfEventData, ProgType, PtRegs, SkBuff, XdpMd, progTypeFor, type Insn } from "@bpfsim/core";
import { kernelSession, kernelUnavailable } from "./oracle.js";
import { exit, ldx, mov, progHex, stx } from "./insns.js";

const fields: [string, string, number][] = [
  ...Object.entries(SkBuff).map(([f, o]) => ["__sk_buff", f, o] as [string, string, number]),
  ...Object.entries(XdpMd).map(([f, o]) => ["xdp_md", f, o] as [string, string, number]),
  ...Object.entries(PerfEventData).map(([f, o]) => ["bpf_perf_event_data", f, o] as [string, string, number]),
  // User space's <asm/ptrace.h> spells the x86-64 registers rax, rbx, ..., eflags, as PtRegs does.
  ...Object.entries(PtRegs).map(([f, o]) => ["pt_regs", f, o] as [string, string, number]),
];

const ccMissing = spawnSync("cc", ["--version"]).status !== 0 ? "no C compiler" : null;
if (ccMissing) console.log(`ctx-access: header offset check skipped: ${ccMissing}`);

describe.skipIf(!!ccMissing)("context layouts match the UAPI headers", () => {
  it("every field offset", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfsim-ctx-"));
    const src = [
      "#include <stdio.h>", "#include <stddef.h>", "#include <linux/bpf.h>", "#include <linux/bpf_perf_event.h>",
      "#include <asm/ptrace.h>", "int main(void) {",
      ...fields.map(([s, f]) => `printf("%zu\\n", offsetof(struct ${s}, ${f}));`),
      'printf("%zu %zu %zu %zu\\n", sizeof(struct __sk_buff), sizeof(struct xdp_md), sizeof(struct bpf_perf_event_data), sizeof(struct pt_regs));',
      "return 0; }",
    ].join("\n");
    writeFileSync(join(dir, "off.c"), src);
    const cc = spawnSync("cc", ["-o", join(dir, "off"), join(dir, "off.c")], { encoding: "utf8" });
    expect(cc.stderr).toBe("");
    const out = spawnSync(join(dir, "off"), { encoding: "utf8" }).stdout.trim().split("\n");
    expect(out.slice(0, fields.length).map(Number)).toEqual(fields.map(([, , o]) => o));
    expect(out[fields.length]).toBe("192 24 184 168");
  });
});

if (kernelUnavailable) console.log(`ctx-access: kernel comparison skipped: ${kernelUnavailable}`);

/** One access: r0 = *(size *)(r1 + off), or *(size *)(r1 + off) = r2 (r2 = 0). */
function accessProg(off: number, size: 1 | 2 | 4 | 8, write: boolean): string {
  const body: Insn[] = write ? [mov(2, 0), stx(size, 1, 2, off)] : [ldx(size, 0, 1, off)];
  return progHex(...body, mov(0, 0), exit());
}

const typesUnderTest: [string, number, number][] = [
  ["socket_filter", ProgType.SocketFilter, 192],
  ["sched_cls", ProgType.SchedCls, 192],
  ["xdp", ProgType.Xdp, 24],
  ["kprobe", ProgType.Kprobe, 176],
  ["perf_event", ProgType.PerfEvent, 192],
  ["raw_tracepoint", ProgType.RawTracepoint, 104],
  ["tracepoint", ProgType.Tracepoint, 64],
];

describe.skipIf(!!kernelUnavailable)("context access rules against the kernel verifier", () => {
  it.each(typesUnderTest)("%s", (_name, type, limit) => {
    const cases: { off: number; size: 1 | 2 | 4 | 8; write: boolean }[] = [];
    for (const size of [1, 2, 4, 8] as const) {
      for (let off = 0; off < limit; off += size) for (const write of [false, true]) cases.push({ off, size, write });
    }
    const kern = kernelSession(cases.map((c) => `load ${type} 0 GPL 0 0 ${accessProg(c.off, c.size, c.write)}`));
    const ops = progTypeFor(type)!;
    const mismatches = cases
      .map((c, i) => ({ ...c, kernel: Number(kern[i]!.split(" ")[0]) >= 0, sim: ops.ctxAccess(c.off, c.size, c.write) !== null }))
      .filter((r) => r.kernel !== r.sim)
      .map((r) => `${r.write ? "write" : "read"} off=${r.off} size=${r.size}: kernel ${r.kernel ? "accepts" : "rejects"}`);
    expect(mismatches).toEqual([]);
  });
});
