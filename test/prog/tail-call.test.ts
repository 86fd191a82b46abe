/**
 * Tail calls through BPF_MAP_TYPE_PROG_ARRAY, bpfsim against the kernel:
 * a program that counts its runs in an array map and tail-calls itself runs
 * 1 + MAX_TAIL_CALL_CNT (33) times, then falls through; empty slots and
 * indexes out of range fall through; the prog array keeps its owner type.
 */
import { describe, expect, it } from "vitest";
import { MAX_TAIL_CALL_CNT, MapType, ProgType } from "@bpfsim/core";
import { kernelSession, kernelUnavailable, simSession } from "./oracle.js";
import { addi, call, exit, jeqi, ldMap, ldx, mov, movr, progHex, st, stx } from "./insns.js";

if (kernelUnavailable) console.log(`tail-call: kernel comparison skipped: ${kernelUnavailable}`);

/** Counts a run in map #1[0], then bpf_tail_call(ctx, map #0, index); returns 7 if the call falls through. */
const counting = (index: number) =>
  progHex(
    movr(6, 1),
    st(4, 10, -4, 0), ldMap(1, 1), movr(2, 10), addi(2, -4), call(1),
    jeqi(0, 0, 3), ldx(8, 1, 0, 0), addi(1, 1), stx(8, 0, 1, 0),
    movr(1, 6), ldMap(2, 0), mov(3, index), call(12),
    mov(0, 7), exit(),
  );

const lines = [
  `map ${MapType.ProgArray} 4 4 4`,
  `map ${MapType.Array} 4 8 1`,
  `load ${ProgType.Xdp} 0 GPL 0 0 ${counting(0)}`,
  `update 0 0 0`,
  `run 0 ${"00".repeat(64)} 0 1 - 0 0 0`,
  `lookup 1 0`,
  // empty slot 2 and index 9 (past max_entries) fall through after one run each
  `load ${ProgType.Xdp} 0 GPL 0 0 ${counting(2)}`,
  `run 1 ${"00".repeat(64)} 0 1 - 0 0 0`,
  `load ${ProgType.Xdp} 0 GPL 0 0 ${counting(9)}`,
  `run 2 ${"00".repeat(64)} 0 1 - 0 0 0`,
  `lookup 1 0`,
  // owner type: a socket filter cannot go into an XDP prog array; a key past the end is E2BIG
  `load ${ProgType.SocketFilter} 0 GPL 0 0 ${progHex(mov(0, 0), exit())}`,
  `update 0 1 3`,
  `update 0 4 1`,
];

describe.skipIf(!!kernelUnavailable)("tail calls against the kernel", () => {
  const kern = kernelUnavailable ? [] : kernelSession(lines);
  it.each(["interpreter", "jit"] as const)("%s", (engine) => {
    const sim = simSession(lines, engine);
    const pick = (out: string[]) => [out[3], out[4]!.split(" ").slice(0, 2).join(" "), out[5], out[7]!.split(" ")[1], out[9]!.split(" ")[1], out[10], out[12], out[13]];
    expect(pick(sim)).toEqual(pick(kern));
  });
});

describe("tail calls", () => {
  it(`run 1 + ${MAX_TAIL_CALL_CNT} times, then fall through`, () => {
    const sim = simSession(lines.slice(0, 6));
    expect(sim[4]!.split(" ").slice(0, 2)).toEqual(["0", "7"]);
    expect(sim[5]).toBe(String(1 + MAX_TAIL_CALL_CNT));
  });
});
