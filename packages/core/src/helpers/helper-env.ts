/**
 * What helper implementations may reach besides the arena: the kernel
 * services of one machine, seen from one thread. The kernel layer builds a
 * `HelperEnv` per thread and puts it in `CpuContext.state.helperEnv`;
 * helpers find it with `helperEnv(cpu)`.
 *
 * Who may call: program on a CPU (every member is safe to call from a
 * running program; none blocks except spin locks).
 */
import type { CpuContext } from "../exec/engine.js";
import { ProgramFault } from "../exec/engine.js";
import { ARENA_RESERVED, type ArenaApi } from "../memory/arena-api.js";
import type { MapHeaderView, MapImpl } from "../maps/map-ops.js";
import type { TracePipe } from "./trace-pipe.js";

/** A map as a helper sees it: its header and this thread's accessors. */
export interface OpenMap {
  readonly view: MapHeaderView;
  readonly impl: MapImpl;
}

/** The task a CPU is running "on behalf of" (what `current` is in Linux). */
export interface TaskInfo {
  pid: number;
  tgid: number;
  uid: number;
  gid: number;
  /** Up to 15 bytes, as TASK_COMM_LEN - 1. */
  comm: string;
}

/** The machine clock. Stepped machines return simulated time, threaded ones real time. */
export interface MachineClock {
  /** CLOCK_MONOTONIC in ns (bpf_ktime_get_ns). */
  monoNs(): bigint;
  /** CLOCK_BOOTTIME in ns (bpf_ktime_get_boot_ns); includes simulated suspend, if any. */
  bootNs(): bigint;
  /**
   * Optional: monoNs() as a number (an integer), for callers that avoid
   * BigInt; must read the same clock. bootNsNum likewise for bootNs().
   */
  monoNsNum?(): number;
  bootNsNum?(): number;
  /** CLOCK_TAI in ns. */
  taiNs(): bigint;
  /** Timer frequency used for jiffies64 (CONFIG_HZ). */
  readonly hz: number;
}

/** Kernel services for helpers, per thread. */
export interface HelperEnv {
  /** The map whose header is at `headerOff`, or undefined if there is none. */
  mapAt(headerOff: number): OpenMap | undefined;
  readonly clock: MachineClock;
  readonly tracePipe: TracePipe;
  /** The current task on `cpu`, or undefined (an interrupt-like context with no task). */
  current(cpu: number): TaskInfo | undefined;
  /** Possible CPUs (bpf_map_lookup_percpu_elem bound). */
  readonly ncpus: number;
}

/** The environment the kernel layer attached to this CPU context. */
export function helperEnv(cpu: CpuContext): HelperEnv {
  const env = cpu.state["helperEnv"] as HelperEnv | undefined;
  if (!env) throw new ProgramFault(-1, "no helper environment on this CPU context");
  return env;
}

/** True if [off, off+n) lies inside the usable arena. */
export function inArena(arena: ArenaApi, off: number, n: number): boolean {
  return Number.isSafeInteger(off) && off >= ARENA_RESERVED && n >= 0 && off + n <= arena.size;
}

/**
 * Checks a pointer a helper is about to write or read on the program's
 * behalf. The verifier guarantees these in Linux; a bad one here is a bug in
 * the program that got past an unverified load, so it stops the program.
 */
export function needMem(arena: ArenaApi, ptr: bigint, n: number, what: string): number {
  const off = Number(BigInt.asUintN(64, ptr));
  if (!inArena(arena, off, n)) {
    throw new ProgramFault(-1, `helper ${what}: bad pointer 0x${off.toString(16)} for ${n} bytes`);
  }
  return off;
}

/** -errno as the u64 a helper returns in r0. */
export function err(errno: number): bigint {
  return BigInt.asUintN(64, BigInt(-errno));
}

/** Reads a NUL-terminated string at `off`, at most `max` bytes; null if it leaves the arena first. */
export function readCString(arena: ArenaApi, off: number, max: number): string | null {
  if (!inArena(arena, off, 1)) return null;
  let s = "";
  for (let i = 0; i < max; i++) {
    if (off + i >= arena.size) return null;
    const c = arena.u8[off + i]!;
    if (c === 0) return s;
    s += String.fromCharCode(c);
  }
  return s;
}
