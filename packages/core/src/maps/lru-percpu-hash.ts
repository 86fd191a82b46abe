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
import { makeHtabOps } from "./hashtab/htab-ops.js";

export const lruPercpuHashMapOps = makeHtabOps({ percpu: true, lru: true });
