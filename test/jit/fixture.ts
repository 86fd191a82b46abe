/**
 * Shared set-up for the JIT's cross-package tests: an arena, one CpuContext
 * on it, and a way to place bytes in the arena.
 */
import { Arena, KERNEL_OWNER, STACK_AREA_BYTES, type CpuContext, type HelperImpl } from "@bpfsim/core";
import { ARENA_BYTES } from "./program-gen.js";

export interface Machine {
  readonly arena: Arena;
  readonly cpu: CpuContext;
  /** Copies `bytes` into a fresh arena block and returns its offset. */
  place(bytes: Uint8Array): number;
}

/** An ARENA_BYTES arena and CPU 0 with the given helpers. */
export function makeMachine(helpers: (HelperImpl | undefined)[] = []): Machine {
  const arena = Arena.create({ size: ARENA_BYTES });
  const stackBase = arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
  if (stackBase < 0) throw new Error("no room for the stack");
  const cpu: CpuContext = { arena, cpu: 0, stackBase, helpers, tailCalls: 0, state: {} };
  return {
    arena,
    cpu,
    place(bytes: Uint8Array): number {
      const off = arena.alloc(Math.max(bytes.length, 8), KERNEL_OWNER);
      if (off < 0) throw new Error("arena full");
      arena.u8.set(bytes, off);
      return off;
    },
  };
}
