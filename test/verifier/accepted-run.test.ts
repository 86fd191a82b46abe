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
import { genSteps, build } from "./gen.js";

const CTX_SIZE = 192; // sizeof(struct __sk_buff)
const arena = Arena.create({ size: 4 * 1024 * 1024 });
const stackBase = arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
const ctxOff = arena.alloc(CTX_SIZE, KERNEL_OWNER);
const FP = stackBase + STACK_AREA_BYTES; // frame 0's r10

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
      fc.property(genSteps, fc.uint8Array({ minLength: CTX_SIZE, maxLength: CTX_SIZE }), (steps, ctxBytes) => {
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
