/**
 * The arena contract every package codes against. The implementation lives in
 * `arena.ts`; this file only fixes the shape so maps, engines and the kernel
 * layer can be written side by side.
 *
 * Addresses are byte offsets into one shared `WebAssembly.Memory` whose
 * initial size equals its maximum, so typed views never go stale and every
 * thread can build the same views from `memory.buffer`.
 */

/** Offsets below this are never handed out: address 0 and small offsets fault like NULL. */
export const ARENA_RESERVED = 64 * 1024;

/** Owner id used for kernel-internal allocations (object table, rings, stacks). */
export const KERNEL_OWNER = 0;

export interface ArenaApi {
  /** The shared memory; post it to a worker and call `Arena.attach` there. */
  readonly memory: WebAssembly.Memory;
  /** Total bytes; valid program addresses are [ARENA_RESERVED, size). */
  readonly size: number;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
  readonly dv: DataView;
  /**
   * Allocate `bytes` (rounded up to the size class), aligned to at least 8,
   * zero-filled, charged to `owner`. Returns the offset, or `-ENOMEM` when the
   * arena is exhausted. Thread-safe; callable from syscall and program context.
   */
  alloc(bytes: number, owner: number): number;
  /** Return a block from `alloc`. Thread-safe. */
  free(off: number): void;
}
