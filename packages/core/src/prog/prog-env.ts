/**
 * What running a loaded program needs on one thread: the engine (chosen
 * once per machine), compiled forms cached by program slot, the helper
 * environment and a `CpuContext` per simulated CPU, tail-call targets, and
 * the machine-wide knobs (sysctl unprivileged_bpf_disabled, run statistics).
 *
 * Machine-wide settings live in kernel root words (`Kernel.extRoot`), so
 * every thread sees the same; everything else is a per-thread cache.
 *
 * Who may call: syscall context (test run, load) and the CPU workers.
 */
import { BpfError, Errno } from "../errno.js";
import type { CompiledProgram, CpuContext, ExecutionEngine } from "../exec/engine.js";
import { getEngine, requireEngine } from "../exec/engines.js";
import type { Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { ObjKind } from "../kernel/layout.js";
import { helperImpls } from "../helpers/helper-table.js";
import type { HelperEnv, MachineClock, TaskInfo } from "../helpers/helper-env.js";
import { ArenaTracePipe, RING_HDR } from "../helpers/trace-ring.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { MapType } from "../uapi.js";
import { ProgHeader, P_MAGIC, PROG_MAGIC } from "./prog-object.js";
import { bindProgArrayKernel, progArrayGet } from "../maps/prog-array.js";

/**
 * Monotonic ns from the host clock as a number: performance.now() (sub-µs
 * resolution in Node, one time origin for all of a process's threads)
 * scaled to ns. Rounding a non-decreasing value keeps it non-decreasing.
 */
export function nowNsNum(): number {
  return Math.round(performance.now() * 1e6);
}

/** nowNsNum() as a bigint. */
export function nowNs(): bigint {
  return BigInt(nowNsNum());
}

/**
 * Whether the process has CAP_BPF/CAP_PERFMON/CAP_NET_ADMIN. Every simulated
 * process is privileged (docs/COMPAT.md, kernel section) unless a handle
 * carries `privileged: false`, which the unprivileged paths of PROG_LOAD
 * (EPERM, BPF_MAXINSNS, the narrowed helper set) honour.
 */
export function procPrivileged(proc: Process): boolean {
  const p = proc as unknown as { privileged?: boolean };
  return p.privileged ?? true;
}

/** kernel.unprivileged_bpf_disabled; Linux's default build (BPF_UNPRIV_DEFAULT_OFF) has 2. */
export function sysctlUnprivDisabled(k: Kernel): number {
  const w = k.extRoot("sysctl.unprivileged_bpf_disabled");
  const v = Atomics.load(k.arena.u32, w);
  return v === 0 ? 2 : v - 1;
}
export function setSysctlUnprivDisabled(k: Kernel, v: 0 | 1 | 2): void {
  Atomics.store(k.arena.u32, k.extRoot("sysctl.unprivileged_bpf_disabled"), v + 1);
}

/** kernel.bpf_stats_enabled (BPF_ENABLE_STATS / sysctl): run_time_ns and run_cnt are counted. */
export function statsEnabled(k: Kernel): boolean {
  return Atomics.load(k.arena.u32, k.extRoot("sysctl.bpf_stats_enabled")) !== 0;
}
export function setStatsEnabled(k: Kernel, on: boolean): void {
  Atomics.store(k.arena.u32, k.extRoot("sysctl.bpf_stats_enabled"), on ? 1 : 0);
}

const ENGINE_NAMES = ["", "interpreter", "jit"] as const;

/**
 * Chooses the machine's engine by name (once, before programs run; later
 * compiles on every thread use it). Throws ENOENT for an unknown engine.
 */
export function setProgEngine(k: Kernel, name: "interpreter" | "jit"): void {
  requireEngine(name);
  Atomics.store(k.arena.u32, k.extRoot("prog.engine"), ENGINE_NAMES.indexOf(name));
}

/** The machine's engine: the chosen one, else the JIT if registered, else the interpreter. */
export function progEngine(k: Kernel): ExecutionEngine {
  const chosen = ENGINE_NAMES[Atomics.load(k.arena.u32, k.extRoot("prog.engine"))];
  if (chosen) return requireEngine(chosen);
  return getEngine("jit") ?? requireEngine("interpreter");
}

/** The program in object `slot`, or undefined if the slot holds no program. */
export function progHeaderBySlot(k: Kernel, slot: number): ProgHeader | undefined {
  if (k.objects.kindOf(slot) !== ObjKind.Prog) return undefined;
  const off = k.objects.dataOf(slot);
  if (off === 0 || Atomics.load(k.arena.u32, (off >>> 2) + P_MAGIC) !== PROG_MAGIC) return undefined;
  return new ProgHeader(k.arena, off);
}

/** This thread's compiled form of the program in `slot` (compiled on first use). */
export function compiledProg(k: Kernel, slot: number): CompiledProgram {
  return k.cached("prog.compiled", slot, () => {
    const h = progHeaderBySlot(k, slot);
    if (!h) throw new BpfError(Errno.EBADF, `object slot ${slot} is not a program`);
    return progEngine(k).compile(h.image(), k.arena);
  });
}

const pipes = new WeakMap<WebAssembly.Memory, ArenaTracePipe>();
/** Bytes of trace ring per machine (Linux's per-CPU trace buffers are larger; lines beyond are counted as lost). */
const TRACE_RING_BYTES = 256 * 1024;

/**
 * The machine's trace pipe (bpf_trace_printk output): one ring in the arena,
 * made on first use by whichever thread gets there first, shared by all.
 */
export function tracePipe(k: Kernel): ArenaTracePipe {
  let p = pipes.get(k.memory);
  if (p) return p;
  const w = k.extRoot("trace.pipe");
  let off = Atomics.load(k.arena.u32, w);
  if (off === 0) {
    const fresh = k.arena.alloc(RING_HDR + TRACE_RING_BYTES, KERNEL_OWNER);
    if (fresh < 0) throw new BpfError(Errno.ENOMEM, "no arena memory for the trace pipe");
    ArenaTracePipe.format(k.arena, fresh, TRACE_RING_BYTES);
    off = Atomics.compareExchange(k.arena.u32, w, 0, fresh);
    if (off === 0) off = fresh;
    else k.arena.free(fresh); // another thread made it first
  }
  pipes.set(k.memory, (p = new ArenaTracePipe(k.arena, off)));
  return p;
}

/** Host clock as the machine clock (threads mode and test runs). */
export const hostClock: MachineClock = {
  monoNs: nowNs,
  bootNs: nowNs,
  monoNsNum: nowNsNum,
  bootNsNum: nowNsNum,
  taiNs: () => BigInt(Date.now()) * 1_000_000n + 37_000_000_000n,
  hz: 250,
};

/** A helper environment over kernel `k` for this thread. */
export function kernelHelperEnv(k: Kernel, current: (cpu: number) => TaskInfo | undefined, clock = hostClock): HelperEnv {
  return {
    mapAt: (off) => {
      const h = k.mapByHeader(off);
      return h ? { view: h.hdr, impl: h.impl } : undefined;
    },
    clock,
    tracePipe: tracePipe(k),
    current,
    ncpus: k.ncpus,
  };
}

/** The task a syscall-context run (BPF_PROG_TEST_RUN) sees as current: the calling process. */
export function procTask(proc: Process): TaskInfo {
  const p = proc as unknown as { pid: number; uid: number; gid?: number; comm?: string };
  return { pid: p.pid, tgid: p.pid, uid: p.uid, gid: p.gid ?? p.uid, comm: p.comm ?? "bpfsim" };
}

/**
 * A CpuContext for running programs of kernel `k` as CPU `cpu` on this
 * thread, with tail calls resolved through prog arrays.
 */
export function progCpuContext(k: Kernel, cpu: number, env: HelperEnv): CpuContext {
  bindProgArrayKernel(k);
  return {
    arena: k.arena,
    cpu,
    stackBase: k.stackBase(cpu),
    helpers: helperImpls,
    tailCallTarget: (mapOff, index) => {
      const h = k.mapByHeader(mapOff);
      if (!h || h.hdr.type !== MapType.ProgArray) return undefined;
      const slot = progArrayGet(h.hdr, index);
      return slot < 0 ? undefined : compiledProg(k, slot);
    },
    tailCalls: 0,
    state: { helperEnv: env },
  };
}
