/**
 * Helper implementations by Linux helper id: the table the kernel layer
 * puts in `CpuContext.helpers`. Other parts (perf buffers, ring buffers,
 * queue maps) add theirs with `registerHelperImpl` at module load.
 *
 * bpf_tail_call (12) has no entry: the engines perform it (engine.ts).
 */
import type { HelperImpl } from "../exec/engine.js";
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
