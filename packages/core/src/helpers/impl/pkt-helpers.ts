/**
 * Packet helpers: bpf_skb_load_bytes, bpf_xdp_adjust_head / _meta / _tail,
 * bpf_redirect (net/core/filter.c).
 *
 * They find the packet through the context the program got in r1:
 *  - `__sk_buff`: `data` (+76) and `len` (+0) as the UAPI lays them out;
 *  - `xdp_md`: `data` (+0), `data_end` (+4), `data_meta` (+8), followed by
 *    two kernel-private words that programs cannot reach (the verifier
 *    bounds context accesses at 24 bytes): +24 the frame's start
 *    (data_hard_start) and +28 its size (frame_sz). Whoever builds an XDP
 *    context (test run, the XDP hook) fills them; 0 means "no frame
 *    information" and the adjust helpers answer -EINVAL.
 *
 * Who may call: program on a CPU.
 */
import type { HelperImpl } from "../../exec/engine.js";
import { Errno } from "../../errno.js";
import { err, needMem } from "../helper-env.js";

const ETH_HLEN = 14;
/** sizeof(struct xdp_frame): kept at the start of the headroom. */
const XDP_FRAME_SIZE = 40;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)): kept at the end of the frame. */
const SKB_SHINFO_SIZE = 320;
/** Private words after struct xdp_md (24 bytes). */
export const XDP_MD_HARD_START = 24;
export const XDP_MD_FRAME_SZ = 28;
/** Bytes an XDP context block needs: the UAPI part and the private words. */
export const XDP_CTX_BLOCK = 32;

/** bpf_skb_load_bytes(skb, offset, to, len): 0, or -EFAULT with `to` zeroed. */
export const skbLoadBytes: HelperImpl = (cpu, r1, r2, r3, r4) => {
  const a = cpu.arena;
  const len = Number(BigInt.asUintN(32, r4));
  const to = needMem(a, r3, len, "bpf_skb_load_bytes to");
  const skb = needMem(a, r1, 192, "bpf_skb_load_bytes skb");
  const off = BigInt.asUintN(32, r2);
  const skbLen = a.u32[skb >>> 2]!;
  const data = a.u32[(skb + 76) >>> 2]!;
  if (off > 0x7fffffffn || Number(off) + len > skbLen) {
    a.u8.fill(0, to, to + len);
    return err(Errno.EFAULT);
  }
  a.u8.copyWithin(to, data + Number(off), data + Number(off) + len);
  return 0n;
};

interface XdpView {
  md: number;
  data: number;
  end: number;
  meta: number;
  hardStart: number;
  frameSz: number;
}

function xdpView(cpu: Parameters<HelperImpl>[0], r1: bigint): XdpView {
  const md = needMem(cpu.arena, r1, XDP_CTX_BLOCK, "xdp helper ctx");
  const u32 = cpu.arena.u32;
  const w = md >>> 2;
  return { md, data: u32[w]!, end: u32[w + 1]!, meta: u32[w + 2]!, hardStart: u32[w + 6]!, frameSz: u32[w + 7]! };
}

/** bpf_xdp_adjust_head(xdp, delta): moves data (and the metadata with it). 0 or -EINVAL. */
export const xdpAdjustHead: HelperImpl = (cpu, r1, r2) => {
  const x = xdpView(cpu, r1);
  if (!x.frameSz) return err(Errno.EINVAL);
  const delta = Number(BigInt.asIntN(32, r2));
  const metalen = x.data - x.meta;
  const data = x.data + delta;
  if (data < x.hardStart + XDP_FRAME_SIZE + metalen || data > x.end - ETH_HLEN) return err(Errno.EINVAL);
  const u8 = cpu.arena.u8;
  if (metalen) u8.copyWithin(x.meta + delta, x.meta, x.meta + metalen);
  const u32 = cpu.arena.u32;
  u32[(x.md >>> 2) + 2] = x.meta + delta;
  u32[x.md >>> 2] = data;
  return 0n;
};

/** bpf_xdp_adjust_meta(xdp, delta): grows or shrinks the metadata. 0, -EINVAL or -EACCES. */
export const xdpAdjustMeta: HelperImpl = (cpu, r1, r2) => {
  const x = xdpView(cpu, r1);
  if (!x.frameSz) return err(Errno.EINVAL);
  const meta = x.meta + Number(BigInt.asIntN(32, r2));
  if (meta < x.hardStart + XDP_FRAME_SIZE || meta > x.data) return err(Errno.EINVAL);
  const metalen = x.data - meta;
  if (metalen & 3 || metalen > 255) return err(Errno.EACCES);
  cpu.arena.u32[(x.md >>> 2) + 2] = meta;
  return 0n;
};

/** bpf_xdp_adjust_tail(xdp, delta): moves data_end; grown bytes are zeroed. 0 or -EINVAL. */
export const xdpAdjustTail: HelperImpl = (cpu, r1, r2) => {
  const x = xdpView(cpu, r1);
  if (!x.frameSz) return err(Errno.EINVAL);
  const delta = Number(BigInt.asIntN(32, r2));
  const end = x.end + delta;
  if (end > x.hardStart + x.frameSz - SKB_SHINFO_SIZE || end < x.data + ETH_HLEN) return err(Errno.EINVAL);
  if (delta > 0) cpu.arena.u8.fill(0, x.end, end);
  cpu.arena.u32[(x.md >>> 2) + 1] = end;
  return 0n;
};

/**
 * bpf_redirect(ifindex, flags): records the target for the hook and returns
 * XDP_REDIRECT / TC_ACT_REDIRECT; bad flags give XDP_ABORTED / TC_ACT_SHOT.
 * Which one depends on the program type, which the hook sets in
 * `cpu.state.redirectKind` ("xdp" or "tc"); XDP is assumed otherwise.
 */
export const redirect: HelperImpl = (cpu, r1, r2) => {
  const tc = cpu.state["redirectKind"] === "tc";
  const BPF_F_INGRESS = 1n;
  if (tc ? (r2 & ~BPF_F_INGRESS) !== 0n : r2 !== 0n) return tc ? 2n : 0n;
  cpu.state["redirect"] = { ifindex: Number(BigInt.asUintN(32, r1)), flags: Number(r2) };
  return tc ? 7n : 4n;
};
