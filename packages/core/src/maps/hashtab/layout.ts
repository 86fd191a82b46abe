/**
 * Shared-memory layout of the hash map family (HASH, PERCPU_HASH, LRU_HASH,
 * LRU_PERCPU_HASH). Everything is a byte offset into the arena; any thread can
 * rebuild a view from the map header's private words.
 *
 *   map header private words (i32, at privOff):
 *     P_BUCKETS   offset of the bucket array
 *     P_NBUCKETS  number of buckets (power of two)
 *     P_SEED      jhash seed (0 with BPF_F_ZERO_SEED)
 *     P_COUNT     live elements (Atomics.add/sub)
 *     P_ELEM_SIZE bytes per element
 *     P_POOL      preallocated element pool (0 with BPF_F_NO_PREALLOC)
 *     P_POOL_N    elements in the pool
 *     P_FREE      free-list shards (non-LRU) / LRU list blocks (LRU)
 *     P_NSHARDS   number of shards or LRU lists
 *     P_MAX       effective max_entries (LRU with BPF_F_NO_COMMON_LRU rounds it)
 *     P_OWNER     owner the map's allocations are charged to
 *
 *   bucket (8 bytes):
 *     +0 head  u32  first element, or the nulls marker (index << 1 | 1)
 *     +4 lock  i32  spin lock taken by writers of this bucket only
 *
 *   element (elemSize bytes, 8-aligned):
 *     +0  next  u32  next element in the chain, or a nulls marker
 *     +4  hash  u32  htab_map_hash(key)
 *     +8  gen   u32  generation: odd while linked in a bucket, even otherwise
 *     +12 link  u32  free-list link (non-LRU) / LRU prev (LRU)
 *     LRU only:
 *     +16 lnext u32  LRU next
 *     +20 ref   u8   referenced bit (plain store by lookups)
 *     +21 list  u8   which LRU list holds the node
 *     +22 cpu   u16  LRU list (CPU) the node belongs to
 *     key   at keyOff, round_up(key_size, 8) bytes
 *     value at valueOff: round_up(value_size, 8) bytes, or for per-CPU types
 *           ncpus slots of round_up(value_size, 8) bytes (CPU i at i * stride)
 *
 * A chain ends in a nulls marker naming its bucket (Linux's hlist_nulls): a
 * lock-free reader that followed a recycled element into another chain sees
 * a foreign marker at the end and restarts. Element offsets are 8-aligned,
 * so markers (odd) never collide with them.
 */

export const P_BUCKETS = 0;
export const P_NBUCKETS = 1;
export const P_SEED = 2;
export const P_COUNT = 3;
export const P_ELEM_SIZE = 4;
export const P_POOL = 5;
export const P_POOL_N = 6;
export const P_FREE = 7;
export const P_NSHARDS = 8;
export const P_MAX = 9;
export const P_OWNER = 10;

export const BUCKET_SIZE = 8;
export const B_HEAD = 0;
export const B_LOCK = 4;

export const E_NEXT = 0;
export const E_HASH = 4;
export const E_GEN = 8;
export const E_LINK = 12;
export const E_LNEXT = 16;
export const E_REF = 20;
export const E_LIST = 21;
export const E_CPU = 22;

/** Element header bytes before the key. */
export function elemHeaderSize(lru: boolean): number {
  return lru ? 24 : 16;
}

/** The nulls marker that ends bucket `i`'s chain. */
export function nullsMarker(i: number): number {
  return ((i << 1) | 1) >>> 0;
}

export function isNulls(v: number): boolean {
  return (v & 1) === 1;
}

/** Free-list shard (non-LRU): [lock, head], 8 bytes each. */
export const SHARD_SIZE = 8;

/** roundup_pow_of_two for 1..2^31. */
export function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
