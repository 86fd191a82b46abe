/**
 * BPF_PROG_TEST_RUN, bpfsim against the kernel on generated programs.
 *
 * The generator only writes programs Linux's verifier accepts: straight-line
 * ALU (64- and 32-bit, immediates and registers, signed division, sign
 * extension, byte swaps) on initialised scalars, bounded stack use, and for
 * XDP and tc packet loads and stores inside a bounds check. Each program runs on
 * the kernel and on both bpfsim engines with the same packet; retval,
 * data_out and data_size_out must be equal. A program the kernel refuses is
 * reported and skipped.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { insn, type Insn, ProgType } from "@bpfsim/core";
import { kernelSession, kernelUnavailable, simSession } from "./oracle.js";
import { addi, exit, hexOf, jgtr, ldx, mov, movr, prog, stx } from "./insns.js";

if (kernelUnavailable) console.log(`test-run-diff: kernel comparison skipped: ${kernelUnavailable}`);

const REGS = [0, 7, 8, 9];
const reg = fc.constantFrom(...REGS);
const imm = fc.oneof(fc.integer({ min: -16, max: 16 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
const nonzero = imm.filter((v) => v !== 0);

/** ALU op codes (high nibble) usable with any operand. */
const ALU_OPS = [0x00, 0x10, 0x20, 0x40, 0x50, 0xa0, 0xb0];
const aluInsn = (wide: boolean): fc.Arbitrary<Insn> =>
  fc.oneof(
    fc.tuple(fc.constantFrom(...ALU_OPS), reg, imm).map(([op, d, v]) => insn(op | (wide ? 7 : 4), d, 0, 0, v)),
    fc.tuple(fc.constantFrom(...ALU_OPS, 0x30, 0x90, 0x60, 0x70, 0xc0), reg, reg).map(([op, d, s]) => insn(op | 8 | (wide ? 7 : 4), d, s, 0, 0)),
    // shifts by an immediate in range
    fc.tuple(fc.constantFrom(0x60, 0x70, 0xc0), reg, fc.integer({ min: 0, max: wide ? 63 : 31 })).map(([op, d, v]) => insn(op | (wide ? 7 : 4), d, 0, 0, v)),
    // div/mod (unsigned off 0, signed off 1) by a non-zero immediate
    fc.tuple(fc.constantFrom(0x30, 0x90), fc.constantFrom(0, 1), reg, nonzero).map(([op, s, d, v]) => insn(op | (wide ? 7 : 4), d, 0, s, v)),
    fc.tuple(fc.constantFrom(0x30, 0x90), reg, reg).map(([op, d, s]) => insn(op | 8 | (wide ? 7 : 4), d, s, 1, 0)),
    // neg, sign-extending moves
    reg.map((d) => insn(0x80 | (wide ? 7 : 4), d, 0, 0, 0)),
    fc.tuple(fc.constantFrom(...(wide ? [8, 16, 32] : [8, 16])), reg, reg).map(([o, d, s]) => insn(0xb8 | (wide ? 7 : 4), d, s, o, 0)),
  );
const swapInsn: fc.Arbitrary<Insn> = fc
  .tuple(fc.constantFrom(0xd4, 0xdc, 0xd7), fc.constantFrom(16, 32, 64), reg)
  .map(([code, w, d]) => insn(code, d, 0, 0, w));

interface Gen {
  insns: Insn[];
  data: Uint8Array;
}

/** Body ops; `pkt` adds packet loads/stores through r2 (16 bytes known valid). */
function body(pkt: boolean): fc.Arbitrary<Insn[]> {
  const stackOp = fc.tuple(fc.integer({ min: 1, max: 8 }), reg).map(([slot, r]) => [stx(8, 10, r, -8 * slot), ldx(8, r, 10, -8 * slot)]);
  const pktOps: fc.Arbitrary<Insn[]>[] = pkt
    ? [
        fc.tuple(fc.constantFrom(1, 2, 4, 8) as fc.Arbitrary<1 | 2 | 4 | 8>, reg, fc.nat(15)).map(([sz, r, o]) => [ldx(sz, r, 2, o - (o % sz))]),
        fc.tuple(fc.constantFrom(1, 2, 4, 8) as fc.Arbitrary<1 | 2 | 4 | 8>, reg, fc.nat(15)).map(([sz, r, o]) => [stx(sz, 2, r, o - (o % sz))]),
      ]
    : [];
  return fc
    .array(fc.oneof({ weight: 6, arbitrary: fc.oneof(aluInsn(true), aluInsn(false)).map((i) => [i]) }, { weight: 1, arbitrary: swapInsn.map((i) => [i]) }, stackOp, ...pktOps), { minLength: 1, maxLength: 24 })
    .map((xs) => xs.flat());
}

const packet = fc.uint8Array({ minLength: 16, maxLength: 80 });

const xdpGen: fc.Arbitrary<Gen> = fc.tuple(body(true), imm, imm, packet).map(([ops, a, b, data]) => ({
  data,
  insns: [
    movr(6, 1), ldx(4, 2, 6, 0), ldx(4, 3, 6, 4), movr(4, 2), addi(4, 16), jgtr(4, 3, ops.length + 5),
    ldx(8, 7, 2, 0), ldx(4, 8, 2, 8), mov(9, a), mov(0, b),
    ...ops, exit(), mov(0, 1), exit(),
  ],
}));

/** tc: the same body, packet pointers from __sk_buff.data (76) and data_end (80); the retval is any u32. */
const tcGen: fc.Arbitrary<Gen> = fc.tuple(body(true), imm, imm, packet).map(([ops, a, b, data]) => ({
  data,
  insns: [
    movr(6, 1), ldx(4, 2, 6, 76), ldx(4, 3, 6, 80), movr(4, 2), addi(4, 16), jgtr(4, 3, ops.length + 5),
    ldx(8, 7, 2, 0), ldx(4, 8, 2, 8), mov(9, a), mov(0, b),
    ...ops, exit(), mov(0, 1), exit(),
  ],
}));

const sockGen: fc.Arbitrary<Gen> = fc.tuple(body(false), imm, packet).map(([ops, a, data]) => ({
  data,
  insns: [ldx(4, 7, 1, 0), ldx(4, 8, 1, 16), ldx(4, 9, 1, 4), mov(0, a), ...ops, exit()],
}));

function compare(type: number, g: Gen): void {
  const load = `load ${type} 0 GPL 0 0 ${hexOf(prog(...g.insns))}`;
  const run = `run 0 ${hexOf(g.data)} 256 1 - 0 0 0`;
  const [kLoad, kRun] = kernelSession([load, run]);
  if (Number(kLoad!.split(" ")[0]) < 0) {
    console.log(`test-run-diff: kernel refused a generated program (${kLoad}); skipped`);
    return;
  }
  const fields = (s: string) => s.split(" ").slice(0, 4).join(" ");
  for (const engine of ["interpreter", "jit"] as const) {
    const [sLoad, sRun] = simSession([load, run], engine);
    expect(Number(sLoad!.split(" ")[0]), `${engine} load`).toBeGreaterThanOrEqual(0);
    expect(fields(sRun!), engine).toBe(fields(kRun!));
  }
}

describe.skipIf(!!kernelUnavailable)("BPF_PROG_TEST_RUN on generated programs, against the kernel", () => {
  it("XDP: retval, data_out and data_size_out", () => {
    fc.assert(fc.property(xdpGen, (g) => compare(ProgType.Xdp, g)), { numRuns: 60 });
  });
  it("tc: retval, data_out and data_size_out", () => {
    fc.assert(fc.property(tcGen, (g) => compare(ProgType.SchedCls, g)), { numRuns: 40 });
  });
  it("socket filter: retval and data_out", () => {
    fc.assert(fc.property(sockGen, (g) => compare(ProgType.SocketFilter, g)), { numRuns: 60 });
  });
});
