/**
 * The interpreter's event-path entry gives what `run` gives, cut to a signed
 * int32: r1 is the context as an unsigned 32-bit value, faults and the
 * instruction limit behave the same.
 */
import { describe, expect, it } from "vitest";
import { Arena } from "../../memory/arena.js";
import { KERNEL_OWNER } from "../../memory/arena-api.js";
import { ProgramFault, STACK_AREA_BYTES, type CpuContext } from "../engine.js";
import { createInterpreter, interpreterEngine, type InterpreterProgram } from "./interpreter.js";

const enc = (slots: [number, number, number, number][]): Uint8Array => {
  const out = new Uint8Array(slots.length * 8);
  const dv = new DataView(out.buffer);
  slots.forEach(([op, regs, off, imm], k) => {
    dv.setUint8(k * 8, op);
    dv.setUint8(k * 8 + 1, regs);
    dv.setInt16(k * 8 + 2, off, true);
    dv.setInt32(k * 8 + 4, imm, true);
  });
  return out;
};

function cpuCtx(): CpuContext {
  const arena = Arena.create({ size: 1 << 20 });
  return { arena, cpu: 0, stackBase: arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER), helpers: [], tailCalls: 0, state: {} };
}

describe("interpreter runInt32", () => {
  const cpu = cpuCtx();
  const compile = (insns: Uint8Array) => interpreterEngine.compile({ insns, progType: 0, name: "t" }, cpu.arena) as InterpreterProgram;

  it("returns r0's low 32 bits signed, with r1 = ctx unsigned", () => {
    // r0 = r1 + 0x7fffffff, then the high word set: lddw r2, 0xfffffffe << 32; r0 |= r2
    const p = compile(enc([[0xbf, 0x10, 0, 0], [0x07, 0x00, 0, 0x7fffffff], [0x18, 0x02, 0, 0], [0, 0, 0, -2], [0x4f, 0x20, 0, 0], [0x95, 0, 0, 0]]));
    for (const ctx of [0, 1, 5, 0x80000000, 0xffffffff]) {
      expect(p.runInt32(ctx, cpu)).toBe(Number(BigInt.asIntN(32, p.run(BigInt(ctx), cpu))));
    }
    expect(p.runInt32(1, cpu)).toBe(-0x80000000);
  });

  it("faults and stops at the instruction limit as run does", () => {
    const nul = compile(enc([[0xb7, 0x02, 0, 0], [0x71, 0x20, 0, 0], [0x95, 0, 0, 0]]));
    expect(() => nul.runInt32(0, cpu)).toThrow(ProgramFault);
    const loop = createInterpreter({ maxInsns: 100 }).compile({ insns: enc([[0x05, 0, -1, 0], [0x95, 0, 0, 0]]), progType: 0, name: "l" }, cpu.arena);
    expect(() => loop.runInt32!(0, cpu)).toThrow(/instruction limit of 100/);
  });
});
