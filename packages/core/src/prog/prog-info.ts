/**
 * Program info: `struct bpf_prog_info` for BPF_OBJ_GET_INFO_BY_FD (232 bytes
 * in Linux 6.18), and a decoded form for the high-level API.
 *
 *   0 type  4 id  8 tag[8]  16 jited_prog_len  20 xlated_prog_len
 *   24 jited_prog_insns (ptr)  32 xlated_prog_insns (ptr)  40 load_time
 *   48 created_by_uid  52 nr_map_ids  56 map_ids (ptr)  64 name[16]
 *   80 ifindex  84 gpl_compatible:1  ...  192 run_time_ns  200 run_cnt
 *   208 recursion_misses  216 verified_insns  220 attach_btf_obj_id
 *   224 attach_btf_id
 *
 * bpfsim's user memory is a JS buffer, so the pointer members cannot be
 * followed: the raw form reports the counts (nr_map_ids, xlated_prog_len)
 * and leaves the pointers alone; `progInfo()` returns the map ids and the
 * translated instructions directly. jited_prog_len is 0 (there is no native
 * code to dump). Syscall context.
 */
import type { Kernel } from "../kernel/kernel.js";
import { P_ATTACH_BTF_ID, P_LOAD_TIME, P_RUN_CNT, P_RUN_TIME, P_UID, P_VERIFIED, type ProgHeader } from "./prog-object.js";
import { progHeaderBySlot } from "./prog-env.js";
import { tagHex } from "./prog-tag.js";

export const BPF_PROG_INFO_SIZE = 232;

/** struct bpf_prog_info, decoded, plus what the raw form points at. */
export interface ProgInfo {
  type: number;
  id: number;
  /** 16 hex digits. */
  tag: string;
  name: string;
  xlatedProgLen: number;
  loadTime: bigint;
  createdByUid: number;
  mapIds: number[];
  gplCompatible: boolean;
  runTimeNs: bigint;
  runCnt: bigint;
  verifiedInsns: number;
  /** The instructions as loaded (user form, map fds as given). */
  xlatedProgInsns: Uint8Array;
}

function mapIds(k: Kernel, h: ProgHeader): number[] {
  return h.mapSlots().map((s) => k.objects.idOf(s));
}

/** InfoWriter for programs: fills `out`, returns the struct size, or -errno. */
export function progInfoWriter(k: Kernel, slot: number, out: Uint8Array): number {
  const h = progHeaderBySlot(k, slot);
  if (!h) return -22;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(0, h.type, true);
  dv.setUint32(4, h.id, true);
  out.set(h.tag(), 8);
  dv.setUint32(16, 0, true);
  dv.setUint32(20, h.len * 8, true);
  dv.setBigUint64(40, h.u64(P_LOAD_TIME), true);
  dv.setUint32(48, h.word(P_UID), true);
  dv.setUint32(52, h.mapSlots().length, true);
  out.set(h.nameBytes(), 64);
  dv.setUint32(84, h.gpl ? 1 : 0, true);
  dv.setBigUint64(192, h.u64(P_RUN_TIME), true);
  dv.setBigUint64(200, h.u64(P_RUN_CNT), true);
  dv.setUint32(216, h.word(P_VERIFIED), true);
  dv.setUint32(224, h.word(P_ATTACH_BTF_ID), true);
  return BPF_PROG_INFO_SIZE;
}

/** The decoded info of the program in `slot`, or undefined if the slot holds none. */
export function progInfoBySlot(k: Kernel, slot: number): ProgInfo | undefined {
  const h = progHeaderBySlot(k, slot);
  if (!h) return undefined;
  return {
    type: h.type,
    id: h.id,
    tag: tagHex(h.tag()),
    name: h.name,
    xlatedProgLen: h.len * 8,
    loadTime: h.u64(P_LOAD_TIME),
    createdByUid: h.word(P_UID),
    mapIds: mapIds(k, h),
    gplCompatible: h.gpl,
    runTimeNs: h.u64(P_RUN_TIME),
    runCnt: h.u64(P_RUN_CNT),
    verifiedInsns: h.word(P_VERIFIED),
    xlatedProgInsns: h.origInsns(),
  };
}
