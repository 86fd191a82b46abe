/**
 * Interpreter behaviour beyond the corpus: memory faults, call frames,
 * helpers, tail calls, callbacks, callx, atomics, single-stepping.
 */
import { describe, it, expect } from "vitest";
import {
  Arena,
  KERNEL_OWNER,
  ProgramFault,
  STACK_AREA_BYTES,
  createInterpreter,
  interpreterEngine,
  InterpreterProgram,
  getEngine,
  type CompiledProgram,
  type CpuContext,
  type HelperImpl,
} from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";
import fc from "fast-check";
import { encodeProgram, BpfError } from "@bpfsim/core";
import { validInsn } from "./arbitraries.js";

const arena = Arena.create({ size: 1 << 20 });
const stackBase = arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
const buf = arena.alloc(4096, KERNEL_OWNER);

function cpuWith(helpers: (HelperImpl | undefined)[] = [], extra: Partial<CpuContext> = {}): CpuContext {
  return { arena, cpu: 0, stackBase, helpers, tailCalls: 0, state: {}, ...extra };
}

function compile(src: string, engine = interpreterEngine): CompiledProgram {
  return engine.compile({ insns: assemble(src), progType: 0, name: "t" }, arena);
}

const run = (src: string, ctx = 0n, cpu = cpuWith()) => compile(src).run(ctx, cpu);

function faultOf(fn: () => unknown): ProgramFault {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProgramFault) return e;
    throw e;
  }
  throw new Error("no fault");
}

describe("interpreter memory", () => {
  it("faults on NULL and outside the arena, naming the instruction, without writing", () => {
    expect(faultOf(() => run("mov %r0, 0\nldxw %r0, [%r1+0]\nexit")).pc).toBe(1);
    const end = arena.size - 4;
    arena.u8.fill(0xab, end, arena.size);
    const f = faultOf(() => run(`lddw %r1, ${end}\nstdw [%r1+0], -1\nexit`));
    expect(f.pc).toBe(2);
    expect(f.errno).toBe(14);
    expect(Array.from(arena.u8.subarray(end))).toEqual([0xab, 0xab, 0xab, 0xab]);
    expect(run(`lddw %r1, ${end}\nldxw %r0, [%r1+0]\nexit`)).toBe(0xababababn);
    expect(faultOf(() => run("lddw %r1, 0x100010000\nldxb %r0, [%r1+0]\nexit")).reason).toMatch(/invalid read/);
    expect(faultOf(() => run(`lddw %r1, ${buf}\nldxb %r0, [%r1-0x7fff]\nexit`)).reason).toMatch(/invalid read/);
  });

  it("loads and stores every size, with and without sign extension", () => {
    const r = run(`
      stdw [%r10-8], -2
      ldxb %r1, [%r10-8]
      ldxsb %r2, [%r10-8]
      ldxh %r3, [%r10-8]
      ldxsh %r4, [%r10-8]
      ldxw %r5, [%r10-8]
      ldxsw %r6, [%r10-8]
      ldxdw %r7, [%r10-8]
      mov %r0, 0
      jne %r1, 0xfe, fail
      jne %r2, -2, fail
      jne %r3, 0xfffe, fail
      jne %r4, -2, fail
      mov32 %r8, -2
      jne %r5, %r8, fail
      jne %r6, -2, fail
      jne %r7, -2, fail
      stdw [%r10-16], 0
      stb [%r10-16], 1
      sth [%r10-15], 0x0302
      stxw [%r10-13], %r1
      ldxdw %r0, [%r10-16]
      exit
      fail:
      mov %r0, -1
      exit`);
    expect(r).toBe(0x000000fe030201n);
  });
});

describe("interpreter calls", () => {
  it("gives each frame its own stack and preserves r6-r9", () => {
    const r = run(`
      stdw [%r10-8], 11
      mov %r6, 6
      call local f
      ldxdw %r1, [%r10-8]
      jne %r1, 11, fail
      jne %r6, 6, fail
      exit
      fail:
      mov %r0, -1
      exit
      f:
      stdw [%r10-8], 22
      mov %r6, 0
      mov %r0, 5
      exit`);
    expect(r).toBe(5n);
  });

  it("allows 8 frames and faults beyond", () => {
    const depth = (n: number) => {
      const lines = [];
      for (let k = 0; k < n; k++) lines.push(`call local f${k}`, "exit", `f${k}:`);
      lines.push("mov %r0, 1", "exit");
      return lines.join("\n");
    };
    expect(run(depth(7))).toBe(1n);
    expect(faultOf(() => run(depth(8))).reason).toMatch(/too deep/);
  });

  it("calls helpers with r1-r5 and faults on an unknown id", () => {
    const seen: bigint[] = [];
    const helpers: HelperImpl[] = [];
    helpers[7] = (_cpu, a, b, c, d, e) => {
      seen.push(a, b, c, d, e);
      return a + b + c + d + e;
    };
    const src = "mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, -1\ncall 7\nexit";
    expect(run(src, 0n, cpuWith(helpers))).toBe(9n);
    expect(seen).toEqual([1n, 2n, 3n, 4n, (1n << 64n) - 1n]);
    expect(faultOf(() => run("call 8\nexit", 0n, cpuWith(helpers))).reason).toMatch(/unknown helper 8/);
  });

  it("takes tail calls in place of the caller, at most 33", () => {
    const target = compile("mov %r0, %r1\nadd %r0, 100\nexit");
    const cpu = cpuWith([], { tailCallTarget: (mapOff, idx) => (mapOff === 0x1234 && idx === 2 ? target : undefined) });
    expect(run("lddw %r2, 0x1234\nmov %r3, 2\ncall 12\nmov %r0, 7\nexit", 5n, cpu)).toBe(105n);
    expect(cpu.tailCalls).toBe(1);
    cpu.tailCalls = 0;
    expect(run("lddw %r2, 0x1234\nmov %r3, 3\ncall 12\nmov %r0, 7\nexit", 5n, cpu)).toBe(7n);
    // A program that tail-calls itself stops after 33 and falls through.
    let self: CompiledProgram | undefined;
    const loop = compile("call 12\nmov %r0, 9\nexit");
    self = loop;
    const cpu2 = cpuWith([], { tailCallTarget: () => self });
    expect(loop.run(0n, cpu2)).toBe(9n);
    expect(cpu2.tailCalls).toBe(33);
  });

  it("runs callbacks for helpers (bpf_loop shape) and keeps the caller's registers", () => {
    const helpers: HelperImpl[] = [];
    // bpf_loop(nr_loops, callback_fn, callback_ctx, flags): sum of the callback's results here.
    helpers[181] = (cpu, n, fn, ctx) => {
      let sum = 0n;
      for (let i = 0n; i < n; i++) sum += cpu.callback!(Number(fn), i, ctx, 0n, 0n, 0n);
      return sum;
    };
    const r = run(
      `mov %r6, 66
       mov %r1, 5
       lddw %r2, func cb
       mov %r3, 10
       call 181
       jne %r6, 66, fail
       exit
       fail:
       mov %r0, -1
       exit
       cb:
       mov %r0, %r1
       add %r0, %r2
       mov %r6, 0
       exit`,
      0n,
      cpuWith(helpers),
    );
    expect(r).toBe(10n + 11n + 12n + 13n + 14n);
  });

  it("callx: subprogram entries are local calls, helper ids are helper calls, anything else faults", () => {
    const helpers: HelperImpl[] = [];
    helpers[5] = (_c, a) => a;
    expect(run("lddw %r3, func f\ncall %r3\nexit\nf:\nmov %r0, 42\nexit", 0n, cpuWith(helpers))).toBe(42n);
    expect(run("mov %r1, 3\nmov %r2, 5\ncall %r2\nexit", 0n, cpuWith(helpers))).toBe(3n);
    expect(faultOf(() => run("mov %r2, 1\ncall %r2\nexit", 0n, cpuWith(helpers))).reason).toMatch(/neither/);
  });
});

describe("interpreter atomics", () => {
  it("fetch variants, xchg, cmpxchg, 32-bit zero extension, alignment", () => {
    expect(run("stdw [%r10-8], 5\nmov %r1, 3\nlock fetch add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nor %r0, %r1\nexit")).toBe(0x805n);
    expect(run("stdw [%r10-8], 5\nlddw %r0, 0xffffffff00000005\nmov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nldxdw %r1, [%r10-8]\nlsh %r1, 32\nor %r0, %r1\nexit")).toBe(
      0x0000000900000005n,
    );
    expect(run("stdw [%r10-8], 5\nmov %r0, 4\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r1, [%r10-8]\nlsh %r1, 8\nor %r0, %r1\nexit")).toBe(0x505n);
    expect(run("stdw [%r10-8], 5\nmov %r1, 9\nlock xchg [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nor %r0, %r1\nexit")).toBe(0x905n);
    expect(faultOf(() => run("mov %r1, 1\nlock add [%r10-6], %r1\nexit")).reason).toMatch(/misaligned/);
  });
});

describe("interpreter stepping and tracing", () => {
  it("single-steps with the same result as run, and traces every pc", () => {
    const src = "mov %r0, 0\nmov %r1, 4\nl:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, l\nexit";
    const prog = compile(src) as InterpreterProgram;
    const cpu = cpuWith();
    const st = prog.start(0n, cpu);
    let steps = 0;
    let r;
    do {
      r = prog.step(st, cpu);
      steps++;
    } while (!r.done);
    expect(r.r0).toBe(10n);
    expect(steps).toBe(2 + 4 * 3 + 1);
    const pcs: number[] = [];
    const traced = createInterpreter({ trace: (pc) => pcs.push(pc) }).compile({ insns: assemble(src), progType: 0, name: "t" }, arena);
    expect(traced.run(0n, cpu)).toBe(10n);
    expect(pcs.slice(0, 6)).toEqual([0, 1, 2, 3, 4, 2]);
    expect(pcs.length).toBe(steps);
    expect((prog.run(0n, cpu), prog.lastInsnCount)).toBe(steps);
  });

  it("stops an endless program at maxInsns", () => {
    const e = createInterpreter({ maxInsns: 1000 });
    expect(faultOf(() => compile("l:\nja l", e).run(0n, cpuWith())).reason).toMatch(/limit/);
  });

  it("is registered as the interpreter engine and refuses invalid code", () => {
    expect(getEngine("interpreter")).toBe(interpreterEngine);
    expect(() => interpreterEngine.compile({ insns: new Uint8Array(8), progType: 0, name: "bad" }, arena)).toThrow(/unknown opcode/);
  });
});

describe("interpreter on random programs", () => {
  it("either refuses the code (BpfError) or ends with a result or a ProgramFault, never another exception", () => {
    const scratch = Arena.create({ size: 1 << 20 });
    const sb = scratch.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
    const cpu: CpuContext = { arena: scratch, cpu: 0, stackBase: sb, helpers: [], tailCalls: 0, state: {} };
    const engine = createInterpreter({ maxInsns: 10_000 });
    fc.assert(
      fc.property(fc.array(validInsn, { minLength: 1, maxLength: 12 }), (is) => {
        let prog: CompiledProgram;
        try {
          prog = engine.compile({ insns: encodeProgram(is), progType: 0, name: "rnd" }, scratch);
        } catch (e) {
          expect(e).toBeInstanceOf(BpfError);
          return;
        }
        try {
          const r = prog.run(BigInt(sb), cpu);
          expect(typeof r).toBe("bigint");
          expect(r >= 0n && r < 1n << 64n).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(ProgramFault);
        }
      }),
      { numRuns: 300 },
    );
  });
});
