import { describe, expect, it } from "vitest";
import { BpfError } from "../../errno.js";
import { Arena } from "../../memory/arena.js";
import { KERNEL_OWNER } from "../../memory/arena-api.js";
import { ProgramFault, STACK_AREA_BYTES, type CompiledProgram, type CpuContext, type HelperImpl } from "../engine.js";
import { MessageChannel } from "node:worker_threads";
import { JitProgram, compileJitModule, jitCompileCount, jitEngine } from "./jit-engine.js";
import { translate } from "./translate.js";

/** Tiny instruction encoder (the assembler lives in @bpfsim/loader, which core cannot import). */
type Slot = [op: number, dst: number, src: number, off: number, imm: number];

const I = {
  mov: (dst: number, imm: number): Slot => [0xb7, dst, 0, 0, imm],
  movr: (dst: number, src: number): Slot => [0xbf, dst, src, 0, 0],
  add: (dst: number, imm: number): Slot => [0x07, dst, 0, 0, imm],
  addr: (dst: number, src: number): Slot => [0x0f, dst, src, 0, 0],
  ldxdw: (dst: number, src: number, off: number): Slot => [0x79, dst, src, off, 0],
  ldxb: (dst: number, src: number, off: number): Slot => [0x71, dst, src, off, 0],
  stxdw: (dst: number, src: number, off: number): Slot => [0x7b, dst, src, off, 0],
  stdw: (dst: number, off: number, imm: number): Slot => [0x7a, dst, 0, off, imm],
  atomicAdd64: (dst: number, src: number, off: number): Slot => [0xdb, dst, src, off, 0x00],
  jeq: (dst: number, imm: number, off: number): Slot => [0x15, dst, 0, off, imm],
  jne: (dst: number, imm: number, off: number): Slot => [0x55, dst, 0, off, imm],
  ja: (off: number): Slot => [0x05, 0, 0, off, 0],
  call: (id: number): Slot => [0x85, 0, 0, 0, id],
  callLocal: (rel: number): Slot => [0x85, 0, 1, 0, rel],
  exit: (): Slot => [0x95, 0, 0, 0, 0],
  /** Both slots of lddw; `src` 4 makes it a BPF_PSEUDO_FUNC reference with a relative imm. */
  lddw: (dst: number, lo: number, hi = 0, src = 0): Slot[] => [[0x18, dst, src, 0, lo], [0, 0, 0, 0, hi]],
};

function encode(slots: (Slot | Slot[])[]): Uint8Array {
  const flat = slots.flatMap((s) => (Array.isArray(s[0]) ? (s as Slot[]) : [s as Slot]));
  const out = new Uint8Array(flat.length * 8);
  const dv = new DataView(out.buffer);
  flat.forEach(([op, dst, src, off, imm], k) => {
    dv.setUint8(k * 8, op);
    dv.setUint8(k * 8 + 1, (src << 4) | dst);
    dv.setInt16(k * 8 + 2, off, true);
    dv.setInt32(k * 8 + 4, imm, true);
  });
  return out;
}

function machine(helpers: (HelperImpl | undefined)[] = []) {
  const arena = Arena.create({ size: 1 << 20 });
  const stackBase = arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
  const cpu: CpuContext = { arena, cpu: 0, stackBase, helpers, tailCalls: 0, state: {} };
  const compile = (insns: Uint8Array, name = "t"): JitProgram => jitEngine.compile({ insns, progType: 0, name }, arena) as JitProgram;
  return { arena, cpu, compile };
}

const faultOf = (fn: () => unknown): ProgramFault => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProgramFault) return e;
    throw e;
  }
  throw new Error("no fault");
};

describe("JIT engine", () => {
  it("returns r0 as an unsigned 64-bit value", () => {
    const { cpu, compile } = machine();
    expect(compile(encode([I.mov(0, -1), I.exit()])).run(0n, cpu)).toBe(2n ** 64n - 1n);
  });

  it("runInt32: r1 = ctx (unsigned), r0's low 32 bits signed, same faults as run, per CPU", () => {
    const { arena, cpu, compile } = machine();
    // r0 = (0xfffffffe << 32) | (r1 + 0x7fffffff): the high word must not leak into the int32.
    const prog = compile(encode([I.lddw(0, 0, -2), I.movr(2, 1), I.add(2, 0x7fffffff), I.addr(0, 2), I.exit()]));
    expect(prog.runInt32(1, cpu)).toBe(-0x80000000);
    expect(prog.runInt32(0, cpu)).toBe(0x7fffffff);
    expect(BigInt.asIntN(32, prog.run(5n, cpu))).toBe(BigInt(prog.runInt32(5, cpu)));
    // A context above 2^31 reaches the program as an unsigned 32-bit value.
    expect(compile(encode([I.movr(0, 1), [0x77, 0, 0, 0, 31], I.exit()])).runInt32(0x80000000, cpu)).toBe(1);
    const f = faultOf(() => compile(encode([I.mov(2, 0), I.ldxb(0, 2, 0), I.exit()])).runInt32(0, cpu));
    expect(f.pc).toBe(1);
    // A second CPU gets its own instance (its own stack top and cpu id).
    const cpu1: CpuContext = { ...cpu, cpu: 1, stackBase: arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER) };
    const r10 = compile(encode([I.movr(0, 10), I.exit()]));
    expect(r10.runInt32(0, cpu1)).toBe(cpu1.stackBase + STACK_AREA_BYTES);
    expect(r10.runInt32(0, cpu)).toBe(cpu.stackBase + STACK_AREA_BYTES);
    expect(r10.runInt32(0, cpu1)).toBe(cpu1.stackBase + STACK_AREA_BYTES);
  });

  it("faults on a NULL load, naming the instruction, and on a store past the arena", () => {
    const { cpu, compile, arena } = machine();
    const f = faultOf(() => compile(encode([I.mov(0, 0), I.mov(2, 0), I.ldxb(0, 2, 0), I.exit()])).run(0n, cpu));
    expect(f.pc).toBe(2);
    expect(f.reason).toMatch(/invalid read of 1 bytes at 0x0/);
    const g = faultOf(() => compile(encode([I.lddw(2, arena.size - 4), I.stxdw(2, 2, 0), I.exit()])).run(0n, cpu));
    expect(g.pc).toBe(2);
    expect(g.reason).toMatch(/invalid write of 8 bytes/);
    // The last 8 bytes of the arena are fine.
    expect(compile(encode([I.lddw(2, arena.size - 8), I.stxdw(2, 2, 0), I.mov(0, 1), I.exit()])).run(0n, cpu)).toBe(1n);
  });

  it("a passed check does not cover the next bytes: the second load faults", () => {
    const { cpu, compile, arena } = machine();
    const prog = compile(encode([I.lddw(2, arena.size - 8), I.ldxdw(0, 2, 0), I.ldxdw(3, 2, 1), I.exit()]));
    const f = faultOf(() => prog.run(0n, cpu));
    expect(f.pc).toBe(3);
    // Same base and range twice: fine.
    expect(compile(encode([I.lddw(2, arena.size - 8), I.ldxdw(0, 2, 0), I.ldxb(3, 2, 7), I.exit()])).run(0n, cpu)).toBeTypeOf("bigint");
  });

  it("faults on a misaligned atomic", () => {
    const { cpu, compile } = machine();
    const f = faultOf(() => compile(encode([I.mov(2, 1), I.atomicAdd64(10, 2, -12), I.exit()])).run(0n, cpu));
    expect(f.pc).toBe(1);
    expect(f.reason).toMatch(/misaligned atomic/);
  });

  it("faults on the ninth call frame, at the call", () => {
    const { cpu, compile } = machine();
    // main: call f; exit.   f: call f; exit.
    const f = faultOf(() => compile(encode([I.callLocal(1), I.exit(), I.callLocal(-1), I.exit()])).run(0n, cpu));
    expect(f.pc).toBe(2);
    expect(f.reason).toMatch(/8 frames/);
  });

  it("gives each frame its own 512-byte stack", () => {
    const { cpu, compile } = machine();
    // main writes 5 at r10-8, calls f, which writes 9 at its r10-8 and returns its r10.
    // r0 = (main's r10 - f's r10) + main's slot, which f did not touch.
    const main = encode([
      I.stdw(10, -8, 5), I.callLocal(6), I.movr(3, 10), [0x1f, 3, 0, 0, 0], I.ldxdw(4, 10, -8), I.addr(3, 4), I.movr(0, 3), I.exit(),
      I.stdw(10, -8, 9), I.movr(0, 10), I.exit(),
    ]);
    expect(compile(main).run(0n, cpu)).toBe(512n + 5n);
  });

  it("calls helpers with unsigned arguments and reports unknown ones", () => {
    let seen: bigint[] = [];
    const { cpu, compile } = machine([undefined, (_c, a, b) => ((seen = [a, b]), 42n)]);
    expect(compile(encode([I.mov(1, -1), I.mov(2, 3), I.call(1), I.exit()])).run(0n, cpu)).toBe(42n);
    expect(seen).toEqual([2n ** 64n - 1n, 3n]);
    const f = faultOf(() => compile(encode([I.call(99), I.exit()])).run(0n, cpu));
    expect(f.pc).toBe(0);
    expect(f.reason).toMatch(/unknown helper 99/);
  });

  it("runs callbacks (bpf_loop style) in a new frame", () => {
    // helper 181 calls callback r2 three times with (i, r3) and sums the results.
    const loop: HelperImpl = (c, _n, fn, ctx) => {
      let s = 0n;
      for (let i = 0n; i < 3n; i++) s += c.callback!(Number(fn), i, ctx, 0n, 0n, 0n);
      return s;
    };
    const helpers: (HelperImpl | undefined)[] = [];
    helpers[181] = loop;
    const { cpu, compile } = machine(helpers);
    // main: r2 = &cb (lddw src 4, imm relative), r3 = 10, call 181, exit.   cb: r0 = r1 + r2; exit.
    const prog = encode([I.lddw(2, 4, 0, 4), I.mov(3, 10), I.call(181), I.exit(), I.movr(0, 1), I.addr(0, 2), I.exit()]);
    expect(compile(prog).run(0n, cpu)).toBe(0n + 1n + 2n + 30n);
  });

  it("tail calls: the target replaces the caller; at most 33; a miss falls through with r0 kept", () => {
    const { cpu, compile } = machine();
    const target = compile(encode([I.movr(0, 1), I.add(0, 100), I.exit()]), "target");
    const caller = compile(encode([I.mov(0, 7), I.call(12), I.mov(0, 1), I.exit()]), "caller");
    cpu.tailCallTarget = (_map, index) => (index === 1 ? target : undefined);
    cpu.tailCalls = 0;
    // r3 (index) is 0 at entry: miss, falls through.
    expect(caller.run(5n, cpu)).toBe(1n);
    const hit = compile(encode([I.mov(3, 1), I.mov(0, 7), I.call(12), I.exit()]), "hit");
    expect(hit.run(5n, cpu)).toBe(105n);
    expect(cpu.tailCalls).toBe(1);
    // A program that tail-calls itself: 33 calls, then the 34th fails and it returns r0.
    const self: CompiledProgram = compile(encode([I.mov(3, 1), I.mov(0, 7), I.call(12), I.exit()]), "self");
    cpu.tailCallTarget = () => self;
    cpu.tailCalls = 0;
    expect(self.run(0n, cpu)).toBe(7n);
    expect(cpu.tailCalls).toBe(33);
  });

  it("caches modules by program bytes; a module runs on another arena of the same size", () => {
    const a = machine();
    const b = machine();
    const insns = encode([I.mov(0, 3), I.exit()]);
    expect(compileJitModule(insns, a.arena)).toBe(compileJitModule(insns, a.arena));
    const p = JitProgram.fromModule(compileJitModule(insns, a.arena), a.arena.size);
    expect(p.run(0n, b.cpu)).toBe(3n);
    expect(p.run(0n, a.cpu)).toBe(3n);
  });

  it("a module posted to another thread's port runs there without a compile (compile once, instantiate per CPU)", async () => {
    const { arena, cpu } = machine();
    const insns = encode([I.movr(0, 1), I.add(0, 0x5e1), I.exit()]);
    const module = compileJitModule(insns, arena);
    const { port1, port2 } = new MessageChannel();
    try {
      const received = new Promise<WebAssembly.Module>((res) => port2.once("message", (m) => res(m as WebAssembly.Module)));
      port1.postMessage(module);
      const copy = await received;
      expect(copy).toBeInstanceOf(WebAssembly.Module);
      const before = jitCompileCount();
      const p = JitProgram.fromModule(copy, arena.size, "posted");
      expect(p.run(7n, cpu)).toBe(7n + 0x5e1n);
      expect(p.runInt32(9, cpu)).toBe(9 + 0x5e1);
      expect(jitCompileCount()).toBe(before);
    } finally {
      port1.close();
    }
  });

  it("refuses a CPU whose arena or stack does not fit the module", () => {
    const a = machine();
    const small = Arena.create({ size: 1 << 18 });
    const p = a.compile(encode([I.mov(0, 3), I.exit()]));
    expect(() => p.run(0n, { ...a.cpu, arena: small })).toThrow(BpfError);
    expect(() => p.run(0n, { ...a.cpu, stackBase: 0 })).toThrow(/stack area/);
  });

  it("rejects malformed programs with EINVAL and compiles nothing", () => {
    const { compile } = machine();
    for (const bad of [
      encode([I.ja(5), I.exit()]), // jump out of the program
      encode([I.mov(0, 1)]), // falls off the end
      encode([I.ja(1), I.lddw(0, 1), I.exit()]), // jump into lddw
      new Uint8Array(12), // ragged
      encode([[0x8f, 0, 0, 0, 0], I.exit()]), // neg with a register source
      encode([[0xff, 0, 0, 0, 0], I.exit()]), // unknown ALU64 opcode
      encode([[0x20, 0, 0, 0, 0], I.exit()]), // legacy packet load
      encode([[0xdb, 10, 1, -8, 0xe0], I.exit()]), // xchg without BPF_FETCH: no such instruction
      encode([[0xc3, 10, 1, -8, 0xf0], I.exit()]), // cmpxchg32 without BPF_FETCH
      encode([[0xdb, 10, 1, -8, 0x10], I.exit()]), // unknown atomic op (sub)
    ]) {
      expect(() => compile(bad)).toThrow(expect.objectContaining({ errno: 22 }));
    }
  });

  it("structures reducible loops and uses a dispatch loop only for irreducible ones", () => {
    // Counted loop: reducible.
    const loop = encode([I.mov(0, 0), I.add(0, 1), I.jne(0, 5, -2), I.exit()]);
    expect(translate(loop, 1 << 20).dispatchFunctions).toEqual([]);
    // Two entries into one loop: irreducible.
    const irreducible = encode([
      I.mov(0, 0), I.mov(3, 4), I.jeq(1, 0, 1), // -> B
      I.add(0, 1), // A
      I.add(0, 2), // B
      I.add(3, -1), I.jne(3, 0, -4), // -> A
      I.exit(),
    ]);
    expect(translate(irreducible, 1 << 20).dispatchFunctions).toEqual([0]);
    const { cpu, compile } = machine();
    // r1 = 0: enters at B: 2 + 3 * 3 = 11.  r1 = 1: enters at A: 4 * 3 = 12.
    expect(compile(irreducible).run(0n, cpu)).toBe(11n);
    expect(compile(irreducible).run(1n, cpu)).toBe(12n);
  });
});
