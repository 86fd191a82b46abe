/**
 * Building a program's context for an event, in the CPU's context area.
 * Layouts are the UAPI ones (include/uapi/linux/bpf.h); pointers are arena
 * offsets, which fit the u32 fields `data`/`data_end`/`data_meta`.
 *
 * Who may call: the CPU that owns `ctxOff` (program context on that CPU).
 */
import type { ArenaApi } from "@bpfsim/core";

/** struct xdp_md (24 bytes). */
export const XDP_MD = { data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20 } as const;

/** struct __sk_buff (192 bytes): the fields bpfsim fills. */
export const SK_BUFF = {
  len: 0, pkt_type: 4, mark: 8, queue_mapping: 12, protocol: 16, ingress_ifindex: 36, ifindex: 40,
  hash: 68, data: 76, data_end: 80, data_meta: 140,
} as const;
export const SK_BUFF_SIZE = 192;

/** Bytes of the context area each CPU owns: enough for the largest context filled here. */
export const CTX_AREA_BYTES = 256;

/** XDP: the frame lies at `dataOff` (its slot in the event ring); no headroom in front. */
export function buildXdpMd(arena: ArenaApi, ctxOff: number, dataOff: number, len: number, ifindex: number, rxQueue: number): void {
  const w = ctxOff >>> 2;
  const u32 = arena.u32;
  u32[w] = dataOff;
  u32[w + 1] = dataOff + len;
  u32[w + 2] = dataOff;
  u32[w + 3] = ifindex;
  u32[w + 4] = rxQueue;
  u32[w + 5] = 0;
}

/**
 * tc and socket filters: a zeroed __sk_buff with length, protocol (the
 * frame's EtherType, kept in network byte order as skb->protocol is),
 * interface, queue, flow hash and the data pointers.
 */
export function buildSkBuff(arena: ArenaApi, ctxOff: number, dataOff: number, len: number, ifindex: number, queue: number, hash: number): void {
  const u8 = arena.u8;
  u8.fill(0, ctxOff, ctxOff + SK_BUFF_SIZE);
  const u32 = arena.u32;
  const w = ctxOff >>> 2;
  u32[w + (SK_BUFF.len >>> 2)] = len;
  u32[w + (SK_BUFF.queue_mapping >>> 2)] = queue;
  const proto = len >= 14 ? u8[dataOff + 12]! | (u8[dataOff + 13]! << 8) : 0;
  u32[w + (SK_BUFF.protocol >>> 2)] = proto;
  u32[w + (SK_BUFF.ingress_ifindex >>> 2)] = ifindex;
  u32[w + (SK_BUFF.ifindex >>> 2)] = ifindex;
  u32[w + (SK_BUFF.hash >>> 2)] = hash;
  u32[w + (SK_BUFF.data >>> 2)] = dataOff;
  u32[w + (SK_BUFF.data_end >>> 2)] = dataOff + len;
  u32[w + (SK_BUFF.data_meta >>> 2)] = dataOff;
}
