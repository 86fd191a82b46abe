/**
 * BPF_MAP_TYPE_HASH (1): keys to values in jhash buckets.
 *
 * - Elements are preallocated (max_entries plus spares for replacing updates)
 *   unless BPF_F_NO_PREALLOC, which takes them from the arena on demand.
 * - An update writes a fresh element and swaps it into the bucket, so readers
 *   see the old value or the new one; BPF_F_LOCK updates an existing value in
 *   place under its bpf_spin_lock instead. A full map answers E2BIG.
 * - Program lookups take no lock; writers lock one bucket.
 *
 * Layout in hashtab/layout.ts; locking in hashtab/htab-core.ts; element
 * operations and reclamation in hashtab/htab-map.ts and hashtab/freelist.ts.
 *
 * Locking: program lookups none; updates and deletes one bucket lock; a
 * BPF_F_LOCK update the value's bpf_spin_lock. Reclamation: replaced and
 * deleted elements go to a FIFO per-CPU free list of this map (type-stable,
 * reused as late as possible); see hashtab/freelist.ts.
 */
import { makeHtabOps } from "./hashtab/htab-ops.js";

export const hashMapOps = makeHtabOps({ percpu: false, lru: false });
