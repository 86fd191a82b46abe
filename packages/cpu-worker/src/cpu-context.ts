/**
 * The `CpuContext` programs run with on one CPU, built over the kernel of
 * this thread: its number (what bpf_get_smp_processor_id returns and per-CPU
 * maps index by), its own stack area, the helper table, the helper
 * environment (maps by header offset, clock, trace pipe), tail calls through
 * prog arrays; and how a CPU turns a program id from a hook into the
 * compiled program (compiled once per thread, cached by the kernel layer).
 */
import {
  bindPerfEventArrayKernel,
  compiledProg,
  hostClock,
  JitProgram,
  kernelHelperEnv,
  ObjKind,
  progCpuContext,
  type CompiledProgram,
  type CpuContext,
  type Kernel,
  type MachineClock,
} from "@bpfsim/core";

export interface CpuContextOptions {
  kernel: Kernel;
  cpu: number;
  clock?: MachineClock;
  /** Seed for bpf_get_prandom_u32 (stepped runs are reproducible from it). */
  seed?: number;
}

export function makeCpuContext(o: CpuContextOptions): CpuContext {
  const k = o.kernel;
  bindPerfEventArrayKernel(k);
  const ctx = progCpuContext(k, o.cpu, kernelHelperEnv(k, () => undefined, o.clock ?? hostClock));
  ctx.state["prandomSeed"] = o.seed ?? 0x9e3779b9;
  return ctx;
}

/** compiledProg's per-thread cache (core prog/prog-env.ts): entries by object slot. */
const COMPILED_CACHE = "prog.compiled";
/** Posted modules not yet used, by program id; bounded (the oldest leave first). */
const POSTED_LIMIT = 256;
const postedModules = new Map<number, { module: WebAssembly.Module; arenaSize: number }>();

/**
 * Keep the JIT module the machine compiled for program `id`; the next
 * resolve of that id instantiates it instead of compiling (a program id is
 * never reused, so the module cannot meet another program). CPU thread.
 */
export function adoptProgramModule(id: number, module: WebAssembly.Module, arenaSize: number): void {
  postedModules.delete(id);
  postedModules.set(id, { module, arenaSize });
  if (postedModules.size > POSTED_LIMIT) postedModules.delete(postedModules.keys().next().value!);
}

/** The compiled program with Linux id `id`, or undefined if it no longer exists. */
export function resolveProgramById(k: Kernel, id: number): CompiledProgram | undefined {
  const slot = k.objects.getById(ObjKind.Prog, id);
  if (slot < 0) return undefined;
  try {
    const posted = postedModules.get(id);
    if (posted !== undefined) {
      postedModules.delete(id);
      // The entry compiledProg reads (same cache and slot generation), so
      // tail calls into this program find the posted module too.
      if (posted.arenaSize === k.arena.size) {
        k.cached(COMPILED_CACHE, slot, () => JitProgram.fromModule(posted.module, posted.arenaSize, `prog ${id}`));
      }
    }
    return compiledProg(k, slot);
  } finally {
    k.objects.put(slot);
  }
}
