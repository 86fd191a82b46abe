/**
 * BPF_MAP_TYPE_RINGBUF (27): one multi-producer ring shared by all CPUs
 * (kernel/bpf/ringbuf.c). The ring itself, its layout and its locking and
 * ordering rules are in ringbuf/ring.ts; the helpers in
 * ringbuf/ringbuf-helpers.ts; the user-space reader in ringbuf/consumer.ts.
 *
 * Attributes as Linux: key_size and value_size 0, max_entries (the data
 * size in bytes) a power of 2 and a multiple of the page size, flags only
 * BPF_F_NUMA_NODE; all else EINVAL. A ring that does not fit the arena
 * (data plus its wrap mirror, see ring.ts) gives ENOMEM.
 *
 * The element commands are not ring buffer operations: lookup, update,
 * delete, get_next_key and lookup-and-delete give ENOTSUPP (524), as Linux.
 *
 * Private words: p0 the ring's page-aligned base offset.
 *
 * Who may call: the MapOps members from syscall on any thread; programs
 * reach the ring only through the helpers.
 */
import { Errno } from "../errno.js";
import { BPF_F_NUMA_NODE } from "../uapi.js";
import { PAGE, ringAlloc, ringBlockBytes, ringFree } from "../ringbuf/ring.js";
import type { MapAttr, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";

/** Any thread: the ring base of a ring buffer map. */
export function ringbufBase(m: MapHeaderView): number {
  return m.arena.u32[m.privOff >>> 2]!;
}

const notSupported = (): number => -Errno.ENOTSUPP;

function ringbufAllocCheck(attr: MapAttr): number {
  const n = attr.maxEntries;
  if (attr.mapFlags & ~BPF_F_NUMA_NODE) return -Errno.EINVAL;
  if (attr.keySize !== 0 || attr.valueSize !== 0 || n === 0 || (n & (n - 1)) !== 0 || n % PAGE !== 0) return -Errno.EINVAL;
  return 0;
}

export const ringbufMapOps: MapOps = {
  allocCheck: (attr) => ringbufAllocCheck(attr),
  memUsage: (attr: MapAttr) => ringBlockBytes(attr.maxEntries),
  alloc(m: MapHeaderView, owner: number): number {
    if (ringBlockBytes(m.maxEntries) > m.arena.size) return -Errno.ENOMEM;
    const base = ringAlloc(m.arena, m.maxEntries, owner);
    if (base < 0) return base;
    m.arena.u32[m.privOff >>> 2] = base;
    return 0;
  },
  free(m: MapHeaderView): void {
    ringFree(m.arena, ringbufBase(m));
    m.arena.u32[m.privOff >>> 2] = 0;
  },
  open(): MapImpl {
    return {
      sysLookupElem: notSupported,
      sysUpdateElem: notSupported,
      deleteElem: notSupported,
      getNextKey: notSupported,
      sysLookupAndDeleteElem: notSupported,
    };
  },
};
