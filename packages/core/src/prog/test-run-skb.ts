/**
 * BPF_PROG_TEST_RUN for skb programs (socket filter, tc): Linux's
 * `bpf_prog_test_run_skb` on the loopback device.
 *
 * Packet buffer (one page, as Linux's bpf_test_init):
 *
 *   buf +0 ............ +64 (NET_SKB_PAD) ............ +64+size ...... 4096
 *        | headroom      | Ethernet frame (data_in)     | tailroom (shinfo)
 *
 * `eth_type_trans` sets protocol (from the Ethertype, or 802.3/802.2) and
 * pkt_type (lo's address is all zeroes, so a zero destination is
 * PACKET_HOST, a multicast bit PACKET_MULTICAST, else PACKET_OTHERHOST), and
 * pulls the Ethernet header: a socket filter sees the packet from the
 * network header (len = size - 14), tc sees the whole frame. Output data is
 * always the whole frame; for socket filters its Ethernet header comes
 * back zeroed. An IPv4 (IPv6) frame shorter than its 20 (40) byte network
 * header is EINVAL. ctx_in may only set mark, priority,
 * ingress_ifindex, ifindex (1 = lo, others ENODEV), cb, tstamp, wire_len,
 * gso_segs, gso_size and hwtstamp; anything else is EINVAL.
 */
import { Errno } from "../errno.js";
import { ProgType } from "../uapi.js";
import { ctxFinish, ctxInit, testFinish, type TestRunEnv } from "./test-run.js";
import { SK_BUFF_SIZE, SkBuff as S } from "./types/sk-buff.js";

const ETH_HLEN = 14;
const PAGE_SIZE = 4096;
const NET_SKB_PAD = 64;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64. */
const SKB_SHINFO_SIZE = 320;
export const SKB_MAX_DATA = PAGE_SIZE - NET_SKB_PAD - SKB_SHINFO_SIZE;
const LOOPBACK_IFINDEX = 1;
const GSO_MAX_SEGS = 65535;
const GSO_LEGACY_MAX_SIZE = 65536;

/** Fields user space may set in ctx_in, as [offset, length]; everything else must be zero. */
const SETTABLE: readonly [number, number][] = [
  [S.mark, 4], [S.priority, 4], [S.ingress_ifindex, 4], [S.ifindex, 4], [S.cb, 20], [S.tstamp, 8],
  [S.wire_len, 4], [S.gso_segs, 4], [S.gso_size, 4], [S.hwtstamp, 8],
];

function onlySettable(ctx: Uint8Array): boolean {
  for (let i = 0; i < ctx.length; i++) {
    if (ctx[i] !== 0 && !SETTABLE.some(([o, n]) => i >= o && i < o + n)) return false;
  }
  return true;
}

/** eth_type_trans(): (protocol as the be16 the kernel stores, pkt_type). */
function ethTypeTrans(frame: Uint8Array): { protocol: number; pktType: number } {
  const dst = frame.subarray(0, 6);
  let pktType = 0; // PACKET_HOST
  if (dst.some((b) => b !== 0)) pktType = dst[0]! & 1 ? 2 : 3; // MULTICAST (lo's broadcast is 00..) : OTHERHOST
  const proto = (frame[12]! << 8) | frame[13]!;
  let be: number;
  if (proto >= 0x600) be = proto;
  else if (frame[14] === 0xff && frame[15] === 0xff) be = 0x0001; // ETH_P_802_3
  else be = 0x0004; // ETH_P_802_2
  // __sk_buff.protocol holds the __be16 as stored in memory, read as a little-endian u32.
  return { protocol: ((be & 0xff) << 8) | (be >> 8), pktType };
}

export function testRunSkb(env: TestRunEnv): number {
  const { a, k } = env;
  if (a.flags || a.cpu || a.batchSize) return -Errno.EINVAL;
  const size = a.dataSizeIn ?? 0;
  if (size < ETH_HLEN || size > SKB_MAX_DATA || !a.dataIn) return -Errno.EINVAL;
  const ctx = ctxInit(a, SK_BUFF_SIZE);
  if (typeof ctx === "number") return ctx;
  const isL2 = env.prog.type === ProgType.SchedCls || env.prog.type === ProgType.SchedAct;
  const dv = ctx ? new DataView(ctx.buffer) : null;
  if (ctx && dv) {
    const ifindex = dv.getUint32(S.ifindex, true);
    if (ifindex > LOOPBACK_IFINDEX) return -Errno.ENODEV;
    if (!onlySettable(ctx)) return -Errno.EINVAL;
  }
  const buf = env.alloc(PAGE_SIZE);
  const frame = buf + NET_SKB_PAD;
  const u8 = k.arena.u8;
  u8.set(a.dataIn.subarray(0, size), frame);
  const { protocol, pktType } = ethTypeTrans(a.dataIn);
  // Linux refuses an IPv4 or IPv6 packet too short for its network header.
  const ethertype = (a.dataIn[12]! << 8) | a.dataIn[13]!;
  if ((ethertype === 0x0800 && size - ETH_HLEN < 20) || (ethertype === 0x86dd && size - ETH_HLEN < 40)) return -Errno.EINVAL;
  const data = isL2 ? frame : frame + ETH_HLEN;
  const len = isL2 ? size : size - ETH_HLEN;

  const skb = env.alloc(SK_BUFF_SIZE);
  const w = new DataView(u8.buffer, skb, SK_BUFF_SIZE);
  w.setUint32(S.len, len, true);
  w.setUint32(S.pkt_type, pktType, true);
  w.setUint32(S.protocol, protocol, true);
  w.setUint32(S.ifindex, LOOPBACK_IFINDEX, true);
  w.setUint32(S.data, data, true);
  w.setUint32(S.data_meta, data, true);
  w.setUint32(S.data_end, data + len, true);
  if (dv) {
    // wire_len is only set from a user context (cb->pkt_len), else it reads 0.
    w.setUint32(S.wire_len, len, true);
    for (const f of [S.mark, S.priority, S.ingress_ifindex, S.gso_size]) w.setUint32(f, dv.getUint32(f, true), true);
    w.setBigUint64(S.tstamp, dv.getBigUint64(S.tstamp, true), true);
    w.setBigUint64(S.hwtstamp, dv.getBigUint64(S.hwtstamp, true), true);
    u8.set(ctx!.subarray(S.cb, S.cb + 20), skb + S.cb);
    const wire = dv.getUint32(S.wire_len, true);
    if (wire !== 0) {
      if (wire < len || wire > GSO_LEGACY_MAX_SIZE) return -Errno.EINVAL;
      w.setUint32(S.wire_len, wire, true);
    }
    const segs = dv.getUint32(S.gso_segs, true);
    if (segs > GSO_MAX_SEGS) return -Errno.EINVAL;
    w.setUint32(S.gso_segs, segs, true);
  }
  env.cpu.state["redirectKind"] = "tc";
  const { retval, duration } = env.run(skb, a.repeat ?? 0);
  // A program that saw no L2 header gets it back zeroed in data_out, as Linux pushes a blank one.
  if (!isL2) u8.fill(0, frame, frame + ETH_HLEN);
  const err = testFinish(a, u8.slice(frame, frame + size), Number(retval & 0xffffffffn), duration);
  if (err || !ctx || !dv) return err;
  // convert_skb_to___skb(): the fields a program may have changed, back into the user's ctx.
  for (const f of [S.mark, S.priority, S.ingress_ifindex, S.wire_len, S.gso_segs, S.gso_size]) {
    dv.setUint32(f, w.getUint32(f, true), true);
  }
  dv.setUint32(S.ifindex, LOOPBACK_IFINDEX, true);
  dv.setBigUint64(S.tstamp, w.getBigUint64(S.tstamp, true), true);
  dv.setBigUint64(S.hwtstamp, w.getBigUint64(S.hwtstamp, true), true);
  ctx.set(u8.subarray(skb + S.cb, skb + S.cb + 20), S.cb);
  return ctxFinish(a, ctx);
}
