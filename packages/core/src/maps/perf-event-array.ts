/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY (4): an array of perf events indexed by CPU,
 * only a control channel. The records themselves go through each event's
 * own ring (perf/perf-ring.ts). User space opens one perf event per CPU and
 * stores its fd at that CPU's index, as libbpf's perf_buffer__new does.
 *
 * Storage: `maxEntries` u32 slots at priv word 0, each the arena offset of a
 * perf event or 0. The syscall layer turns the fd user space passes into the
 * event's offset (Linux's map_fd_get_ptr) and calls `perfEventArraySet`.
 *
 * Locking: a slot is one word, replaced with Atomics.exchange (syscall on any
 * thread) and read with Atomics.load by programs (bpf_perf_event_output), so
 * a program sees either the old or the new event. A closed event is removed
 * from its slots by the syscall layer before its memory is freed.
 */
import type { MapAttr, MapEnv, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";
import { BPF_ANY, BPF_F_NUMA_NODE, BPF_F_PRESERVE_ELEMS, BPF_F_RDONLY, BPF_F_WRONLY } from "../uapi.js";
import { Errno } from "../errno.js";

const ALLOWED_FLAGS = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_PRESERVE_ELEMS;

/** Arena offset of the slot array. */
export function perfEventArraySlots(m: MapHeaderView): number {
  return m.arena.u32[m.privOff >> 2]!;
}

/** Program on a CPU: the perf event at `index`, or 0. Caller checks the bound. */
export function perfEventArrayGet(m: { arena: MapHeaderView["arena"]; privOff: number }, index: number): number {
  const slots = m.arena.u32[m.privOff >> 2]!;
  return Atomics.load(m.arena.i32, (slots >> 2) + index) >>> 0;
}

/**
 * Syscall: store perf event `evOff` at `index` (fd_array_map_update_elem).
 * 0, -E2BIG for an index out of range, -EINVAL for flags other than BPF_ANY.
 */
export function perfEventArraySet(m: MapHeaderView, index: number, evOff: number, flags: number): number {
  if (flags !== BPF_ANY) return -Errno.EINVAL;
  if (index >>> 0 >= m.maxEntries) return -Errno.E2BIG;
  Atomics.exchange(m.arena.i32, (perfEventArraySlots(m) >> 2) + index, evOff | 0);
  return 0;
}

/** Syscall: remove every slot that holds `evOff` (its fd was closed). */
export function perfEventArrayForget(m: MapHeaderView, evOff: number): void {
  const w = perfEventArraySlots(m) >> 2;
  for (let i = 0; i < m.maxEntries; i++) Atomics.compareExchange(m.arena.i32, w + i, evOff | 0, 0);
}

export const perfEventArrayMapOps: MapOps = {
  allocCheck(attr: MapAttr, _env: MapEnv): number {
    if (attr.maxEntries === 0 || attr.keySize !== 4 || attr.valueSize !== 4) return -Errno.EINVAL;
    if ((attr.mapFlags & ~ALLOWED_FLAGS) !== 0) return -Errno.EINVAL;
    return 0;
  },
  memUsage(attr: MapAttr): number {
    return attr.maxEntries * 8;
  },
  alloc(m: MapHeaderView, owner: number): number {
    const off = m.arena.alloc(m.maxEntries * 4, owner);
    if (off < 0) return off;
    m.arena.u8.fill(0, off, off + m.maxEntries * 4);
    m.arena.u32[m.privOff >> 2] = off;
    return 0;
  },
  free(m: MapHeaderView): void {
    const off = perfEventArraySlots(m);
    if (off) m.arena.free(off);
    m.arena.u32[m.privOff >> 2] = 0;
  },
  open(m: MapHeaderView): MapImpl {
    const u32 = m.arena.u32;
    return {
      // Syscall: reading an fd array back is not supported (fd_array_map_lookup_elem).
      sysLookupElem(): number {
        return -Errno.EOPNOTSUPP;
      },
      // Syscall and program: fd_array_map_delete_elem.
      deleteElem(keyOff: number): number {
        const index = u32[keyOff >> 2]!;
        if (index >= m.maxEntries) return -Errno.E2BIG;
        const old = Atomics.exchange(m.arena.i32, (perfEventArraySlots(m) >> 2) + index, 0);
        return old === 0 ? -Errno.ENOENT : 0;
      },
      // Syscall: array order; past the end or on the last index, -ENOENT.
      getNextKey(keyOff: number, nextKeyOff: number): number {
        const index = keyOff === 0 ? -1 : u32[keyOff >> 2]!;
        const next = index >= m.maxEntries ? 0 : index + 1;
        if (next >= m.maxEntries) return -Errno.ENOENT;
        u32[nextKeyOff >> 2] = next;
        return 0;
      },
    };
  },
};
