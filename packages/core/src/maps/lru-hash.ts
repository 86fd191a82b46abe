/**
 * BPF_MAP_TYPE_LRU_HASH (9): a hash map that evicts instead of failing.
 *
 * - Always preallocated (BPF_F_NO_PREALLOC is ENOTSUPP). An update takes an
 *   element from the LRU's free list, evicting a round of unreferenced
 *   elements when it is empty, then swaps it into the bucket like HASH.
 * - A lookup marks the element referenced with a plain store.
 * - One LRU shared by all CPUs, or one per CPU with BPF_F_NO_COMMON_LRU.
 *
 * LRU lists and victim choice in lru/bpf-lru.ts; the rest in hashtab/.
 *
 * Locking: lookups none (the referenced bit is a plain store); updates and
 * deletes one bucket lock, plus the LRU's lock to take or return a node
 * (never while holding a bucket lock). Reclamation: nodes return to the LRU's
 * free list; eviction unlinks victims under their bucket lock.
 */
import { effectiveMaxEntries, makeHtabOps } from "./hashtab/htab-ops.js";
import type { MapOps } from "./map-ops.js";

export const lruHashMapOps: MapOps = {
  ...makeHtabOps({ percpu: false, lru: true }),
  // BPF_F_NO_COMMON_LRU: max_entries rounded to a multiple of the CPUs, as
  // htab_map_alloc() does; the header and bpf_map_info show that value.
  maxEntries: (attr, env) => effectiveMaxEntries(attr, env.ncpus),
};
