/**
 * The CPU worker's control plane: what the machine sends when it boots a
 * worker (`CpuBoot`, as workerData) and the calls it makes through comlink
 * (`CpuControl`). Events never travel this way; they go through the
 * worker's event ring in the arena (core/events/event-ring.ts). A CPU finds
 * the programs of a hook by id in the kernel's object table; with the JIT the
 * machine compiles each program once and posts its WebAssembly.Module here
 * (`adoptProgram`), so a CPU only instantiates it. A program whose module has
 * not arrived (loaded elsewhere, or an event got there first) is compiled by
 * the CPU itself, once per thread.
 *
 * Errors cross the thread boundary on purpose, not as raw Error objects:
 * the worker catches, serialises (`SerializedError`), and the machine
 * rebuilds a BpfError with the same errno, name, message and stack.
 */
import { BpfError, Errno } from "@bpfsim/core";

/** Sent once, as workerData, when the worker starts. */
export interface CpuBoot {
  memory: WebAssembly.Memory;
  cpu: number;
  ncpus: number;
  ringOff: number;
  hookTableOff: number;
  statsOff: number;
  ctxOff: number;
  /** Slots taken per batch before the loop looks at the control plane again. */
  batch: number;
}

/** What `stats()` returns. */
export interface CpuStats {
  cpu: number;
  state: string;
  lastFault?: string;
  /** Program modules this CPU compiled itself (0 when every one was posted). */
  jitCompiles?: number;
}

/** The worker's API, exposed with comlink. Every method may reject with a SerializedError. */
export interface CpuControl {
  stats(): Promise<CpuStats>;
  /**
   * Take the JIT module of program `id`, compiled by the machine for an arena
   * of `arenaSize` bytes (this one): the CPU instantiates it instead of
   * compiling. Resolves once kept.
   */
  adoptProgram(id: number, module: WebAssembly.Module, arenaSize: number): Promise<void>;
  /** Drain the ring, stop the loop; resolves when the loop has exited. */
  shutdown(): Promise<void>;
}

/** An error as it crosses threads. */
export interface SerializedError {
  __bpfsimError: true;
  name: string;
  message: string;
  errno: number;
  stack?: string;
}

/** Worker side: turn anything thrown into a SerializedError. */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof BpfError) return { __bpfsimError: true, name: e.name, message: e.message, errno: e.errno, stack: e.stack };
  const err = e instanceof Error ? e : new Error(String(e));
  return { __bpfsimError: true, name: err.name, message: err.message, errno: Errno.EIO, stack: err.stack };
}

/** Machine side: rebuild a BpfError (errno preserved; the worker's stack kept below ours). */
export function reviveError(s: unknown): BpfError {
  if (s && typeof s === "object" && (s as SerializedError).__bpfsimError) {
    const se = s as SerializedError;
    const msg = se.message.replace(/^E[A-Z0-9]+: /, "");
    const e = new BpfError(se.errno, msg);
    e.name = se.name;
    if (se.stack) e.stack = `${e.stack}\n    --- in CPU worker ---\n${se.stack}`;
    return e;
  }
  if (s instanceof BpfError) return s;
  return new BpfError(Errno.EIO, s instanceof Error ? s.message : String(s));
}

/** Wrap a control implementation so every method rejects with a SerializedError. */
export function serialising<T extends object>(impl: T): T {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(impl) as (keyof T & string)[]) {
    const f = impl[k];
    if (typeof f !== "function") continue;
    out[k] = async (...args: unknown[]) => {
      try {
        return await (f as (...a: unknown[]) => unknown).apply(impl, args);
      } catch (e) {
        throw serializeError(e);
      }
    };
  }
  return out as T;
}
