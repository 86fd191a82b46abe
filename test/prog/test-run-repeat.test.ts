/**
 * BPF_PROG_TEST_RUN with repeat > 1: every repeat starts with a fresh
 * tail-call count (Linux resets it per run), the context is not rebuilt
 * between repeats, and retval is the last run's. A program that counts its
 * runs and tail-calls itself runs (1 + MAX_TAIL_CALL_CNT) * repeat times;
 * checked against the kernel when it is here, and on both engines.
 */
import { describe, expect, it } from "vitest";
import { MAX_TAIL_CALL_CNT, MapType, ProgType } from "@bpfsim/core";
import { kernelSession, kernelUnavailable, simSession } from "./oracle.js";
import { addi, call, exit, jeqi, ldMap, ldx, mov, movr, progHex, st, stx } from "./insns.js";

if (kernelUnavailable) console.log(`test-run repeat: kernel comparison skipped: ${kernelUnavailable}`);

/** Counts a run in map #1[0], then bpf_tail_call(ctx, map #0, 0); returns 7 if the call falls through. */
const counting = progHex(
  movr(6, 1),
  st(4, 10, -4, 0), ldMap(1, 1), movr(2, 10), addi(2, -4), call(1),
  jeqi(0, 0, 3), ldx(8, 1, 0, 0), addi(1, 1), stx(8, 0, 1, 0),
  movr(1, 6), ldMap(2, 0), mov(3, 0), call(12),
  mov(0, 7), exit(),
);

const REPEAT = 5;
const lines = [
  `map ${MapType.ProgArray} 4 4 4`,
  `map ${MapType.Array} 4 8 1`,
  `load ${ProgType.Xdp} 0 GPL 0 0 ${counting}`,
  `update 0 0 0`,
  `run 0 ${"00".repeat(64)} 0 ${REPEAT} - 0 0 0`,
  `lookup 1 0`,
  `run 0 ${"00".repeat(64)} 0 1 - 0 0 0`,
  `lookup 1 0`,
];

describe.each(["interpreter", "jit"] as const)("test run repeats (%s)", (engine) => {
  it(`each of ${REPEAT} repeats takes 1 + ${MAX_TAIL_CALL_CNT} tail calls' worth of runs`, () => {
    const sim = simSession(lines, engine);
    expect(sim[4]!.split(" ").slice(0, 2)).toEqual(["0", "7"]);
    expect(sim[5]).toBe(String((1 + MAX_TAIL_CALL_CNT) * REPEAT));
    expect(sim[7]).toBe(String((1 + MAX_TAIL_CALL_CNT) * (REPEAT + 1)));
  });
  it.skipIf(!!kernelUnavailable)("as the kernel", () => {
    const kern = kernelSession(lines);
    const sim = simSession(lines, engine);
    const pick = (out: string[]) => [out[4]!.split(" ").slice(0, 2).join(" "), out[5], out[6]!.split(" ").slice(0, 2).join(" "), out[7]];
    expect(pick(sim)).toEqual(pick(kern));
  });
});
