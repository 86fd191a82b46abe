/**
 * bpf_perf_event_output (helper 25) for the program types that call it with
 * a plain data pointer (tracing, XDP, tc, socket filter: the skb/xdp variants
 * also accept BPF_F_CTXLEN_MASK to append packet bytes, which bpfsim does not
 * support yet; see docs/COMPAT.md).
 *
 * Checks in Linux's order (kernel/trace/bpf_trace.c, __bpf_perf_event_output):
 *   flags outside BPF_F_INDEX_MASK           -EINVAL
 *   index == BPF_F_CURRENT_CPU               index = this CPU
 *   index >= max_entries                     -E2BIG
 *   no event at index                        -ENOENT
 *   event not a SW_BPF_OUTPUT event          -EINVAL
 *   event bound to another CPU               -EOPNOTSUPP
 *   ring full                                -ENOSPC (counted as lost)
 *
 * Who may call: a program on a CPU (the CpuContext's cpu is the current CPU).
 */
import type { CpuContext, HelperImpl } from "../exec/engine.js";
import type { MapHeaderView } from "../maps/map-ops.js";
import { Errno } from "../errno.js";
import { perfEventArrayGet } from "../maps/perf-event-array.js";
import { PE_CONFIG, PE_CPU, PE_TYPE, PERF_COUNT_SW_BPF_OUTPUT, PERF_TYPE_SOFTWARE } from "./perf-event.js";
import { perfOutput } from "./perf-ring.js";
import { err, helperEnv, needMem } from "../helpers/helper-env.js";
import { registerHelperImpl } from "../helpers/helper-table.js";

export const BPF_FUNC_perf_event_output = 25;
const INDEX_MASK = 0xffffffffn;

/**
 * The helper. r1 = ctx (unused: bpfsim has no CTXLEN support yet), r2 = map,
 * r3 = flags, r4 = data, r5 = size. The map is found through the CPU's
 * helper environment (the kernel layer's map table).
 */
export const perfEventOutputHelper: HelperImpl = (cpu: CpuContext, _ctx: bigint, map: bigint, flags: bigint, data: bigint, size: bigint): bigint => {
  const m = helperEnv(cpu).mapAt(Number(map));
  if (!m) return err(Errno.EINVAL);
  const n = Number(size);
  const off = needMem(cpu.arena, data, n, "perf_event_output");
  return BigInt.asUintN(64, BigInt(perfEventOutput(cpu, m.view, BigInt.asUintN(64, flags), off, n)));
};

registerHelperImpl(BPF_FUNC_perf_event_output, perfEventOutputHelper);

/** The helper body on plain numbers; returns 0 or -errno. */
export function perfEventOutput(cpu: CpuContext, m: MapHeaderView, flags: bigint, dataOff: number, size: number): number {
  if ((flags & ~INDEX_MASK) !== 0n) return -Errno.EINVAL;
  let index = Number(flags & INDEX_MASK);
  if (index === 0xffffffff) index = cpu.cpu;
  if (index >= m.maxEntries) return -Errno.E2BIG;
  const evOff = perfEventArrayGet(m, index);
  if (evOff === 0) return -Errno.ENOENT;
  const u32 = m.arena.u32;
  if (u32[(evOff + PE_TYPE) >>> 2] !== PERF_TYPE_SOFTWARE || u32[(evOff + PE_CONFIG) >>> 2] !== PERF_COUNT_SW_BPF_OUTPUT) return -Errno.EINVAL;
  if (u32[(evOff + PE_CPU) >>> 2] !== cpu.cpu) return -Errno.EOPNOTSUPP;
  return perfOutput(m.arena, evOff, dataOff, size);
}
