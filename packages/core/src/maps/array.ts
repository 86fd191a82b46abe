/**
 * BPF_MAP_TYPE_ARRAY (kernel/bpf/arraymap.c).
 *
 * Layout: one zero-filled block of `maxEntries * elemSize` bytes, with
 * elemSize = round_up(value_size, 8) as Linux; value i is at
 * valuesOff + i * elemSize. The block starts 16-aligned. Private words:
 *
 *   p0 values off   p1 per-CPU iteration keys off (ncpus * 8 bytes)
 *
 * With BPF_F_MMAPABLE the values region is what `mmap` returns: user space
 * gets a typed view over these same bytes, so its writes and the programs'
 * are the same memory (no copy), as with Linux's vmalloc'ed, page-aligned
 * array. The region is reported rounded up to whole pages like Linux; the
 * block is allocated that large.
 *
 * Locking: none for lookups or plain updates. Elements always exist, so an
 * update copies in place and a concurrent reader may see a torn value, as in
 * Linux. With BPF_F_LOCK the copy runs under the value's bpf_spin_lock (at
 * `spinLockOff`), and plain copies never touch the lock word
 * (copy_map_value skips special fields). Memory is freed only when the map
 * is freed (last reference), so no reclamation protocol is needed.
 *
 * Context: lookupElem/updateElem from programs on any CPU; sys* and
 * getNextKey from the syscall layer on any thread.
 */
import { Errno } from "../errno.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import {
  BPF_EXIST, BPF_F_INNER_MAP, BPF_F_LOCK, BPF_F_MMAPABLE, BPF_F_NUMA_NODE, BPF_F_PRESERVE_ELEMS, BPF_F_RDONLY,
  BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_NOEXIST, MapType,
} from "../uapi.js";
import type { ArenaApi } from "../memory/arena-api.js";
import { roundUp8, type MapAttr, type MapHeaderView, type MapImpl, type MapOps } from "./map-ops.js";

const PAGE = 4096;
/** What Linux counts as sizeof(struct bpf_array) in memUsage: bpfsim's map header. */
export const ARRAY_HEADER_BYTES = 256;
/** PCPU_MIN_UNIT_SIZE: the largest per-CPU value. */
export const PCPU_MIN_UNIT_SIZE = 32 * 1024;
const ACCESS_MASK = BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;
const ARRAY_CREATE_FLAG_MASK = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;

export const P_VALUES = 0;
export const P_ITER_KEYS = 1;

const pageAlign = (n: number): number => Math.ceil(n / PAGE) * PAGE;

/** array_map_alloc_check(), shared by ARRAY and PERCPU_ARRAY. */
export function arrayAllocCheck(attr: MapAttr): number {
  const percpu = attr.mapType === MapType.PercpuArray;
  const f = attr.mapFlags;
  const numa = attr.numaNode ?? -1;
  if (attr.maxEntries === 0 || attr.keySize !== 4 || attr.valueSize === 0 || (f & ~ARRAY_CREATE_FLAG_MASK) !== 0 ||
    (f & BPF_F_RDONLY_PROG && f & BPF_F_WRONLY_PROG) || (percpu && numa !== -1)) {
    return -Errno.EINVAL;
  }
  if (attr.mapType !== MapType.Array && f & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) return -Errno.EINVAL;
  if (attr.mapType !== MapType.PerfEventArray && f & BPF_F_PRESERVE_ELEMS) return -Errno.EINVAL;
  if (attr.valueSize > 0x7fffffff) return -Errno.E2BIG;
  if (percpu && roundUp8(attr.valueSize) > PCPU_MIN_UNIT_SIZE) return -Errno.E2BIG;
  // map_check_btf(): a bpf_spin_lock is only allowed in some types, never with *_PROG access flags.
  if ((attr.spinLockOff ?? -1) >= 0) {
    if (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -Errno.EACCES;
    if (percpu) return -Errno.EOPNOTSUPP;
  }
  return 0;
}

/** Bytes of the values block. */
function valuesBytes(attr: { maxEntries: number; valueSize: number; mapFlags?: number; flags?: number }): number {
  const raw = attr.maxEntries * roundUp8(attr.valueSize);
  return ((attr.mapFlags ?? attr.flags ?? 0) & BPF_F_MMAPABLE) !== 0 ? pageAlign(raw) : raw;
}

/**
 * Copy a value of `size` bytes, skipping the 4-byte spin lock at `lockOff`
 * (copy_map_value). Program or syscall context.
 */
export function copyValue(u8: Uint8Array, dst: number, src: number, size: number, lockOff: number): void {
  if (lockOff < 0) {
    if (size <= 32) for (let i = 0; i < size; i++) u8[dst + i] = u8[src + i]!;
    else u8.copyWithin(dst, src, src + size);
    return;
  }
  u8.copyWithin(dst, src, src + lockOff);
  u8.copyWithin(dst + lockOff + 4, src + lockOff + 4, src + size);
}

/** copy_map_value_locked(): copy under the lock inside `lockedValue`. */
export function copyValueLocked(m: MapHeaderView, dst: number, src: number, lockedValue: number): void {
  const { i32, u8 } = m.arena;
  spinLock(i32, lockedValue + m.spinLockOff);
  copyValue(u8, dst, src, m.valueSize, m.spinLockOff);
  spinUnlock(i32, lockedValue + m.spinLockOff);
}

/** The update flags check shared by program and syscall updates (array_map_update_elem). */
export function arrayUpdateCheck(m: MapHeaderView, index: number, flags: number): number {
  if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return -Errno.EINVAL;
  if (index >= m.maxEntries) return -Errno.E2BIG;
  if (flags & BPF_NOEXIST) return -Errno.EEXIST;
  if (flags & BPF_F_LOCK && m.spinLockOff < 0) return -Errno.EINVAL;
  return 0;
}

/** get_next_key of both array types: 0 → first; past the end → first; last → ENOENT. */
export function arrayGetNextKey(m: MapHeaderView, keyOff: number, nextKeyOff: number): number {
  const index = keyOff === 0 ? 0xffffffff : m.arena.dv.getUint32(keyOff, true);
  if (index >= m.maxEntries) {
    m.arena.dv.setUint32(nextKeyOff, 0, true);
    return 0;
  }
  if (index === m.maxEntries - 1) return -Errno.ENOENT;
  m.arena.dv.setUint32(nextKeyOff, index + 1, true);
  return 0;
}

/**
 * The u32 index at `keyOff`, read as one word when aligned (the usual case:
 * keys live on the stack or in 8-aligned syscall buffers). Program or
 * syscall context.
 */
export function arrayIndex(a: ArenaApi, keyOff: number): number {
  return (keyOff & 3) === 0 ? a.u32[keyOff >>> 2]! : a.dv.getUint32(keyOff, true);
}

/**
 * alloc() of both array types: a values block of `bytes` (the caller sizes it
 * for its layout) and the per-CPU iteration key slots, recorded in the
 * private words. A failure frees what was made, so a half-built map leaves
 * nothing behind. Syscall context (map create).
 */
export function arrayAlloc(m: MapHeaderView, owner: number, bytes: number): number {
  const a = m.arena;
  if (bytes > a.size) return -Errno.ENOMEM;
  const values = a.alloc(bytes, owner);
  if (values < 0) return values;
  const keys = a.alloc(m.ncpus * 8, owner);
  if (keys < 0) {
    a.free(values);
    return keys;
  }
  a.u32[(m.privOff >>> 2) + P_VALUES] = values;
  a.u32[(m.privOff >>> 2) + P_ITER_KEYS] = keys;
  return 0;
}

/** free() of both array types: the blocks arrayAlloc made. Syscall context (last reference). */
export function arrayFree(m: MapHeaderView): void {
  const w = m.privOff >>> 2;
  m.arena.free(m.arena.u32[w + P_VALUES]!);
  m.arena.free(m.arena.u32[w + P_ITER_KEYS]!);
}

/**
 * bpf_for_each_map_elem over both array types: `m.maxEntries` values of
 * `stride` bytes from `base`, each key written to the calling CPU's
 * iteration slot `keySlot` so the callback gets a key pointer no other CPU
 * writes; a non-zero callback return stops early. Returns the elements
 * visited, the stopping one included. Program context, on the CPU owning
 * `keySlot`.
 */
export function arrayForEach(
  m: MapHeaderView, keySlot: number, base: number, stride: number, cb: (keyOff: number, valueOff: number) => number,
): number {
  const max = m.maxEntries;
  let n = 0;
  for (let i = 0; i < max; i++) {
    m.arena.u32[keySlot >>> 2] = i;
    n++;
    if (cb(keySlot, base + i * stride) !== 0) break;
  }
  return n;
}

class ArrayImpl implements MapImpl {
  private readonly values: number;
  private readonly elem: number;
  private readonly max: number;
  private readonly iterKeys: number;

  constructor(private readonly m: MapHeaderView) {
    this.values = m.arena.u32[(m.privOff >>> 2) + P_VALUES]!;
    this.iterKeys = m.arena.u32[(m.privOff >>> 2) + P_ITER_KEYS]!;
    this.elem = roundUp8(m.valueSize);
    this.max = m.maxEntries;
  }

  /** Program or syscall: pointer to the element, or 0 when out of range. No lock. */
  lookupElem(keyOff: number): number {
    const i = arrayIndex(this.m.arena, keyOff);
    return i < this.max ? this.values + i * this.elem : 0;
  }

  /** Program or syscall: in-place update. */
  updateElem(keyOff: number, valueOff: number, flags: number): number {
    const i = arrayIndex(this.m.arena, keyOff);
    const err = arrayUpdateCheck(this.m, i, flags);
    if (err) return err;
    const dst = this.values + i * this.elem;
    if (flags & BPF_F_LOCK) copyValueLocked(this.m, dst, valueOff, dst);
    else copyValue(this.m.arena.u8, dst, valueOff, this.m.valueSize, this.m.spinLockOff);
    return 0;
  }

  /** Syscall: same as a program update. */
  sysUpdateElem(keyOff: number, valueOff: number, flags: number): number {
    return this.updateElem(keyOff, valueOff, flags);
  }

  /** Syscall: copy out; the spin lock field reads as zero (check_and_init_map_value). */
  sysLookupElem(keyOff: number, outOff: number, flags: number): number {
    const p = this.lookupElem(keyOff);
    if (p === 0) return -Errno.ENOENT;
    const m = this.m;
    if (flags & BPF_F_LOCK) copyValueLocked(m, outOff, p, p);
    else copyValue(m.arena.u8, outOff, p, m.valueSize, m.spinLockOff);
    if (m.spinLockOff >= 0) m.arena.u32[(outOff + m.spinLockOff) >>> 2] = 0;
    return 0;
  }

  /** Elements cannot be deleted from an array. */
  deleteElem(): number {
    return -Errno.EINVAL;
  }

  getNextKey(keyOff: number, nextKeyOff: number): number {
    return arrayGetNextKey(this.m, keyOff, nextKeyOff);
  }

  /** Program: bpf_for_each_map_elem, keys from this CPU's iteration slot. */
  forEachElem(cpu: number, cb: (keyOff: number, valueOff: number) => number): number {
    return arrayForEach(this.m, this.iterKeys + cpu * 8, this.values, this.elem, cb);
  }

  count(): number {
    return this.max;
  }
}

export const arrayMapOps: MapOps = {
  allocCheck: (attr) => arrayAllocCheck(attr),
  memUsage(attr: MapAttr): number {
    const raw = attr.maxEntries * roundUp8(attr.valueSize);
    return attr.mapFlags & BPF_F_MMAPABLE ? pageAlign(ARRAY_HEADER_BYTES) + pageAlign(raw) : ARRAY_HEADER_BYTES + raw;
  },
  alloc: (m, owner) => arrayAlloc(m, owner, valuesBytes(m)),
  free: arrayFree,
  open: (m) => new ArrayImpl(m),
  batchOps: { lookup: true, update: true },
  mmapRegion(m: MapHeaderView) {
    if (!(m.flags & BPF_F_MMAPABLE)) return -Errno.EINVAL;
    return { off: m.arena.u32[(m.privOff >>> 2) + P_VALUES]!, bytes: valuesBytes(m) };
  },
};
