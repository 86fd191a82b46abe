/**
 * BPF_PROG_TYPE_SOCKET_FILTER (1): `struct __sk_buff` context, read-only
 * except cb[]; no direct packet access (the data fields and socket address
 * fields are not readable), as net/core/filter.c `sk_filter_is_valid_access`.
 * The only type an unprivileged user may load.
 */
import { ProgType } from "../../uapi.js";
import { allowList, SOCKET_FILTER_EXTRA } from "../func-sets.js";
import type { ProgTypeDef } from "../prog-type-def.js";
import type { CtxAccess } from "../prog-type.js";
import { inField, SK_BUFF_SIZE, skbAccessCommon, SkBuff as S } from "./sk-buff.js";

function ctxAccess(off: number, size: number, write: boolean): CtxAccess | null {
  if (
    inField(off, S.tc_classid, 4) ||
    inField(off, S.data, 4) ||
    inField(off, S.data_meta, 4) ||
    inField(off, S.data_end, 4) ||
    (off >= S.family && off < S.local_port + 4) ||
    inField(off, S.tstamp, 8) ||
    inField(off, S.wire_len, 4) ||
    inField(off, S.hwtstamp, 8)
  ) {
    return null;
  }
  if (write && !inField(off, S.cb, 20)) return null;
  return skbAccessCommon(off, size, write);
}

export const socketFilterProgType: ProgTypeDef = {
  progType: ProgType.SocketFilter,
  name: "socket_filter",
  ctxSize: SK_BUFF_SIZE,
  ctxAccess,
  helperAllowed: allowList(SOCKET_FILTER_EXTRA),
  directPacketAccess: false,
  unprivLoad: true,
  testRun: "skb",
};
