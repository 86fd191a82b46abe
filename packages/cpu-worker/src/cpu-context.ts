/**
 * The `CpuContext` programs run with on one CPU: its number (what
 * bpf_get_smp_processor_id returns and per-CPU maps index by), its own stack
 * area, the helper table and the helper environment (maps by header offset,
 * clock, trace pipe).
 */
import {
  helperImpls,
  MemoryTracePipe,
  type ArenaApi,
  type CpuContext,
  type HelperEnv,
  type MachineClock,
  type OpenMap,
} from "@bpfsim/core";

/** Real time since the machine booted (threads mode). */
export function wallClock(bootNs: bigint): MachineClock {
  const mono = (): bigint => process.hrtime.bigint() - bootNs;
  return { monoNs: mono, bootNs: mono, taiNs: () => BigInt(Date.now()) * 1_000_000n + 37_000_000_000n, hz: 250 };
}

export interface CpuContextOptions {
  arena: ArenaApi;
  cpu: number;
  ncpus: number;
  stackBase: number;
  clock: MachineClock;
  /** Maps by header offset (the kernel layer's map table); undefined until one exists. */
  mapAt?: (headerOff: number) => OpenMap | undefined;
  /** Seed for bpf_get_prandom_u32 (stepped runs are reproducible from it). */
  seed?: number;
}

export function makeCpuContext(o: CpuContextOptions): CpuContext {
  const env: HelperEnv = {
    mapAt: o.mapAt ?? (() => undefined),
    clock: o.clock,
    tracePipe: new MemoryTracePipe(),
    current: () => undefined,
    ncpus: o.ncpus,
  };
  return {
    arena: o.arena,
    cpu: o.cpu,
    stackBase: o.stackBase,
    helpers: helperImpls,
    tailCalls: 0,
    state: { helperEnv: env, prandomSeed: o.seed ?? 0x9e3779b9 },
  };
}
