/**
 * BPF_MAP_TYPE_LRU_PERCPU_HASH (10): LRU_HASH's eviction with
 * PERCPU_HASH's per-CPU value slots.
 *
 * - An update of an existing key copies into the slot(s) in place and marks
 *   the element referenced; only an insert takes (and may evict for) a node,
 *   and BPF_EXIST never does.
 *
 * LRU lists in lru/bpf-lru.ts; the rest in hashtab/.
 *
 * Locking and reclamation: as LRU_HASH (lru/bpf-lru.ts), with per-CPU slots
 * that a program on its own CPU reads and writes without a lock.
 */
import { effectiveMaxEntries, makeHtabOps } from "./hashtab/htab-ops.js";
import type { MapOps } from "./map-ops.js";

export const lruPercpuHashMapOps: MapOps = {
  ...makeHtabOps({ percpu: true, lru: true }),
  // BPF_F_NO_COMMON_LRU: max_entries rounded to a multiple of the CPUs, as
  // htab_map_alloc() does; the header and bpf_map_info show that value.
  maxEntries: (attr, env) => effectiveMaxEntries(attr, env.ncpus),
};
