import { describe, expect, it } from "vitest";
import * as a from "../../../../test/verifier/asm.js";
import { decodeInsns } from "./insn.js";
import { computePrecise } from "./precision.js";

const R = (r: number): number => 1 << r;

describe("precise registers (static mark_chain_precision)", () => {
  // hash_lookup's shape: r8 counts and decides the loop, r6 only feeds the return value.
  const loop = decodeInsns(a.prog(
    a.mov(8, 0), a.mov(6, 0), // 0, 1
    a.add(8, 16), // 2: loop head
    a.movr(1, 8), a.jmpi("jeq", 1, 1024, 3), // 3, 4
    a.add(6, 1), // 5
    a.ldx("w", 2, 1, 0), // 6 (never a stack load: no effect)
    a.ja(-6), // 7 -> 2
    a.movr(0, 6), a.exit(), // 8, 9
  ));

  it("a counter that decides a branch is precise, one that is only returned is not", () => {
    const p = computePrecise(loop, [0], false);
    expect(p[2]! & R(8)).toBeTruthy();
    expect(p[2]! & R(6)).toBe(0);
    expect(p[8]! & R(6)).toBe(0);
  });

  it("a range-checked return value makes it precise back to its source", () => {
    const p = computePrecise(loop, [0], true);
    expect(p[8]! & R(6)).toBeTruthy();
    expect(p[2]! & R(6)).toBeTruthy();
  });

  it("scalars added to a pointer, stored to the stack or passed to a helper are precise", () => {
    const insns = decodeInsns(a.prog(
      a.mov(3, 4), a.movr(2, 10), a.addr(2, 3), // 0..2: r3 joins a stack pointer
      a.mov(4, 7), a.stx("dw", 10, -8, 4), // 3, 4: r4 spilled
      a.mov(5, 9), a.mov(1, 0), a.call(6), // 5..7: r5 reaches a helper
      a.mov(0, 0), a.exit(),
    ));
    const p = computePrecise(insns, [0], false);
    expect(p[2]! & R(3)).toBeTruthy();
    expect(p[4]! & R(4)).toBeTruthy();
    expect(p[7]! & R(5)).toBeTruthy();
    // Once overwritten, the old value no longer matters.
    expect(p[0]! & R(4)).toBe(0);
  });

  it("a subprogram's return value is precise", () => {
    const insns = decodeInsns(a.prog(a.callLocal(1), a.exit(), a.mov(7, 3), a.movr(0, 7), a.exit()));
    const p = computePrecise(insns, [0, 2], false);
    expect(p[3]! & R(7)).toBeTruthy();
    expect(p[1]! & R(0)).toBe(0);
  });
});
