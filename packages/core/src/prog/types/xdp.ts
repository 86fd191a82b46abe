/**
 * BPF_PROG_TYPE_XDP (6): `struct xdp_md`, 24 bytes, read-only, 4-byte loads
 * only (net/core/filter.c `xdp_is_valid_access`). `data`, `data_end` and
 * `data_meta` hold arena addresses of the frame, as u32s, exactly where the
 * UAPI puts them; `egress_ifindex` is only readable by devmap programs.
 *
 *   off  field
 *     0  data             (PTR_TO_PACKET)
 *     4  data_end         (PTR_TO_PACKET_END)
 *     8  data_meta        (PTR_TO_PACKET_META)
 *    12  ingress_ifindex
 *    16  rx_queue_index
 *    20  egress_ifindex
 */
import { ProgType } from "../../uapi.js";
import { allowList, XDP_EXTRA } from "../func-sets.js";
import type { ProgTypeDef } from "../prog-type-def.js";
import type { CtxAccess } from "../prog-type.js";

export const XdpMd = { data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20 } as const;
export const XDP_MD_SIZE = 24;
/** XDP_PACKET_HEADROOM: room in front of the frame for xdp_adjust_head and metadata. */
export const XDP_PACKET_HEADROOM = 256;

function ctxAccess(off: number, size: number, write: boolean): CtxAccess | null {
  if (off === XdpMd.egress_ifindex) return null;
  if (write) return null;
  if (off < 0 || off >= XDP_MD_SIZE || off % size !== 0 || size !== 4) return null;
  if (off === XdpMd.data) return { kind: "pkt" };
  if (off === XdpMd.data_meta) return { kind: "pkt_meta" };
  if (off === XdpMd.data_end) return { kind: "pkt_end" };
  return { kind: "scalar" };
}

export const xdpProgType: ProgTypeDef = {
  progType: ProgType.Xdp,
  name: "xdp",
  ctxSize: XDP_MD_SIZE,
  ctxAccess,
  helperAllowed: allowList(XDP_EXTRA),
  directPacketAccess: true,
  unprivLoad: false,
  testRun: "xdp",
};
