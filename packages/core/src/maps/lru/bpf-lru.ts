/**
 * LRU lists for LRU_HASH and LRU_PERCPU_HASH, after the kernel's
 * kernel/bpf/bpf_lru_list.c, kept in the arena.
 *
 * Every element of an LRU map is preallocated and always sits on exactly one
 * list of exactly one LRU: FREE, ACTIVE or INACTIVE. A map has one LRU shared
 * by all CPUs, or one per CPU with BPF_F_NO_COMMON_LRU (each CPU then owns
 * max_entries / ncpus elements and an element always returns to its own CPU's
 * lists, as node->cpu does in the kernel).
 *
 *   LRU block (LRU_BLOCK_SIZE bytes, one per LRU):
 *     +0        lock   i32  spin lock over the three lists and every node on them
 *     +4 + 12t  head   u32  first node of list t (0 = empty)
 *     +8 + 12t  tail   u32  last node of list t
 *     +12 + 12t count  u32  nodes on list t
 *   node fields live in the element header (see hashtab/layout.ts):
 *     prev (E_LINK), next (E_LNEXT), ref (E_REF), list (E_LIST), cpu (E_CPU)
 *
 * Locking and ordering:
 *  - prev/next/list and the counts change only under the LRU's lock.
 *  - `ref` is set by lookups with a plain byte store and no lock, like
 *    bpf_lru_node_set_ref(); it is cleared when a node moves between lists.
 *  - Lock order is LRU lock, then bucket lock: eviction calls `delFromHtab`
 *    (which takes a bucket lock) with the LRU lock held, so map code must
 *    never take an LRU lock while holding a bucket lock. The hash side pops a
 *    node before locking its bucket and pushes one back after unlocking.
 *
 * Victim choice (where it differs from Linux, see docs/COMPAT.md): when the
 * free list is empty, pop rotates the active list (if the inactive list is
 * shorter), then scans the inactive list from its tail: referenced nodes move
 * to the active list, others are evicted until `targetFree` nodes are free;
 * if none could be, the first evictable node from the tail of the inactive
 * (else active) list goes. Linux's common LRU additionally keeps per-CPU
 * local free and pending lists; here freed and new nodes go straight to the
 * shared lists, so a CPU never hoards free nodes another CPU could use.
 */
import type { ArenaApi } from "../../memory/arena-api.js";
import { spinLock, spinUnlock } from "../../memory/spin-lock.js";
import { E_CPU, E_LINK, E_LIST, E_LNEXT, E_REF } from "../hashtab/layout.js";

export const LRU_FREE = 0;
export const LRU_ACTIVE = 1;
export const LRU_INACTIVE = 2;
export const LRU_BLOCK_SIZE = 48;

/** LOCAL_FREE_TARGET and LOCAL_NR_SCANS of the common LRU. */
const LOCAL_FREE_TARGET = 128;
/** PERCPU_FREE_TARGET and PERCPU_NR_SCANS of the per-CPU LRU. */
const PERCPU_FREE_TARGET = 4;

/** How many nodes one eviction round tries to free, and how far it scans. */
export function lruTargets(percpuLru: boolean, nrElems: number, ncpus: number): { targetFree: number; nrScans: number } {
  if (percpuLru) return { targetFree: PERCPU_FREE_TARGET, nrScans: PERCPU_FREE_TARGET };
  // Linux 6.16+: clamp(nr_elems / num_possible_cpus / 2, 1, LOCAL_FREE_TARGET).
  const t = Math.min(LOCAL_FREE_TARGET, Math.max(1, Math.floor(nrElems / ncpus / 2)));
  return { targetFree: t, nrScans: LOCAL_FREE_TARGET };
}

/** One thread's accessor for the LRU lists of one map. */
export class BpfLru {
  private readonly u8: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;

  /**
   * @param blocksOff first LRU block; block `i` serves CPU `i` when `percpu`.
   * @param delFromHtab unlinks a node from its bucket if it is still linked;
   *   called with the LRU lock held; returns false if the node was not found.
   */
  constructor(
    arena: ArenaApi,
    private readonly blocksOff: number,
    private readonly percpu: boolean,
    private readonly targetFree: number,
    private readonly nrScans: number,
    private readonly delFromHtab: (elemOff: number) => boolean,
  ) {
    this.u8 = arena.u8;
    this.u32 = arena.u32;
    this.i32 = arena.i32;
  }

  /** Syscall (map alloc, nothing else running): put `n` nodes on the free lists. */
  populate(poolOff: number, n: number, elemSize: number, nlists: number): void {
    const per = Math.floor(n / nlists);
    for (let i = 0; i < n; i++) {
      const e = poolOff + i * elemSize;
      const cpu = this.percpu ? Math.min(nlists - 1, Math.floor(i / per)) : 0;
      this.u8[e + E_CPU] = cpu & 0xff;
      this.u8[e + E_CPU + 1] = cpu >> 8;
      this.addHead(this.blocksOff + cpu * LRU_BLOCK_SIZE, LRU_FREE, e);
    }
  }

  /**
   * Program or syscall: take a node for a new element, evicting if need be.
   * The node goes to the inactive list unreferenced. Returns 0 when nothing
   * could be freed (every node in flight), which the map reports as ENOMEM.
   */
  popFree(cpu: number): number {
    const blk = this.blocksOff + (this.percpu ? cpu : 0) * LRU_BLOCK_SIZE;
    spinLock(this.i32, blk);
    try {
      let e = this.head(blk, LRU_FREE);
      if (e === 0) {
        this.rotate(blk);
        if (this.shrinkInactive(blk) === 0) this.forceShrink(blk);
        e = this.head(blk, LRU_FREE);
        if (e === 0) return 0;
      }
      this.move(blk, e, LRU_INACTIVE);
      return e;
    } finally {
      spinUnlock(this.i32, blk);
    }
  }

  /** Program or syscall: return a node that is no longer linked in any bucket. */
  pushFree(e: number): void {
    const blk = this.blocksOff + (this.percpu ? this.nodeCpu(e) : 0) * LRU_BLOCK_SIZE;
    spinLock(this.i32, blk);
    this.move(blk, e, LRU_FREE);
    spinUnlock(this.i32, blk);
  }

  /** Program: mark referenced; a plain store, skipped when already set. */
  setRef(e: number): void {
    if (this.u8[e + E_REF] === 0) this.u8[e + E_REF] = 1;
  }

  /** Nodes on list `t` of LRU `i` (tests). */
  listCount(i: number, t: number): number {
    return this.u32[(this.blocksOff + i * LRU_BLOCK_SIZE + 12 + 12 * t) >>> 2]!;
  }

  private nodeCpu(e: number): number {
    return this.u8[e + E_CPU]! | (this.u8[e + E_CPU + 1]! << 8);
  }

  // Active rotation: demote unreferenced nodes from the active tail.
  private rotate(blk: number): void {
    if (this.count(blk, LRU_INACTIVE) >= this.count(blk, LRU_ACTIVE)) return;
    const first = this.head(blk, LRU_ACTIVE);
    let e = this.tail(blk, LRU_ACTIVE);
    for (let i = 0; e !== 0 && i < this.nrScans; i++) {
      const prev = this.u32[(e + E_LINK) >>> 2]!;
      this.move(blk, e, this.u8[e + E_REF] ? LRU_ACTIVE : LRU_INACTIVE);
      if (e === first) break;
      e = prev;
    }
  }

  private shrinkInactive(blk: number): number {
    let freed = 0;
    let e = this.tail(blk, LRU_INACTIVE);
    for (let i = 0; e !== 0 && i < this.nrScans; i++) {
      const prev = this.u32[(e + E_LINK) >>> 2]!;
      if (this.u8[e + E_REF]) {
        this.move(blk, e, LRU_ACTIVE);
      } else if (this.delFromHtab(e)) {
        this.move(blk, e, LRU_FREE);
        if (++freed === this.targetFree) break;
      }
      e = prev;
    }
    return freed;
  }

  private forceShrink(blk: number): void {
    for (const t of [LRU_INACTIVE, LRU_ACTIVE]) {
      for (let e = this.tail(blk, t); e !== 0; e = this.u32[(e + E_LINK) >>> 2]!) {
        if (this.delFromHtab(e)) {
          this.move(blk, e, LRU_FREE);
          return;
        }
      }
    }
  }

  private head(blk: number, t: number): number {
    return this.u32[(blk + 4 + 12 * t) >>> 2]!;
  }
  private tail(blk: number, t: number): number {
    return this.u32[(blk + 8 + 12 * t) >>> 2]!;
  }
  private count(blk: number, t: number): number {
    return this.u32[(blk + 12 + 12 * t) >>> 2]!;
  }

  /** Unlink `e` from its list and add it at the head of list `t`, clearing ref. */
  private move(blk: number, e: number, t: number): void {
    this.unlink(blk, e);
    this.addHead(blk, t, e);
  }

  private addHead(blk: number, t: number, e: number): void {
    const u32 = this.u32;
    const h = blk + 4 + 12 * t;
    const first = u32[h >>> 2]!;
    u32[(e + E_LINK) >>> 2] = 0;
    u32[(e + E_LNEXT) >>> 2] = first;
    if (first !== 0) u32[(first + E_LINK) >>> 2] = e;
    else u32[(h + 4) >>> 2] = e;
    u32[h >>> 2] = e;
    u32[(h + 8) >>> 2] = u32[(h + 8) >>> 2]! + 1;
    this.u8[e + E_LIST] = t;
    this.u8[e + E_REF] = 0;
  }

  private unlink(blk: number, e: number): void {
    const u32 = this.u32;
    const h = blk + 4 + 12 * this.u8[e + E_LIST]!;
    const prev = u32[(e + E_LINK) >>> 2]!;
    const next = u32[(e + E_LNEXT) >>> 2]!;
    if (prev !== 0) u32[(prev + E_LNEXT) >>> 2] = next;
    else u32[h >>> 2] = next;
    if (next !== 0) u32[(next + E_LINK) >>> 2] = prev;
    else u32[(h + 4) >>> 2] = prev;
    u32[(h + 8) >>> 2] = u32[(h + 8) >>> 2]! - 1;
  }
}
