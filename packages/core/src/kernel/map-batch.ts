/**
 * BPF_MAP_LOOKUP_BATCH, LOOKUP_AND_DELETE_BATCH, UPDATE_BATCH, DELETE_BATCH.
 *
 * bpf_map_do_batch() in Linux: resolve the fd, check read/write permission
 * (EPERM), then call the type's batch op or fail with ENOTSUPP. The ops
 * here are the element-by-element algorithms of Linux's
 * generic_map_{lookup,update,delete}_batch; a type opts in per command with
 * `MapOps.batchOps`. `count` is written back (elements done) even when the
 * command fails part way, as Linux does; `outBatch` receives the last key
 * read, the token to pass as `inBatch` next time. Lookup ends with ENOENT
 * once the map is exhausted, with `count` holding what this call returned.
 *
 * Who may call: syscall context, any thread.
 */
import { Errno } from "../errno.js";
import { roundUp8 } from "../maps/map-ops.js";
import { BPF_F_LOCK, BpfCmd } from "../uapi.js";
import type { MapBatchAttr } from "./attr.js";
import type { MapHandle } from "./kernel.js";
import { FMODE_CAN_READ, FMODE_CAN_WRITE } from "./layout.js";
import {
  copyBytes, lookupInto, mapGet, mapPut, sysPerms, sysValueSize, updateFrom, writeActiveDec, writeActiveInc,
} from "./map-cmds.js";
import type { Process } from "./process.js";

type BatchCmd = BpfCmd.MapLookupBatch | BpfCmd.MapLookupAndDeleteBatch | BpfCmd.MapUpdateBatch | BpfCmd.MapDeleteBatch;

const kindOf = {
  [BpfCmd.MapLookupBatch]: "lookup",
  [BpfCmd.MapLookupAndDeleteBatch]: "lookupAndDelete",
  [BpfCmd.MapUpdateBatch]: "update",
  [BpfCmd.MapDeleteBatch]: "delete",
} as const;

/** bpf_map_do_batch(). Returns 0 or -errno; `a.count` is updated. */
export function mapBatch(proc: Process, cmd: BatchCmd, a: MapBatchAttr): number {
  const hasRead = cmd === BpfCmd.MapLookupBatch || cmd === BpfCmd.MapLookupAndDeleteBatch;
  const hasWrite = cmd !== BpfCmd.MapLookupBatch;
  const h = mapGet(proc, a.mapFd);
  if (typeof h === "number") return h;
  const held = proc.fds.held;
  const fmode = proc.fds.fmode;
  if (hasWrite) writeActiveInc(h);
  try {
    const perms = sysPerms(h, fmode);
    if (hasRead && !(perms & FMODE_CAN_READ)) return -Errno.EPERM;
    if (hasWrite && !(perms & FMODE_CAN_WRITE)) return -Errno.EPERM;
    if (!h.ops.batchOps?.[kindOf[cmd]]) return -Errno.ENOTSUPP;
    if (cmd === BpfCmd.MapUpdateBatch) return updateBatch(proc, h, a);
    if (cmd === BpfCmd.MapDeleteBatch) return deleteBatch(proc, h, a);
    return lookupBatch(proc, h, a, cmd === BpfCmd.MapLookupAndDeleteBatch);
  } finally {
    if (hasWrite) writeActiveDec(h);
    mapPut(proc, h, held);
  }
}

function badElemFlags(h: MapHandle, f: number): boolean {
  return (f & ~BPF_F_LOCK) !== 0 || ((f & BPF_F_LOCK) !== 0 && h.hdr.spinLockOff < 0);
}

function validCount(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/**
 * The opening of every generic_map_*_batch, in Linux's order: element flags
 * (EINVAL), the count (EFAULT), a count of 0 is done, else the user's count
 * reads 0 until elements are done (put_user before the loop). Returns the
 * count asked for (0: nothing to do) or -errno.
 */
function batchCount(h: MapHandle, a: MapBatchAttr): number {
  if (badElemFlags(h, a.elemFlags ?? 0)) return -Errno.EINVAL;
  if (!validCount(a.count)) return -Errno.EFAULT;
  const max = a.count;
  if (max !== 0) a.count = 0;
  return max;
}

/** Whether a user array of `size`-byte elements reaches element `i`; if not, the copy faults (EFAULT). */
function reaches(buf: Uint8Array | null | undefined, i: number, size: number): buf is Uint8Array {
  return !!buf && buf.length >= (i + 1) * size;
}

/** generic_map_lookup_batch(), and lookup-and-delete on top of it. */
function lookupBatch(proc: Process, h: MapHandle, a: MapBatchAttr, del: boolean): number {
  // Linux 6.18's generic_map_lookup_batch does not look at batch.flags (probed).
  const max = batchCount(h, a);
  if (max <= 0) return max;
  const elemFlags = a.elemFlags ?? 0;
  const ks = h.hdr.keySize;
  const vs = sysValueSize(h);
  const u8 = proc.kernel.arena.u8;
  const s = proc.kernel.scratch(roundUp8(ks) * 2 + roundUp8(vs));
  if (s < 0) return s;
  let prevOff = s;
  let keyOff = s + roundUp8(ks);
  const valOff = s + 2 * roundUp8(ks);
  let havePrev = false;
  if (a.inBatch) {
    if (a.inBatch.length < ks) return -Errno.EFAULT;
    u8.set(a.inBatch.subarray(0, ks), prevOff);
    havePrev = !del;
  }
  if (!h.impl.getNextKey) return -Errno.EINVAL;
  let cp = 0;
  let err = 0;
  while (cp < max) {
    err = h.impl.getNextKey(havePrev ? prevOff : 0, keyOff);
    if (err) break;
    err = lookupInto(h, keyOff, valOff, vs, elemFlags);
    if (err === -Errno.ENOENT) {
      // Deleted between get_next_key and the copy: move on from it.
      [prevOff, keyOff] = [keyOff, prevOff];
      havePrev = true;
      continue;
    }
    if (err) return err;
    if (!reaches(a.keys, cp, ks) || !reaches(a.values, cp, vs)) {
      err = -Errno.EFAULT;
      break;
    }
    copyBytes(a.keys, cp * ks, u8, keyOff, ks);
    copyBytes(a.values, cp * vs, u8, valOff, vs);
    if (del) {
      const d = h.impl.deleteElem ? h.impl.deleteElem(keyOff, 0) : -Errno.EINVAL;
      if (d) return d;
    }
    [prevOff, keyOff] = [keyOff, prevOff];
    havePrev = !del;
    cp++;
  }
  if (err === -Errno.EFAULT) return err;
  a.count = cp;
  if (cp > 0) {
    if (!a.outBatch || a.outBatch.length < ks) return -Errno.EFAULT;
    a.outBatch.set(u8.subarray(prevOff, prevOff + ks));
  }
  return err;
}

/** generic_map_update_batch(). */
function updateBatch(proc: Process, h: MapHandle, a: MapBatchAttr): number {
  // Only BPF_F_LOCK is allowed per element (probed: BPF_NOEXIST is EINVAL
  // before any element); batch.flags is not checked.
  const max = batchCount(h, a);
  if (max <= 0) return max;
  const elemFlags = a.elemFlags ?? 0;
  const ks = h.hdr.keySize;
  const vs = sysValueSize(h);
  const u8 = proc.kernel.arena.u8;
  const s = proc.kernel.scratch(roundUp8(ks) + roundUp8(vs));
  if (s < 0) return s;
  const vOff = s + roundUp8(ks);
  let cp = 0;
  let err = 0;
  for (; cp < max; cp++) {
    if (!reaches(a.keys, cp, ks) || !reaches(a.values, cp, vs)) {
      err = -Errno.EFAULT;
      break;
    }
    copyBytes(u8, s, a.keys, cp * ks, ks);
    copyBytes(u8, vOff, a.values, cp * vs, vs);
    err = updateFrom(proc, h, s, vOff, elemFlags >>> 0);
    if (err) break;
  }
  a.count = cp;
  return err;
}

/** generic_map_delete_batch(). */
function deleteBatch(proc: Process, h: MapHandle, a: MapBatchAttr): number {
  // Bad batch.flags and bad element flags are both EINVAL, so checking
  // batch.flags first answers the same as Linux's order.
  if (a.flags) return -Errno.EINVAL;
  const max = batchCount(h, a);
  if (max <= 0) return max;
  const ks = h.hdr.keySize;
  const s = proc.kernel.scratch(roundUp8(ks));
  if (s < 0) return s;
  let cp = 0;
  let err = 0;
  for (; cp < max; cp++) {
    if (!reaches(a.keys, cp, ks)) {
      err = -Errno.EFAULT;
      break;
    }
    copyBytes(proc.kernel.arena.u8, s, a.keys, cp * ks, ks);
    err = h.impl.deleteElem ? h.impl.deleteElem(s, 0) : -Errno.EINVAL;
    if (err) break;
  }
  a.count = cp;
  return err;
}
