/**
 * Helper allow-lists shared by program types, after the kernel's
 * `bpf_base_func_proto` (kernel/bpf/helpers.c), `bpf_sk_base_func_proto`
 * (net/core/filter.c) and `bpf_tracing_func_proto` (kernel/trace/bpf_trace.c).
 * Only helpers bpfsim has prototypes for are listed. The sets were checked
 * against Linux 6.18 as root (test/prog/helper-allow.test.ts).
 *
 * Linux gates part of the base set on capabilities: the first group needs
 * nothing, the second CAP_BPF, the third CAP_PERFMON. bpfsim models one bit,
 * `privileged` (CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN).
 */
import { HelperId as H } from "../helpers/func-protos.js";

/** bpf_base_func_proto, available without capabilities. */
export const BASE_UNPRIV: ReadonlySet<number> = new Set([
  H.map_lookup_elem,
  H.map_update_elem,
  H.map_delete_elem,
  H.map_push_elem,
  H.map_pop_elem,
  H.map_peek_elem,
  H.map_lookup_percpu_elem,
  H.get_prandom_u32,
  H.get_smp_processor_id,
  H.get_numa_node_id,
  H.tail_call,
  H.ktime_get_ns,
  H.ktime_get_boot_ns,
  H.ktime_get_tai_ns,
  H.ringbuf_output,
  H.ringbuf_reserve,
  H.ringbuf_submit,
  H.ringbuf_discard,
  H.ringbuf_query,
  H.for_each_map_elem,
  H.loop,
]);

/** bpf_base_func_proto, CAP_BPF and CAP_PERFMON parts. */
export const BASE_PRIV: ReadonlySet<number> = new Set([
  H.spin_lock,
  H.spin_unlock,
  H.jiffies64,
  H.trace_printk,
  H.snprintf,
  H.probe_read_user,
  H.probe_read_kernel,
  H.probe_read_user_str,
  H.probe_read_kernel_str,
  H.get_current_pid_tgid,
  H.get_current_uid_gid,
  H.get_current_comm,
]);

/** What a networking type adds to the base (bpf_sk_base_func_proto and the type's own list). */
export const NET_EXTRA: ReadonlySet<number> = new Set([H.perf_event_output, H.ktime_get_coarse_ns]);

/** sk_filter_func_proto's own helpers. */
export const SOCKET_FILTER_EXTRA: ReadonlySet<number> = new Set([...NET_EXTRA, H.skb_load_bytes]);

/** tc_cls_act_func_proto's own helpers (the ones bpfsim has). */
export const TC_EXTRA: ReadonlySet<number> = new Set([...NET_EXTRA, H.skb_load_bytes, H.redirect]);

/**
 * xdp_func_proto's own helpers (the ones bpfsim has). Linux 6.18 refuses
 * bpf_xdp_adjust_meta for a plain XDP program (probed), so it is not here.
 */
export const XDP_EXTRA: ReadonlySet<number> = new Set([...NET_EXTRA, H.redirect, H.xdp_adjust_head, H.xdp_adjust_tail]);

/** What tracing types add (bpf_tracing_func_proto and the type's own list). */
export const TRACING_EXTRA: ReadonlySet<number> = new Set([H.perf_event_output, H.probe_read, H.probe_read_str]);

/**
 * An allow-list function: base set (split by privilege) plus `extra`.
 * Tracing types can only be loaded privileged, so for them `extra` is
 * always available; networking extras that Linux gates are listed in `privExtra`.
 */
export function allowList(extra: ReadonlySet<number>, privExtra: ReadonlySet<number> = new Set()) {
  return (id: number, privileged = true): boolean =>
    BASE_UNPRIV.has(id) || extra.has(id) || (privileged && (BASE_PRIV.has(id) || privExtra.has(id)));
}
