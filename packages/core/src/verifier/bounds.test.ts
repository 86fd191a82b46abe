/**
 * Soundness of the scalar model: for random concrete values inside random
 * abstract registers, every ALU result and every branch refinement keeps the
 * concrete value inside the abstract one (the property the verifier's
 * memory safety rests on).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { type Reg, unknownScalar, S64_MIN, S64_MAX } from "./reg-state.js";
import { boundsSync, scalarAlu, boundsInvalid } from "./bounds.js";
import { branchTaken, refine } from "./jmp.js";
import { C } from "./insn.js";
import * as tn from "./tnum.js";

const U64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);

/** Does abstract register r admit concrete value v (all five views)? */
function contains(r: Reg, v0: bigint): boolean {
  const v = u64(v0);
  const s = BigInt.asIntN(64, v);
  const v32 = BigInt.asUintN(32, v);
  const s32 = BigInt.asIntN(32, v);
  return tn.tnumIn(r.varOff, tn.tnumConst(v)) && r.umin <= v && v <= r.umax && r.smin <= s && s <= r.smax &&
    r.u32min <= v32 && v32 <= r.u32max && r.s32min <= s32 && s32 <= r.s32max;
}

const interesting = fc.oneof(
  fc.bigInt({ min: 0n, max: U64 }),
  fc.bigInt({ min: 0n, max: 300n }),
  fc.bigInt({ min: U64 - 300n, max: U64 }),
  fc.bigInt({ min: 0x7fffff00n, max: 0x800000ffn }),
  fc.constantFrom(0n, 1n, 0xffffffffn, 1n << 63n, (1n << 63n) - 1n),
);

/** A register that contains `x`: random brackets around it in each view, random unknown bits. */
const regAround = (x: bigint) =>
  fc.record({
    mask: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: U64 }), fc.bigInt({ min: 0n, max: 0xffn })),
    du: fc.tuple(fc.bigInt({ min: 0n, max: U64 }), fc.bigInt({ min: 0n, max: U64 })),
    ds: fc.tuple(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: 0n, max: 1n << 40n })),
    which: fc.integer({ min: 0, max: 3 }),
  }).map(({ mask, du, ds, which }) => {
    const r = unknownScalar();
    const v = u64(x);
    r.varOff = tn.tnum(v & ~mask, mask);
    if (which & 1) {
      r.umin = v - du[0] < 0n ? 0n : v - du[0];
      r.umax = v + du[1] > U64 ? U64 : v + du[1];
    }
    if (which & 2) {
      const s = BigInt.asIntN(64, v);
      r.smin = s - ds[0] < S64_MIN ? S64_MIN : s - ds[0];
      r.smax = s + ds[1] > S64_MAX ? S64_MAX : s + ds[1];
    }
    boundsSync(r);
    return r;
  });

const withReg = fc.tuple(interesting, interesting).chain(([x, y]) => fc.tuple(fc.constant(x), fc.constant(y), regAround(x), regAround(y)));

function concrete(o: number, x: bigint, y: bigint, alu32: boolean): bigint {
  const w = alu32 ? 32 : 64;
  const a = BigInt.asUintN(w, x), b = BigInt.asUintN(w, y);
  const sh = BigInt(Number(b) % w);
  let r: bigint;
  switch (o) {
    case C.ADD: r = a + b; break;
    case C.SUB: r = a - b; break;
    case C.MUL: r = a * b; break;
    case C.AND: r = a & b; break;
    case C.OR: r = a | b; break;
    case C.XOR: r = a ^ b; break;
    case C.LSH: r = a << sh; break;
    case C.RSH: r = a >> sh; break;
    case C.ARSH: r = BigInt.asIntN(w, a) >> sh; break;
    case C.NEG: r = -a; break;
    default: throw new Error("op");
  }
  return BigInt.asUintN(w, r);
}

describe("scalar bounds model", () => {
  it("bounds sync keeps the value", () => {
    fc.assert(fc.property(withReg, ([x, , rx]) => contains(rx, x) && !boundsInvalid(rx)));
  });

  for (const [name, o] of [["add", C.ADD], ["sub", C.SUB], ["mul", C.MUL], ["and", C.AND], ["or", C.OR], ["xor", C.XOR], ["neg", C.NEG]] as const) {
    for (const alu32 of [false, true]) {
      it(`${alu32 ? "alu32" : "alu64"} ${name} is sound`, () => {
        fc.assert(fc.property(withReg, ([x, y, rx, ry]) => {
          const d = { ...rx };
          scalarAlu(d, o === C.NEG ? d : ry, o, alu32);
          return contains(d, concrete(o, x, y, alu32));
        }));
      });
    }
  }

  for (const [name, o] of [["lsh", C.LSH], ["rsh", C.RSH], ["arsh", C.ARSH]] as const) {
    for (const alu32 of [false, true]) {
      it(`${alu32 ? "alu32" : "alu64"} ${name} by a constant is sound`, () => {
        fc.assert(fc.property(withReg, fc.integer({ min: 0, max: alu32 ? 31 : 63 }), ([x, , rx], k) => {
          const s = unknownScalar();
          s.varOff = tn.tnumConst(BigInt(k));
          s.umin = s.umax = s.smin = s.smax = s.u32min = s.u32max = s.s32min = s.s32max = BigInt(k);
          const d = { ...rx };
          scalarAlu(d, s, o, alu32);
          return contains(d, concrete(o, x, BigInt(k), alu32));
        }));
      });
    }
  }

  const CONDS = [C.JEQ, C.JNE, C.JGT, C.JGE, C.JLT, C.JLE, C.JSGT, C.JSGE, C.JSLT, C.JSLE, C.JSET];
  const holds = (o: number, x: bigint, y: bigint, w32: boolean): boolean => {
    const w = w32 ? 32 : 64;
    const a = BigInt.asUintN(w, x), b = BigInt.asUintN(w, y);
    const sa = BigInt.asIntN(w, a), sb = BigInt.asIntN(w, b);
    switch (o) {
      case C.JEQ: return a === b;
      case C.JNE: return a !== b;
      case C.JGT: return a > b;
      case C.JGE: return a >= b;
      case C.JLT: return a < b;
      case C.JLE: return a <= b;
      case C.JSGT: return sa > sb;
      case C.JSGE: return sa >= sb;
      case C.JSLT: return sa < sb;
      case C.JSLE: return sa <= sb;
      default: return (a & b) !== 0n;
    }
  };

  for (const w32 of [false, true]) {
    it(`${w32 ? "jmp32" : "jmp"} branch prediction and refinement are sound`, () => {
      fc.assert(fc.property(withReg, fc.constantFrom(...CONDS), ([x, y, rx, ry], o) => {
        const h = holds(o, x, y, w32);
        const pred = branchTaken(rx, ry, o, w32);
        if (pred === 1) expect(h).toBe(true);
        if (pred === 0) expect(h).toBe(false);
        if (pred !== -1) return;
        const a = { ...rx }, b = { ...ry };
        // The edge that the concrete values take is refined with o (taken) or its reverse.
        const rev: Record<number, number> = {
          [C.JEQ]: C.JNE, [C.JNE]: C.JEQ, [C.JGT]: C.JLE, [C.JGE]: C.JLT, [C.JLT]: C.JGE, [C.JLE]: C.JGT,
          [C.JSGT]: C.JSLE, [C.JSGE]: C.JSLT, [C.JSLT]: C.JSGE, [C.JSLE]: C.JSGT, [C.JSET]: C.JSET | C.X,
        };
        refine(a, b, h ? o : rev[o]!, w32);
        boundsSync(a);
        boundsSync(b);
        expect(contains(a, x)).toBe(true);
        expect(contains(b, y)).toBe(true);
      }));
    });
  }
});
