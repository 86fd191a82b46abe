/**
 * BPF_MAP_TYPE_PERCPU_HASH (5): a hash map whose elements hold one value slot
 * per CPU (stride round_up(value_size, 8)).
 *
 * - A program's lookup returns its own CPU's slot and needs no lock on it; a
 *   program's update writes only its CPU's slot (a new element's other slots
 *   start zeroed).
 * - User space reads and writes all slots at once: ncpus * round_up(value_size, 8)
 *   bytes. Updates of an existing key copy in place under the bucket lock.
 * - No bpf_spin_lock values, no BPF_F_LOCK.
 *
 * Shared implementation: hashtab/ (see hash.ts).
 *
 * Locking: program lookups and own-slot writes through the pointer none;
 * updates and deletes one bucket lock. Reclamation: as HASH (hashtab/freelist.ts).
 */
import { makeHtabOps } from "./hashtab/htab-ops.js";

export const percpuHashMapOps = makeHtabOps({ percpu: true, lru: false });
