/**
 * The JIT engine: verified eBPF -> one WebAssembly module per program, which
 * imports the arena's shared memory and runs at native wasm speed.
 *
 * Lifetime:
 *   compile(image, arena)  translate + `new WebAssembly.Module` (cached by
 *                          program bytes and arena size);
 *   run(ctx, cpu)          instantiates the module for that CpuContext on
 *                          first use (cached per CPU), with the CPU's glue
 *                          table (glue.ts), and calls f0;
 *   runInt32(ctx, cpu)     the same through e0, the event path's entry: no
 *                          BigInt crosses (an i64 result would allocate one
 *                          per run);
 *   runRepeatInt32(...)    n runs through e0 (test-run repeats).
 * The module holds no CPU state, so it can be posted to a worker and turned
 * back into a program there with `JitProgram.fromModule`.
 *
 * Context: compile on any thread; run on the CPU that owns `cpu`.
 */
import { BpfError, Errno } from "../../errno.js";
import { ARENA_RESERVED, type ArenaApi } from "../../memory/arena-api.js";
import { registerEngine } from "../engines.js";
import type { CompiledProgram, CpuContext, ExecutionEngine, ProgImage } from "../engine.js";
import { ENTRY32_EXPORT, FRAME_BYTES, MAX_CALL_FRAMES } from "./frame.js";
import { cpuGlue, type CpuGlue, type WasmFn } from "./glue.js";
import { decodeInsns } from "./decode.js";
import { planInlines, planKey } from "./inline-helpers.js";
import { translateDecoded } from "./translate.js";

/** One instance of a program's module, bound to one CpuContext. */
interface Runner {
  readonly main: WasmFn;
  /** ENTRY32_EXPORT: (ctx) -> low 32 bits of r0. */
  readonly main32: (ctx: number) => number;
  readonly exports: WebAssembly.Exports;
  readonly glue: CpuGlue;
}

/** wasm hands i64 to JS signed; programs see u64. */
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** A program compiled to wasm. `module` may be posted to another thread. */
export class JitProgram implements CompiledProgram {
  private readonly runners = new WeakMap<CpuContext, Runner>();
  /** The last CPU run on and its runner: a thread runs one CPU, so this skips the WeakMap. */
  private lastCpu: CpuContext | undefined;
  private lastRunner: Runner | undefined;

  private constructor(
    readonly module: WebAssembly.Module,
    /** Arena size the module was built for (its memory import). */
    readonly arenaSize: number,
    /** Program name (diagnostics). */
    readonly name: string,
  ) {}

  /** Wraps a module made by `compileJitModule` (e.g. received from another thread). */
  static fromModule(module: WebAssembly.Module, arenaSize: number, name = ""): JitProgram {
    return new JitProgram(module, arenaSize, name);
  }

  /** Runs with r1 = ctx; returns r0 as an unsigned 64-bit bigint. Throws ProgramFault. */
  run(ctx: bigint, cpu: CpuContext): bigint {
    return this.enter(cpu, 0, ctx, 0n, 0n, 0n, 0n);
  }

  /**
   * Runs with explicit r1..r5 (test runners: the conformance corpus passes the
   * memory length in r2). Program on a CPU.
   */
  runWithArgs(args: readonly bigint[], cpu: CpuContext): bigint {
    return this.enter(cpu, 0, args[0] ?? 0n, args[1] ?? 0n, args[2] ?? 0n, args[3] ?? 0n, args[4] ?? 0n);
  }

  /** Runs in frame `depth` (a tail call keeps the caller's frame). Program on a CPU. */
  runAt(ctx: bigint, cpu: CpuContext, depth: number): bigint {
    return this.enter(cpu, depth, ctx, 0n, 0n, 0n, 0n);
  }

  /**
   * The event path's entry: r1 = ctx, r0's low 32 bits as a signed int32,
   * without a BigInt in either direction. Program on a CPU.
   */
  runInt32(ctx: number, cpu: CpuContext): number {
    const r = cpu === this.lastCpu ? this.lastRunner! : this.runnerFor(cpu);
    const g = r.glue;
    const savedCurrent = g.current;
    const savedCallback = cpu.callback;
    g.current = r.exports;
    cpu.callback = g.callback;
    try {
      return r.main32(ctx);
    } finally {
      g.current = savedCurrent;
      cpu.callback = savedCallback;
    }
  }

  /**
   * `n` runs through e0 with one entry's bookkeeping (glue.current,
   * cpu.callback) for all of them; tail-call counts start at 0 for each run.
   * Program on a CPU.
   */
  runRepeatInt32(ctx: number, cpu: CpuContext, n: number): void {
    const r = cpu === this.lastCpu ? this.lastRunner! : this.runnerFor(cpu);
    const g = r.glue;
    const savedCurrent = g.current;
    const savedCallback = cpu.callback;
    g.current = r.exports;
    cpu.callback = g.callback;
    const main32 = r.main32;
    try {
      for (let i = 0; i < n; i++) {
        cpu.tailCalls = 0;
        main32(ctx);
      }
    } finally {
      g.current = savedCurrent;
      cpu.callback = savedCallback;
    }
  }

  private runnerFor(cpu: CpuContext): Runner {
    const r = this.runners.get(cpu) ?? this.instantiate(cpu);
    this.lastCpu = cpu;
    this.lastRunner = r;
    return r;
  }

  private enter(cpu: CpuContext, depth: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint {
    const r = cpu === this.lastCpu ? this.lastRunner! : this.runnerFor(cpu);
    const g = r.glue;
    // callx and helpers' callbacks reach the running program through the glue.
    const savedCurrent = g.current;
    const savedCallback = cpu.callback;
    g.current = r.exports;
    cpu.callback = g.callback;
    try {
      return u64(r.main(r1, r2, r3, r4, r5, depth));
    } finally {
      g.current = savedCurrent;
      cpu.callback = savedCallback;
    }
  }

  private instantiate(cpu: CpuContext): Runner {
    if (cpu.arena.size !== this.arenaSize) {
      throw new BpfError(Errno.EINVAL, `program was compiled for a ${this.arenaSize}-byte arena, CPU ${cpu.cpu} has ${cpu.arena.size}`);
    }
    // In-frame stack accesses are not bounds-checked (frame.ts), so the
    // stack area itself must lie inside the program-addressable arena.
    if (!(cpu.stackBase >= ARENA_RESERVED && cpu.stackBase + MAX_CALL_FRAMES * FRAME_BYTES <= cpu.arena.size)) {
      throw new BpfError(Errno.EINVAL, `CPU ${cpu.cpu} stack area at ${cpu.stackBase} is outside the arena`);
    }
    const glue = cpuGlue(cpu);
    const imports: WebAssembly.Imports = {
      env: {
        mem: cpu.arena.memory,
        glue: glue.table,
        stack_top: new WebAssembly.Global({ value: "i64", mutable: false }, BigInt(cpu.stackBase + MAX_CALL_FRAMES * FRAME_BYTES)),
        cpu_id: new WebAssembly.Global({ value: "i64", mutable: false }, BigInt(cpu.cpu)),
      },
    };
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(this.module, imports);
    } catch (e) {
      throw new BpfError(Errno.EINVAL, `cannot instantiate JIT module: ${(e as Error).message}`);
    }
    const runner: Runner = {
      main: instance.exports.f0 as WasmFn,
      main32: instance.exports[ENTRY32_EXPORT] as (ctx: number) => number,
      exports: instance.exports,
      glue,
    };
    this.runners.set(cpu, runner);
    return runner;
  }
}

/** Program modules this thread compiled (cache hits and posted modules not counted). */
let compiles = 0;

/**
 * How many program modules this thread has compiled so far: a machine
 * compiles each program once and posts the module to its CPUs, whose count
 * then stays 0 (observability and tests). Any thread.
 */
export function jitCompileCount(): number {
  return compiles;
}

/** Module cache: key -> (program bytes, module). Bounded; oldest entries leave first. */
const CACHE_LIMIT = 256;
const moduleCache = new Map<string, { insns: Uint8Array; module: WebAssembly.Module }>();

function cacheKey(insns: Uint8Array, arenaSize: number): string {
  // FNV-1a over the bytes; equal keys are confirmed by comparing bytes.
  let h = 0x811c9dc5;
  for (let i = 0; i < insns.length; i++) h = Math.imul(h ^ insns[i]!, 0x01000193);
  return `${arenaSize}:${insns.length}:${(h >>> 0).toString(16)}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Translates and compiles a program for `arena` (or, given only a size, for
 * any arena of that size, without inline map lookups), reusing a cached
 * module for identical bytes and inline plan (`cache: false` always
 * compiles, for measuring). Throws BpfError(EINVAL) for a program the JIT
 * cannot place. Any thread.
 */
export function compileJitModule(insns: Uint8Array, arena: ArenaApi | number, opts: { cache?: boolean } = {}): WebAssembly.Module {
  const useCache = opts.cache ?? true;
  const arenaSize = typeof arena === "number" ? arena : arena.size;
  const ins = decodeInsns(insns);
  const plan = planInlines(ins, typeof arena === "number" ? undefined : arena);
  const key = `${cacheKey(insns, arenaSize)}|${planKey(plan)}`;
  const hit = useCache ? moduleCache.get(key) : undefined;
  if (hit && sameBytes(hit.insns, insns)) {
    moduleCache.delete(key);
    moduleCache.set(key, hit);
    return hit.module;
  }
  const { bytes } = translateDecoded(ins, arenaSize, plan);
  let module: WebAssembly.Module;
  try {
    compiles++;
    module = new WebAssembly.Module(bytes);
  } catch (e) {
    // A translator bug, not a user error; still surfaced as a BpfError.
    throw new BpfError(Errno.EINVAL, `JIT produced an invalid module: ${(e as Error).message}`);
  }
  if (!useCache) return module;
  moduleCache.set(key, { insns: insns.slice(), module });
  if (moduleCache.size > CACHE_LIMIT) moduleCache.delete(moduleCache.keys().next().value!);
  return module;
}

/** The JIT as an ExecutionEngine. */
export const jitEngine: ExecutionEngine = {
  name: "jit",
  compile(image: ProgImage, arena: ArenaApi): CompiledProgram {
    return JitProgram.fromModule(compileJitModule(image.insns, arena), arena.size, image.name);
  },
};

registerEngine(jitEngine);
