/**
 * fast-check generators shared by the codec, assembler and engine tests.
 */
import fc from "fast-check";
import { OPCODES, insn, type Insn } from "@bpfsim/core";
import * as O from "@bpfsim/core";

/** A generator of valid instructions: a table row plus fields Linux accepts for it. */
export const validInsn: fc.Arbitrary<Insn> = fc
  .tuple(
    fc.constantFrom(...OPCODES.values()),
    fc.integer({ min: 0, max: 10 }),
    fc.integer({ min: 0, max: 10 }),
    fc.integer({ min: -32768, max: 32767 }),
    fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    fc.nat(),
  )
  .map(([info, dst, src, off, imm, imm2, pick]) => {
    const k = info.kind;
    const choose = <T>(xs: readonly T[]): T => xs[pick % xs.length]!;
    switch (k) {
      case "alu": {
        const offs = info.op === O.BPF_DIV || info.op === O.BPF_MOD ? [0, 1] : info.op === O.BPF_MOV && info.source === "X" ? (info.is32 ? [0, 8, 16] : [0, 8, 16, 32]) : [0];
        return info.source === "K" ? insn(info.code, dst, 0, choose(offs), imm) : insn(info.code, dst, src, choose(offs), 0);
      }
      case "neg":
        return insn(info.code, dst, 0, 0, 0);
      case "end":
        return insn(info.code, dst, 0, 0, choose([16, 32, 64]));
      case "ja":
        return info.is32 ? insn(info.code, 0, 0, 0, imm) : insn(info.code, 0, 0, off, 0);
      case "jcond":
        return info.source === "K" ? insn(info.code, dst, 0, off, imm) : insn(info.code, dst, src, off, 0);
      case "call":
        return insn(info.code, 0, choose([0, 1, 2]), 0, imm);
      case "callx":
        return insn(info.code, dst, 0, 0, 0);
      case "exit":
        return insn(info.code, 0, 0, 0, 0);
      case "lddw": {
        const ps = choose([0, 1, 2, 3, 4, 5, 6]);
        return insn(info.code, dst, ps, 0, imm, ps === 1 || ps === 4 || ps === 5 ? 0 : imm2);
      }
      case "ldabs":
        return insn(info.code, 0, 0, 0, imm);
      case "ldind":
        return insn(info.code, 0, src, 0, imm);
      case "ldx":
      case "ldxsx":
        return insn(info.code, dst, src, off, 0);
      case "st":
        return insn(info.code, dst, 0, off, imm);
      case "stx":
        return insn(info.code, dst, src, off, 0);
      case "atomic":
        return insn(info.code, dst, src, off, choose([0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]));
    }
  });

