/**
 * Every ALU and JMP opcode (32 and 64 bit, immediate and register) against
 * a plain BigInt reference written from RFC 9669, on operands biased to the
 * edges: shift amounts out of range, values that need 32-bit zero
 * extension, division by zero, INT_MIN / -1, negative immediates.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Arena } from "../../memory/arena.js";
import { KERNEL_OWNER } from "../../memory/arena-api.js";
import { STACK_AREA_BYTES, type CpuContext } from "../engine.js";
import { encodeProgram, insn, splitImm64, type Insn } from "../../insn/codec.js";
import { createInterpreter } from "./interpreter.js";

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);
const u64 = (v: bigint) => BigInt.asUintN(64, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);
const sext = (v: bigint, bits: number) => u64(BigInt.asIntN(bits, v));

/** RFC 9669 section 4.1, 64-bit: dst op src, `b` already the 64-bit operand. */
function ref64(op: string, a: bigint, b: bigint, off: number): bigint {
  switch (op) {
    case "add": return u64(a + b);
    case "sub": return u64(a - b);
    case "mul": return u64(a * b);
    case "div": return off === 1 ? (b === 0n ? 0n : u64(s64(a) / s64(b))) : b === 0n ? 0n : a / b;
    case "mod": return off === 1 ? (b === 0n ? a : u64(s64(a) % s64(b))) : b === 0n ? a : a % b;
    case "or": return a | b;
    case "and": return a & b;
    case "xor": return a ^ b;
    case "lsh": return u64(a << (b & 63n));
    case "rsh": return a >> (b & 63n);
    case "arsh": return u64(s64(a) >> (b & 63n));
    case "mov": return off === 0 ? b : sext(b, off);
    case "neg": return u64(-a);
  }
  throw new Error(op);
}

/** 32-bit: operands truncated, result zero-extended. */
function ref32(op: string, a64: bigint, b64: bigint, off: number): bigint {
  const a = u32(a64);
  const b = u32(b64);
  switch (op) {
    case "add": return u32(a + b);
    case "sub": return u32(a - b);
    case "mul": return u32(a * b);
    case "div": return off === 1 ? (b === 0n ? 0n : u32(s32(a) / s32(b))) : b === 0n ? 0n : a / b;
    case "mod": return off === 1 ? (b === 0n ? a : u32(s32(a) % s32(b))) : b === 0n ? a : a % b;
    case "or": return a | b;
    case "and": return a & b;
    case "xor": return a ^ b;
    case "lsh": return u32(a << (b & 31n));
    case "rsh": return a >> (b & 31n);
    case "arsh": return u32(s32(a) >> (b & 31n));
    case "mov": return off === 0 ? b : u32(BigInt.asIntN(off, b));
    case "neg": return u32(-a);
  }
  throw new Error(op);
}

function refJmp(op: string, is32: boolean, a: bigint, b: bigint): boolean {
  const ua = is32 ? u32(a) : a;
  const ub = is32 ? u32(b) : b;
  const sa = is32 ? s32(a) : s64(a);
  const sb = is32 ? s32(b) : s64(b);
  switch (op) {
    case "jeq": return ua === ub;
    case "jne": return ua !== ub;
    case "jgt": return ua > ub;
    case "jge": return ua >= ub;
    case "jlt": return ua < ub;
    case "jle": return ua <= ub;
    case "jset": return (ua & ub) !== 0n;
    case "jsgt": return sa > sb;
    case "jsge": return sa >= sb;
    case "jslt": return sa < sb;
    case "jsle": return sa <= sb;
  }
  throw new Error(op);
}

const ALU: Record<string, number> = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70,
  neg: 0x80, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0,
};
const JMP: Record<string, number> = {
  jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70,
  jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
};

const arena = Arena.create({ size: 1 << 20 });
const stackBase = arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
const cpu: CpuContext = { arena, cpu: 0, stackBase, helpers: [], tailCalls: 0, state: {} };
const engine = createInterpreter({ maxInsns: 1000 });

function lddw(dst: number, v: bigint): Insn {
  const { imm, nextImm } = splitImm64(v);
  return insn(0x18, dst, 0, 0, imm, nextImm);
}

function run(insns: Insn[]): bigint {
  return engine.compile({ insns: encodeProgram(insns), progType: 0, name: "t" }, arena).run(0n, cpu);
}

const edge64 = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 31n, 32n, 33n, 63n, 64n, 65n, M32, 0x7fffffffn, 0x80000000n, 0x100000000n, 1n << 63n, (1n << 63n) - 1n, M64, M64 - 1n, 0xffffffff80000000n),
  fc.bigUintN(64),
  fc.bigUintN(6),
);
const edgeImm = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, -2, 31, 32, 33, 63, 64, -31, -64, 0x7fffffff, -0x80000000, 0x7fff, -0x8000),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
);

describe("interpreter ALU against a BigInt reference", () => {
  it("every ALU/ALU64 op, imm and reg, plus sdiv/smod and movsx", () => {
    fc.assert(
      fc.property(edge64, edge64, edgeImm, (a, b, imm) => {
        for (const [name, op] of Object.entries(ALU)) {
          for (const is32 of [false, true]) {
            const cls = is32 ? 0x04 : 0x07;
            const ref = is32 ? ref32 : ref64;
            const offs = op === 0x30 || op === 0x90 ? [0, 1] : op === 0xb0 ? (is32 ? [0, 8, 16] : [0, 8, 16, 32]) : [0];
            for (const off of offs) {
              // register form
              const x = run([lddw(1, a), lddw(2, b), insn(cls | op | (name === "neg" ? 0 : 8), 1, name === "neg" ? 0 : 2, off, 0), insn(0xbf, 0, 1, 0, 0), insn(0x95, 0, 0, 0, 0)]);
              expect(x, `${name}${is32 ? 32 : 64} off ${off} reg a=${a} b=${b}`).toBe(ref(name, a, b, off));
              if (off !== 0 && op === 0xb0) continue; // movsx has no immediate form
              const bi = u64(BigInt(imm));
              const k = run([lddw(1, a), insn(cls | op, 1, 0, off, name === "neg" ? 0 : imm), insn(0xbf, 0, 1, 0, 0), insn(0x95, 0, 0, 0, 0)]);
              expect(k, `${name}${is32 ? 32 : 64} off ${off} imm a=${a} imm=${imm}`).toBe(ref(name, a, bi, off));
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("byte swaps: le, be, bswap of 16/32/64", () => {
    const swap = (v: bigint, bytes: number) => {
      let out = 0n;
      for (let k = 0; k < bytes; k++) out = (out << 8n) | ((v >> BigInt(8 * k)) & 0xffn);
      return out;
    };
    fc.assert(
      fc.property(edge64, (a) => {
        for (const w of [16, 32, 64]) {
          const mask = (1n << BigInt(w)) - 1n;
          const le = run([lddw(0, a), insn(0xd4, 0, 0, 0, w), insn(0x95, 0, 0, 0, 0)]);
          const be = run([lddw(0, a), insn(0xdc, 0, 0, 0, w), insn(0x95, 0, 0, 0, 0)]);
          const bs = run([lddw(0, a), insn(0xd7, 0, 0, 0, w), insn(0x95, 0, 0, 0, 0)]);
          expect(le).toBe(a & mask);
          expect(be).toBe(swap(a & mask, w / 8));
          expect(bs).toBe(swap(a & mask, w / 8));
        }
      }),
    );
  });
});

describe("interpreter jumps against a BigInt reference", () => {
  it("every JMP/JMP32 compare, imm and reg", () => {
    fc.assert(
      fc.property(edge64, edge64, edgeImm, (a, b, imm) => {
        for (const [name, op] of Object.entries(JMP)) {
          for (const is32 of [false, true]) {
            const cls = is32 ? 0x06 : 0x05;
            const tail = [insn(0xb7, 0, 0, 0, 0), insn(0x05, 0, 0, 1, 0), insn(0xb7, 0, 0, 0, 1), insn(0x95, 0, 0, 0, 0)];
            const x = run([lddw(1, a), lddw(2, b), insn(cls | op | 8, 1, 2, 2, 0), ...tail]);
            expect(x === 1n, `${name}${is32 ? 32 : ""} reg a=${a} b=${b}`).toBe(refJmp(name, is32, a, b));
            const k = run([lddw(1, a), insn(cls | op, 1, 0, 2, imm), ...tail]);
            expect(k === 1n, `${name}${is32 ? 32 : ""} imm a=${a} imm=${imm}`).toBe(refJmp(name, is32, a, u64(BigInt(imm))));
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
