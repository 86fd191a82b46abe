/**
 * Object commands of bpf(): OBJ_PIN, OBJ_GET, {MAP,PROG,LINK}_GET_NEXT_ID,
 * {MAP,PROG,LINK}_GET_FD_BY_ID and OBJ_GET_INFO_BY_FD, with the checks of
 * kernel/bpf/syscall.c in their order.
 *
 * Info for maps is written here (`struct bpf_map_info`); program and link
 * info come from the modules that own those objects, through
 * `registerInfoByFd`.
 *
 * Who may call: syscall context, any thread.
 */
import { Errno } from "../errno.js";
import { BPF_F_PATH_FD, BPF_F_RDONLY, BPF_F_WRONLY, BPF_OBJ_NAME_LEN } from "../uapi.js";
import type { GetFdByIdAttr, GetNextIdAttr, InfoAttr, ObjAttr } from "./attr.js";
import type { Kernel } from "./kernel.js";
import {
  FMODE_CAN_READ, FMODE_CAN_WRITE, ID_MAX, M_BTF_FD, M_BTF_KEY, M_BTF_VALUE, M_BTF_VMLINUX_VALUE, M_EXTRA,
  M_IFINDEX, ObjKind,
} from "./layout.js";
import { fileFmode } from "./map-create.js";
import type { Process } from "./process.js";

const BPF_OBJ_FLAG_MASK = BPF_F_RDONLY | BPF_F_WRONLY;
/**
 * sizeof(struct bpf_map_info) in Linux 6.18 (probed: the kernel reports 104;
 * older headers end at map_extra, 88 bytes, and get the first 88).
 */
export const BPF_MAP_INFO_SIZE = 104;
const PAGE_SIZE = 4096;

/** Fills `info` for object `slot`; returns bytes the full struct has, or -errno. */
export type InfoWriter = (k: Kernel, slot: number, out: Uint8Array) => number;
const infoWriters: (InfoWriter | undefined)[] = [];

/** Register the info struct writer of a kind (programs, links). */
export function registerInfoByFd(kind: ObjKind, w: InfoWriter): void {
  infoWriters[kind] = w;
}

/** BPF_OBJ_PIN. */
export function objPin(proc: Process, a: ObjAttr): number {
  const ff = a.fileFlags ?? 0;
  if (ff & ~BPF_F_PATH_FD) return -Errno.EINVAL;
  if (!(ff & BPF_F_PATH_FD) && a.pathFd) return -Errno.EINVAL;
  if (ff & BPF_F_PATH_FD) return -Errno.EOPNOTSUPP; // no directory fds in the simulated VFS (COMPAT.md)
  // bpf_fd_probe_obj(): anything that is not a map, program or link fd, closed fds included, is EINVAL.
  const slot = proc.fds.get(a.bpfFd ?? 0);
  if (slot < 0) return -Errno.EINVAL;
  // The pin is a user reference from the moment its name can be found.
  proc.kernel.objects.userGet(slot);
  const err = proc.kernel.bpffs.pin(a.pathname, slot);
  if (err) {
    proc.kernel.objects.userPut(slot);
    proc.kernel.objects.put(slot);
  }
  return err;
}

/** BPF_OBJ_GET: a new fd on the pinned object. */
export function objGet(proc: Process, a: ObjAttr): number {
  const ff = a.fileFlags ?? 0;
  if (a.bpfFd || ff & ~(BPF_OBJ_FLAG_MASK | BPF_F_PATH_FD)) return -Errno.EINVAL;
  if (!(ff & BPF_F_PATH_FD) && a.pathFd) return -Errno.EINVAL;
  if (ff & BPF_F_PATH_FD) return -Errno.EOPNOTSUPP;
  const fmode = fileFmode(ff);
  if (fmode < 0) return fmode;
  const slot = proc.kernel.bpffs.get(a.pathname);
  if (slot < 0) return slot;
  // Programs and links ignore the access flags (bpf_prog_new_fd).
  const mode = proc.kernel.objects.kindOf(slot) === ObjKind.Map ? fmode : FMODE_CAN_READ | FMODE_CAN_WRITE;
  const fd = proc.fds.install(slot, mode);
  if (fd < 0) proc.kernel.objects.put(slot);
  return fd;
}

/** BPF_*_GET_NEXT_ID. */
export function objGetNextId(proc: Process, kind: ObjKind, a: GetNextIdAttr): number {
  const start = a.startId;
  if (!Number.isInteger(start) || start < 0 || start >= ID_MAX) return -Errno.EINVAL;
  const id = proc.kernel.objects.nextId(kind, start);
  if (id < 0) return id;
  a.nextId = id;
  return 0;
}

/** BPF_*_GET_FD_BY_ID. Maps honour BPF_F_RDONLY/WRONLY in open_flags; programs and links take none. */
export function objGetFdById(proc: Process, kind: ObjKind, a: GetFdByIdAttr): number {
  const of = a.openFlags ?? 0;
  let fmode = FMODE_CAN_READ | FMODE_CAN_WRITE;
  if (kind === ObjKind.Map) {
    if (of & ~BPF_OBJ_FLAG_MASK) return -Errno.EINVAL;
    fmode = fileFmode(of);
    if (fmode < 0) return fmode;
  } else if (of) return -Errno.EINVAL;
  if (!Number.isInteger(a.id) || a.id < 0 || a.id > 0xffffffff) return -Errno.ENOENT;
  const slot = proc.kernel.objects.getById(kind, a.id);
  if (slot < 0) return slot;
  const fd = proc.fds.install(slot, fmode);
  if (fd < 0) proc.kernel.objects.put(slot);
  return fd;
}

/** struct bpf_map_info for the map in `slot`. */
function mapInfo(k: Kernel, slot: number, out: Uint8Array): number {
  const h = k.mapBySlot(slot);
  if (h === undefined) return -Errno.EINVAL;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const hdr = h.hdr;
  const u32 = k.arena.u32;
  dv.setUint32(0, hdr.type, true);
  dv.setUint32(4, hdr.id, true);
  dv.setUint32(8, hdr.keySize, true);
  dv.setUint32(12, hdr.valueSize, true);
  dv.setUint32(16, hdr.maxEntries, true);
  // bpf_map_flags_retain_permanent(): the access flags belong to the fd.
  dv.setUint32(20, hdr.flags & ~(BPF_F_RDONLY | BPF_F_WRONLY), true);
  out.set(hdr.nameBytes().subarray(0, BPF_OBJ_NAME_LEN), 24);
  dv.setUint32(40, u32[hdr.word(M_IFINDEX)]!, true);
  dv.setUint32(44, u32[hdr.word(M_BTF_VMLINUX_VALUE)]!, true);
  if (u32[hdr.word(M_BTF_FD)]) {
    dv.setUint32(68, u32[hdr.word(M_BTF_KEY)]!, true);
    dv.setUint32(72, u32[hdr.word(M_BTF_VALUE)]!, true);
  }
  dv.setBigUint64(80, k.arena.u64[(hdr.headerOff >>> 3) + M_EXTRA / 2]!, true);
  return BPF_MAP_INFO_SIZE;
}
infoWriters[ObjKind.Map] = mapInfo;

/** BPF_OBJ_GET_INFO_BY_FD. EBADFD (not EBADF) for a closed fd, as Linux. */
export function objGetInfoByFd(proc: Process, a: InfoAttr): number {
  const slot = proc.fds.get(a.bpfFd);
  if (slot === -Errno.EBADF) return -Errno.EBADFD;
  if (slot < 0) return slot;
  const k = proc.kernel;
  try {
    const writer = infoWriters[k.objects.kindOf(slot)];
    if (writer === undefined) return -Errno.EINVAL;
    const len = a.infoLen;
    if (!Number.isInteger(len) || len < 0 || len > 0xffffffff) return -Errno.EFAULT;
    const full = new Uint8Array(PAGE_SIZE);
    const size = writer(k, slot, full);
    if (size < 0) return size;
    // bpf_check_uarg_tail_zero(): a longer user struct must be zero past ours.
    if (len > size) {
      if (len > PAGE_SIZE) return -Errno.E2BIG;
      if (!a.info || a.info.length < len) return -Errno.EFAULT;
      for (let i = size; i < len; i++) if (a.info[i] !== 0) return -Errno.E2BIG;
    }
    const n = Math.min(size, len);
    if (n > 0) {
      if (!a.info || a.info.length < n) return -Errno.EFAULT;
      a.info.set(full.subarray(0, n));
    }
    a.infoLen = n;
    return 0;
  } finally {
    k.objects.put(slot);
  }
}
