/**
 * The helper prototype table (the kernel's `bpf_func_proto` objects), by
 * Linux helper id. Plain data: the verifier reads it, the structural checks
 * of BPF_PROG_LOAD read it, and the implementations in `impl/` are looked
 * up by the same id. Argument and return types follow the kernel's
 * definitions in kernel/bpf/helpers.c, kernel/trace/bpf_trace.c and
 * net/core/filter.c.
 */
import { MapType } from "../uapi.js";
import { ArgType as A, RetType as R, type HelperProto } from "./proto.js";

/** Linux helper ids bpfsim has prototypes for (values of `enum bpf_func_id`). */
export const HelperId = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  probe_read: 4,
  ktime_get_ns: 5,
  trace_printk: 6,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  tail_call: 12,
  get_current_pid_tgid: 14,
  get_current_uid_gid: 15,
  get_current_comm: 16,
  redirect: 23,
  perf_event_output: 25,
  skb_load_bytes: 26,
  get_numa_node_id: 42,
  xdp_adjust_head: 44,
  probe_read_str: 45,
  xdp_adjust_meta: 54,
  xdp_adjust_tail: 65,
  map_push_elem: 87,
  map_pop_elem: 88,
  map_peek_elem: 89,
  spin_lock: 93,
  spin_unlock: 94,
  probe_read_user: 112,
  probe_read_kernel: 113,
  probe_read_user_str: 114,
  probe_read_kernel_str: 115,
  jiffies64: 118,
  ktime_get_boot_ns: 125,
  ringbuf_output: 130,
  ringbuf_reserve: 131,
  ringbuf_submit: 132,
  ringbuf_discard: 133,
  ringbuf_query: 134,
  ktime_get_coarse_ns: 160,
  for_each_map_elem: 164,
  snprintf: 165,
  loop: 181,
  map_lookup_percpu_elem: 195,
  ktime_get_tai_ns: 208,
} as const;

const H = HelperId;

function p(
  id: number,
  name: string,
  ret: R,
  args: A[],
  extra: Partial<Omit<HelperProto, "id" | "name" | "ret" | "args">> = {},
): HelperProto {
  return Object.freeze({ id, name, ret, args: Object.freeze(args), ...extra });
}

const probeArgs = [A.PtrToUninitMem, A.ConstSizeOrZero, A.Anything];

const protoList: HelperProto[] = [
  p(H.map_lookup_elem, "map_lookup_elem", R.PtrToMapValueOrNull, [A.ConstMapPtr, A.PtrToMapKey]),
  p(H.map_update_elem, "map_update_elem", R.Integer, [A.ConstMapPtr, A.PtrToMapKey, A.PtrToMapValue, A.Anything]),
  p(H.map_delete_elem, "map_delete_elem", R.Integer, [A.ConstMapPtr, A.PtrToMapKey]),
  p(H.probe_read, "probe_read", R.Integer, probeArgs, { gplOnly: true }),
  p(H.ktime_get_ns, "ktime_get_ns", R.Integer, []),
  p(H.trace_printk, "trace_printk", R.Integer, [A.PtrToMem, A.ConstSize], { gplOnly: true }),
  p(H.get_prandom_u32, "get_prandom_u32", R.Integer, []),
  p(H.get_smp_processor_id, "get_smp_processor_id", R.Integer, []),
  p(H.tail_call, "tail_call", R.Void, [A.PtrToCtx, A.ConstMapPtr, A.Anything], { mapTypes: [MapType.ProgArray] }),
  p(H.get_current_pid_tgid, "get_current_pid_tgid", R.Integer, []),
  p(H.get_current_uid_gid, "get_current_uid_gid", R.Integer, []),
  p(H.get_current_comm, "get_current_comm", R.Integer, [A.PtrToUninitMem, A.ConstSize]),
  p(
    H.perf_event_output,
    "perf_event_output",
    R.Integer,
    [A.PtrToCtx, A.ConstMapPtr, A.Anything, A.PtrToMem, A.ConstSizeOrZero],
    { gplOnly: true, mapTypes: [MapType.PerfEventArray] },
  ),
  p(H.get_numa_node_id, "get_numa_node_id", R.Integer, []),
  p(H.redirect, "redirect", R.Integer, [A.Anything, A.Anything]),
  p(H.skb_load_bytes, "skb_load_bytes", R.Integer, [A.PtrToCtx, A.Anything, A.PtrToUninitMem, A.ConstSize]),
  p(H.xdp_adjust_head, "xdp_adjust_head", R.Integer, [A.PtrToCtx, A.Anything], { pktAccess: true }),
  p(H.xdp_adjust_meta, "xdp_adjust_meta", R.Integer, [A.PtrToCtx, A.Anything], { pktAccess: true }),
  p(H.xdp_adjust_tail, "xdp_adjust_tail", R.Integer, [A.PtrToCtx, A.Anything], { pktAccess: true }),
  p(H.probe_read_str, "probe_read_str", R.Integer, probeArgs, { gplOnly: true }),
  p(H.map_push_elem, "map_push_elem", R.Integer, [A.ConstMapPtr, A.PtrToMapValue, A.Anything], {
    mapTypes: [MapType.Queue, MapType.Stack, MapType.BloomFilter],
  }),
  p(H.map_pop_elem, "map_pop_elem", R.Integer, [A.ConstMapPtr, A.PtrToUninitMem], {
    mapTypes: [MapType.Queue, MapType.Stack],
  }),
  p(H.map_peek_elem, "map_peek_elem", R.Integer, [A.ConstMapPtr, A.PtrToUninitMem], {
    mapTypes: [MapType.Queue, MapType.Stack, MapType.BloomFilter],
  }),
  p(H.spin_lock, "spin_lock", R.Void, [A.PtrToSpinLock]),
  p(H.spin_unlock, "spin_unlock", R.Void, [A.PtrToSpinLock]),
  p(H.probe_read_user, "probe_read_user", R.Integer, probeArgs, { gplOnly: true }),
  p(H.probe_read_kernel, "probe_read_kernel", R.Integer, probeArgs, { gplOnly: true }),
  p(H.probe_read_user_str, "probe_read_user_str", R.Integer, probeArgs, { gplOnly: true }),
  p(H.probe_read_kernel_str, "probe_read_kernel_str", R.Integer, probeArgs, { gplOnly: true }),
  p(H.jiffies64, "jiffies64", R.Integer, []),
  p(H.ktime_get_boot_ns, "ktime_get_boot_ns", R.Integer, []),
  p(H.ringbuf_output, "ringbuf_output", R.Integer, [A.ConstMapPtr, A.PtrToMem, A.ConstSizeOrZero, A.Anything], {
    mapTypes: [MapType.Ringbuf],
  }),
  p(H.ringbuf_reserve, "ringbuf_reserve", R.PtrToAllocMemOrNull, [A.ConstMapPtr, A.ConstAllocSizeOrZero, A.Anything], {
    mapTypes: [MapType.Ringbuf],
    acquires: true,
  }),
  p(H.ringbuf_submit, "ringbuf_submit", R.Void, [A.PtrToRingbufMem, A.Anything], { releaseArg: 0 }),
  p(H.ringbuf_discard, "ringbuf_discard", R.Void, [A.PtrToRingbufMem, A.Anything], { releaseArg: 0 }),
  p(H.ringbuf_query, "ringbuf_query", R.Integer, [A.ConstMapPtr, A.Anything], { mapTypes: [MapType.Ringbuf] }),
  p(H.ktime_get_coarse_ns, "ktime_get_coarse_ns", R.Integer, []),
  p(H.for_each_map_elem, "for_each_map_elem", R.Integer, [A.ConstMapPtr, A.PtrToFunc, A.PtrToStackOrNull, A.Anything]),
  p(H.snprintf, "snprintf", R.Integer, [A.PtrToMemOrNull, A.ConstSizeOrZero, A.PtrToConstStr, A.PtrToMemOrNull, A.ConstSizeOrZero]),
  p(H.loop, "loop", R.Integer, [A.Anything, A.PtrToFunc, A.PtrToStackOrNull, A.Anything]),
  p(H.map_lookup_percpu_elem, "map_lookup_percpu_elem", R.PtrToMapValueOrNull, [A.ConstMapPtr, A.PtrToMapKey, A.Anything]),
  p(H.ktime_get_tai_ns, "ktime_get_tai_ns", R.Integer, []),
];

/** Prototypes by helper id; a hole means bpfsim has no prototype for that id. */
export const helperProtos: ReadonlyArray<HelperProto | undefined> = (() => {
  const t: (HelperProto | undefined)[] = [];
  for (const proto of protoList) t[proto.id] = proto;
  return t;
})();

/** The prototype of helper `id`, or undefined. */
export function helperProto(id: number): HelperProto | undefined {
  return helperProtos[id];
}
