/**
 * The bucket layer of the hash map family: hashing, lock-free lookup, and the
 * linking and unlinking that writers do under a bucket lock. `HtabMap`
 * (htab-map.ts) builds the element operations of the four types on it.
 *
 * Locking and memory ordering:
 *  - Readers (program lookups, get_next_key, for_each) take no lock. They
 *    follow `next` words with Atomics.load and restart when a chain ends in
 *    another bucket's nulls marker (they followed an element that was
 *    recycled into another bucket meanwhile).
 *  - Writers lock one bucket (its lock word) for a splice. A new element's
 *    hash, key and value are written first; linking it is one Atomics.store
 *    of the predecessor's link (bucket head or `next`), which publishes those
 *    writes (sequentially consistent store, acquire-load by readers).
 *  - An unlinked element keeps its `next`, so a reader standing on it can
 *    still walk to the end of the chain, as with hlist_nulls_del_rcu().
 *  - `gen` is odd while an element is linked; it is bumped (Atomics.add) when
 *    it is linked and when it is unlinked. Syscall lookups use it as a
 *    sequence count: read gen (odd), check the key, copy, re-read gen; a
 *    change means the element was replaced or deleted during the copy, and
 *    the lookup starts over. So user space never reads a torn value from an
 *    update; programs read values in place, as in Linux.
 */
import type { ArenaApi } from "../../memory/arena-api.js";
import type { MapHeaderView } from "../map-ops.js";
import { roundUp8 } from "../map-ops.js";
import { htabMapHash } from "./jhash.js";
import {
  BUCKET_SIZE, B_LOCK, E_GEN, E_HASH, E_NEXT, P_BUCKETS, P_COUNT, P_ELEM_SIZE, P_MAX, P_NBUCKETS, P_SEED,
  elemHeaderSize, isNulls, nullsMarker,
} from "./layout.js";
import { spinLock, spinUnlock } from "../../memory/spin-lock.js";

/**
 * Copy `n` bytes inside the arena between non-overlapping ranges. Keys and
 * values are small and usually word-aligned; a word or byte loop costs less
 * than copyWithin's builtin call for them.
 */
export function copySmall(u8: Uint8Array, u32: Uint32Array, dst: number, src: number, n: number): void {
  if (n > 64) {
    u8.copyWithin(dst, src, src + n);
  } else if (((dst | src | n) & 3) === 0) {
    for (let i = 0; i < n; i += 4) u32[(dst + i) >>> 2] = u32[(src + i) >>> 2]!;
  } else {
    for (let i = 0; i < n; i++) u8[dst + i] = u8[src + i]!;
  }
}

export class HtabCore {
  readonly arena: ArenaApi;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly keySize: number;
  readonly valueSize: number;
  /** Offset of the key inside an element. */
  readonly keyOff: number;
  /** Offset of the value (CPU 0's slot for per-CPU types) inside an element. */
  readonly valOff: number;
  /** round_up(value_size, 8): per-CPU slot stride. */
  readonly stride: number;
  readonly ncpus: number;
  readonly elemSize: number;
  readonly maxEntries: number;
  protected readonly bucketsOff: number;
  protected readonly nBuckets: number;
  protected readonly mask: number;
  protected readonly seed: number;
  /** u32 index of the element counter. */
  protected readonly countW: number;

  constructor(readonly m: MapHeaderView, lru: boolean) {
    const a = (this.arena = m.arena);
    this.u8 = a.u8;
    this.u32 = a.u32;
    this.i32 = a.i32;
    const w = m.privOff >>> 2;
    this.bucketsOff = a.u32[w + P_BUCKETS]!;
    this.nBuckets = a.u32[w + P_NBUCKETS]!;
    this.mask = this.nBuckets - 1;
    this.seed = a.u32[w + P_SEED]!;
    this.elemSize = a.u32[w + P_ELEM_SIZE]!;
    this.maxEntries = a.u32[w + P_MAX]!;
    this.countW = w + P_COUNT;
    this.keySize = m.keySize;
    this.valueSize = m.valueSize;
    this.ncpus = m.ncpus;
    this.stride = roundUp8(m.valueSize);
    this.keyOff = elemHeaderSize(lru);
    this.valOff = this.keyOff + roundUp8(m.keySize);
  }

  /** Any context: htab_map_hash() of the key at `keyOff`. */
  hash(keyOff: number): number {
    return htabMapHash(this.u8, keyOff, this.keySize, this.seed);
  }

  bucketOf(hash: number): number {
    return this.bucketsOff + (hash & this.mask) * BUCKET_SIZE;
  }

  /** Any context: does element `e` hold the key at `keyOff`? */
  keyEq(e: number, keyOff: number): boolean {
    const u8 = this.u8;
    const k = e + this.keyOff;
    const n = this.keySize;
    if (((keyOff | n) & 3) === 0) {
      const u32 = this.u32;
      for (let i = 0; i < n; i += 4) if (u32[(k + i) >>> 2] !== u32[(keyOff + i) >>> 2]) return false;
      return true;
    }
    for (let i = 0; i < n; i++) if (u8[k + i] !== u8[keyOff + i]) return false;
    return true;
  }

  /** Program or syscall, no lock: the element holding the key, or 0. */
  lookupRaw(hash: number, keyOff: number): number {
    const i = hash & this.mask;
    const head = (this.bucketsOff + i * BUCKET_SIZE) >>> 2;
    const end = nullsMarker(i);
    const u32 = this.u32;
    for (;;) {
      let e = Atomics.load(u32, head);
      while (!isNulls(e)) {
        if (u32[(e + E_HASH) >>> 2] === hash && this.keyEq(e, keyOff)) return e;
        e = Atomics.load(u32, (e + E_NEXT) >>> 2);
      }
      if (e === end) return 0;
      // Ended in another bucket's chain: an element we walked was recycled. Restart.
    }
  }

  /** Writer with bucket `b` locked: the element holding the key, or 0. */
  lookupLocked(b: number, hash: number, keyOff: number): number {
    const u32 = this.u32;
    for (let e = u32[b >>> 2]!; !isNulls(e); e = u32[(e + E_NEXT) >>> 2]!) {
      if (u32[(e + E_HASH) >>> 2] === hash && this.keyEq(e, keyOff)) return e;
    }
    return 0;
  }

  lockBucket(b: number): void {
    spinLock(this.i32, b + B_LOCK);
  }

  unlockBucket(b: number): void {
    spinUnlock(this.i32, b + B_LOCK);
  }

  /** Writer with `b` locked: publish `e` at the head of the chain. */
  linkHead(b: number, e: number): void {
    const u32 = this.u32;
    u32[(e + E_NEXT) >>> 2] = u32[b >>> 2]!;
    Atomics.add(u32, (e + E_GEN) >>> 2, 1); // even -> odd: linked
    Atomics.store(u32, b >>> 2, e);
  }

  /** Writer with `b` locked: unlink `e` if it is in the chain; true if it was. */
  unlink(b: number, e: number): boolean {
    const u32 = this.u32;
    let link = b;
    for (let cur = u32[b >>> 2]!; !isNulls(cur); cur = u32[(cur + E_NEXT) >>> 2]!) {
      if (cur === e) {
        Atomics.store(u32, link >>> 2, u32[(e + E_NEXT) >>> 2]!);
        Atomics.add(u32, (e + E_GEN) >>> 2, 1); // odd -> even: unlinked
        return true;
      }
      link = cur + E_NEXT;
    }
    return false;
  }

  /** Write hash and key into a fresh (unlinked) element. */
  fillKey(e: number, hash: number, keyOff: number): void {
    this.u32[(e + E_HASH) >>> 2] = hash;
    copySmall(this.u8, this.u32, e + this.keyOff, keyOff, this.keySize);
  }

  /**
   * Reserve one element of max_entries for a new key; false when the map is
   * full. A compare-exchange loop, so the count never overshoots, even for
   * a moment, as a concurrent reader could see.
   */
  incCount(): boolean {
    const u32 = this.u32;
    for (;;) {
      const c = Atomics.load(u32, this.countW);
      if (c >= this.maxEntries) return false;
      if (Atomics.compareExchange(u32, this.countW, c, c + 1) === c) return true;
    }
  }

  /** Count an element that needs no reservation (LRU: it already owns a node). */
  addCount(): void {
    Atomics.add(this.u32, this.countW, 1);
  }

  decCount(): void {
    Atomics.sub(this.u32, this.countW, 1);
  }

  /** Number of live elements. */
  count(): number {
    return Atomics.load(this.u32, this.countW);
  }

  /**
   * Syscall, no lock: the start of a stable read of `e` (see `gen` above).
   * Returns its generation if `e` is linked and still holds the key, else -1
   * (look the key up again). Copy, then confirm with `unchanged`.
   */
  readBegin(e: number, hash: number, keyOff: number): number {
    const g = Atomics.load(this.u32, (e + E_GEN) >>> 2);
    if ((g & 1) === 0 || this.u32[(e + E_HASH) >>> 2] !== hash || !this.keyEq(e, keyOff)) return -1;
    return g;
  }

  /** Syscall: true if `e` was not unlinked since `readBegin` returned `g`. */
  unchanged(e: number, g: number): boolean {
    return Atomics.load(this.u32, (e + E_GEN) >>> 2) === g;
  }

  /**
   * Syscall, no lock: Linux's htab_map_get_next_key(). The element after the
   * key in its chain, else the first element of a later bucket; a missing
   * key (or `keyOff` 0) restarts at the first element of the table.
   */
  getNextKey(keyOff: number, nextKeyOff: number): number {
    const u32 = this.u32;
    let i = 0;
    if (keyOff !== 0) {
      const hash = this.hash(keyOff);
      const e = this.lookupRaw(hash, keyOff);
      if (e !== 0) {
        const next = Atomics.load(u32, (e + E_NEXT) >>> 2);
        if (!isNulls(next)) return this.copyKeyOut(next, nextKeyOff);
        i = (hash & this.mask) + 1;
      }
    }
    for (; i < this.nBuckets; i++) {
      const first = Atomics.load(u32, (this.bucketsOff + i * BUCKET_SIZE) >>> 2);
      if (!isNulls(first)) return this.copyKeyOut(first, nextKeyOff);
    }
    return -2; // -ENOENT: no more keys
  }

  private copyKeyOut(e: number, out: number): number {
    const k = e + this.keyOff;
    this.u8.copyWithin(out, k, k + this.keySize);
    return 0;
  }

  /** Program: visit every element in bucket order; `visit` returns non-zero to stop. */
  forEachRaw(visit: (e: number) => number): number {
    const u32 = this.u32;
    let n = 0;
    for (let i = 0; i < this.nBuckets; i++) {
      let e = Atomics.load(u32, (this.bucketsOff + i * BUCKET_SIZE) >>> 2);
      while (!isNulls(e)) {
        n++;
        if (visit(e) !== 0) return n;
        e = Atomics.load(u32, (e + E_NEXT) >>> 2);
      }
    }
    return n;
  }

  /** Syscall (map free): every linked element. */
  linkedElems(): number[] {
    const out: number[] = [];
    const u32 = this.u32;
    for (let i = 0; i < this.nBuckets; i++) {
      for (let e = u32[(this.bucketsOff + i * BUCKET_SIZE) >>> 2]!; !isNulls(e); e = u32[(e + E_NEXT) >>> 2]!) out.push(e);
    }
    return out;
  }
}
