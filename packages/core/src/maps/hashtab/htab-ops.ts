/**
 * The MapOps table shared by the hash map family: attribute checks with
 * Linux's errno (htab_map_alloc_check() plus the size checks of
 * htab_map_alloc()), Linux's memory figure (htab_map_mem_usage()), and
 * allocation of the bucket array, element pool and free or LRU lists.
 *
 * Who may call: syscall on any thread. `alloc` and `free` run while no one
 * else can reach the map (before it gets an id, after its last reference).
 */
import { Errno } from "../../errno.js";
import type { ArenaApi } from "../../memory/arena-api.js";
import {
  BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY,
  BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, MapType,
} from "../../uapi.js";
import type { MapAttr, MapEnv, MapHeaderView, MapImpl, MapOps } from "../map-ops.js";
import { roundUp8 } from "../map-ops.js";
import { LRU_BLOCK_SIZE } from "../lru/bpf-lru.js";
import { SHARD_BYTES } from "./freelist.js";
import { HtabMap, type HtabFlavour } from "./htab-map.js";
import {
  BUCKET_SIZE, P_BUCKETS, P_COUNT, P_ELEM_SIZE, P_FREE, P_MAX, P_NBUCKETS, P_NSHARDS, P_OWNER, P_POOL, P_POOL_N,
  P_SEED, elemHeaderSize, nullsMarker, roundupPow2,
} from "./layout.js";

/** HTAB_CREATE_FLAG_MASK */
const CREATE_FLAG_MASK =
  BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG |
  BPF_F_WRONLY_PROG | BPF_F_ZERO_SEED;
/** KMALLOC_MAX_SIZE on x86-64 with 4 KiB pages. */
const KMALLOC_MAX_SIZE = 4 << 20;
/** PCPU_MIN_UNIT_SIZE: the largest per-CPU value slot. */
const PCPU_MIN_UNIT_SIZE = 32 << 10;
/** sizeof(struct htab_elem), sizeof(struct bpf_htab), sizeof(struct bucket) in Linux 6.18 (x86-64). */
const LINUX_HTAB_ELEM = 48;
const LINUX_BPF_HTAB = 832;
const LINUX_BUCKET = 16;
/** HASHTAB_MAP_LOCK_COUNT: per-CPU map_locked counters. */
const HASHTAB_MAP_LOCK_COUNT = 8;

/**
 * max_entries after htab_map_alloc()'s adjustment: with BPF_F_NO_COMMON_LRU
 * each CPU's LRU must own at least one element, so it rounds up to a
 * multiple of ncpus (down if that overflows u32).
 */
export function effectiveMaxEntries(attr: MapAttr, ncpus: number): number {
  const max = attr.maxEntries >>> 0;
  if (!(attr.mapFlags & BPF_F_NO_COMMON_LRU)) return max;
  const up = Math.ceil(max / ncpus) * ncpus;
  return up > 0xffffffff ? Math.floor(max / ncpus) * ncpus : up;
}

/** Per-thread MapImpl cache key: a map header view is per thread already. */
export function makeHtabOps(fl: HtabFlavour): MapOps {
  const { percpu, lru } = fl;

  function elemSize(attr: { keySize: number; valueSize: number }, ncpus: number): number {
    const v = percpu ? roundUp8(attr.valueSize) * ncpus : roundUp8(attr.valueSize);
    return elemHeaderSize(lru) + roundUp8(attr.keySize) + v;
  }

  /** Elements in the pool: max_entries, plus spares for replacing updates in a full map. */
  function poolElems(max: number, ncpus: number): number {
    return lru ? max : max + ncpus + 1;
  }

  const ops: MapOps = {
    /** Syscall: htab_map_alloc_check() and the size checks of htab_map_alloc(). */
    allocCheck(attr: MapAttr, env: MapEnv): number {
      const flags = attr.mapFlags >>> 0;
      const prealloc = !(flags & BPF_F_NO_PREALLOC);
      const percpuLru = (flags & BPF_F_NO_COMMON_LRU) !== 0;
      if (flags & ~CREATE_FLAG_MASK) return -Errno.EINVAL;
      if ((flags & BPF_F_RDONLY && flags & BPF_F_WRONLY) || (flags & BPF_F_RDONLY_PROG && flags & BPF_F_WRONLY_PROG)) {
        return -Errno.EINVAL;
      }
      if (!lru && percpuLru) return -Errno.EINVAL;
      if (lru && !prealloc) return -Errno.ENOTSUPP;
      if (flags & BPF_F_NUMA_NODE && (percpu || percpuLru)) return -Errno.EINVAL;
      if (attr.maxEntries === 0 || attr.keySize === 0 || attr.valueSize === 0) return -Errno.EINVAL;
      if (attr.keySize + attr.valueSize >= KMALLOC_MAX_SIZE - LINUX_HTAB_ELEM) return -Errno.E2BIG;
      if (percpu && roundUp8(attr.valueSize) > PCPU_MIN_UNIT_SIZE) return -Errno.E2BIG;
      const lockOff = attr.spinLockOff ?? -1;
      if (lockOff >= 0) {
        // bpf_map_check_btf(): of these four, only HASH may hold a bpf_spin_lock.
        if (percpu || lru) return -Errno.EOPNOTSUPP;
        if (lockOff % 4 !== 0 || lockOff + 4 > attr.valueSize) return -Errno.EINVAL;
      }
      const max = effectiveMaxEntries(attr, env.ncpus);
      if (max === 0 || max > 2 ** 31) return -Errno.E2BIG;
      if (roundupPow2(max) > Math.floor(0xffffffff / LINUX_BUCKET)) return -Errno.E2BIG;
      return 0;
    },

    /** Syscall: htab_map_mem_usage() of a new map (no elements yet without prealloc). */
    memUsage(attr: MapAttr, env: MapEnv): number {
      const max = effectiveMaxEntries(attr, env.ncpus);
      const ncpus = env.ncpus;
      const linuxElem = LINUX_HTAB_ELEM + roundUp8(attr.keySize) + (percpu ? 8 : roundUp8(attr.valueSize));
      let usage = LINUX_BPF_HTAB + LINUX_BUCKET * roundupPow2(max) + 4 * ncpus * HASHTAB_MAP_LOCK_COUNT;
      if (!(attr.mapFlags & BPF_F_NO_PREALLOC)) {
        const n = max + (!percpu && !lru ? ncpus : 0);
        usage += linuxElem * n;
        if (percpu) usage += roundUp8(attr.valueSize) * ncpus * n;
        else if (!lru) usage += 8 * ncpus;
      }
      return usage;
    },

    /** Syscall: lay out buckets, pool and lists; record them in the private words. */
    alloc(m: MapHeaderView, owner: number): number {
      const a = m.arena;
      const w = m.privOff >>> 2;
      const max = effectiveMaxEntries(
        { mapType: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, mapFlags: m.flags },
        m.ncpus,
      );
      const nBuckets = roundupPow2(max);
      const esize = elemSize(m, m.ncpus);
      const prealloc = lru || !(m.flags & BPF_F_NO_PREALLOC);
      const nPool = prealloc ? poolElems(max, m.ncpus) : 0;
      const nLists = lru ? (m.flags & BPF_F_NO_COMMON_LRU ? m.ncpus : 1) : m.ncpus + 1;
      const listBytes = nLists * (lru ? LRU_BLOCK_SIZE : SHARD_BYTES);
      const got: number[] = [];
      const take = (bytes: number): number => {
        const off = bytes > a.size ? -Errno.ENOMEM : a.alloc(bytes, owner);
        if (off >= 0) got.push(off);
        return off;
      };
      const bucketsOff = take(nBuckets * BUCKET_SIZE);
      const listsOff = bucketsOff < 0 ? -1 : take(listBytes);
      const poolOff = listsOff < 0 ? -1 : nPool ? take(nPool * esize) : 0;
      if (poolOff < 0) {
        for (const off of got) a.free(off);
        return -Errno.ENOMEM;
      }
      for (let i = 0; i < nBuckets; i++) a.u32[(bucketsOff + i * BUCKET_SIZE) >>> 2] = nullsMarker(i);
      a.u32[w + P_BUCKETS] = bucketsOff;
      a.u32[w + P_NBUCKETS] = nBuckets;
      a.u32[w + P_SEED] = m.flags & BPF_F_ZERO_SEED ? 0 : (Math.random() * 2 ** 32) >>> 0;
      a.u32[w + P_COUNT] = 0;
      a.u32[w + P_ELEM_SIZE] = esize;
      a.u32[w + P_POOL] = poolOff;
      a.u32[w + P_POOL_N] = nPool;
      a.u32[w + P_FREE] = listsOff;
      a.u32[w + P_NSHARDS] = nLists;
      a.u32[w + P_MAX] = max;
      a.u32[w + P_OWNER] = owner;
      const h = new HtabMap(m, fl);
      if (lru) h.lruLists!.populate(poolOff, nPool, esize, nLists);
      else if (nPool) h.freeList!.populate(poolOff, nPool, esize);
      return 0;
    },

    /** Syscall, last reference gone: return every block to the arena. */
    free(m: MapHeaderView): void {
      const a: ArenaApi = m.arena;
      const w = m.privOff >>> 2;
      const poolOff = a.u32[w + P_POOL]!;
      if (poolOff === 0) {
        // Without prealloc each element is its own block, linked or on a free list.
        const h = new HtabMap(m, fl);
        const elems = [...h.linkedElems(), ...h.freeList!.drain()];
        for (const e of elems) a.free(e);
      } else {
        a.free(poolOff);
      }
      a.free(a.u32[w + P_FREE]!);
      a.free(a.u32[w + P_BUCKETS]!);
      a.u32[w + P_POOL] = 0;
      a.u32[w + P_BUCKETS] = 0;
    },

    /** Syscall: bpf_map_value_size(): per-CPU types read and write every CPU's slot. */
    sysValueSize(m: MapHeaderView): number {
      return percpu ? m.ncpus * roundUp8(m.valueSize) : m.valueSize;
    },

    /** All four batch commands, element by element (see docs/COMPAT.md for the batch token). */
    batchOps: { lookup: true, lookupAndDelete: true, update: true, delete: true },

    /** Any thread: element accessors over an allocated map. */
    open(m: MapHeaderView): MapImpl {
      return new HtabMap(m, fl);
    },
  };
  return ops;
}

/** The map types this family serves (for the registry and tests). */
export const htabTypes = [MapType.Hash, MapType.PercpuHash, MapType.LruHash, MapType.LruPercpuHash] as const;
