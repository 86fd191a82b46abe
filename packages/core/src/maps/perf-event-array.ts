/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY (4): an array of perf events indexed by CPU,
 * only a control channel. The records themselves go through each event's
 * own ring (perf/perf-ring.ts). User space opens one perf event per CPU and
 * stores its fd at that CPU's index, as libbpf's perf_buffer__new does.
 *
 * Storage: `maxEntries` entries of two u32 words at priv word 0:
 * [object slot + 1 of the perf event, or 0; the event's arena offset]. The
 * syscall layer resolves the fd user space passes (Linux's map_fd_get_ptr)
 * with a reference held and calls `sysUpdateFdElem`; the entry keeps that
 * reference, so an event stays alive while a map holds it even after user
 * space closes its fd.
 *
 * Locking: an update writes the offset word, then publishes the slot word
 * with Atomics.exchange and drops the old entry's reference; a delete
 * exchanges the slot word with 0 first. Programs (bpf_perf_event_output)
 * read the slot word and then the offset word with Atomics.load. A program
 * racing an update may use the old event; the old event's memory is freed
 * only when its last reference goes, which (as with RCU in Linux) is after
 * the syscall that replaced it, not while a program on a CPU is using it —
 * bpfsim does not wait for CPUs here; see docs/COMPAT.md.
 */
import type { MapAttr, MapEnv, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";
import { BPF_ANY, BPF_F_NUMA_NODE, BPF_F_PRESERVE_ELEMS, BPF_F_RDONLY, BPF_F_WRONLY } from "../uapi.js";
import { Errno } from "../errno.js";
import { ObjKind } from "../kernel/layout.js";
import type { Kernel } from "../kernel/kernel.js";

const ALLOWED_FLAGS = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_PRESERVE_ELEMS;

/** Per-thread kernel for a memory, so entries can hold object references. */
const kernels = new WeakMap<WebAssembly.Memory, Kernel>();
export function bindPerfEventArrayKernel(k: Kernel): void {
  kernels.set(k.memory, k);
}

/** Word index of the entry array. */
function entriesW(m: { arena: MapHeaderView["arena"]; privOff: number }): number {
  return m.arena.u32[m.privOff >>> 2]! >>> 2;
}

/** Program on a CPU: the perf event (arena offset) at `index`, or 0. Caller checks the bound. */
export function perfEventArrayGet(m: { arena: MapHeaderView["arena"]; privOff: number }, index: number): number {
  const w = entriesW(m) + 2 * index;
  if (Atomics.load(m.arena.u32, w) === 0) return 0;
  return Atomics.load(m.arena.u32, w + 1);
}

/** Syscall: clear entry `index`, dropping its reference. True if it held an event. */
function clearEntry(m: MapHeaderView, index: number): boolean {
  const w = entriesW(m) + 2 * index;
  const old = Atomics.exchange(m.arena.u32, w, 0);
  if (old === 0) return false;
  kernels.get(m.arena.memory)?.objects.put(old - 1);
  return true;
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
    const off = m.arena.alloc(m.maxEntries * 8, owner);
    if (off < 0) return off;
    m.arena.u8.fill(0, off, off + m.maxEntries * 8);
    m.arena.u32[m.privOff >>> 2] = off;
    return 0;
  },
  // Syscall, last reference: drop every event reference, free storage.
  free(m: MapHeaderView): void {
    const w = entriesW(m);
    if (w === 0) return;
    for (let i = 0; i < m.maxEntries; i++) clearEntry(m, i);
    m.arena.free(w << 2);
    m.arena.u32[m.privOff >>> 2] = 0;
  },
  open(m: MapHeaderView): MapImpl {
    const u32 = m.arena.u32;
    return {
      // Syscall: reading a perf event array back is not supported (fd_array_map_lookup_elem: -ENOTSUPP, 524).
      sysLookupElem(): number {
        return -Errno.ENOTSUPP;
      },
      // Syscall: fd_array_map_update_elem with the fd already resolved to an
      // object slot (reference held: kept on success, dropped on error).
      sysUpdateFdElem(keyOff: number, objSlot: number, flags: number): number {
        const k = kernels.get(m.arena.memory);
        const fail = (e: number): number => {
          k?.objects.put(objSlot);
          return e;
        };
        if (!k) return fail(-Errno.EINVAL);
        if (flags !== BPF_ANY) return fail(-Errno.EINVAL);
        const index = u32[keyOff >>> 2]!;
        if (index >= m.maxEntries) return fail(-Errno.E2BIG);
        // perf_event_get() on something that is not a perf event file: EBADF.
        if (k.objects.kindOf(objSlot) !== ObjKind.PerfEvent) return fail(-Errno.EBADF);
        const w = entriesW(m) + 2 * index;
        Atomics.store(u32, w + 1, k.objects.dataOf(objSlot));
        const old = Atomics.exchange(u32, w, objSlot + 1);
        if (old !== 0) k.objects.put(old - 1);
        return 0;
      },
      // Without a resolved fd there is nothing to store (the syscall layer uses sysUpdateFdElem).
      sysUpdateElem(): number {
        return -Errno.EINVAL;
      },
      // Syscall and program: fd_array_map_delete_elem.
      deleteElem(keyOff: number): number {
        const index = u32[keyOff >>> 2]!;
        if (index >= m.maxEntries) return -Errno.E2BIG;
        return clearEntry(m, index) ? 0 : -Errno.ENOENT;
      },
      // Syscall: array order; past the end or on the last index, -ENOENT.
      getNextKey(keyOff: number, nextKeyOff: number): number {
        const index = keyOff === 0 ? -1 : u32[keyOff >>> 2]!;
        const next = index >= m.maxEntries ? 0 : index + 1;
        if (next >= m.maxEntries) return -Errno.ENOENT;
        u32[nextKeyOff >>> 2] = next;
        return 0;
      },
    };
  },
};
