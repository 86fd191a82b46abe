/**
 * Helpers with observable results, bpfsim against the kernel through raw
 * tracepoint test runs: probe reads of bad addresses (-EFAULT and
 * a zeroed destination), bpf_get_smp_processor_id on a chosen CPU; and
 * bpf_loop / bpf_for_each_map_elem callbacks on bpfsim.
 */
import { describe, expect, it } from "vitest";
import { MapType, ProgType, type Insn } from "@bpfsim/core";
import { insn } from "@bpfsim/core";
import { kernelSession, kernelUnavailable, simSession } from "./oracle.js";
import { addi, call, exit, hexOf, jeqi, ldFunc, ldImm64, ldMap, ldx, mov, movr, prog, st, stx } from "./insns.js";

if (kernelUnavailable) console.log(`helpers-kernel: kernel comparison skipped: ${kernelUnavailable}`);

/** main ++ callback, with `lddw r2, callback` patched to the callback's start. */
function withCallback(main: (fn: Insn) => Insn[], cb: Insn[]): string {
  const probe = main(ldFunc(2, 0));
  const at = probe.findIndex((i) => i.code === 0x18 && i.src === 4);
  const slotsBefore = probe.slice(0, at).reduce((n, i) => n + (i.code === 0x18 ? 2 : 1), 0);
  const mainSlots = probe.reduce((n, i) => n + (i.code === 0x18 ? 2 : 1), 0);
  return hexOf(prog(...main(ldFunc(2, mainSlots - slotsBefore - 1)), ...cb));
}

/** bpf_loop(n, cb, &sum, flags); returns sum * 1000 + bpf_loop's return. cb adds i, stops when i == stop. */
const loopProg = (n: number, stop: number, flags = 0) =>
  withCallback(
    (fn) => [
      st(8, 10, -8, 0), mov(1, n), fn, movr(3, 10), addi(3, -8), mov(4, flags), call(181),
      movr(6, 0), ldx(8, 0, 10, -8), insn(0x27, 0, 0, 0, 1000), insn(0x0f, 0, 6, 0, 0), exit(),
    ],
    [ldx(8, 3, 2, 0), insn(0x0f, 3, 1, 0, 0), stx(8, 2, 3, 0), mov(0, 0), jeqi(1, stop, 1), exit(), mov(0, 1), exit()],
  );

/** bpf_for_each_map_elem(map #0, cb, &count, 0); returns count * 1000 + the helper's return; cb stops at key == stop. */
const forEachProg = (stop: number) =>
  withCallback(
    (fn) => [
      st(8, 10, -8, 0), ldMap(1, 0), fn, movr(3, 10), addi(3, -8), mov(4, 0), call(164),
      movr(6, 0), ldx(8, 0, 10, -8), insn(0x27, 0, 0, 0, 1000), insn(0x0f, 0, 6, 0, 0), exit(),
    ],
    [ldx(8, 5, 4, 0), addi(5, 1), stx(8, 4, 5, 0), ldx(4, 5, 2, 0), mov(0, 0), jeqi(5, stop, 1), exit(), mov(0, 1), exit()],
  );

/** probe read of 8 bytes from a bad address into a stack slot holding 0x55: returns the helper's result or the slot. */
const probeBad = (id: number, slot: boolean) =>
  hexOf(prog(st(8, 10, -8, 0x55), movr(1, 10), addi(1, -8), mov(2, 8), ldImm64(3, 16, 0), call(id), ...(slot ? [ldx(8, 0, 10, -8)] : []), exit()));

const run = (p: number, cpuFlags = "0 0") => `run ${p} - 0 0 ${"00".repeat(16)} 0 ${cpuFlags}`;

/**
 * Callback helpers: Linux only accepts BPF_PSEUDO_FUNC with BTF func_info,
 * which these hand-written programs lack, so the expected values are
 * Linux's documented semantics rather than a live run.
 */
const callbackCases: [string, string, number][] = [
  ["bpf_loop 10: sum 0..9, 10 iterations", loopProg(10, 99), 45_010],
  ["bpf_loop stops at 5: callbacks 0..5, returns 6", loopProg(10, 5), 15_006],
  ["bpf_loop 0", loopProg(0, 99), 0],
  ["bpf_loop flags: -EINVAL", loopProg(3, 99, 1), -22 >>> 0],
  ["bpf_loop over 1<<23: -E2BIG", loopProg((1 << 23) + 1, 99), -7 >>> 0],
  ["for_each_map_elem: 4 elements", forEachProg(99), 4_004],
  ["for_each_map_elem stops at key 2: 3 visited", forEachProg(2), 3_003],
];

describe("callback helpers", () => {
  const lines = [`map ${MapType.Array} 4 8 4`];
  callbackCases.forEach(([, hex], i) => lines.push(`load ${ProgType.RawTracepoint} 0 GPL 0 0 ${hex}`, `run ${i} - 0 0 ${"00".repeat(16)} 0 0 0`));
  for (const engine of ["interpreter", "jit"] as const) {
    const sim = simSession(lines, engine);
    it.each(callbackCases.map(([name, , want], i) => [name, i, want] as const))(`${engine}: %s`, (_name, i, want) => {
      expect(sim[1 + 2 * i]!.split(" ")[0]).toMatch(/^\d+$/);
      expect(sim[2 + 2 * i]!.split(" ").slice(0, 2)).toEqual(["0", String(want)]);
    });
  }
});

const cases: [string, string][] = [
  ["probe_read_kernel bad: ret", probeBad(113, false)],
  ["probe_read_kernel bad: dst zeroed", probeBad(113, true)],
  ["probe_read_kernel_str bad: ret", probeBad(115, false)],
  ["probe_read_kernel_str bad: dst zeroed", probeBad(115, true)],
  ["probe_read_user bad: ret", probeBad(112, false)],
  ["get_smp_processor_id", hexOf(prog(call(8), exit()))],
];

const lines = [`map ${MapType.Array} 4 8 4`];
cases.forEach(([, hex], i) => lines.push(`load ${ProgType.RawTracepoint} 0 GPL 0 0 ${hex}`, run(i, i === cases.length - 1 ? "1 1" : "0 0")));

describe.skipIf(!!kernelUnavailable)("helpers against the kernel", () => {
  const kern = kernelUnavailable ? [] : kernelSession(lines);
  for (const engine of ["interpreter", "jit"] as const) {
    const sim = simSession(lines, engine);
    it.each(cases.map(([name], i) => [name, i] as const))(`${engine}: %s`, (_name, i) => {
      expect(Number(kern[1 + 2 * i]!.split(" ")[0])).toBeGreaterThanOrEqual(0);
      expect(kern[2 + 2 * i]!.split(" ")[0]).toBe("0");
      expect(sim[1 + 2 * i]!.split(" ")[0]).toMatch(/^\d+$/);
      expect(sim[2 + 2 * i]!.split(" ").slice(0, 2)).toEqual(kern[2 + 2 * i]!.split(" ").slice(0, 2));
    });
  }
});
