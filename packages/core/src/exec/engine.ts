/**
 * The one seam between the kernel layer and the engines that run programs.
 * The interpreter (`exec/interpreter/`) is the reference; the JIT
 * (`exec/jit/`) must agree with it on every program.
 *
 * Memory model shared by both engines: a pointer is a byte offset into the
 * machine's arena, held as a 64-bit register value. An access of `n` bytes at
 * `addr` is valid only if ARENA_RESERVED <= addr and addr + n <= arena.size;
 * anything else stops the program with a `ProgramFault` (never a write).
 */
import type { ArenaApi } from "../memory/arena-api.js";
import { BpfError, Errno } from "../errno.js";

/** A program ready to compile: load-time rewrites already applied. */
export interface ProgImage {
  /**
   * 8-byte instruction slots. `lddw` pseudo forms are already resolved:
   * a map reference holds the map's header offset, a map value reference
   * holds the value's arena address.
   */
  readonly insns: Uint8Array;
  readonly progType: number;
  readonly name: string;
}

/** Helper implementation: Linux's calling convention, r1..r5 in, r0 out. */
export type HelperImpl = (
  cpu: CpuContext,
  r1: bigint,
  r2: bigint,
  r3: bigint,
  r4: bigint,
  r5: bigint,
) => bigint;

/**
 * Everything a running program can reach on one CPU. Built once per CPU (or
 * per test run) by the kernel layer and passed to every run.
 */
export interface CpuContext {
  readonly arena: ArenaApi;
  /** Simulated CPU number (bpf_get_smp_processor_id). */
  readonly cpu: number;
  /**
   * Start of this CPU's stack area: MAX_CALL_FRAMES * 512 bytes. Frame k's
   * r10 is stackBase + (MAX_CALL_FRAMES - k) * 512, so stacks grow down and
   * an overrun of one frame lands in the next frame, never outside.
   */
  readonly stackBase: number;
  /** Helper table by Linux helper id; a hole is an unknown helper. */
  readonly helpers: ReadonlyArray<HelperImpl | undefined>;
  /** Set by the engine while a program runs: calls a subprogram (bpf_loop, for_each_map_elem callbacks). */
  callback?: (insnIndex: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => bigint;
  /**
   * Tail calls (helper 12) are done by the engine: it asks for the target of
   * `prog_array[index]` and, if there is one and fewer than 33 tail calls
   * ran, runs it in place of the caller with the same r1.
   */
  tailCallTarget?: (mapOff: number, index: number) => CompiledProgram | undefined;
  /** Tail calls taken in the current run (reset by the caller of `run`). */
  tailCalls: number;
  /** Free-form per-CPU state helpers need (prandom state, current task, trace pipe...). */
  readonly state: Record<string, unknown>;
}

/** A compiled program, runnable on any CpuContext of the machine it was built for. */
export interface CompiledProgram {
  /** Runs with r1 = ctx, returns r0 as an unsigned 64-bit bigint. Throws ProgramFault. */
  run(ctx: bigint, cpu: CpuContext): bigint;
  /**
   * Optional fast entry for the event path: r1 = ctx (an arena offset), r2..r5
   * = 0, returns r0's low 32 bits as a signed int32 (what XDP, tc and socket
   * filter hooks read), with no BigInt on the way in or out. Same faults as `run`.
   */
  runInt32?(ctx: number, cpu: CpuContext): number;
  /**
   * Optional: `n` runs as `runInt32`, back to back, each starting with
   * `cpu.tailCalls` at 0 (BPF_PROG_TEST_RUN's repeats before the last). The
   * per-run entry bookkeeping is done once for the batch. Same faults as `run`.
   */
  runRepeatInt32?(ctx: number, cpu: CpuContext, n: number): void;
}

/** Interpreter, JIT, or any later engine. Chosen once per machine. */
export interface ExecutionEngine {
  readonly name: "interpreter" | "jit";
  /** Throws BpfError if the engine cannot take the program. */
  compile(image: ProgImage, arena: ArenaApi): CompiledProgram;
}

/** A running program did something the machine refuses: bad access, bad call, depth. */
export class ProgramFault extends BpfError {
  readonly pc: number;
  readonly reason: string;
  constructor(pc: number, reason: string) {
    super(Errno.EFAULT, `program fault at insn ${pc}: ${reason}`);
    this.name = "ProgramFault";
    this.pc = pc;
    this.reason = reason;
  }
}

/** Stack area size per CPU. */
export const STACK_AREA_BYTES = 8 * 512;
