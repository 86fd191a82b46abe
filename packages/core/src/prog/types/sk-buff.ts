/**
 * `struct __sk_buff` (include/uapi/linux/bpf.h), 192 bytes, and the access
 * rules every skb program type starts from (net/core/filter.c
 * `bpf_skb_is_valid_access`).
 *
 * Layout in bpfsim: the context is a real 192-byte `__sk_buff` in the arena.
 * `data`, `data_end` and `data_meta` are u32 fields in the UAPI and hold the
 * packet's arena addresses (arena offsets fit in 32 bits), so a program's
 * `ctx->data` load yields a usable pointer with no rewrite. Linux rewrites
 * these loads into loads from the kernel's `struct sk_buff`; bpfsim keeps the
 * user-visible values in place and copies writable fields back after a run.
 * `sk` (u64) and `flow_keys` (u64) hold 0: no socket is attached to a test
 * packet.
 *
 *   off  field            off  field            off  field
 *     0  len               48  cb[5]            116  local_ip6[4]
 *     4  pkt_type          68  hash             132  remote_port
 *     8  mark              72  tc_classid       136  local_port
 *    12  queue_mapping     76  data             140  data_meta
 *    16  protocol          80  data_end         144  flow_keys (u64)
 *    20  vlan_present      84  napi_id          152  tstamp (u64)
 *    24  vlan_tci          88  family           160  wire_len
 *    28  vlan_proto        92  remote_ip4       164  gso_segs
 *    32  priority          96  local_ip4        168  sk (u64)
 *    36  ingress_ifindex  100  remote_ip6[4]    176  gso_size
 *    40  ifindex                                180  tstamp_type (u8), 181..183 pad
 *    44  tc_index                               184  hwtstamp (u64)
 */
import type { CtxAccess } from "../prog-type.js";

/** Field offsets of struct __sk_buff. */
export const SkBuff = {
  len: 0,
  pkt_type: 4,
  mark: 8,
  queue_mapping: 12,
  protocol: 16,
  vlan_present: 20,
  vlan_tci: 24,
  vlan_proto: 28,
  priority: 32,
  ingress_ifindex: 36,
  ifindex: 40,
  tc_index: 44,
  cb: 48,
  hash: 68,
  tc_classid: 72,
  data: 76,
  data_end: 80,
  napi_id: 84,
  family: 88,
  remote_ip4: 92,
  local_ip4: 96,
  remote_ip6: 100,
  local_ip6: 116,
  remote_port: 132,
  local_port: 136,
  data_meta: 140,
  flow_keys: 144,
  tstamp: 152,
  wire_len: 160,
  gso_segs: 164,
  sk: 168,
  gso_size: 176,
  tstamp_type: 180,
  hwtstamp: 184,
} as const;

export const SK_BUFF_SIZE = 192;

/** [start, end) of a field, for range checks. */
export function inField(off: number, start: number, len: number): boolean {
  return off >= start && off < start + len;
}

const S = SkBuff;

/** bpf_skb_is_valid_access: the checks common to all skb types. */
export function skbAccessCommon(off: number, size: number, write: boolean): CtxAccess | null {
  if (off < 0 || off >= SK_BUFF_SIZE || size <= 0) return null;
  if (off % size !== 0) return null;
  if (inField(off, S.cb, 20)) {
    return off + size > S.cb + 20 ? null : { kind: "scalar" };
  }
  if (inField(off, S.data, 4) || inField(off, S.data_end, 4) || inField(off, S.data_meta, 4)) {
    return size === 4 ? { kind: "scalar" } : null;
  }
  if (inField(off, S.flow_keys, 8)) return null;
  if (inField(off, S.tstamp, 8)) return size === 8 ? { kind: "scalar" } : null;
  if (inField(off, S.sk, 8)) return !write && size === 8 && off === S.sk ? { kind: "sock" } : null;
  if (inField(off, S.tstamp_type, 4)) return null; // tstamp_type and its padding
  if (inField(off, S.hwtstamp, 8)) return !write && size === 8 ? { kind: "scalar" } : null;
  // Everything else is a u32: writes whole, reads may be narrow (1, 2, 4).
  if (write) return size === 4 ? { kind: "scalar" } : null;
  return size <= 4 ? { kind: "scalar" } : null;
}
