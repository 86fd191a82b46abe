/**
 * BPF_PROG_TYPE_SCHED_CLS (3) and SCHED_ACT (4), the tc types: `struct
 * __sk_buff` context with direct packet access through data/data_end/
 * data_meta and writes to mark, tc_index, priority, tc_classid, cb[],
 * tstamp and queue_mapping, and a one-byte read of tstamp_type
 * (net/core/filter.c `tc_cls_act_is_valid_access`).
 */
import { ProgType } from "../../uapi.js";
import { allowList, TC_EXTRA } from "../func-sets.js";
import type { ProgTypeDef } from "../prog-type-def.js";
import type { CtxAccess } from "../prog-type.js";
import { inField, SK_BUFF_SIZE, skbAccessCommon, SkBuff as S } from "./sk-buff.js";

const WRITABLE: readonly [number, number][] = [
  [S.mark, 4],
  [S.tc_index, 4],
  [S.priority, 4],
  [S.tc_classid, 4],
  [S.cb, 20],
  [S.tstamp, 8],
  [S.queue_mapping, 4],
];

/** tc_cls_act_is_valid_access. */
export function tcCtxAccess(off: number, size: number, write: boolean): CtxAccess | null {
  if (write && !WRITABLE.some(([start, len]) => inField(off, start, len))) return null;
  if (off >= S.family && off < S.local_port + 4) return null;
  // tstamp_type (u8) is readable by tc programs only, as a single byte.
  if (off === S.tstamp_type) return !write && size === 1 ? { kind: "scalar" } : null;
  const ok = skbAccessCommon(off, size, write);
  if (!ok) return null;
  if (inField(off, S.data, 4)) return { kind: "pkt" };
  if (inField(off, S.data_meta, 4)) return { kind: "pkt_meta" };
  if (inField(off, S.data_end, 4)) return { kind: "pkt_end" };
  return ok;
}

export const schedClsProgType: ProgTypeDef = {
  progType: ProgType.SchedCls,
  name: "sched_cls",
  ctxSize: SK_BUFF_SIZE,
  ctxAccess: tcCtxAccess,
  helperAllowed: allowList(TC_EXTRA),
  directPacketAccess: true,
  unprivLoad: false,
  testRun: "skb",
};

export const schedActProgType: ProgTypeDef = { ...schedClsProgType, progType: ProgType.SchedAct, name: "sched_act" };
