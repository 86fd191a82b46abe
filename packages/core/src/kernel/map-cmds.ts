/**
 * The map element commands of bpf(): LOOKUP, UPDATE, DELETE, GET_NEXT_KEY,
 * LOOKUP_AND_DELETE, FREEZE. Each follows its function in
 * kernel/bpf/syscall.c check for check, in the same order:
 *
 *   flags -> fd (EBADF; EINVAL if not a map) -> fmode / frozen (EPERM) ->
 *   BPF_F_LOCK without a spin lock (EINVAL) -> copy key (EFAULT) -> op.
 *
 * Keys and values are copied from the caller's Uint8Arrays into this
 * thread's scratch block in the arena, then the type's `MapImpl` runs on
 * offsets; results are copied back. A member the type lacks gives EINVAL
 * (ENOTSUPP for lookup-and-delete, as Linux answers for types other than
 * hash, queue and stack).
 *
 * Writers raise the map's write-active count around the operation, so that
 * FREEZE racing with an update fails with EBUSY instead of freezing a map
 * with a write in flight (bpf_map_write_active_inc in Linux).
 *
 * Who may call: syscall context, any thread.
 */
import { Errno } from "../errno.js";
import { roundUp8 } from "../maps/map-ops.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import { BPF_F_LOCK } from "../uapi.js";
import type { MapHandle } from "./kernel.js";
import { FMODE_CAN_READ, FMODE_CAN_WRITE, M_FREEZE_LOCK, M_FROZEN, M_WRITE_ACTIVE } from "./layout.js";
import type { Process } from "./process.js";

type Buf = Uint8Array | null | undefined;

/** bpf_map_value_size(): bytes of a value as user space sees it. */
export function sysValueSize(h: MapHandle): number {
  if (h.ops.sysValueSize) return h.ops.sysValueSize(h.hdr);
  if (h.impl.lookupPercpuElem) return h.hdr.ncpus * roundUp8(h.hdr.valueSize);
  return h.hdr.valueSize;
}

/** map_get_sys_perms(): the fd's fmode, minus write when the map is frozen. */
export function sysPerms(h: MapHandle, fmode: number): number {
  return Atomics.load(h.hdr.arena.u32, h.hdr.word(M_FROZEN)) !== 0 ? fmode & ~FMODE_CAN_WRITE : fmode;
}

/**
 * sysPerms for a read: only FMODE_CAN_READ matters, which freezing never
 * takes away, so the frozen word need not be read at all.
 */
function canRead(fmode: number): boolean {
  return (fmode & FMODE_CAN_READ) !== 0;
}

/**
 * Resolve `fd` to a map (fdget + __bpf_map_get). Returns the handle, or
 * -EBADF / -EINVAL. On the single-user fast path no reference is taken
 * (`proc.fds.held` is false); otherwise one is. Either way the caller reads
 * `proc.fds.held` right away and ends with `mapPut(proc, h, held)`. Calls
 * must not nest.
 */
export function mapGet(proc: Process, fd: number): MapHandle | number {
  const fast = proc.fds.peek(fd);
  if (fast >= 0) {
    // Per-process cache by fd, valid while the fd names the same slot generation.
    const c = proc.fdCache[fd];
    const gen = proc.kernel.objects.genOfHeld(fast);
    if (c !== undefined && c.slot === fast && c.gen === gen) return c.h;
    const h = proc.kernel.mapBySlot(fast);
    if (h === undefined) {
      proc.fds.unpeek();
      return -Errno.EINVAL;
    }
    proc.fdCache[fd] = { slot: fast, gen, h };
    return h;
  }
  const slot = proc.fds.get(fd);
  if (slot < 0) return slot;
  const h = proc.kernel.mapBySlot(slot);
  if (h === undefined) {
    proc.kernel.objects.put(slot);
    return -Errno.EINVAL;
  }
  return h;
}

/** Drop what `mapGet` took; `held` is `proc.fds.held` read right after `mapGet`. */
export function mapPut(proc: Process, h: MapHandle, held: boolean): void {
  if (held) proc.kernel.objects.put(h.hdr.slot);
  else proc.fds.unpeek();
}

/** Copy the key into scratch at `off`: 0, or -EFAULT (missing / short), -EINVAL (key for a keyless map). */
export function copyKeyIn(proc: Process, h: MapHandle, key: Buf, off: number): number {
  const ks = h.hdr.keySize;
  if (ks === 0) return key ? -Errno.EINVAL : 0;
  if (!key || key.length < ks) return -Errno.EFAULT;
  copyBytes(proc.kernel.arena.u8, off, key, 0, ks);
  return 0;
}

/**
 * copy_to_user() of an element result: `n` bytes from the arena at `off`
 * into the caller's buffer. 0, or -EFAULT when the buffer is missing or
 * short (nothing is copied then).
 */
export function copyToUser(dst: Buf, u8: Uint8Array, off: number, n: number): number {
  if (!dst || dst.length < n) return -Errno.EFAULT;
  copyBytes(dst, 0, u8, off, n);
  return 0;
}

/** copy_from_user() of a value: `n` bytes of `src` into the arena at `off`. 0 or -EFAULT, as copyToUser. */
export function copyFromUser(u8: Uint8Array, off: number, src: Buf, n: number): number {
  if (!src || src.length < n) return -Errno.EFAULT;
  copyBytes(u8, off, src, 0, n);
  return 0;
}

/**
 * bpf_map_write_active_inc/dec(): bracket a user-space write so FREEZE sees
 * it in flight (EBUSY). Every inc is paired with a dec in a `finally`.
 */
export function writeActiveInc(h: MapHandle): void {
  Atomics.add(h.hdr.arena.u32, h.hdr.word(M_WRITE_ACTIVE), 1);
}

/** See writeActiveInc. */
export function writeActiveDec(h: MapHandle): void {
  Atomics.sub(h.hdr.arena.u32, h.hdr.word(M_WRITE_ACTIVE), 1);
}

function hasSpinLock(h: MapHandle): boolean {
  return h.hdr.spinLockOff >= 0;
}

/** Scratch layout for one element op: key | value | next key, 8-aligned. */
function scratchFor(proc: Process, h: MapHandle, vsize: number): number {
  return proc.kernel.scratch(roundUp8(h.hdr.keySize) * 2 + roundUp8(vsize));
}

/** scratchFor with the user's key copied in: the scratch offset, or -errno (copyKeyIn's). */
function scratchWithKey(proc: Process, h: MapHandle, key: Buf, vsize: number): number {
  const s = scratchFor(proc, h, vsize);
  if (s < 0) return s;
  const err = copyKeyIn(proc, h, key, s);
  return err < 0 ? err : s;
}

/** BPF_MAP_LOOKUP_ELEM: value copied into `value`. 0 or -errno (ENOENT for a missing key). */
export function mapLookupElem(proc: Process, fd: number, key: Buf, value: Buf, flags: number): number {
  if ((flags & ~BPF_F_LOCK) !== 0) return -Errno.EINVAL;
  const h = mapGet(proc, fd);
  if (typeof h === "number") return h;
  const held = proc.fds.held;
  const fmode = proc.fds.fmode;
  try {
    if (!canRead(fmode)) return -Errno.EPERM;
    if (flags & BPF_F_LOCK && !hasSpinLock(h)) return -Errno.EINVAL;
    const vsize = sysValueSize(h);
    const s = scratchWithKey(proc, h, key, vsize);
    if (s < 0) return s;
    const vOff = s + roundUp8(h.hdr.keySize);
    if (h.ops.sysLookupReadsValue) {
      const err = copyFromUser(proc.kernel.arena.u8, vOff, value, vsize);
      if (err) return err;
    }
    const err = lookupInto(h, s, vOff, vsize, flags);
    if (err) return err;
    return copyToUser(value, proc.kernel.arena.u8, vOff, vsize);
  } finally {
    mapPut(proc, h, held);
  }
}

/** bpf_map_copy_value(): the type's syscall lookup, or a copy of what its lookupElem points at. */
export function lookupInto(h: MapHandle, keyOff: number, outOff: number, vsize: number, flags: number): number {
  if (h.impl.sysLookupElem) return h.impl.sysLookupElem(keyOff, outOff, flags);
  if (!h.impl.lookupElem) return -Errno.EINVAL;
  const p = h.impl.lookupElem(keyOff, 0);
  if (p === 0) return -Errno.ENOENT;
  h.hdr.arena.u8.copyWithin(outOff, p, p + vsize);
  return 0;
}

/**
 * bpf_map_update_value(): for maps whose values are fds of other objects
 * (prog array, map-in-map, perf event array) the u32 fd in the value is
 * resolved in `proc` with a reference taken, which the map keeps on success
 * (map_fd_get_ptr; a bad fd is EBADF, a non-bpf fd EINVAL); otherwise the
 * type's syscall update, else its program-side update.
 */
export function updateFrom(proc: Process, h: MapHandle, keyOff: number, valueOff: number, flags: number): number {
  if (h.impl.sysUpdateFdElem) {
    const fd = proc.kernel.arena.dv.getInt32(valueOff, true);
    const obj = proc.fds.get(fd);
    if (obj < 0) return obj === -Errno.EBADF ? -Errno.EBADF : -Errno.EINVAL;
    return h.impl.sysUpdateFdElem(keyOff, obj, flags);
  }
  if (h.impl.sysUpdateElem) return h.impl.sysUpdateElem(keyOff, valueOff, flags);
  if (h.impl.updateElem) return h.impl.updateElem(keyOff, valueOff, flags, 0);
  return -Errno.EINVAL;
}

/** Copy `n` bytes; a loop beats creating subarray views for the small keys and values of the hot path. */
export function copyBytes(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, n: number): void {
  if (n <= 32) for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!;
  else dst.set(src.subarray(sOff, sOff + n), dOff);
}

/** BPF_MAP_UPDATE_ELEM. 0 or -errno. */
export function mapUpdateElem(proc: Process, fd: number, key: Buf, value: Buf, flags: number): number {
  const h = mapGet(proc, fd);
  if (typeof h === "number") return h;
  const held = proc.fds.held;
  const fmode = proc.fds.fmode;
  writeActiveInc(h);
  try {
    if (!(sysPerms(h, fmode) & FMODE_CAN_WRITE)) return -Errno.EPERM;
    if (flags & BPF_F_LOCK && !hasSpinLock(h)) return -Errno.EINVAL;
    const vsize = sysValueSize(h);
    const s = scratchWithKey(proc, h, key, vsize);
    if (s < 0) return s;
    const vOff = s + roundUp8(h.hdr.keySize);
    // A map without values (ring buffer) takes a NULL value, as Linux copies 0 bytes.
    if (vsize > 0) {
      const err = copyFromUser(proc.kernel.arena.u8, vOff, value, vsize);
      if (err) return err;
    }
    return updateFrom(proc, h, s, vOff, flags >>> 0);
  } finally {
    writeActiveDec(h);
    mapPut(proc, h, held);
  }
}

/** BPF_MAP_DELETE_ELEM. 0 or -errno. */
export function mapDeleteElem(proc: Process, fd: number, key: Buf): number {
  const h = mapGet(proc, fd);
  if (typeof h === "number") return h;
  const held = proc.fds.held;
  const fmode = proc.fds.fmode;
  writeActiveInc(h);
  try {
    if (!(sysPerms(h, fmode) & FMODE_CAN_WRITE)) return -Errno.EPERM;
    const s = scratchWithKey(proc, h, key, 0);
    if (s < 0) return s;
    return h.impl.deleteElem ? h.impl.deleteElem(s, 0) : -Errno.EINVAL;
  } finally {
    writeActiveDec(h);
    mapPut(proc, h, held);
  }
}

/** BPF_MAP_GET_NEXT_KEY: next key into `nextKey`. 0, or -ENOENT after the last key. */
export function mapGetNextKey(proc: Process, fd: number, key: Buf, nextKey: Buf): number {
  const h = mapGet(proc, fd);
  if (typeof h === "number") return h;
  const held = proc.fds.held;
  const fmode = proc.fds.fmode;
  try {
    if (!canRead(fmode)) return -Errno.EPERM;
    const s = scratchFor(proc, h, 0);
    if (s < 0) return s;
    let keyOff = 0;
    if (key) {
      const err = copyKeyIn(proc, h, key, s);
      if (err) return err;
      keyOff = s;
    }
    if (!h.impl.getNextKey) return -Errno.EINVAL;
    const nOff = s + roundUp8(h.hdr.keySize);
    const err = h.impl.getNextKey(keyOff, nOff);
    if (err) return err;
    return copyToUser(nextKey, proc.kernel.arena.u8, nOff, h.hdr.keySize);
  } finally {
    mapPut(proc, h, held);
  }
}

/** BPF_MAP_LOOKUP_AND_DELETE_ELEM. 0 or -errno. */
export function mapLookupAndDeleteElem(proc: Process, fd: number, key: Buf, value: Buf, flags: number): number {
  if ((flags & ~BPF_F_LOCK) !== 0) return -Errno.EINVAL;
  const h = mapGet(proc, fd);
  if (typeof h === "number") return h;
  const held = proc.fds.held;
  const fmode = proc.fds.fmode;
  writeActiveInc(h);
  try {
    const perms = sysPerms(h, fmode);
    if (!(perms & FMODE_CAN_READ) || !(perms & FMODE_CAN_WRITE)) return -Errno.EPERM;
    if (flags & BPF_F_LOCK && !hasSpinLock(h)) return -Errno.EINVAL;
    const vsize = sysValueSize(h);
    const s = scratchWithKey(proc, h, key, vsize);
    if (s < 0) return s;
    if (!h.impl.sysLookupAndDeleteElem) return -Errno.ENOTSUPP;
    const vOff = s + roundUp8(h.hdr.keySize);
    const err = h.impl.sysLookupAndDeleteElem(s, vOff, flags);
    if (err) return err;
    return copyToUser(value, proc.kernel.arena.u8, vOff, vsize);
  } finally {
    writeActiveDec(h);
    mapPut(proc, h, held);
  }
}

/**
 * BPF_MAP_FREEZE: user space can no longer write the map (programs still
 * can, unless BPF_F_RDONLY_PROG). ENOTSUPP for maps with a spin lock
 * (a BTF record), EPERM without write access or when already frozen (the
 * frozen map's fd has lost write permission), EBUSY with a write in flight.
 */
export function mapFreeze(proc: Process, fd: number): number {
  const h = mapGet(proc, fd);
  if (typeof h === "number") return h;
  const held = proc.fds.held;
  const fmode = proc.fds.fmode;
  try {
    if (hasSpinLock(h)) return -Errno.ENOTSUPP;
    if (!(sysPerms(h, fmode) & FMODE_CAN_WRITE)) return -Errno.EPERM;
    const u32 = h.hdr.arena.u32;
    const lockOff = h.hdr.word(M_FREEZE_LOCK) * 4;
    spinLock(h.hdr.arena.i32, lockOff);
    try {
      if (Atomics.load(u32, h.hdr.word(M_WRITE_ACTIVE)) !== 0) return -Errno.EBUSY;
      if (Atomics.load(u32, h.hdr.word(M_FROZEN)) !== 0) return -Errno.EBUSY;
      Atomics.store(u32, h.hdr.word(M_FROZEN), 1);
      return 0;
    } finally {
      spinUnlock(h.hdr.arena.i32, lockOff);
    }
  } finally {
    mapPut(proc, h, held);
  }
}
