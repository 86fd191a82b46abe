/**
 * The BPF ring buffer in shared memory (kernel/bpf/ringbuf.c): one ring for
 * all CPUs, multi-producer (programs on any CPU), single consumer (user
 * space). Positions and record headers are Linux's, so a reader written
 * against Linux's layout reads this one.
 *
 * Block layout (page aligned in the arena; PAGE = 4096):
 *
 *   page 0  meta (Linux's struct bpf_ringbuf fields that user space never maps):
 *           +0 lock i32   +4 mask u32   +8 pending_pos (lo, hi)
 *           +16 producer_pos shadow (lo, hi), read and written under the lock
 *           +24 wake word i32 (bumped on every notification)
 *           +28 raw arena block offset (the block is aligned inside it)
 *           +32 consumer_pos as last read by a producer (lo, hi), under the lock
 *   page 1  consumer_pos u64 at +0 (the consumer writes it)
 *   page 2  producer_pos u64 at +0 (producers publish it)
 *   page 3  data[size]  followed by  mirror[size]
 *
 * Records: an 8-byte header { u32 len; u32 pg_off } then the sample, the
 * whole rounded up to 8. len carries BUSY (1 << 31) until the record is
 * committed and DISCARD (1 << 30) if it was discarded; pg_off is the page
 * of the header counted from the block start, from which submit finds the
 * ring again (bpf_ringbuf_restore_from_rec()).
 *
 * Wrap-around: Linux maps the data pages twice so a record that runs past
 * the end is contiguous. The arena cannot alias pages, so the data area is
 * followed by a mirror of the same size: a reservation always gets the
 * contiguous range data + (pos & mask) .. + len, which may run into the
 * mirror. On commit, the part that ran past the end is copied to the start
 * of the data area before the header is released, so both the data pages
 * (as Linux lays them out) and the contiguous view hold the record. The
 * consumer reads samples contiguously from the same place.
 *
 * Ordering: a producer reserves under the ring's spin lock (pending_pos,
 * producer_pos) and publishes producer_pos with an Atomics.store after
 * writing the BUSY header; it commits without the lock by an Atomics.store
 * of the final len (release), which the consumer reads with Atomics.load
 * (acquire) before the sample. The consumer publishes consumer_pos after it
 * is done with a record, and producers read it before reusing space.
 *
 * Who may call: reserve/commit from programs on any CPU; the consumer
 * routines from one user-space thread.
 */
import type { ArenaApi } from "../memory/arena-api.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";

export const PAGE = 4096;
export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
export const BPF_RINGBUF_HDR_SZ = 8;
/** RINGBUF_MAX_RECORD_SZ: UINT_MAX / 4. */
export const RINGBUF_MAX_RECORD_SZ = 0x3fffffff;
export const BPF_RB_NO_WAKEUP = 1;
export const BPF_RB_FORCE_WAKEUP = 2;
export const BPF_RB_AVAIL_DATA = 0;
export const BPF_RB_RING_SIZE = 1;
export const BPF_RB_CONS_POS = 2;
export const BPF_RB_PROD_POS = 3;

const M_LOCK = 0;
const M_MASK = 4;
const M_PENDING = 8;
const M_PROD = 16;
const M_WAKE = 24;
const M_RAW = 28;
const M_CONS_SEEN = 32;
export const CONSUMER_PAGE = PAGE;
export const PRODUCER_PAGE = 2 * PAGE;
export const DATA_PAGE = 3 * PAGE;

/** Arena bytes a ring of `size` data bytes takes (alignment slack included). */
export function ringBlockBytes(size: number): number {
  return DATA_PAGE + 2 * size + PAGE;
}

/** Syscall (map alloc): allocate and initialise a ring. Returns its page-aligned base, or -ENOMEM. */
export function ringAlloc(arena: ArenaApi, size: number, owner: number): number {
  const raw = arena.alloc(ringBlockBytes(size), owner);
  if (raw < 0) return raw;
  const base = Math.ceil(raw / PAGE) * PAGE;
  // Only the meta and position pages need zeroes; data is written before it is read.
  arena.u8.fill(0, base, base + DATA_PAGE);
  arena.u32[(base + M_MASK) >>> 2] = size - 1;
  arena.u32[(base + M_RAW) >>> 2] = raw;
  return base;
}

/** Syscall (map free). */
export function ringFree(arena: ArenaApi, base: number): void {
  arena.free(arena.u32[(base + M_RAW) >>> 2]!);
}

const getPos = (u32: Uint32Array, off: number): number => u32[off >>> 2]! + u32[(off >>> 2) + 1]! * 0x100000000;
const setPos = (u32: Uint32Array, off: number, v: number): void => {
  u32[off >>> 2] = v >>> 0;
  u32[(off >>> 2) + 1] = Math.floor(v / 0x100000000);
};

/**
 * Any thread: an acquire load of the u64 position at `off`, without a
 * BigInt: high word, low word, high word again (32-bit Atomics loads). A
 * position has one writer at a time and only grows, and its high word
 * changes only through a whole 64-bit store (storePos), so when both high
 * reads agree the low word belongs to that high word.
 */
export function loadPos(arena: ArenaApi, off: number): number {
  const u32 = arena.u32;
  const w = off >>> 2;
  for (;;) {
    const hi = Atomics.load(u32, w + 1);
    const lo = Atomics.load(u32, w);
    if (Atomics.load(u32, w + 1) === hi) return hi * 0x100000000 + lo;
  }
}

/**
 * Any thread (the position's one writer): a release store of the u64
 * position at `off`. While the high word stays the same only the low word
 * is stored (a 32-bit Atomics store, no BigInt); a 64-bit reader sees the
 * old or the new value, never a mix. Crossing a 4 GiB boundary stores all
 * 64 bits at once.
 */
export function storePos(arena: ArenaApi, off: number, v: number): void {
  const u32 = arena.u32;
  const w = off >>> 2;
  const hi = Math.floor(v / 0x100000000);
  if (u32[w + 1] === hi) Atomics.store(u32, w, v >>> 0);
  else Atomics.store(arena.u64, off / 8, BigInt(v));
}

export const ringMask = (arena: ArenaApi, base: number): number => arena.u32[(base + M_MASK) >>> 2]!;
export const wakeWord = (base: number): number => (base + M_WAKE) >>> 2;

/** round_up(len + header, 8) of a header's len word (busy and discard bits cleared). */
export function recordBytes(lenWord: number): number {
  return (((lenWord & 0x3fffffff) + BPF_RINGBUF_HDR_SZ + 7) & ~7) >>> 0;
}

/**
 * Program: __bpf_ringbuf_reserve(). The sample's arena offset, or 0 when the
 * record is too big or the ring has no room (Linux returns NULL and counts
 * nothing).
 */
export function ringReserve(arena: ArenaApi, base: number, size: number): number {
  if (size > RINGBUF_MAX_RECORD_SZ) return 0;
  const mask = ringMask(arena, base);
  const len = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
  if (len > mask + 1) return 0;
  const u32 = arena.u32;
  spinLock(arena.i32, base + M_LOCK);
  let pend = getPos(u32, base + M_PENDING);
  const prod = getPos(u32, base + M_PROD);
  const newProd = prod + len;
  // Skip committed records at the pending position: they no longer hold space back.
  while (pend < prod) {
    const h = Atomics.load(u32, (base + DATA_PAGE + (pend & mask)) >>> 2) >>> 0;
    if (h & BPF_RINGBUF_BUSY_BIT) break;
    pend += recordBytes(h);
  }
  setPos(u32, base + M_PENDING, pend);
  // consumer_pos only grows: if the record fits behind the value last read, it fits behind the
  // current one, so the (64-bit, allocating) load is needed only when the ring looks full.
  let consPos = getPos(u32, base + M_CONS_SEEN);
  if (newProd - consPos > mask) {
    consPos = loadPos(arena, base + CONSUMER_PAGE);
    setPos(u32, base + M_CONS_SEEN, consPos);
  }
  if (newProd - consPos > mask || newProd - pend > mask) {
    spinUnlock(arena.i32, base + M_LOCK);
    return 0;
  }
  const hdr = base + DATA_PAGE + (prod & mask);
  u32[(hdr + 4) >>> 2] = (hdr - base) / PAGE; // pg_off
  Atomics.store(u32, hdr >>> 2, (size | BPF_RINGBUF_BUSY_BIT) >>> 0);
  setPos(u32, base + M_PROD, newProd);
  storePos(arena, base + PRODUCER_PAGE, newProd);
  spinUnlock(arena.i32, base + M_LOCK);
  return hdr + BPF_RINGBUF_HDR_SZ;
}

/** Program: the ring base of a sample returned by `ringReserve` (bpf_ringbuf_restore_from_rec()). */
export function ringOfSample(arena: ArenaApi, sample: number): number {
  const hdr = sample - BPF_RINGBUF_HDR_SZ;
  return hdr - (hdr % PAGE) - arena.u32[(hdr + 4) >>> 2]! * PAGE;
}

/**
 * Program: bpf_ringbuf_commit(): release the record (submit or discard) and
 * wake the consumer if it has caught up with this record, or if asked to.
 */
export function ringCommit(arena: ArenaApi, sample: number, flags: number, discard: boolean): void {
  const base = ringOfSample(arena, sample);
  const u32 = arena.u32;
  const hdr = sample - BPF_RINGBUF_HDR_SZ;
  const mask = ringMask(arena, base);
  const data = base + DATA_PAGE;
  const lenWord = u32[hdr >>> 2]!;
  const end = hdr + recordBytes(lenWord);
  // The part of a wrapped record that lies in the mirror goes to the start of the data area too.
  if (!discard && end > data + mask + 1) arena.u8.copyWithin(data, data + mask + 1, end);
  let newLen = (lenWord ^ BPF_RINGBUF_BUSY_BIT) >>> 0;
  if (discard) newLen = (newLen | BPF_RINGBUF_DISCARD_BIT) >>> 0;
  Atomics.store(u32, hdr >>> 2, newLen);
  const recPos = hdr - data;
  // Only the position inside the ring matters here: the low word of consumer_pos is enough.
  const consPos = (Atomics.load(u32, (base + CONSUMER_PAGE) >>> 2) & mask) >>> 0;
  if (flags & BPF_RB_FORCE_WAKEUP || (consPos === recPos && !(flags & BPF_RB_NO_WAKEUP))) {
    const w = wakeWord(base);
    Atomics.add(arena.i32, w, 1);
    Atomics.notify(arena.i32, w);
  }
}

/** Program: bpf_ringbuf_query(). */
export function ringQuery(arena: ArenaApi, base: number, flags: bigint): bigint {
  const cons = (): number => loadPos(arena, base + CONSUMER_PAGE);
  const prod = (): number => loadPos(arena, base + PRODUCER_PAGE);
  switch (flags) {
    case BigInt(BPF_RB_AVAIL_DATA):
      return BigInt(prod() - cons());
    case BigInt(BPF_RB_RING_SIZE):
      return BigInt(ringMask(arena, base) + 1);
    case BigInt(BPF_RB_CONS_POS):
      return BigInt(cons());
    case BigInt(BPF_RB_PROD_POS):
      return BigInt(prod());
    default:
      return 0n;
  }
}
