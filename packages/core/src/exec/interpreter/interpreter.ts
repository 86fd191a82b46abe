/**
 * The reference engine: runs eBPF instruction by instruction. The JIT is
 * tested against it, so it favours exactness; it is also fast (see
 * exec-loop.ts for the representation) and can single-step and trace.
 *
 * Compile (syscall context, any thread): decode + validate + pre-decode.
 * Run (program context on one CPU): a fresh VmState per run, so one
 * compiled program can run on several CPUs at once.
 */
import type { ArenaApi } from "../../memory/arena-api.js";
import type { CompiledProgram, CpuContext, ExecutionEngine, ProgImage } from "../engine.js";
import { ProgramFault } from "../engine.js";
import { predecode, type Predecoded } from "./predecode.js";
import { VmState, VM_EXITED, VM_PAUSED } from "./state.js";
import { execute } from "./exec-loop.js";
import { MAX_CALL_FRAMES } from "../../uapi.js";

/** Called before each instruction when tracing: slot index, frame depth, the state (read-only by convention). */
export type TraceHook = (pc: number, depth: number, st: VmState) => void;

export interface InterpreterOptions {
  /**
   * Stop a run with a ProgramFault after this many instructions. Linux has
   * no such limit (the verifier proves termination); it is a safety net for
   * unverified programs in tests and tools. Default: none.
   */
  readonly maxInsns?: number;
  /** Called before every instruction (slow path; for debuggers and tests). */
  readonly trace?: TraceHook;
}

/** Result of `InterpreterProgram.step`. */
export type StepResult = { readonly done: false; readonly pc: number } | { readonly done: true; readonly r0: bigint };

/** A program compiled for the interpreter. */
export class InterpreterProgram implements CompiledProgram {
  /** Instructions executed by the last completed `run` on this object (all frames). */
  lastInsnCount = 0;

  constructor(
    readonly code: Predecoded,
    private readonly opts: InterpreterOptions = {},
  ) {}

  /** A state kept between runs (taken while a run uses it, so nested runs get their own). */
  private spare: VmState | undefined = undefined;

  /** Runs with r1 = ctx to completion; returns r0 (unsigned 64-bit). */
  run(ctx: bigint, cpu: CpuContext): bigint {
    let st = this.spare;
    this.spare = undefined;
    if (st) st.stackBase = cpu.stackBase;
    else st = new VmState(cpu.stackBase);
    st.reset(0, ctx);
    try {
      return this.runState(st, cpu);
    } finally {
      st.tailTarget = undefined;
      st.cpu = undefined;
      this.spare = st;
    }
  }

  /**
   * The event path's entry (CompiledProgram.runInt32): r1 = ctx (u32), r0's
   * low 32 bits as a signed int32, no BigInt unless a tail call is taken.
   */
  runInt32(ctx: number, cpu: CpuContext): number {
    let st = this.spare;
    this.spare = undefined;
    if (st) st.stackBase = cpu.stackBase;
    else st = new VmState(cpu.stackBase);
    st.resetU32(0, ctx);
    try {
      const limit = this.opts.maxInsns ?? -1;
      const r = this.exec(st, cpu, limit, 0);
      if (r === VM_PAUSED) throw new ProgramFault(st.pc, `instruction limit of ${limit} reached`);
      this.lastInsnCount = st.insns;
      if (r === VM_EXITED) return st.lo[0]!;
      return Number(BigInt.asIntN(32, this.finish(st, r, cpu)));
    } finally {
      st.tailTarget = undefined;
      st.cpu = undefined;
      this.spare = st;
    }
  }

  /**
   * Starts a run that the caller advances with `step`, for single-stepping
   * and for the stepped machine mode (one instruction at a time per CPU).
   */
  start(ctx: bigint, cpu: CpuContext): VmState {
    const st = new VmState(cpu.stackBase);
    st.reset(0, ctx);
    return st;
  }

  /**
   * Executes up to `count` instructions of a run begun with `start`.
   * Helper calls, callbacks and tail-called programs run to completion
   * inside the step that calls them.
   */
  step(st: VmState, cpu: CpuContext, count = 1): StepResult {
    const r = this.exec(st, cpu, count, 0);
    if (r === VM_PAUSED) return { done: false, pc: st.pc };
    return { done: true, r0: this.finish(st, r, cpu) };
  }

  private runState(st: VmState, cpu: CpuContext): bigint {
    const limit = this.opts.maxInsns ?? -1;
    const r = this.exec(st, cpu, limit, 0);
    if (r === VM_PAUSED) throw new ProgramFault(st.pc, `instruction limit of ${limit} reached`);
    this.lastInsnCount = st.insns;
    return this.finish(st, r, cpu);
  }

  private finish(st: VmState, status: number, cpu: CpuContext): bigint {
    if (status === VM_EXITED) return st.getReg(0);
    // Tail call: the target replaces this program, with r1 (ctx) as the helper got it.
    const target = st.tailTarget as CompiledProgram;
    return target.run(st.getReg(1), cpu);
  }

  /** One stretch of execution with `cpu.callback` pointing at this run. */
  private exec(st: VmState, cpu: CpuContext, limit: number, entryDepth: number): number {
    const prev = cpu.callback;
    st.cpu = cpu;
    st.callbackFn ??= (insnIndex, r1, r2, r3, r4, r5) => this.callback(st, st.cpu as CpuContext, insnIndex, r1, r2, r3, r4, r5);
    cpu.callback = st.callbackFn;
    try {
      if (!this.opts.trace) return execute(this.code, st, cpu, limit, entryDepth);
      // Tracing: one instruction per call so the hook sees every pc.
      for (let left = limit; left !== 0; left--) {
        this.opts.trace(st.pc, st.depth, st);
        const r = execute(this.code, st, cpu, 1, entryDepth);
        if (r !== VM_PAUSED) return r;
      }
      return VM_PAUSED;
    } finally {
      cpu.callback = prev;
    }
  }

  /**
   * Runs subprogram `insnIndex` as a callback (bpf_loop, for_each_map_elem)
   * in a new frame, and returns its r0. The caller's registers are kept.
   */
  private callback(st: VmState, cpu: CpuContext, insnIndex: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint {
    if (!Number.isInteger(insnIndex) || insnIndex < 0 || insnIndex >= this.code.len || this.code.entries[insnIndex] !== 1) {
      throw new ProgramFault(st.pc, `callback target ${insnIndex} is not a subprogram`);
    }
    const k = st.depth + 1;
    if (k >= MAX_CALL_FRAMES) throw new ProgramFault(st.pc, `the call stack of ${MAX_CALL_FRAMES} frames is too deep`);
    // Frames above the caller's are the only ones the callback touches, so
    // saving the caller's registers (all of them: helpers may look at r1-r5
    // after the callback returns) plus pc and depth restores everything.
    const save = st.cbSave;
    const at = k * 22;
    for (let r = 0; r < 11; r++) {
      save[at + 2 * r] = st.lo[r]!;
      save[at + 2 * r + 1] = st.hi[r]!;
    }
    const savePc = st.pc;
    const saveDepth = st.depth;
    st.depth = k;
    st.pc = insnIndex;
    st.setReg(1, r1);
    st.setReg(2, r2);
    st.setReg(3, r3);
    st.setReg(4, r4);
    st.setReg(5, r5);
    st.lo[10] = st.framePointer(k);
    st.hi[10] = 0;
    const r = execute(this.code, st, cpu, -1, k);
    if (r !== VM_EXITED) throw new ProgramFault(st.pc, "tail call inside a callback");
    const r0 = st.getReg(0);
    for (let r = 0; r < 11; r++) {
      st.lo[r] = save[at + 2 * r]!;
      st.hi[r] = save[at + 2 * r + 1]!;
    }
    st.pc = savePc;
    st.depth = saveDepth;
    return r0;
  }
}

/** Creates an interpreter engine; `interpreterEngine` is the default instance. */
export function createInterpreter(opts: InterpreterOptions = {}): ExecutionEngine {
  return {
    name: "interpreter",
    compile(image: ProgImage, _arena: ArenaApi): CompiledProgram {
      return new InterpreterProgram(predecode(image.insns), opts);
    },
  };
}

/** The interpreter engine with default options. */
export const interpreterEngine: ExecutionEngine = createInterpreter();
