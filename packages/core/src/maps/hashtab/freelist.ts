/**
 * Free elements of a HASH or PERCPU_HASH map: `nshards` FIFO lists (ncpus + 1),
 * each under its own lock, like the kernel's pcpu_freelist.
 *
 *   shard (SHARD_BYTES each, one cache line, so threads working on
 *   different shards do not bounce one line between cores):
 *     +0  lock  i32  spin lock over this shard's list
 *     +4  head  u32  oldest free element (0 = empty)
 *     +8  tail  u32  newest free element
 *     +12 turn  u32  shard 0 only: accessors created so far (Atomics.add),
 *                    which hands syscall accessors their shards in turn
 *   elements are linked through their E_LINK word.
 *
 * Reclamation: a deleted or replaced element goes to the tail of its
 * freeing CPU's shard and is reused from the head, so an element is reused
 * as late as the free lists allow; the bigger the free pool, the longer a
 * program that still holds a pointer to an old value keeps seeing it intact.
 * Elements are type-stable (they stay elements of this map until the map is
 * freed), so a lock-free reader that races with reuse never leaves the map's
 * memory; the nulls markers and generation words handle the rest.
 *
 * Who may call: program on a CPU (shard = its CPU) or syscall on any thread
 * (shard = one picked per thread's accessor). Never called with an LRU lock held; may be called with a
 * bucket lock held (lock order: bucket, then shard).
 */
import { spinLock, spinUnlock } from "../../memory/spin-lock.js";
import { E_LINK } from "./layout.js";

export const SHARD_BYTES = 64;

export class FreeList {
  constructor(
    private readonly i32: Int32Array,
    private readonly u32: Uint32Array,
    private readonly shardsOff: number,
    private readonly nshards: number,
  ) {}

  /**
   * Syscall (accessor creation): the shard for this thread's syscalls. In
   * turn from the last shard down: the last one (ncpus) is used by no CPU's
   * programs, and user threads updating one map at once get different
   * shards as long as there are enough (random picks collided often).
   */
  takeTurn(): number {
    const t = Atomics.add(this.u32, (this.shardsOff + 12) >>> 2, 1);
    return this.nshards - 1 - (t % this.nshards);
  }

  /** Syscall (map alloc): spread `n` elements over the shards. */
  populate(poolOff: number, n: number, elemSize: number): void {
    for (let i = 0; i < n; i++) this.push(i % this.nshards, poolOff + i * elemSize);
  }

  /** Take an element, preferring shard `hint`; 0 if every shard is empty. */
  pop(hint: number): number {
    const n = this.nshards;
    const first = hint < n ? hint : n - 1;
    for (let k = 0; k < n; k++) {
      const s = this.shardsOff + ((first + k) % n) * SHARD_BYTES;
      if (this.u32[(s + 4) >>> 2] === 0) continue; // racy peek; rechecked under the lock
      spinLock(this.i32, s);
      const e = this.u32[(s + 4) >>> 2]!;
      if (e !== 0) {
        const next = this.u32[(e + E_LINK) >>> 2]!;
        this.u32[(s + 4) >>> 2] = next;
        if (next === 0) this.u32[(s + 8) >>> 2] = 0;
      }
      spinUnlock(this.i32, s);
      if (e !== 0) return e;
    }
    return 0;
  }

  /** Append an unlinked element to shard `hint`'s tail. */
  push(hint: number, e: number): void {
    const s = this.shardsOff + (hint < this.nshards ? hint : this.nshards - 1) * SHARD_BYTES;
    spinLock(this.i32, s);
    this.u32[(e + E_LINK) >>> 2] = 0;
    const tail = this.u32[(s + 8) >>> 2]!;
    if (tail !== 0) this.u32[(tail + E_LINK) >>> 2] = e;
    else this.u32[(s + 4) >>> 2] = e;
    this.u32[(s + 8) >>> 2] = e;
    spinUnlock(this.i32, s);
  }

  /** Syscall (map free, no other user): every element on the lists. */
  *drain(): Generator<number> {
    for (let k = 0; k < this.nshards; k++) {
      const s = this.shardsOff + k * SHARD_BYTES;
      for (let e = this.u32[(s + 4) >>> 2]!; e !== 0; e = this.u32[(e + E_LINK) >>> 2]!) yield e;
    }
  }
}
