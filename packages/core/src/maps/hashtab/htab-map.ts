/**
 * Element operations of HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH: one
 * class, four flavours, as kernel/bpf/hashtab.c shares one file. The layout
 * and the locking rules are in layout.ts and htab-core.ts, value copies in
 * htab-values.ts; this file adds which element an update writes and when the
 * old one is reclaimed:
 *
 *  - HASH, LRU_HASH: an update fills a fresh element (before taking the bucket
 *    lock), then links it at the head of the bucket and unlinks the old one
 *    under the lock, so a reader sees the old value or the new one, never a
 *    mix. The old element
 *    goes back to the free list (FreeList: FIFO, type-stable) or to the LRU.
 *    BPF_F_LOCK updates of an existing element copy in place under the
 *    value's bpf_spin_lock instead (copy_map_value_locked()).
 *  - PERCPU_HASH, LRU_PERCPU_HASH: an update of an existing key copies into
 *    the slots in place under the bucket lock (one CPU's slot from a program,
 *    all slots from a syscall), as Linux does; a program on its own CPU reads
 *    and writes its slot through the lookup pointer with no lock at all.
 *  - LRU types pop their element before taking the bucket lock (eviction may
 *    lock other buckets) and push replaced elements after releasing it.
 *
 * Each member is marked with the context that may call it.
 */
import { BPF_EXIST, BPF_F_LOCK, BPF_F_NO_COMMON_LRU, BPF_NOEXIST } from "../../uapi.js";
import { Errno } from "../../errno.js";
import type { MapHeaderView, MapImpl } from "../map-ops.js";
import { BpfLru, lruTargets } from "../lru/bpf-lru.js";
import { FreeList } from "./freelist.js";
import { HtabValues } from "./htab-values.js";
import { E_HASH, P_FREE, P_NSHARDS, P_OWNER, P_POOL } from "./layout.js";

export interface HtabFlavour {
  percpu: boolean;
  lru: boolean;
}

/** spliceLocked(): no spare element right now; nothing was changed. */
const RETRY = 1;

/**
 * Wait a little for another thread to return an element: spin first, then
 * sleep briefly on a word that does not matter (no one notifies it).
 */
function backoff(i32: Int32Array, word: number, attempt: number): void {
  if (attempt < 16) {
    for (let i = 0; i < 64 << Math.min(attempt, 6); i++) Atomics.load(i32, word);
  } else {
    Atomics.wait(i32, word, Atomics.load(i32, word), 0.05);
  }
}

/** check_flags(): EEXIST / ENOENT for BPF_NOEXIST / BPF_EXIST. */
function checkFlags(old: number, flags: number): number {
  const f = flags & ~BPF_F_LOCK;
  if (old !== 0 && f === BPF_NOEXIST) return -Errno.EEXIST;
  if (old === 0 && f === BPF_EXIST) return -Errno.ENOENT;
  return 0;
}

export class HtabMap extends HtabValues implements MapImpl {
  private readonly lru: BpfLru | undefined;
  private readonly free: FreeList | undefined;
  private readonly prealloc: boolean;
  private readonly owner: number;
  /**
   * Free-list shard for syscalls made through this accessor. Accessors are
   * per thread, and each takes the next shard in turn (FreeList.takeTurn),
   * so user threads updating one map do not all queue on one shard lock.
   */
  private readonly sysShard: number;

  constructor(m: MapHeaderView, fl: HtabFlavour) {
    super(m, fl.lru, fl.percpu);
    if (fl.percpu) {
      this.lookupPercpuElem = (keyOff, cpu) => (cpu < 0 || cpu >= this.ncpus ? 0 : this.lookupElem(keyOff, cpu));
    }
    const w = m.privOff >>> 2;
    const u32 = this.u32;
    this.prealloc = u32[w + P_POOL] !== 0;
    this.owner = u32[w + P_OWNER]!;
    const listsOff = u32[w + P_FREE]!;
    const n = u32[w + P_NSHARDS]!;
    let sysShard = 0;
    if (fl.lru) {
      const percpuLru = (m.flags & BPF_F_NO_COMMON_LRU) !== 0;
      const t = lruTargets(percpuLru, this.maxEntries, m.ncpus);
      this.lru = new BpfLru(m.arena, listsOff, percpuLru, t.targetFree, t.nrScans, (e) => this.delFromHtab(e));
    } else {
      this.free = new FreeList(this.i32, u32, listsOff, n);
      sysShard = this.free.takeTurn();
    }
    this.sysShard = sysShard;
  }

  /** The LRU accessor (alloc populates through it; tests read list counts). */
  get lruLists(): BpfLru | undefined {
    return this.lru;
  }

  /** The free lists (alloc populates through it). */
  get freeList(): FreeList | undefined {
    return this.free;
  }

  // ---- reads ---------------------------------------------------------------

  /** Program: pointer to the value (this CPU's slot for per-CPU types), or 0. No lock. */
  lookupElem(keyOff: number, cpu: number): number {
    const e = this.lookupRaw(this.hash(keyOff), keyOff);
    if (e === 0) return 0;
    this.lru?.setRef(e);
    return e + this.valOff + (this.percpu ? cpu * this.stride : 0);
  }

  /**
   * Program: bpf_map_lookup_percpu_elem(). Present on per-CPU types only, as
   * in Linux's ops tables (the syscall layer also reads its presence as
   * "per-CPU values").
   */
  readonly lookupPercpuElem?: (keyOff: number, cpu: number) => number;

  /** Syscall: copy the value (all CPUs' slots for per-CPU types) to `outOff`. */
  sysLookupElem(keyOff: number, outOff: number, flags: number): number {
    const bad = this.checkLookupFlags(flags);
    if (bad) return bad;
    const hash = this.hash(keyOff);
    for (;;) {
      const e = this.lookupRaw(hash, keyOff);
      if (e === 0) return this.sysLookupLocked(hash, keyOff, outOff, flags);
      const g = this.readBegin(e, hash, keyOff);
      if (g < 0) continue;
      this.copyOut(e, outOff, flags);
      // Replaced or deleted during the copy: what we copied may be torn; read again.
      if (this.unchanged(e, g)) return 0;
    }
  }

  /**
   * Syscall: a lock-free miss, confirmed under the bucket lock. A replace
   * links the new element at the head and then unlinks the old one, so a
   * reader standing between the two when the old one goes reaches the end
   * of the chain without seeing either; under the lock the chain holds the
   * key if it is in the map. Only misses pay for it.
   */
  private sysLookupLocked(hash: number, keyOff: number, outOff: number, flags: number): number {
    const b = this.bucketOf(hash);
    this.lockBucket(b);
    const e = this.lookupLocked(b, hash, keyOff);
    if (e !== 0) this.copyOut(e, outOff, flags);
    this.unlockBucket(b);
    return e === 0 ? -Errno.ENOENT : 0;
  }

  /** Syscall: BPF_MAP_LOOKUP_AND_DELETE_ELEM: copy out and delete under the bucket lock. */
  sysLookupAndDeleteElem(keyOff: number, outOff: number, flags: number): number {
    const bad = this.checkLookupFlags(flags);
    if (bad) return bad;
    const hash = this.hash(keyOff);
    const b = this.bucketOf(hash);
    this.lockBucket(b);
    const e = this.lookupLocked(b, hash, keyOff);
    if (e !== 0) {
      this.copyOut(e, outOff, flags);
      this.unlink(b, e);
      this.decCount();
    }
    this.unlockBucket(b);
    if (e === 0) return -Errno.ENOENT;
    this.reclaim(e, this.sysShard);
    return 0;
  }

  /** Program: bpf_for_each_map_elem(); per-CPU types pass this CPU's slot. */
  forEachElem(cpu: number, cb: (keyOff: number, valueOff: number) => number): number {
    const slot = this.percpu ? cpu * this.stride : 0;
    return this.forEachRaw((e) => cb(e + this.keyOff, e + this.valOff + slot));
  }

  // ---- writes --------------------------------------------------------------

  /** Program: update; per-CPU types write `cpu`'s slot only. 0 or -errno. */
  updateElem(keyOff: number, valueOff: number, flags: number, cpu: number): number {
    return this.update(keyOff, valueOff, flags, cpu, false);
  }

  /** Syscall: update; per-CPU types take ncpus * round_up(value_size, 8) bytes. */
  sysUpdateElem(keyOff: number, valueOff: number, flags: number): number {
    // A syscall runs on some CPU; the per-CPU LRU of CPU 0 serves them all here.
    return this.update(keyOff, valueOff, flags, this.lru ? 0 : this.sysShard, true);
  }

  /** Program or syscall: delete. 0 or -ENOENT. */
  deleteElem(keyOff: number, cpu: number): number {
    const hash = this.hash(keyOff);
    const b = this.bucketOf(hash);
    this.lockBucket(b);
    const e = this.lookupLocked(b, hash, keyOff);
    if (e !== 0) {
      this.unlink(b, e);
      this.decCount();
    }
    this.unlockBucket(b);
    if (e === 0) return -Errno.ENOENT;
    this.reclaim(e, cpu);
    return 0;
  }

  private update(keyOff: number, valueOff: number, flags: number, cpu: number, sys: boolean): number {
    const lockFlag = (flags & BPF_F_LOCK) !== 0;
    const allowLock = !this.percpu && !this.lru;
    // flags is a u64 in Linux; compare as unsigned so bit 31 is not a sign.
    if ((allowLock ? (flags & ~BPF_F_LOCK) >>> 0 : flags >>> 0) > BPF_EXIST || flags < 0 || flags > 0xffffffff) {
      return -Errno.EINVAL;
    }
    if (lockFlag && this.lockOff < 0) return -Errno.EINVAL;
    if (this.lru) return this.percpu ? this.updateLruPercpu(keyOff, valueOff, flags, cpu, sys) : this.updateLru(keyOff, valueOff, flags, cpu);
    const hash = this.hash(keyOff);
    if (lockFlag) {
      // Fast path: an existing element is updated in place under its spin lock.
      const old = this.lookupRaw(hash, keyOff);
      const ret = checkFlags(old, flags);
      if (ret) return ret;
      if (old !== 0 && this.copyInLockedIfLinked(old, hash, keyOff, valueOff)) return 0;
      // Replaced or deleted meanwhile: decide under the bucket lock.
    }
    for (let attempt = 0; ; attempt++) {
      // A plain HASH update links a new element unless a flag check fails: take
      // and fill one before locking the bucket, so the lock covers the splice.
      let pre = 0;
      if (!this.percpu && !lockFlag) {
        pre = this.free!.pop(cpu);
        if (pre !== 0) {
          this.fillKey(pre, hash, keyOff);
          this.copyIn(pre, valueOff);
        }
      }
      const b = this.bucketOf(hash);
      this.lockBucket(b);
      const old = this.lookupLocked(b, hash, keyOff);
      const ret = this.spliceLocked(b, old, pre, hash, keyOff, valueOff, flags, cpu, sys);
      this.unlockBucket(b);
      if (ret === RETRY) {
        // Every spare element is in another thread's hands for a moment.
        backoff(this.i32, this.countW, attempt);
        continue;
      }
      // Return what was not linked: the unused spare, or the replaced element.
      if (ret !== 0 && pre !== 0) this.free!.push(cpu, pre);
      if (ret === 0 && old !== 0 && !(lockFlag || this.percpu)) this.free!.push(cpu, old);
      return ret;
    }
  }

  /**
   * HASH and PERCPU_HASH with bucket `b` locked: apply the update given the
   * element `old` holding the key (or 0) and a pre-filled element `pre` (or
   * 0). Returns 0 when the update is done: then `pre`, if given, is linked
   * and `old` unlinked, unless the update was in place (BPF_F_LOCK or
   * per-CPU), which never uses `pre`. RETRY: nothing changed, no element free.
   */
  private spliceLocked(
    b: number, old: number, pre: number, hash: number, keyOff: number, valueOff: number, flags: number, cpu: number,
    sys: boolean,
  ): number {
    const ret = checkFlags(old, flags);
    if (ret) return ret;
    if (old !== 0 && (flags & BPF_F_LOCK || this.percpu)) {
      // In place: under the value's spin lock, or into per-CPU slots.
      if (flags & BPF_F_LOCK) this.copyInLocked(old, valueOff);
      else this.copyPercpuIn(old, valueOff, cpu, sys, false);
      return 0;
    }
    if (old === 0 && !this.incCount()) return -Errno.E2BIG;
    let e = pre;
    if (e === 0) {
      e = this.allocElem(cpu);
      if (e <= 0) {
        if (old === 0) this.decCount();
        // The map has room (or the key is there to replace) but the pool's
        // spares are all in flight in other threads: try again shortly.
        return e === 0 ? RETRY : e;
      }
      this.fillKey(e, hash, keyOff);
      if (this.percpu) this.copyPercpuIn(e, valueOff, cpu, sys, true);
      else this.copyIn(e, valueOff);
    }
    this.linkHead(b, e);
    if (old !== 0) this.unlink(b, old);
    return 0;
  }

  private updateLru(keyOff: number, valueOff: number, flags: number, cpu: number): number {
    const hash = this.hash(keyOff);
    const e = this.lru!.popFree(cpu);
    if (e === 0) return -Errno.ENOMEM;
    this.fillKey(e, hash, keyOff);
    this.copyIn(e, valueOff);
    const b = this.bucketOf(hash);
    this.lockBucket(b);
    const old = this.lookupLocked(b, hash, keyOff);
    const ret = checkFlags(old, flags);
    if (ret === 0) {
      this.linkHead(b, e);
      if (old !== 0) this.unlink(b, old);
      else this.addCount();
    }
    this.unlockBucket(b);
    if (ret !== 0) this.lru!.pushFree(e);
    else if (old !== 0) this.lru!.pushFree(old);
    return ret;
  }

  private updateLruPercpu(keyOff: number, valueOff: number, flags: number, cpu: number, sys: boolean): number {
    const hash = this.hash(keyOff);
    // With BPF_EXIST no new element can be needed, so nothing is evicted for it.
    let e = 0;
    if ((flags & ~BPF_F_LOCK) !== BPF_EXIST) {
      e = this.lru!.popFree(cpu);
      if (e === 0) return -Errno.ENOMEM;
    }
    const b = this.bucketOf(hash);
    this.lockBucket(b);
    const old = this.lookupLocked(b, hash, keyOff);
    const ret = checkFlags(old, flags);
    if (ret === 0 && old !== 0) {
      this.lru!.setRef(old);
      this.copyPercpuIn(old, valueOff, cpu, sys, false);
    } else if (ret === 0) {
      this.fillKey(e, hash, keyOff);
      this.copyPercpuIn(e, valueOff, cpu, sys, true);
      this.linkHead(b, e);
      this.addCount();
      e = 0;
    }
    this.unlockBucket(b);
    if (e !== 0) this.lru!.pushFree(e);
    return ret;
  }

  /** LRU eviction (LRU lock held): unlink `e` if it is still in its bucket. */
  private delFromHtab(e: number): boolean {
    const b = this.bucketOf(this.u32[(e + E_HASH) >>> 2]!);
    this.lockBucket(b);
    const found = this.unlink(b, e);
    if (found) this.decCount();
    this.unlockBucket(b);
    return found;
  }

  /** An element from the pool or, without prealloc, from the arena. 0 or -ENOMEM on failure. */
  private allocElem(cpu: number): number {
    const e = this.free!.pop(cpu);
    if (e !== 0 || this.prealloc) return e;
    const off = this.arena.alloc(this.elemSize, this.owner);
    return off < 0 ? -Errno.ENOMEM : off;
  }

  private reclaim(e: number, cpu: number): void {
    if (this.lru) this.lru.pushFree(e);
    else this.free!.push(cpu, e);
  }

  private checkLookupFlags(flags: number): number {
    if (flags & ~BPF_F_LOCK) return -Errno.EINVAL;
    if (flags & BPF_F_LOCK && this.lockOff < 0) return -Errno.EINVAL;
    return 0;
  }
}
