/**
 * Property: every program the verifier accepts runs on the interpreter
 * without a fault, and every load and store it makes stays inside the
 * object the verifier proved it was allowed to touch (the frame's 512-byte
 * stack or the context). Programs are generated to sit near the verifier's
 * decision boundary: computed stack pointers, masked offsets, narrowing
 * branches, 32-bit arithmetic.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Arena, KERNEL_OWNER, STACK_AREA_BYTES, createInterpreter, progTypeFor, helperProto, verify } from "@bpfsim/core";
import * as a from "./asm.js";

const CTX_SIZE = 192; // sizeof(struct __sk_buff)
const arena = Arena.create({ size: 4 * 1024 * 1024 });
const stackBase = arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
const ctxOff = arena.alloc(CTX_SIZE, KERNEL_OWNER);
const FP = stackBase + STACK_AREA_BYTES; // frame 0's r10

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
function build(steps: a.Slot[][]): Uint8Array {
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

interface Access { pc: number; addr: number; size: number }

function run(prog: Uint8Array, ctxBytes: Uint8Array): Access[] {
  const dv = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const bad: Access[] = [];
  const engine = createInterpreter({
    maxInsns: 100_000,
    trace: (pc, _depth, st) => {
      const code = dv.getUint8(pc * 8);
      const cls = code & 7;
      const mode = code & 0xe0;
      if (!((cls === 1 || cls === 3 || cls === 2) && (mode === 0x60 || mode === 0x80))) return;
      const regs = dv.getUint8(pc * 8 + 1);
      const base = cls === 1 ? regs >> 4 : regs & 0xf;
      const off = dv.getInt16(pc * 8 + 2, true);
      const sz = [4, 2, 1, 8][(code >> 3) & 3]!;
      const addr = (st.lo[base]! >>> 0) + off;
      const inStack = addr >= FP - 512 && addr + sz <= FP;
      const inCtx = addr >= ctxOff && addr + sz <= ctxOff + CTX_SIZE;
      if (!inStack && !inCtx) bad.push({ pc, addr, size: sz });
    },
  });
  arena.u8.set(ctxBytes, ctxOff);
  arena.u8.fill(0, stackBase, stackBase + STACK_AREA_BYTES);
  const compiled = engine.compile({ insns: prog, progType: 1, name: "gen" }, arena);
  compiled.run(BigInt(ctxOff), { arena, cpu: 0, stackBase, helpers: [], tailCalls: 0, state: {} });
  return bad;
}

describe("programs the verifier accepts run safely", () => {
  it("the access checker sees an access outside the frame (the property can fail)", () => {
    const outside = a.prog(a.st("dw", 10, 0, 1), a.mov(0, 0), a.exit());
    expect(run(outside, new Uint8Array(CTX_SIZE))).toHaveLength(1);
    const inside = a.prog(a.st("dw", 10, -8, 1), a.ldx("w", 0, 1, 4), a.exit());
    expect(run(inside, new Uint8Array(CTX_SIZE))).toEqual([]);
  });

  it("stay inside the stack frame and the context on the interpreter", () => {
    const ops = progTypeFor(1)!;
    let accepted = 0;
    let total = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 24 }), fc.uint8Array({ minLength: CTX_SIZE, maxLength: CTX_SIZE }), (steps, ctxBytes) => {
        const prog = build(steps);
        total++;
        const r = verify(prog, {
          progType: 1, progTypeOps: ops, maps: () => undefined, helpers: helperProto, privileged: true, strictAlignment: false, logLevel: 0, logSize: 0,
        });
        if (!r.ok) return true;
        accepted++;
        const bad = run(prog, ctxBytes);
        expect(bad, `out-of-object accesses at ${JSON.stringify(bad)}`).toEqual([]);
        return true;
      }),
      { numRuns: 400 },
    );
    console.log(`generated ${total} programs, verifier accepted ${accepted}`);
    // The property means nothing if the generator only makes rejected programs.
    expect(accepted).toBeGreaterThan(total / 5);
  });
});
