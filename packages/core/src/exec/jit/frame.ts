/**
 * The shape every translated eBPF function shares: its wasm signature, where
 * each eBPF register lives, and how it calls out (glue table slots, types,
 * globals). Kept in one
 * place because the translator, the call emitter and the module builder must
 * agree on it exactly.
 *
 *   wasm function (r1 i64, r2 i64, r3 i64, r4 i64, r5 i64, depth i32) -> i64
 *   locals        0..4 r1..r5 | 5 depth | 6 r0 | 7..10 r6..r9 | 11 r10
 *                 12, 13 i64 scratch | 14 i32 dispatch label
 *                 15..20 i32 scratch of inlined hash lookups (inline-hash.ts)
 *                 21 f64 scratch (helperNum results)
 *
 * r10 is computed once on entry as stackTop - depth * 512 (frame k's r10 is
 * stackBase + (8 - k) * 512), so a bpf-to-bpf call only passes depth + 1.
 *
 * Context: pure data; callable from any thread.
 */
import { ByteWriter, F64, I32, I64, Op } from "./wasm-writer.js";

/** Local index of eBPF register r0..r10. */
export const REG_LOCAL: readonly number[] = [6, 0, 1, 2, 3, 4, 7, 8, 9, 10, 11];
export const L_DEPTH = 5;
export const L_T0 = 12;
export const L_T1 = 13;
export const L_LABEL = 14;
/** i32 scratch of an inlined hash lookup: jhash state a, b, c; key pointer; element; nulls marker. */
export const L_H_A = 15;
export const L_H_B = 16;
export const L_H_C = 17;
export const L_H_K = 18;
export const L_H_E = 19;
export const L_H_M = 20;
/** f64 scratch: the answer of a helper's numeric form (helperNum). */
export const L_F0 = 21;
/** Non-parameter locals, as (count, type) runs: r0, r6..r10, two scratch; the label and hash scratch. */
export const EXTRA_I64_LOCALS = 8;
export const EXTRA_I32_LOCALS = 7;
export const EXTRA_F64_LOCALS = 1;

/**
 * Calls out of wasm go through an imported funcref table that holds one
 * CPU's glue functions (glue.ts), never through function imports: with
 * function imports V8 spent about 300 µs compiling each program module (the
 * same ~35-insn module takes about 30 µs with the table), more than
 * translating a small program.
 * Slot and type index of each out-call:
 */
export const Slot = { helper: 0, fault: 1, tailPrep: 2, tailRun: 3, callx: 4, lookup32: 5, update32: 6, helper32: 7, helperNum: 8 } as const;
export const TABLE_SLOTS = 9;
/** Type indices in every program module (translate.ts declares them in this order). */
export const Ty = { helper: 0, fault: 1, fn: 2, tailPrep: 3, tailRun: 4, callx: 5, entry32: 6, lookup32: 7, update32: 8, helper32: 9, helperNum: 10 } as const;

const fnType = (params: number[], results: number[]): number[] => [0x60, params.length, ...params, results.length, ...results];
/** Encoded function types, by Ty index (shared by program modules and the glue module). */
export const TYPE_BYTES: readonly (readonly number[])[] = [
  fnType([I32, I32, I32, I64, I64, I64, I64, I64], [I64]), // helper (id, pc, depth, r1..r5)
  fnType([I32, I32, I64], []), // fault (pc, code, addr)
  fnType([I64, I64, I64, I64, I64, I32], [I64]), // bpf function (r1..r5, depth)
  fnType([I64, I64], [I32]), // tail_prep (map, index)
  fnType([I32, I64], [I64]), // tail_run (depth, ctx)
  fnType([I32, I32, I64, I64, I64, I64, I64, I64], [I64]), // callx (pc, depth, target, r1..r5)
  fnType([I32], [I32]), // entry32 (ctx) -> low 32 bits of r0: the event path's entry (no BigInt crosses)
  fnType([I32, I32, I32, I32], [I32]), // lookup32 (pc, depth, map, key) -> value pointer, 0, or -1: "call the helper"
  fnType([I32, I32, I32, I32, I32, I32, I32], [I32]), // update32 (id, pc, depth, r1..r4) -> result * 2, or 1: "call the helper"
  fnType([I32, I32, I32, I32, I32, I32, I32, I32], [I32]), // helper32 (id, pc, depth, r1..r5) -> result, or 1: "call the helper"
  fnType([I32, I32, I32], [F64]), // helperNum (id, pc, depth) -> result as a double, or -1: "call the helper"
];

/**
 * Name of the event path's entry: `(ctx: u32) -> i32`, the main program in
 * frame 0 with r1 = ctx and r2..r5 = 0, returning r0's low 32 bits. XDP, tc
 * and socket filter hooks only look at those (Linux's hooks read a u32), and
 * an i64 result would cost a BigInt per run in JavaScript. `f0` keeps the
 * full 64-bit r0 for test runs.
 */
export const ENTRY32_EXPORT = "e0";

/** Emits a call of glue slot `slot` (its arguments are already on the stack). */
export function callSlot(w: ByteWriter, slot: number, type: number): ByteWriter {
  return w.u8(Op.i32Const).s32(slot).u8(Op.callIndirect).u32(type).u32(0);
}

/** Global 0: the imported, immutable top of this CPU's stack area (stackBase + 8 * 512). */
export const G_STACK_TOP = 0;
/** Global 1: the imported, immutable CPU number (per-CPU map lookups emitted inline). */
export const G_CPU_ID = 1;

/**
 * Fault kinds the `fault` import turns into ProgramFault reasons (the same
 * wording as the interpreter's). The code passed is `kind | bytes << 4`.
 */
export const FaultCode = {
  /** Load outside [ARENA_RESERVED, size). */
  Read: 0,
  /** Store outside the arena. */
  Write: 1,
  /** Atomic outside the arena. */
  Atomic: 2,
  /** Atomic on an address that is not a multiple of its size. */
  Misaligned: 3,
  /** bpf-to-bpf call beyond MAX_CALL_FRAMES. */
  CallDepth: 4,
} as const;

/** Frames per CPU and bytes per frame (Linux's MAX_CALL_FRAMES, MAX_BPF_STACK). */
export const MAX_CALL_FRAMES = 8;
export const FRAME_BYTES = 512;

/** What the per-instruction emitters need to know about the whole program. */
export interface EmitEnv {
  readonly arenaSize: number;
  /**
   * True when no instruction writes r10. Then r10 is always this frame's
   * pointer, and an access [r10 + off] with -512 <= off, off + n <= 0 stays
   * inside the CPU's stack area, so it needs no bounds check.
   */
  readonly r10ReadOnly: boolean;
  /** Helper calls emitted inline, by insn index (inline-helpers.ts). */
  readonly inline: import("./inline-helpers.js").InlinePlan;
  /** Checks done earlier in the block being emitted (mutable, reset per block). */
  readonly checked: import("./checked-ranges.js").CheckedRanges;
}
