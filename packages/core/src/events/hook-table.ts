/**
 * Attach points ("hooks") and the programs attached to them, in the arena, so
 * that a `bpf(BPF_LINK_CREATE)` on any thread changes what every CPU runs.
 *
 * Layout (byte offsets from `tableOff`):
 *
 *   +0   nhooks    slots in the table
 *   +4   ncpus     rows of counters per hook
 *   +8   lock      spin lock serialising writers (attach, detach, create)
 *   +12  (pad)
 *   +16  hooks[nhooks], HOOK_BYTES each:
 *          +0  seq      generation, odd while a writer is changing the slot
 *          +4  inUse    1 once the hook exists
 *          +8  type     HookType
 *          +12 target   ifindex, socket id, function id or tracepoint id
 *          +16 nprogs   programs attached, in run order (<= HOOK_MAX_PROGS)
 *          +20 (pad)
 *          +24 progIds[HOOK_MAX_PROGS]   u32 program ids
 *          +56 linkIds[HOOK_MAX_PROGS]   u32 link ids (0 for BPF_PROG_ATTACH)
 *   then counters[nhooks][ncpus][HC_WORDS] i64, each row written only by its CPU.
 *
 * Publication is a seqlock (the reader side of RCU, without the grace
 * period): a writer takes `lock`, makes `seq` odd, rewrites the program list,
 * and makes `seq` even again. A CPU reads `seq`, copies the list, and re-reads
 * `seq`; it uses the copy only when both reads are equal and even, so it
 * never runs a half-written list. A CPU checks `seq` before every event
 * (one Atomics.load) and resolves the list again when it changed, so after
 * `hookDetach` returns, each CPU runs the old program for at most the event
 * it is in the middle of — as in Linux, where a program already running
 * under rcu_read_lock finishes after bpf_prog_array is swapped.
 *
 * Who may call: writers from syscall context on any thread; `hookRead` from
 * a CPU; counters are written by their CPU and read anywhere.
 */
import type { ArenaApi } from "../memory/arena-api.js";
import { BpfError, Errno } from "../errno.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";

/** Kinds of attach point. Values are bpfsim's own (Linux has no such enum). */
export enum HookType {
  Xdp = 1,
  TcIngress = 2,
  TcEgress = 3,
  SocketFilter = 4,
  Kprobe = 5,
  Kretprobe = 6,
  Tracepoint = 7,
  RawTracepoint = 8,
  PerfEvent = 9,
}

export const HOOK_MAX_PROGS = 8;
export const HOOK_BYTES = 96;
export const HT_HOOKS = 16;

const H_SEQ = 0;
const H_INUSE = 4;
const H_TYPE = 8;
const H_TARGET = 12;
const H_NPROGS = 16;
const H_PROGS = 24;
const H_LINKS = 56;

/** Counter words per (hook, cpu). */
export const HC_WORDS = 16;
/** Events delivered to the hook (a burst of n counts n). */
export const HC_EVENTS = 0;
/** Program runs. */
export const HC_RUNS = 1;
/** Results by action: HC_ACTION + XDP action, or + (TC action + 1). 9 buckets. */
export const HC_ACTION = 2;
/** Runs that ended in a program fault (counted as XDP_ABORTED / TC_ACT_SHOT / 0). */
export const HC_FAULTS = 11;
/** Socket filter: bytes kept (sum of min(ret, len)). */
export const HC_BYTES_KEPT = 12;
/** Socket filter: packets truncated (0 < ret < len). */
export const HC_TRUNCATED = 13;
/** Events that found no program attached. */
export const HC_NO_PROG = 14;

export function hookTableBytes(nhooks: number, ncpus: number): number {
  return HT_HOOKS + nhooks * HOOK_BYTES + nhooks * ncpus * HC_WORDS * 8;
}

/** Syscall context: lay out an empty table in zeroed memory. */
export function hookTableInit(arena: ArenaApi, tableOff: number, nhooks: number, ncpus: number): void {
  arena.u32[tableOff >>> 2] = nhooks;
  arena.u32[(tableOff + 4) >>> 2] = ncpus;
}

function hookOff(arena: ArenaApi, tableOff: number, hookId: number): number {
  const n = arena.u32[tableOff >>> 2]!;
  if (!Number.isInteger(hookId) || hookId < 0 || hookId >= n) throw new BpfError(Errno.ENOENT, `no hook ${hookId}`);
  return tableOff + HT_HOOKS + hookId * HOOK_BYTES;
}

/** Index (in i64 words) of a hook's counter row for `cpu`. */
export function hookCounterIndex(arena: ArenaApi, tableOff: number, hookId: number, cpu: number): number {
  const n = arena.u32[tableOff >>> 2]!;
  const ncpus = arena.u32[(tableOff + 4) >>> 2]!;
  const base = tableOff + HT_HOOKS + n * HOOK_BYTES;
  return (base >>> 3) + (hookId * ncpus + cpu) * HC_WORDS;
}

/** Syscall: find the hook for (type, target), or -1. */
export function hookFind(arena: ArenaApi, tableOff: number, type: HookType, target: number): number {
  const n = arena.u32[tableOff >>> 2]!;
  for (let i = 0; i < n; i++) {
    const h = tableOff + HT_HOOKS + i * HOOK_BYTES;
    if (Atomics.load(arena.i32, (h + H_INUSE) >>> 2) === 1 && arena.u32[(h + H_TYPE) >>> 2] === type && arena.u32[(h + H_TARGET) >>> 2] === target >>> 0) return i;
  }
  return -1;
}

/** Syscall: the hook for (type, target), created if missing. ENOSPC when the table is full. */
export function hookGetOrCreate(arena: ArenaApi, tableOff: number, type: HookType, target: number): number {
  spinLock(arena.i32, tableOff + 8);
  try {
    const found = hookFind(arena, tableOff, type, target);
    if (found >= 0) return found;
    const n = arena.u32[tableOff >>> 2]!;
    for (let i = 0; i < n; i++) {
      const h = tableOff + HT_HOOKS + i * HOOK_BYTES;
      if (Atomics.load(arena.i32, (h + H_INUSE) >>> 2) === 0) {
        arena.u32[(h + H_TYPE) >>> 2] = type;
        arena.u32[(h + H_TARGET) >>> 2] = target >>> 0;
        arena.u32[(h + H_NPROGS) >>> 2] = 0;
        Atomics.store(arena.i32, (h + H_INUSE) >>> 2, 1);
        return i;
      }
    }
    throw new BpfError(Errno.ENOSPC, "hook table full");
  } finally {
    spinUnlock(arena.i32, tableOff + 8);
  }
}

/** What a hook is. */
export function hookInfo(arena: ArenaApi, tableOff: number, hookId: number): { type: HookType; target: number; progIds: number[]; linkIds: number[] } {
  const h = hookOff(arena, tableOff, hookId);
  const n = arena.u32[(h + H_NPROGS) >>> 2]!;
  const progIds: number[] = [];
  const linkIds: number[] = [];
  for (let i = 0; i < n; i++) {
    progIds.push(arena.u32[(h + H_PROGS + 4 * i) >>> 2]!);
    linkIds.push(arena.u32[(h + H_LINKS + 4 * i) >>> 2]!);
  }
  return { type: arena.u32[(h + H_TYPE) >>> 2]! as HookType, target: arena.u32[(h + H_TARGET) >>> 2]!, progIds, linkIds };
}

/**
 * Syscall: run `edit` on the hook's program list under the writer lock and
 * publish the result with the seqlock. `edit` may throw a BpfError, in which
 * case nothing changes.
 */
export function hookEdit(
  arena: ArenaApi,
  tableOff: number,
  hookId: number,
  edit: (progIds: number[], linkIds: number[]) => void,
): void {
  const h = hookOff(arena, tableOff, hookId);
  const i32 = arena.i32;
  spinLock(i32, tableOff + 8);
  try {
    const cur = hookInfo(arena, tableOff, hookId);
    edit(cur.progIds, cur.linkIds);
    if (cur.progIds.length > HOOK_MAX_PROGS) throw new BpfError(Errno.E2BIG, `at most ${HOOK_MAX_PROGS} programs per hook`);
    const sw = (h + H_SEQ) >>> 2;
    Atomics.add(i32, sw, 1); // odd: readers retry
    for (let i = 0; i < HOOK_MAX_PROGS; i++) {
      Atomics.store(i32, (h + H_PROGS + 4 * i) >>> 2, cur.progIds[i] ?? 0);
      Atomics.store(i32, (h + H_LINKS + 4 * i) >>> 2, cur.linkIds[i] ?? 0);
    }
    Atomics.store(i32, (h + H_NPROGS) >>> 2, cur.progIds.length);
    Atomics.add(i32, sw, 1); // even: published
  } finally {
    spinUnlock(i32, tableOff + 8);
  }
}

/** CPU: the hook's current generation (one load; compare with a cached one). */
export function hookSeq(arena: ArenaApi, tableOff: number, hookId: number): number {
  return Atomics.load(arena.i32, (tableOff + HT_HOOKS + hookId * HOOK_BYTES + H_SEQ) >>> 2);
}

/**
 * CPU: a consistent copy of the hook's program ids into `out` (length >=
 * HOOK_MAX_PROGS); returns [count, seq]. Never returns a half-written list.
 */
export function hookRead(arena: ArenaApi, tableOff: number, hookId: number, out: Uint32Array): [number, number] {
  const h = tableOff + HT_HOOKS + hookId * HOOK_BYTES;
  const i32 = arena.i32;
  for (;;) {
    const s1 = Atomics.load(i32, (h + H_SEQ) >>> 2);
    if ((s1 & 1) === 0) {
      const n = Atomics.load(i32, (h + H_NPROGS) >>> 2);
      for (let i = 0; i < n && i < HOOK_MAX_PROGS; i++) out[i] = Atomics.load(i32, (h + H_PROGS + 4 * i) >>> 2);
      if (Atomics.load(i32, (h + H_SEQ) >>> 2) === s1) return [Math.min(n, HOOK_MAX_PROGS), s1];
    }
  }
}

/** Any thread: sum a hook's counter word over CPUs (or one CPU's value). */
export function hookCounter(arena: ArenaApi, tableOff: number, hookId: number, word: number, cpu?: number): bigint {
  const ncpus = arena.u32[(tableOff + 4) >>> 2]!;
  let s = 0n;
  for (let c = 0; c < ncpus; c++) {
    if (cpu !== undefined && c !== cpu) continue;
    s += Atomics.load(arena.i64, hookCounterIndex(arena, tableOff, hookId, c) + word);
  }
  return s;
}
