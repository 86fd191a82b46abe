/**
 * Generated programs near the verifier's decision boundary: computed stack
 * pointers, masked offsets, narrowing branches, 32-bit arithmetic, context
 * loads. Used by the run-safety property and the kernel differential.
 */
import fc from "fast-check";
import * as a from "./asm.js";

const scalarReg = fc.constantFrom(0, 2, 3, 4, 5);
const aluOp = fc.constantFrom("add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh");
const imm = fc.oneof(fc.integer({ min: -16, max: 80 }), fc.constantFrom(0x7fffffff, -0x80000000, 0xff, 0xfff0, 511, 512));
const size = fc.constantFrom("b", "h", "w", "dw");
const bytes: Record<string, number> = { b: 1, h: 2, w: 4, dw: 8 };

/** One generated step: a few instructions. */
const step: fc.Arbitrary<a.Slot[]> = fc.oneof(
  fc.tuple(scalarReg, imm).map(([d, i]) => [a.mov(d, i)]),
  fc.tuple(aluOp, scalarReg, imm, fc.boolean()).map(([o, d, i, w]) => {
    const k = o === "lsh" || o === "rsh" || o === "arsh" ? Math.abs(i) % (w ? 32 : 64) : i;
    return [w ? a.alu32i(o, d, k) : a.alu64i(o, d, k)];
  }),
  fc.tuple(aluOp.filter((o) => !["lsh", "rsh", "arsh"].includes(o)), scalarReg, scalarReg).map(([o, d, s]) => [a.alu64r(o, d, s)]),
  fc.tuple(scalarReg, fc.integer({ min: 0, max: 12 })).map(([d, k]) => [a.ldx("w", d, 6, k * 4)]),
  fc.tuple(size, fc.integer({ min: 1, max: 9 }), scalarReg).map(([sz, k, s]) => [a.stx(sz, 10, -k * bytes[sz]!, s)]),
  fc.tuple(size, fc.integer({ min: 1, max: 9 }), scalarReg).map(([sz, k, d]) => [a.ldx(sz, d, 10, -k * bytes[sz]!)]),
  // r7 = fp + base + (rX & mask): a computed stack pointer.
  fc.tuple(scalarReg, fc.constantFrom(7, 15, 31, 63, 0x38, 0xff), fc.integer({ min: -80, max: -1 })).map(([x, m, base]) => [
    a.movr(8, x), a.and(8, m), a.movr(7, 10), a.add(7, base), a.addr(7, 8),
  ]),
  fc.tuple(size, fc.integer({ min: -24, max: 16 }), scalarReg, fc.boolean()).map(([sz, off, r, load]) => [load ? a.ldx(sz, r, 7, off) : a.stx(sz, 7, off, r)]),
  fc.tuple(fc.constantFrom("jgt", "jge", "jlt", "jle", "jsgt", "jslt", "jeq", "jne", "jset"), scalarReg, imm, fc.boolean()).map(([o, d, i, w]) => [
    w ? a.jmp32i(o, d, i, 0) : a.jmpi(o, d, i, 0),
  ]),
);

/** Encodes steps; a jump (placeholder off 0) skips the next step. */
export function build(steps: a.Slot[][]): Uint8Array {
  const out: a.Slot[] = [a.movr(6, 1), a.ldx("w", 2, 1, 0), a.ldx("w", 3, 1, 8), a.mov(4, 7), a.mov(5, -3), a.mov(0, 0), a.movr(7, 10), a.add(7, -8)];
  steps.forEach((s, i) => {
    const isJump = s.length === 1 && (s[0]![0] & 0x07) !== 0x07 && ((s[0]![0] & 0x07) === 0x05 || (s[0]![0] & 0x07) === 0x06);
    if (isJump) {
      const skip = steps[i + 1]?.length ?? 0;
      const [code, dst, src, , im] = s[0]!;
      out.push([code, dst, src, skip, im]);
    } else out.push(...s);
  });
  out.push(a.mov(0, 0), a.exit());
  return a.prog(out);
}

export const genSteps = fc.array(step, { minLength: 1, maxLength: 24 });

/** The same steps plus map-value pointer arithmetic: r6 = value of a 16-byte array map (after the null check). */
const mapStep: fc.Arbitrary<a.Slot[]> = fc.oneof(
  step,
  fc.tuple(size, fc.integer({ min: -4, max: 20 }), scalarReg).map(([sz, off, d]) => [a.ldx(sz, d, 6, off)]),
  fc.tuple(scalarReg, fc.constantFrom(3, 7, 8, 15, 31, 0xff), fc.integer({ min: -8, max: 12 })).map(([x, m, base]) => [
    a.movr(8, x), a.and(8, m), a.movr(7, 6), a.add(7, base), a.addr(7, 8),
  ]),
  fc.tuple(scalarReg).map(([x]) => [a.movr(7, 6), a.addr(7, x)]),
  fc.tuple(size, fc.integer({ min: -4, max: 16 }), scalarReg, fc.boolean()).map(([sz, off, r, load]) => [load ? a.ldx(sz, r, 7, off) : a.stx(sz, 7, off, r)]),
);

export function buildMap(steps: a.Slot[][]): Uint8Array {
  const pro: a.Slot[] = [
    a.movr(9, 1), a.st("dw", 10, -8, 0), a.movr(2, 10), a.add(2, -8), ...a.ldMap(1, 0), a.call(1), a.jmpi("jne", 0, 0, 2), a.mov(0, 0), a.exit(),
    a.movr(6, 0), a.movr(1, 9), a.ldx("w", 2, 1, 0), a.ldx("w", 3, 6, 0), a.mov(4, 7), a.mov(5, -3), a.mov(0, 0), a.movr(7, 6),
  ];
  return a.prog(pro, ...body(steps));
}

function body(steps: a.Slot[][]): a.Slot[][] {
  const out: a.Slot[][] = [];
  steps.forEach((s, i) => {
    const c = s[0]![0] & 7;
    if (s.length === 1 && (c === 5 || c === 6)) {
      const [code, dst, src, , im] = s[0]!;
      out.push([[code, dst, src, steps[i + 1]?.length ?? 0, im]]);
    } else out.push(s);
  });
  out.push([a.mov(0, 0), a.exit()]);
  return out;
}

export const genMapSteps = fc.array(mapStep, { minLength: 1, maxLength: 20 });

/** XDP packet programs: r2 = data, r3 = data_end, range checks and offsets from packet bytes. */
const pktStep: fc.Arbitrary<a.Slot[]> = fc.oneof(
  fc.tuple(scalarReg, imm).map(([d, i]) => [a.mov(d, i)]),
  fc.tuple(aluOp.filter((o) => !["lsh", "rsh", "arsh"].includes(o)), scalarReg, imm).map(([o, d, i]) => [a.alu64i(o, d, i)]),
  fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom("jgt", "jge", "jlt", "jle")).map(([n, o]) => [
    a.movr(4, 2), a.add(4, n), o === "jgt" || o === "jge" ? a.jmpr(o, 4, 3, 1) : a.jmpr(o, 3, 4, 1), a.mov(8, 0),
  ]),
  fc.tuple(size, fc.integer({ min: -2, max: 40 }), scalarReg).map(([sz, off, d]) => [a.ldx(sz, d, 2, off)]),
  fc.tuple(size, fc.integer({ min: 0, max: 40 }), scalarReg).map(([sz, off, s]) => [a.stx(sz, 2, off, s)]),
  fc.tuple(scalarReg, fc.constantFrom(3, 7, 15, 0xff)).map(([x, m]) => [a.movr(8, x), a.and(8, m), a.addr(2, 8)]),
  fc.tuple(fc.constantFrom("jgt", "jlt", "jeq", "jne", "jsgt"), scalarReg, imm).map(([o, d, i]) => [a.jmpi(o, d, i, 0)]),
);

export function buildPkt(steps: a.Slot[][]): Uint8Array {
  const pro: a.Slot[] = [a.ldx("w", 2, 1, 0), a.ldx("w", 3, 1, 4), a.mov(0, 2), a.mov(4, 0), a.mov(5, 1)];
  return a.prog(pro, ...body(steps));
}

export const genPktSteps = fc.array(pktStep, { minLength: 1, maxLength: 20 });

/** Any opcode of the instruction set with loosely chosen fields: reserved-field and type errors. */
const CODES = [
  0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7,
  0x04, 0x0c, 0x14, 0x1c, 0x24, 0x34, 0x44, 0x54, 0x5c, 0x64, 0x74, 0x84, 0xa4, 0xac, 0xb4, 0xbc, 0xc4, 0xd4, 0xdc,
  0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x45, 0x55, 0x5d, 0x65, 0x6d, 0x75, 0xa5, 0xad, 0xb5, 0xc5, 0xd5, 0x85, 0x95,
  0x06, 0x16, 0x1e, 0x26, 0x36, 0x46, 0x56, 0xa6, 0xb6, 0xc6, 0xd6,
  0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x20, 0x28, 0x30, 0x40,
];
const anySlot = fc.tuple(
  fc.constantFrom(...CODES), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }),
  fc.oneof(fc.integer({ min: -3, max: 4 }), fc.constantFrom(-8, -16, 0, 8)),
  fc.oneof(fc.integer({ min: -8, max: 16 }), fc.constantFrom(1, 5, 7, 8, 0x01, 0xe1, 0xf1, 64, 32)),
);

export const genAnyInsns = fc.array(anySlot, { minLength: 1, maxLength: 12 }).map((slots) =>
  a.prog(...slots.map(([c, d, s, o, i]) => a.raw(c, d, c === 0x85 ? 0 : s, o, i)), a.mov(0, 0), a.exit()),
);
