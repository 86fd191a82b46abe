/**
 * BPF_PROG_TEST_RUN for XDP: Linux's `bpf_prog_test_run_xdp` without live
 * frames and without fragments.
 *
 * Frame buffer (one page):
 *
 *   buf +0 ........ +256-meta ...... +256 ............. +256+len ..... 4096
 *        | headroom  | metadata        | packet            | tailroom (shinfo)
 *                    ^data_meta        ^data               ^data_end
 *
 * Without ctx_in there is no metadata (data_meta = data). With ctx_in, its
 * `data` is the metadata length (multiple of 4, leaving 40 bytes of
 * headroom), `data_end` (at most data_size_in) the end of the linear part,
 * `data_meta` must be 0 and `egress_ifindex` 0; the user's bytes start at
 * data_meta. Bytes past the linear part (or past one page) are Linux's
 * fragments: not reachable by direct packet access, returned unchanged. The output is data_meta..data_end, and
 * ctx_out gets data/data_end relative to data_meta, as Linux's
 * `xdp_convert_buff_to_md`. ingress_ifindex reads 1 (lo) unless set.
 */
import { Errno } from "../errno.js";
import { BPF_F_TEST_XDP_LIVE_FRAMES } from "../uapi.js";
import { ctxFinish, ctxInit, testFinish, type TestRunEnv } from "./test-run.js";
import { XDP_MD_SIZE, XDP_PACKET_HEADROOM, XdpMd } from "./types/xdp.js";
import { XDP_CTX_BLOCK, XDP_MD_FRAME_SZ, XDP_MD_HARD_START } from "../helpers/impl/pkt-helpers.js";

const ETH_HLEN = 14;
const PAGE_SIZE = 4096;
const SKB_SHINFO_SIZE = 320;
const LOOPBACK_IFINDEX = 1;

/** Linux 6.18 keeps sizeof(struct xdp_frame) of the headroom for itself: metadata fits in the rest. */
const XDP_FRAME_SIZE = 40;

export function testRunXdp(env: TestRunEnv): number {
  const { a, k } = env;
  const flags = a.flags ?? 0;
  if (flags & ~BPF_F_TEST_XDP_LIVE_FRAMES) return -Errno.EINVAL;
  if (flags & BPF_F_TEST_XDP_LIVE_FRAMES) return -Errno.EOPNOTSUPP; // no devices to transmit on (COMPAT.md)
  if (a.batchSize) return -Errno.EINVAL;
  const size = a.dataSizeIn ?? 0;
  if (size < ETH_HLEN || !a.dataIn) return -Errno.EINVAL;
  const ctx = ctxInit(a, XDP_MD_SIZE);
  if (typeof ctx === "number") return ctx;
  const dv = ctx ? new DataView(ctx.buffer) : null;
  let metalen = 0;
  let linear = size;
  if (dv) {
    const data = dv.getUint32(XdpMd.data, true);
    const dataEnd = dv.getUint32(XdpMd.data_end, true);
    if (dv.getUint32(XdpMd.data_meta, true) || dataEnd > size || data > dataEnd) return -Errno.EINVAL;
    if (data & 3 || data > XDP_PACKET_HEADROOM - XDP_FRAME_SIZE) return -Errno.EINVAL;
    metalen = data;
    linear = dataEnd;
  }
  const headroom = XDP_PACKET_HEADROOM - metalen;
  const maxData = PAGE_SIZE - headroom - SKB_SHINFO_SIZE;
  // What does not fit the linear part (or lies past ctx_in's data_end) is a
  // fragment in Linux: invisible to direct packet access, returned unchanged.
  linear = Math.min(linear, maxData);
  if (dv) {
    if (dv.getUint32(XdpMd.egress_ifindex, true)) return -Errno.EINVAL;
    const ingress = dv.getUint32(XdpMd.ingress_ifindex, true);
    const rxq = dv.getUint32(XdpMd.rx_queue_index, true);
    if (!ingress && rxq) return -Errno.EINVAL;
    if (ingress > LOOPBACK_IFINDEX) return -Errno.ENODEV;
    if (ingress && rxq >= 1) return -Errno.EINVAL; // lo has one rx queue
  }
  const buf = env.alloc(PAGE_SIZE);
  const meta = buf + headroom;
  const u8 = k.arena.u8;
  u8.set(a.dataIn.subarray(0, linear), meta);
  const frags = a.dataIn.slice(linear, size);
  const md = env.alloc(XDP_CTX_BLOCK);
  const w = new DataView(u8.buffer, md, XDP_CTX_BLOCK);
  // The frame the adjust helpers may grow into: the whole page (Linux's frame_sz in test runs).
  w.setUint32(XDP_MD_HARD_START, buf, true);
  w.setUint32(XDP_MD_FRAME_SZ, PAGE_SIZE, true);
  env.cpu.state["redirectKind"] = "xdp";
  w.setUint32(XdpMd.data_meta, meta, true);
  w.setUint32(XdpMd.data, meta + metalen, true);
  w.setUint32(XdpMd.data_end, meta + linear, true);
  w.setUint32(XdpMd.ingress_ifindex, LOOPBACK_IFINDEX, true);
  w.setUint32(XdpMd.rx_queue_index, dv ? dv.getUint32(XdpMd.rx_queue_index, true) : 0, true);
  const { retval, duration } = env.run(md, a.repeat ?? 0);
  const dataMeta = w.getUint32(XdpMd.data_meta, true);
  const dataEnd = w.getUint32(XdpMd.data_end, true);
  const out = new Uint8Array(dataEnd - dataMeta + frags.length);
  out.set(u8.subarray(dataMeta, dataEnd));
  out.set(frags, dataEnd - dataMeta);
  const err = testFinish(a, out, Number(retval & 0xffffffffn), duration);
  if (err || !ctx || !dv) return err;
  dv.setUint32(XdpMd.data, w.getUint32(XdpMd.data, true) - dataMeta, true);
  dv.setUint32(XdpMd.data_end, dataEnd - dataMeta, true);
  return ctxFinish(a, ctx);
}
