/**
 * Helper implementations by Linux helper id: the table the kernel layer
 * puts in `CpuContext.helpers`. Other parts (perf buffers, ring buffers,
 * queue maps) add theirs with `registerHelperImpl` at module load.
 *
 * bpf_tail_call (12) has no entry: the engines perform it (engine.ts).
 */
import type { CpuContext, HelperImpl } from "../exec/engine.js";
import { BpfError, Errno } from "../errno.js";
import { HelperId as H } from "./func-protos.js";
import { forEachMapElem, loop } from "./impl/callback-helpers.js";
import { spinLockHelper, spinUnlockHelper } from "./impl/lock-helpers.js";
import { mapDeleteElem, mapLookupElem, mapLookupPercpuElem, mapUpdateElem } from "./impl/map-helpers.js";
import { snprintf, tracePrintk } from "./impl/printk-helpers.js";
import { probeReadKernel, probeReadKernelStr, probeReadUser, probeReadUserStr } from "./impl/probe-read.js";
import * as t from "./impl/task-helpers.js";
import { redirect, skbLoadBytes, xdpAdjustHead, xdpAdjustMeta, xdpAdjustTail } from "./impl/pkt-helpers.js";

const table: (HelperImpl | undefined)[] = [];
table[H.map_lookup_elem] = mapLookupElem;
table[H.map_update_elem] = mapUpdateElem;
table[H.map_delete_elem] = mapDeleteElem;
table[H.probe_read] = probeReadUser; // low addresses are user memory on x86-64
table[H.ktime_get_ns] = t.ktimeGetNs;
table[H.trace_printk] = tracePrintk;
table[H.get_prandom_u32] = t.getPrandomU32;
table[H.get_smp_processor_id] = t.getSmpProcessorId;
table[H.get_current_pid_tgid] = t.getCurrentPidTgid;
table[H.get_current_uid_gid] = t.getCurrentUidGid;
table[H.get_current_comm] = t.getCurrentComm;
table[H.get_numa_node_id] = t.getNumaNodeId;
table[H.probe_read_str] = probeReadUserStr;
table[H.spin_lock] = spinLockHelper;
table[H.spin_unlock] = spinUnlockHelper;
table[H.probe_read_user] = probeReadUser;
table[H.probe_read_kernel] = probeReadKernel;
table[H.probe_read_user_str] = probeReadUserStr;
table[H.probe_read_kernel_str] = probeReadKernelStr;
table[H.jiffies64] = t.jiffies64;
table[H.ktime_get_boot_ns] = t.ktimeGetBootNs;
table[H.ktime_get_coarse_ns] = t.ktimeGetCoarseNs;
table[H.for_each_map_elem] = forEachMapElem;
table[H.snprintf] = snprintf;
table[H.loop] = loop;
table[H.map_lookup_percpu_elem] = mapLookupPercpuElem;
table[H.ktime_get_tai_ns] = t.ktimeGetTaiNs;
table[H.redirect] = redirect;
table[H.skb_load_bytes] = skbLoadBytes;
table[H.xdp_adjust_head] = xdpAdjustHead;
table[H.xdp_adjust_meta] = xdpAdjustMeta;
table[H.xdp_adjust_tail] = xdpAdjustTail;

/** Implementations by helper id; holes are helpers bpfsim does not run (yet). */
export const helperImpls: ReadonlyArray<HelperImpl | undefined> = table;

/**
 * Adds the implementation of helper `id` (module load time, before any
 * program is loaded). The prototype must already be in func-protos.ts.
 */
export function registerHelperImpl(id: number, impl: HelperImpl): void {
  table[id] = impl;
}

/** True if bpfsim can run helper `id` (tail_call counts: the engines do it). */
export function helperImplemented(id: number): boolean {
  return id === H.tail_call || table[id] !== undefined;
}

/**
 * A helper's 32-bit form, for engines that can pass r1..r(args) as u32
 * numbers (the JIT, when those registers fit in 32 bits): no BigInt in or
 * out. It must behave exactly as the regular implementation on the same
 * values (same result, same faults, same side effects), and may return
 * HELPER32_CALL, "make the regular call", only before doing anything.
 */
export type HelperImpl32 = (cpu: CpuContext, r1: number, r2: number, r3: number, r4: number, r5: number) => number;

/** The answer of a HelperImpl32 that declines: never a valid result of a helper with a 32-bit form. */
export const HELPER32_CALL = 1;

/** A registered 32-bit form and the regular implementation it stands for. */
export interface Helper32Entry {
  /** The regular implementation: the 32-bit form is used only while cpu.helpers[id] is this one. */
  readonly impl: HelperImpl;
  readonly fn: HelperImpl32;
  /** How many of r1..r5 the helper reads (the others are passed as 0). */
  readonly args: number;
  /**
   * How r0 is made from the i32 result: a pointer or NULL is zero-extended;
   * anything else (0 or -errno) sign-extended.
   */
  readonly ptr: boolean;
}

const table32: (Helper32Entry | undefined)[] = [];

/**
 * Adds the 32-bit form of helper `id`, whose regular implementation must be
 * registered already (module load time). Its results must fit an i32 read
 * as `ptr` says (a u32 pointer or NULL; else 0 or a small -errno) and never
 * be HELPER32_CALL.
 */
export function registerHelperImpl32(id: number, fn: HelperImpl32, opts: { args: number; ptr: boolean }): void {
  const impl = table[id];
  if (!impl) throw new BpfError(Errno.EINVAL, `helper ${id} has no regular implementation`);
  table32[id] = { impl, fn, args: opts.args, ptr: opts.ptr };
}

/** The 32-bit form of helper `id`, if it has one. Any thread. */
export function helperImpl32(id: number): Helper32Entry | undefined {
  return table32[id];
}

/**
 * A helper's numeric form for helpers without arguments whose result fits
 * a double exactly (clock reads): an integer in [0, 2^53), or -1, "make the
 * regular call", decided before doing anything. The JIT turns it into r0
 * with no BigInt.
 */
export type HelperImplNum = (cpu: CpuContext) => number;

/** A registered numeric form and the regular implementation it stands for. */
export interface HelperNumEntry {
  readonly impl: HelperImpl;
  readonly fn: HelperImplNum;
}

const tableNum: (HelperNumEntry | undefined)[] = [];

/** Adds the numeric form of helper `id` (no arguments), whose regular implementation must be registered already. */
export function registerHelperImplNum(id: number, fn: HelperImplNum): void {
  const impl = table[id];
  if (!impl) throw new BpfError(Errno.EINVAL, `helper ${id} has no regular implementation`);
  tableNum[id] = { impl, fn };
}

/** The numeric form of helper `id`, if it has one. Any thread. */
export function helperImplNum(id: number): HelperNumEntry | undefined {
  return tableNum[id];
}

registerHelperImplNum(H.ktime_get_ns, t.ktimeGetNsNum);
registerHelperImplNum(H.ktime_get_boot_ns, t.ktimeGetBootNsNum);
registerHelperImplNum(H.ktime_get_coarse_ns, t.ktimeGetNsNum);
