/**
 * The shape every translated eBPF function shares: its wasm signature, where
 * each eBPF register lives, and the module's import indices. Kept in one
 * place because the translator, the call emitter and the module builder must
 * agree on it exactly.
 *
 *   wasm function (r1 i64, r2 i64, r3 i64, r4 i64, r5 i64, depth i32) -> i64
 *   locals        0..4 r1..r5 | 5 depth | 6 r0 | 7..10 r6..r9 | 11 r10
 *                 12, 13 i64 scratch | 14 i32 dispatch label
 *
 * r10 is computed once on entry as stackTop - depth * 512 (frame k's r10 is
 * stackBase + (8 - k) * 512), so a bpf-to-bpf call only passes depth + 1.
 *
 * Context: pure data; callable from any thread.
 */

/** Local index of eBPF register r0..r10. */
export const REG_LOCAL: readonly number[] = [6, 0, 1, 2, 3, 4, 7, 8, 9, 10, 11];
export const L_DEPTH = 5;
export const L_T0 = 12;
export const L_T1 = 13;
export const L_LABEL = 14;
/** Non-parameter locals, as (count, type) runs: r0, r6..r10, two scratch; the label. */
export const EXTRA_I64_LOCALS = 8;
export const EXTRA_I32_LOCALS = 1;

/** Function indices of the imports (they come first in the function index space). */
export const F_HELPER = 0;
export const F_FAULT = 1;
export const F_TAIL_PREP = 2;
export const F_TAIL_RUN = 3;
export const F_CALLX = 4;
export const IMPORTED_FUNCS = 5;
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
  readonly inline: ReadonlyMap<number, import("./inline-helpers.js").ArrayLookupSite>;
}
