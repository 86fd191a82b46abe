/**
 * The kernel's `struct bpf_map_ops`, for bpfsim. One file per map type
 * exports a `MapOps`; `registry.ts` indexes them by Linux map type number.
 *
 * Two layers, because a map lives in shared memory but each thread needs its
 * own JS accessors:
 *  - `MapOps` (stateless): validate attributes, size, allocate, free, and
 *    `open` a per-thread `MapImpl` over an existing map.
 *  - `MapImpl` (per thread, cached by the kernel layer): element operations.
 *    A member a type lacks is absent; the syscall layer turns that into one
 *    consistent errno (EINVAL for element ops, EOPNOTSUPP for batch ops,
 *    as Linux does).
 *
 * All keys and values are arena offsets. The syscall layer copies user
 * buffers into a per-thread scratch area first, so the same code serves
 * programs (which hold arena pointers) and user space.
 */
import type { ArenaApi } from "../memory/arena-api.js";

/** BPF_MAP_CREATE attributes, as the syscall layer has decoded them. */
export interface MapAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  /** Inner map template (map-in-map), header offset, or 0. */
  innerMapOff?: number;
  /** The errno of resolving inner_map_fd (EBADF for a closed fd), or 0; only map-in-map types read it. */
  innerMapErr?: number;
  numaNode?: number;
  mapName?: string;
  /** Offset of the `struct bpf_spin_lock` in the value, or -1. From BTF once the loader has it. */
  spinLockOff?: number;
  mapExtra?: bigint;
  /** BTF ids are accepted and recorded; bpfsim checks them once BTF loading exists. */
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
}

/** What a map type may know about the machine. */
export interface MapEnv {
  arena: ArenaApi;
  /** Number of simulated (possible) CPUs. */
  ncpus: number;
}

/**
 * A thread's view of one map's header. The header lives in the arena at
 * `headerOff`; `privOff` is the start of MAP_PRIV_WORDS i32 words the type
 * owns (storage offsets, counters, lock words).
 */
export interface MapHeaderView {
  readonly arena: ArenaApi;
  readonly headerOff: number;
  readonly privOff: number;
  readonly id: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly ncpus: number;
  /** -1 when the value has no bpf_spin_lock. */
  readonly spinLockOff: number;
}

/** Words of type-private state in each map header. */
export const MAP_PRIV_WORDS = 32;

/** Per-thread element operations. Context noted on each member. */
export interface MapImpl {
  /** Program or syscall: pointer to the value (this CPU's slot for per-CPU types), or 0. No lock. */
  lookupElem?(keyOff: number, cpu: number): number;
  /** Program: update; per-CPU types write `cpu`'s slot only. Returns 0 or -errno. */
  updateElem?(keyOff: number, valueOff: number, flags: number, cpu: number): number;
  /** Program or syscall: delete. 0 or -errno. */
  deleteElem?(keyOff: number, cpu: number): number;
  /** Program: bpf_map_lookup_percpu_elem. Pointer or 0. */
  lookupPercpuElem?(keyOff: number, cpu: number): number;
  /** Syscall: next key after `keyOff` (0 = first), written to `nextKeyOff`. 0 or -ENOENT. */
  getNextKey?(keyOff: number, nextKeyOff: number): number;
  /**
   * Syscall: copy the value out. Per-CPU types write ncpus * round_up(valueSize, 8)
   * bytes. `flags` may hold BPF_F_LOCK. 0 or -errno.
   */
  sysLookupElem?(keyOff: number, outOff: number, flags: number): number;
  /** Syscall: update from a user value (all CPUs for per-CPU types). 0 or -errno. */
  sysUpdateElem?(keyOff: number, valueOff: number, flags: number): number;
  /** Syscall: BPF_MAP_LOOKUP_AND_DELETE_ELEM. 0 or -errno. */
  sysLookupAndDeleteElem?(keyOff: number, outOff: number, flags: number): number;
  /** Program: bpf_for_each_map_elem. Calls `cb(keyOff, valueOff)` until it returns non-zero; returns the count visited. */
  forEachElem?(cpu: number, cb: (keyOff: number, valueOff: number) => number): number;
  /** Number of live elements (for tests and info). */
  count?(): number;
  /**
   * Syscall, maps whose values are fds of other objects (prog array,
   * map-in-map): store the object the user's fd names at `keyOff`. The
   * syscall layer reads the u32 fd from the user's value, resolves it in the
   * calling process to an object slot with a reference taken (Linux's
   * map_fd_get_ptr) and hands that reference over: the map keeps it on
   * success and drops it on error. 0 or -errno.
   */
  sysUpdateFdElem?(keyOff: number, objSlot: number, flags: number): number;
}

/** The stateless ops table of one map type. */
export interface MapOps {
  /** Syscall: validate attributes. No side effects. 0 or -errno. */
  allocCheck(attr: MapAttr, env: MapEnv): number;
  /**
   * Syscall, after allocCheck: the max_entries the map really gets, when the
   * type changes it as Linux's map_alloc does (e.g. LRU with
   * BPF_F_NO_COMMON_LRU rounds up to a multiple of the possible CPUs). The
   * header, memUsage, alloc and BPF_OBJ_GET_INFO_BY_FD all see this value.
   * Absent: attr.maxEntries.
   */
  maxEntries?(attr: MapAttr, env: MapEnv): number;
  /** Bytes this map costs (charged against RLIMIT_MEMLOCK at create, reported in info). */
  memUsage(attr: MapAttr, env: MapEnv): number;
  /**
   * Syscall: allocate storage for a map whose header is already written;
   * record storage offsets in the private words. 0 or -errno. On failure
   * nothing stays allocated.
   */
  alloc(m: MapHeaderView, owner: number): number;
  /** Syscall: release all storage (last reference gone). */
  free(m: MapHeaderView): void;
  /** Any thread: this thread's element accessors for an existing map. */
  open(m: MapHeaderView): MapImpl;
  /**
   * Syscall: bytes of one value as user space reads and writes it (Linux's
   * bpf_map_value_size). Absent: `ncpus * roundUp8(valueSize)` if the type's
   * MapImpl has `lookupPercpuElem` (a per-CPU type), else `valueSize`.
   */
  sysValueSize?(m: MapHeaderView): number;
  /**
   * Which BPF_MAP_*_BATCH commands the type supports. The syscall layer runs
   * them element by element over getNextKey / sysLookupElem / sysUpdateElem /
   * deleteElem, as Linux's generic_map_*_batch do. A command not listed
   * fails with ENOTSUPP, as in Linux.
   */
  batchOps?: MapBatchOps;
  /**
   * Any thread: the arena region user space may mmap (BPF_F_MMAPABLE), or
   * -errno. Absent: the type cannot be mapped (ENOTSUPP).
   */
  mmapRegion?(m: MapHeaderView): { off: number; bytes: number } | number;
  /**
   * Syscall, any thread: the last user reference (fd or pin) is gone while
   * programs may still hold the map (Linux's `map_release_uref`). The prog
   * array clears its entries here unless BPF_F_PRESERVE_ELEMS, which is what
   * breaks program -> prog array -> program cycles in Linux. Called by the
   * object layer when usercnt drops to 0.
   */
  releaseUref?(m: MapHeaderView): void;
  /**
   * BPF_MAP_LOOKUP_ELEM reads the user's value as its input (the bloom
   * filter's membership test): the syscall layer copies it in before the
   * lookup, as Linux's map_lookup_elem does for BPF_MAP_TYPE_BLOOM_FILTER.
   */
  sysLookupReadsValue?: boolean;
}

/** The batch commands a map type supports (see `MapOps.batchOps`). */
export interface MapBatchOps {
  lookup?: boolean;
  lookupAndDelete?: boolean;
  update?: boolean;
  delete?: boolean;
}

/** round_up(n, 8): the per-CPU value stride user space sees. */
export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}
