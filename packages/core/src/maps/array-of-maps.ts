/**
 * BPF_MAP_TYPE_ARRAY_OF_MAPS (12) (kernel/bpf/arraymap.c,
 * array_of_maps_map_ops): u32 index -> inner map. Template, compatibility
 * and references: map-in-map.ts.
 *
 * Storage: `max_entries` u32 words at priv word 0, each the inner map's
 * header offset or 0. An update swaps the word with Atomics.exchange and
 * then drops the old map's reference; a delete exchanges with 0. A program
 * lookup is one Atomics.load and returns the header offset itself (Linux
 * returns the inner `struct bpf_map *`), NULL for an empty slot.
 *
 * Attributes: value_size 4 and no *_PROG flags (fd_array_map_alloc_check),
 * then the array checks, then the template (inner_map_fd). Updates from user
 * space take an fd with flags BPF_ANY only (others EINVAL), E2BIG past the
 * end; lookups give the inner map's id; delete of an empty slot ENOENT.
 *
 * Who may call: lookupElem from programs on any CPU (lock-free); the rest
 * from syscall on any thread.
 */
import { Errno } from "../errno.js";
import { M_INNER } from "../kernel/layout.js";
import { BPF_ANY, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG } from "../uapi.js";
import { arrayAllocCheck, arrayGetNextKey } from "./array.js";
import { innerMapForSlot, innerMapId, innerTemplateCheck, putInnerMap, putSlot, saveTemplate } from "./map-in-map.js";
import type { MapAttr, MapEnv, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";

const entriesW = (m: MapHeaderView): number => m.arena.u32[m.privOff >>> 2]! >>> 2;

class ArrayOfMaps implements MapImpl {
  private readonly u32: Uint32Array;
  private readonly ew: number;

  constructor(private readonly m: MapHeaderView) {
    this.u32 = m.arena.u32;
    this.ew = entriesW(m);
  }

  private index(keyOff: number): number {
    return this.m.arena.dv.getUint32(keyOff, true);
  }

  /** Program: the inner map (header offset) at the index, or 0. */
  lookupElem(keyOff: number): number {
    const i = this.index(keyOff);
    return i < this.m.maxEntries ? Atomics.load(this.u32, this.ew + i) : 0;
  }

  /** Syscall: the inner map's id. */
  sysLookupElem(keyOff: number, outOff: number): number {
    const inner = this.lookupElem(keyOff);
    if (inner === 0) return -Errno.ENOENT;
    this.m.arena.dv.setUint32(outOff, innerMapId(this.m, inner), true);
    return 0;
  }

  /** A plain value update cannot name a map: the syscall layer calls sysUpdateFdElem. */
  sysUpdateElem(): number {
    return -Errno.EINVAL;
  }

  /** Syscall: bpf_fd_array_map_update_elem(); takes over the reference on `objSlot`. */
  sysUpdateFdElem(keyOff: number, objSlot: number, flags: number): number {
    const m = this.m;
    const fail = (e: number): number => {
      putSlot(m, objSlot);
      return e;
    };
    if (flags !== BPF_ANY) return fail(-Errno.EINVAL);
    const i = this.index(keyOff);
    if (i >= m.maxEntries) return fail(-Errno.E2BIG);
    const inner = innerMapForSlot(m, objSlot);
    if (inner < 0) return fail(inner);
    const old = Atomics.exchange(this.u32, this.ew + i, inner);
    putInnerMap(m, old);
    return 0;
  }

  /** Syscall: fd_array_map_delete_elem(). */
  deleteElem(keyOff: number): number {
    const i = this.index(keyOff);
    if (i >= this.m.maxEntries) return -Errno.E2BIG;
    const old = Atomics.exchange(this.u32, this.ew + i, 0);
    if (old === 0) return -Errno.ENOENT;
    putInnerMap(this.m, old);
    return 0;
  }

  getNextKey(keyOff: number, nextKeyOff: number): number {
    return arrayGetNextKey(this.m, keyOff, nextKeyOff);
  }
}

export const arrayOfMapsMapOps: MapOps = {
  allocCheck(attr: MapAttr, env: MapEnv): number {
    if (attr.valueSize !== 4 || attr.mapFlags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -Errno.EINVAL;
    const e = arrayAllocCheck(attr);
    return e !== 0 ? e : innerTemplateCheck(attr, env);
  },
  memUsage: (attr: MapAttr) => 256 + attr.maxEntries * 8,
  alloc(m: MapHeaderView, owner: number): number {
    const innerOff = m.arena.u32[(m.headerOff >>> 2) + M_INNER]!;
    const off = m.arena.alloc(m.maxEntries * 4, owner);
    if (off < 0) return off;
    m.arena.u8.fill(0, off, off + m.maxEntries * 4);
    const e = saveTemplate(m, innerOff);
    if (e < 0) {
      m.arena.free(off);
      return e;
    }
    m.arena.u32[m.privOff >>> 2] = off;
    return 0;
  },
  // Syscall, last reference: drop every inner map reference, free storage.
  free(m: MapHeaderView): void {
    const w = entriesW(m);
    for (let i = 0; i < m.maxEntries; i++) putInnerMap(m, Atomics.exchange(m.arena.u32, w + i, 0));
    m.arena.free(w << 2);
  },
  open: (m) => new ArrayOfMaps(m),
  // generic_map_lookup_batch / generic_map_update_batch (values are fds on update, ids on lookup).
  batchOps: { lookup: true, update: true },
};
