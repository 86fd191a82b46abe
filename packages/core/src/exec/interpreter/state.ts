/**
 * Machine state of one interpreter run, kept in typed arrays so the hot loop
 * touches no objects and no BigInts.
 *
 * Registers are split into 32-bit halves: `lo[r]` and `hi[r]`, in an
 * Int32Array: every value stays a small integer for V8 (no float64 boxing of
 * values >= 2^31, measured ~1.5x faster than Uint32Array on alu_loop), and
 * stores wrap mod 2^32 like C. Code reads a half as unsigned with `>>> 0`. r10 is
 * rewritten on every call and return from the frame depth.
 *
 * Call frames (bpf-to-bpf calls and callbacks), at most MAX_CALL_FRAMES:
 *
 *   frame k:  retPc[k]            slot to resume in frame k-1 after exit
 *             savedLo/Hi[k*4+j]   caller's r(6+j), restored on exit
 *             r10 = stackBase + (MAX_CALL_FRAMES - k) * 512
 *
 * Only the CPU that runs the program touches a VmState; it is not shared.
 */
import { MAX_BPF_STACK, MAX_CALL_FRAMES } from "../../uapi.js";

/** Status returned by the execution loop. */
/** The entry frame executed `exit`; r0 holds the result. */
export const VM_EXITED = 0;
/** The instruction budget ran out; `pc` is the next instruction. */
export const VM_PAUSED = 1;
/** A tail call succeeded; `tailTarget` must run in place of this program. */
export const VM_TAILCALL = 2;

export class VmState {
  readonly lo = new Int32Array(16);
  readonly hi = new Int32Array(16);
  pc = 0;
  /** Current frame, 0 for the program's main function. */
  depth = 0;
  readonly retPc = new Int32Array(MAX_CALL_FRAMES);
  readonly savedLo = new Int32Array(MAX_CALL_FRAMES * 4);
  readonly savedHi = new Int32Array(MAX_CALL_FRAMES * 4);
  /** Caller registers saved around callbacks: 22 words (lo/hi of r0..r10) per frame depth. */
  readonly cbSave = new Int32Array(MAX_CALL_FRAMES * 22);
  /** Instructions executed so far in this run (all frames). */
  insns = 0;
  /** Set with VM_TAILCALL. */
  tailTarget: unknown = undefined;

  /** The CPU of the current run (read by the callback closure). */
  cpu: unknown = undefined;
  /** `cpu.callback` for runs on this state, made once (see InterpreterProgram). */
  callbackFn: ((insnIndex: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => bigint) | undefined = undefined;

  constructor(public stackBase: number) {}

  /** Frame pointer of frame `k`: the top of its 512-byte region. */
  framePointer(k: number): number {
    return this.stackBase + (MAX_CALL_FRAMES - k) * MAX_BPF_STACK;
  }

  /** Resets for a new run starting at `pc` with r1 = ctx. */
  reset(pc: number, ctx: bigint): void {
    // A plain loop: TypedArray#fill is a builtin call each, about a third of
    // a short program's run on its own.
    const lo = this.lo;
    const hi = this.hi;
    for (let r = 0; r < 16; r++) {
      lo[r] = 0;
      hi[r] = 0;
    }
    this.pc = pc;
    this.depth = 0;
    this.insns = 0;
    this.tailTarget = undefined;
    this.setReg(1, ctx);
    this.lo[10] = this.framePointer(0);
  }

  /** `reset` with r1 = a u32 context address given as a number (the event path: no BigInt). */
  resetU32(pc: number, ctx: number): void {
    this.reset(pc, 0n);
    this.lo[1] = ctx | 0;
  }

  getReg(r: number): bigint {
    const hi = this.hi[r]!;
    if (hi === 0) return BigInt(this.lo[r]! >>> 0);
    return (BigInt(hi >>> 0) << 32n) | BigInt(this.lo[r]! >>> 0);
  }

  setReg(r: number, v: bigint): void {
    if (v >= 0n && v <= 0xffffffffn) {
      this.lo[r] = Number(v) | 0;
      this.hi[r] = 0;
      return;
    }
    const u = BigInt.asUintN(64, v);
    this.lo[r] = Number(u & 0xffffffffn) | 0;
    this.hi[r] = Number(u >> 32n) | 0;
  }

  /** All eleven registers as unsigned bigints (for traces and debuggers). */
  regs(): bigint[] {
    const out: bigint[] = [];
    for (let r = 0; r <= 10; r++) out.push(this.getReg(r));
    return out;
  }
}
