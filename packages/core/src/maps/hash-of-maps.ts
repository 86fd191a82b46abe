/**
 * BPF_MAP_TYPE_HASH_OF_MAPS (13) (kernel/bpf/hashtab.c,
 * htab_of_maps_map_ops): key -> inner map. A HASH map (hash.ts, with its
 * bucket locks and lock-free lookups) whose 4-byte values hold inner map
 * header offsets; template, compatibility and references: map-in-map.ts.
 *
 * - Program lookup: the hash lookup, then one load of the stored header
 *   offset (Linux's htab_of_map_lookup_elem), or 0.
 * - User space: lookup gives the inner map's id; update takes an fd and
 *   BPF_ANY / BPF_NOEXIST / BPF_EXIST like a hash (EEXIST, ENOENT, E2BIG
 *   when full); delete drops the entry's reference.
 * - Writers of one outer map are serialised by a lock word (priv word 30),
 *   so the entry an update replaces is known and its reference dropped
 *   exactly once; programs cannot update map-in-map maps, so this lock is
 *   syscall-only.
 *
 * Who may call: lookupElem from programs on any CPU; the rest from syscall
 * on any thread.
 */
import { Errno } from "../errno.js";
import { M_INNER } from "../kernel/layout.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import { hashMapOps } from "./hash.js";
import { innerMapForSlot, innerMapId, innerTemplateCheck, putInnerMap, putSlot, saveTemplate } from "./map-in-map.js";
import type { MapAttr, MapEnv, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";

const P_UPDATE_LOCK = 30;
/** Scratch for one u32 value per outer map (under the update lock). */
const P_VALUE_SCRATCH = 31;

class HashOfMaps implements MapImpl {
  private readonly h: MapImpl;
  private readonly lockOff: number;

  constructor(private readonly m: MapHeaderView) {
    this.h = hashMapOps.open(m);
    this.lockOff = m.privOff + P_UPDATE_LOCK * 4;
  }

  /** Program: the inner map (header offset) for the key, or 0. */
  lookupElem(keyOff: number, cpu: number): number {
    const p = this.h.lookupElem!(keyOff, cpu);
    return p === 0 ? 0 : Atomics.load(this.m.arena.u32, p >>> 2);
  }

  /** Syscall: the inner map's id. */
  sysLookupElem(keyOff: number, outOff: number): number {
    const inner = this.lookupElem(keyOff, 0);
    if (inner === 0) return -Errno.ENOENT;
    this.m.arena.dv.setUint32(outOff, innerMapId(this.m, inner), true);
    return 0;
  }

  sysUpdateElem(): number {
    return -Errno.EINVAL;
  }

  /** Syscall: bpf_fd_htab_map_update_elem(); takes over the reference on `objSlot`. */
  sysUpdateFdElem(keyOff: number, objSlot: number, flags: number): number {
    const m = this.m;
    const inner = innerMapForSlot(m, objSlot);
    if (inner < 0) {
      putSlot(m, objSlot);
      return inner;
    }
    const i32 = m.arena.i32;
    spinLock(i32, this.lockOff);
    try {
      const old = this.lookupElem(keyOff, 0);
      const vOff = m.privOff + P_VALUE_SCRATCH * 4;
      m.arena.u32[vOff >>> 2] = inner;
      const e = this.h.updateElem!(keyOff, vOff, flags, m.ncpus);
      if (e !== 0) {
        putSlot(m, objSlot);
        return e;
      }
      putInnerMap(m, old);
      return 0;
    } finally {
      spinUnlock(i32, this.lockOff);
    }
  }

  /** Syscall: delete the entry and drop its reference. */
  deleteElem(keyOff: number, cpu: number): number {
    const i32 = this.m.arena.i32;
    spinLock(i32, this.lockOff);
    try {
      const old = this.lookupElem(keyOff, cpu);
      const e = this.h.deleteElem!(keyOff, cpu);
      if (e === 0) putInnerMap(this.m, old);
      return e;
    } finally {
      spinUnlock(i32, this.lockOff);
    }
  }

  getNextKey(keyOff: number, nextKeyOff: number): number {
    return this.h.getNextKey!(keyOff, nextKeyOff);
  }

  count(): number {
    return this.h.count?.() ?? 0;
  }

  /** Syscall (map free): drop every entry's reference. */
  dropAll(): void {
    const ks = this.m.keySize;
    const a = this.m.arena;
    const key = a.alloc(ks * 2, 0);
    if (key < 0) return;
    // Two key buffers: the previous key stays valid while the next one is written.
    let prev = 0;
    let out = key;
    while (this.h.getNextKey!(prev, out) === 0) {
      putInnerMap(this.m, this.lookupElem(out, 0));
      prev = out;
      out = out === key ? key + ks : key;
    }
    a.free(key);
  }
}

export const hashOfMapsMapOps: MapOps = {
  allocCheck(attr: MapAttr, env: MapEnv): number {
    if (attr.valueSize !== 4) return -Errno.EINVAL;
    const e = hashMapOps.allocCheck(attr, env);
    return e !== 0 ? e : innerTemplateCheck(attr, env);
  },
  memUsage: (attr, env) => hashMapOps.memUsage(attr, env),
  alloc(m: MapHeaderView, owner: number): number {
    const e = hashMapOps.alloc(m, owner);
    if (e < 0) return e;
    const t = saveTemplate(m, m.arena.u32[(m.headerOff >>> 2) + M_INNER]!);
    if (t < 0) {
      hashMapOps.free(m);
      return t;
    }
    m.arena.i32[(m.privOff >>> 2) + P_UPDATE_LOCK] = 0;
    return 0;
  },
  free(m: MapHeaderView): void {
    new HashOfMaps(m).dropAll();
    hashMapOps.free(m);
  },
  open: (m) => new HashOfMaps(m),
  // The hash table's batch commands (values are fds on update, ids on lookup).
  batchOps: { lookup: true, lookupAndDelete: true, update: true, delete: true },
};
