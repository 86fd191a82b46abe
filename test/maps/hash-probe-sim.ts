/**
 * scripts/maps/hash-probe.c, replayed on bpfsim's hash maps through MapOps
 * and MapImpl (syscall entry points, CPU 0 like the pinned probe). Produces
 * the same "name value" lines so they can be compared with the kernel's.
 */
import { BpfError } from "../../packages/core/src/errno.js";
import { Arena } from "../../packages/core/src/memory/arena.js";
import type { MapAttr, MapImpl } from "../../packages/core/src/maps/map-ops.js";
import { mapOpsFor } from "../../packages/core/src/maps/registry.js";
import { createStandaloneMap, type StandaloneMap } from "../../packages/core/src/maps/hashtab/standalone.js";
import { effectiveMaxEntries } from "../../packages/core/src/maps/hashtab/htab-ops.js";
import {
  BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE,
  BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, BPF_NOEXIST, BPF_F_INNER_MAP,
  MapType,
} from "../../packages/core/src/uapi.js";

const H = MapType.Hash, PH = MapType.PercpuHash, L = MapType.LruHash, LP = MapType.LruPercpuHash;

export function runSimProbe(arena: Arena, ncpus: number): Map<string, string> {
  const out = new Map<string, string>();
  const put = (name: string, v: string | number) => out.set(name, String(v));
  const env = { arena, ncpus };
  const scratch = arena.alloc(1 << 16, 1);
  const K = scratch, V = scratch + 4096, O = scratch + 8192, NK = scratch + 12288;
  const dv = arena.dv;

  const attrOf = (mapType: number, keySize: number, valueSize: number, maxEntries: number, mapFlags: number): MapAttr =>
    ({ mapType, keySize, valueSize, maxEntries, mapFlags });
  const create = (t: number, ks: number, vs: number, max: number, flags: number): StandaloneMap | number => {
    const attr = attrOf(t, ks, vs, max, flags);
    if (flags & BPF_F_NUMA_NODE) attr.numaNode = 0;
    try {
      return createStandaloneMap(mapOpsFor(t)!, arena, attr, ncpus);
    } catch (e) {
      if (e instanceof BpfError) return -e.errno;
      throw e;
    }
  };
  const createCase = (name: string, t: number, ks: number, vs: number, max: number, flags: number) => {
    const m = create(t, ks, vs, max, flags);
    put(`create.${name}`, typeof m === "number" ? m : 0);
    if (typeof m !== "number") m.destroy();
  };
  const valueLimit = (name: string, t: number, flags: number) => {
    let lo = 1, hi = 1 << 24;
    while (lo + 1 < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      // allocCheck alone decides E2BIG; creating a 4 MiB-value map is not needed for that.
      const r = mapOpsFor(t)!.allocCheck(attrOf(t, 4, mid, 1, flags), env);
      if (r === 0) lo = mid;
      else hi = mid;
    }
    put(`vlimit.${name}`, lo);
  };
  const key = (k: number) => (dv.setUint32(K, k, true), K);
  const val = (v: bigint) => (dv.setBigUint64(V, v, true), V);
  const keys = (impl: MapImpl) => {
    const ks: number[] = [];
    let r = impl.getNextKey!(0, NK);
    while (r === 0) {
      ks.push(dv.getUint32(NK, true));
      arena.u8.copyWithin(K, NK, NK + 4);
      r = impl.getNextKey!(K, NK);
    }
    return ks;
  };

  createCase("max0", H, 4, 8, 0, 0);
  createCase("key0", H, 0, 8, 4, 0);
  createCase("value0", H, 4, 0, 4, 0);
  createCase("key512", H, 512, 8, 4, 0);
  createCase("key513", H, 513, 8, 4, 0);
  createCase("lru.key513", L, 513, 8, 4, 0);
  createCase("hash.no_common_lru", H, 4, 8, 4, BPF_F_NO_COMMON_LRU);
  createCase("percpu.no_common_lru", PH, 4, 8, 4, BPF_F_NO_COMMON_LRU);
  createCase("lru.no_common_lru", L, 4, 8, 4, BPF_F_NO_COMMON_LRU);
  createCase("lru.no_prealloc", L, 4, 8, 4, BPF_F_NO_PREALLOC);
  createCase("lrupcpu.no_prealloc", LP, 4, 8, 4, BPF_F_NO_PREALLOC);
  createCase("hash.no_prealloc", H, 4, 8, 4, BPF_F_NO_PREALLOC);
  createCase("hash.zero_seed", H, 4, 8, 4, BPF_F_ZERO_SEED);
  createCase("hash.mmapable", H, 4, 8, 4, BPF_F_MMAPABLE);
  createCase("hash.rdonly_wronly", H, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY);
  createCase("hash.rdonly_prog_wronly_prog", H, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  createCase("hash.rdonly", H, 4, 8, 4, BPF_F_RDONLY);
  createCase("hash.wronly_prog", H, 4, 8, 4, BPF_F_WRONLY_PROG);
  createCase("hash.bit31", H, 4, 8, 4, 1 << 31);
  createCase("hash.inner_map", H, 4, 8, 4, BPF_F_INNER_MAP);
  createCase("hash.numa", H, 4, 8, 4, BPF_F_NUMA_NODE);
  createCase("percpu.numa", PH, 4, 8, 4, BPF_F_NUMA_NODE);
  createCase("lru.numa_no_common", L, 4, 8, 4, BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU);
  // Only the errno of the size checks: allocCheck, without reserving 2^27 buckets.
  for (const [name, max] of [["hash.max_2p27", 2 ** 27], ["hash.max_2p27p1", 2 ** 27 + 1], ["hash.max_2p31p1", 2 ** 31 + 1]] as const) {
    put(`create.${name}`, mapOpsFor(H)!.allocCheck(attrOf(H, 4, 8, max, BPF_F_NO_PREALLOC), env));
  }
  createCase("percpu.v32768", PH, 4, 32768, 4, 0);
  createCase("percpu.v32769", PH, 4, 32769, 4, 0);
  valueLimit("hash", H, BPF_F_NO_PREALLOC);
  valueLimit("lru", L, 0);

  let m = create(H, 4, 8, 4, 0) as StandaloneMap;
  let h = m.impl;
  for (let k = 0; k < 4; k++) h.sysUpdateElem!(key(k), val(1n), BPF_NOEXIST);
  put("hash.full_insert", h.sysUpdateElem!(key(4), val(1n), BPF_ANY));
  put("hash.full_replace", h.sysUpdateElem!(key(1), val(1n), BPF_ANY));
  put("hash.noexist_existing", h.sysUpdateElem!(key(1), val(1n), BPF_NOEXIST));
  put("hash.exist_missing", h.sysUpdateElem!(key(9), val(1n), BPF_EXIST));
  put("hash.flags8", h.sysUpdateElem!(key(1), val(1n), 8));
  put("hash.flags3", h.sysUpdateElem!(key(1), val(1n), 3));
  put("hash.update_lock_nolock", h.sysUpdateElem!(key(1), val(1n), BPF_F_LOCK));
  put("hash.lookup_lock_nolock", h.sysLookupElem!(key(1), O, BPF_F_LOCK));
  put("hash.lookup_flags2", h.sysLookupElem!(key(1), O, 2));
  put("hash.lookup_missing", h.sysLookupElem!(key(9), O, 0));
  put("hash.delete_missing", h.deleteElem!(key(9), 0));
  put("hash.lookup_and_delete_missing", h.sysLookupAndDeleteElem!(key(9), O, 0));
  put("hash.lookup_and_delete_flags2", h.sysLookupAndDeleteElem!(key(1), O, 2));
  put("hash.lookup_and_delete", h.sysLookupAndDeleteElem!(key(1), O, 0));
  put("hash.lookup_after_lad", h.sysLookupElem!(key(1), O, 0));
  h.getNextKey!(0, NK);
  const first = dv.getUint32(NK, true);
  const r = h.getNextKey!(key(77), NK);
  put("hash.next_missing", `${r} restarts_at_first=${dv.getUint32(NK, true) === first ? 1 : 0}`);
  m.destroy();

  m = create(H, 4, 8, 4, BPF_F_NO_PREALLOC) as StandaloneMap;
  h = m.impl;
  for (let k = 0; k < 4; k++) h.sysUpdateElem!(key(k), val(1n), BPF_NOEXIST);
  put("hash_np.full_insert", h.sysUpdateElem!(key(4), val(1n), BPF_ANY));
  put("hash_np.full_replace", h.sysUpdateElem!(key(1), val(1n), BPF_ANY));
  m.destroy();

  m = create(PH, 4, 4, 4, 0) as StandaloneMap;
  h = m.impl;
  const pv = [0x1111111122222222n, 0x3333333344444444n];
  const setPv = () => {
    for (let c = 0; c < ncpus; c++) dv.setBigUint64(V + 8 * c, pv[c % 2]!, true);
    return V;
  };
  put("percpu.update", h.sysUpdateElem!(key(1), setPv(), BPF_ANY));
  const lr = h.sysLookupElem!(key(1), O, 0);
  put("percpu.lookup", `${lr} ${dv.getBigUint64(O, true).toString(16)} ${dv.getBigUint64(O + 8, true).toString(16)}`);
  put("percpu.update_lock", h.sysUpdateElem!(key(1), setPv(), BPF_F_LOCK));
  m.destroy();

  const names = ["lru", "lru_nocommon", "lrupcpu", "lrupcpu_nocommon"];
  for (let t = 0; t < 4; t++) {
    m = create(t < 2 ? L : LP, 4, 8, 8, t & 1 ? BPF_F_NO_COMMON_LRU : 0) as StandaloneMap;
    h = m.impl;
    let errs = 0;
    for (let k = 0; k < 64; k++) errs += h.sysUpdateElem!(key(k), setPv(), BPF_ANY) !== 0 ? 1 : 0;
    const live = keys(h).length;
    const last = h.sysLookupElem!(key(63), O, 0);
    const noexist = h.sysUpdateElem!(key(63), setPv(), BPF_NOEXIST);
    put(`${names[t]}.fill64`, `errs=${errs} live=${live} last=${last} noexist=${noexist}`);
    put(`${names[t]}.update_lock`, h.sysUpdateElem!(key(63), setPv(), BPF_F_LOCK));
    m.destroy();
  }

  for (const [max, flags] of [[8, 0], [256, 0], [1024, 0], [16, BPF_F_NO_COMMON_LRU]] as const) {
    m = create(L, 4, 8, max, flags) as StandaloneMap;
    for (let k = 0; k <= max; k++) m.impl.sysUpdateElem!(key(k), setPv(), BPF_ANY);
    put(`lru.evict_round.max${max}.flags${flags}`, keys(m.impl).length);
    m.destroy();
  }

  const order = (name: string, max: number, nkeys: number, twist: boolean) => {
    const om = create(H, 4, 8, max, BPF_F_ZERO_SEED) as StandaloneMap;
    for (let k = 0; k < nkeys; k++) om.impl.sysUpdateElem!(key(k), val(7n), BPF_ANY);
    if (twist) {
      om.impl.sysUpdateElem!(key(3), val(7n), BPF_ANY);
      om.impl.deleteElem!(key(5), 0);
    }
    put(`order.${name}`, keys(om.impl).join(" "));
    om.destroy();
  };
  for (let ks = 5; ks <= 13; ks += 4) {
    const om = create(H, ks, 8, 16, BPF_F_ZERO_SEED) as StandaloneMap;
    const putKey = (at: number, k: number) => {
      arena.u8.fill(0x5a, at, at + ks);
      dv.setUint32(at, k, true);
      return at;
    };
    for (let k = 0; k < 16; k++) om.impl.sysUpdateElem!(putKey(K, k), val(7n), BPF_ANY);
    const seen: number[] = [];
    for (let r = om.impl.getNextKey!(0, NK); r === 0; r = om.impl.getNextKey!(K, NK)) {
      seen.push(dv.getUint32(NK, true));
      arena.u8.copyWithin(K, NK, NK + ks);
    }
    put(`order.k${ks}`, seen.join(" "));
    om.destroy();
  }
  order("h16", 16, 16, false);
  order("h16twist", 16, 16, true);
  order("h5", 5, 5, false);
  order("h100of64", 100, 64, true);

  const mem = (name: string, t: number, ks: number, vs: number, max: number, flags: number) => {
    const attr = attrOf(t, ks, vs, max, flags);
    put(`mem.${name}`, `${mapOpsFor(t)!.memUsage(attr, env)} max_entries=${effectiveMaxEntries(attr, ncpus)}`);
  };
  mem("hash_1M_u32_u64", H, 4, 8, 1 << 20, 0);
  mem("hash_1M_u32_u64_noprealloc", H, 4, 8, 1 << 20, BPF_F_NO_PREALLOC);
  mem("percpu_1k_u32_u64", PH, 4, 8, 1024, 0);
  mem("lru_1k_u32_u64", L, 4, 8, 1024, 0);
  mem("lrupcpu_1k_u32_u64", LP, 4, 8, 1024, 0);
  mem("lru_nocommon_3", L, 4, 8, 3, BPF_F_NO_COMMON_LRU);
  mem("lru_nocommon_1", L, 4, 8, 1, BPF_F_NO_COMMON_LRU);
  mem("hash_k13_v5_100", H, 13, 5, 100, 0);
  arena.free(scratch);
  return out;
}

/**
 * scripts/maps/hash-lock-probe.c replayed: BPF_F_LOCK with the value
 * `struct { int a; struct bpf_spin_lock lock; int b[4]; }` (lock at 4).
 */
export function runSimLockProbe(arena: Arena, ncpus: number): Map<string, string> {
  const out = new Map<string, string>();
  const put = (name: string, v: string | number) => out.set(name, String(v));
  const scratch = arena.alloc(4096, 1);
  const K = scratch, V = scratch + 1024, O = scratch + 2048;
  const dv = arena.dv;
  const create = (t: number) => {
    try {
      return createStandaloneMap(mapOpsFor(t)!, arena, { mapType: t, keySize: 4, valueSize: 24, maxEntries: 4, mapFlags: 0, spinLockOff: 4 }, ncpus);
    } catch (e) {
      if (e instanceof BpfError) return -e.errno;
      throw e;
    }
  };
  for (const [name, t] of [["hash", H], ["percpu_hash", PH], ["lru_hash", L], ["lru_percpu_hash", LP]] as const) {
    const m = create(t);
    put(`lock.create.${name}`, typeof m === "number" ? m : 0);
    if (typeof m !== "number") m.destroy();
  }
  const m = create(H) as StandaloneMap;
  const h = m.impl;
  const key = (k: number) => (dv.setUint32(K, k, true), K);
  const words = (ret: number) => `${ret} ${Array.from({ length: 6 }, (_, i) => dv.getUint32(O + 4 * i, true).toString(16)).join(" ")}`;
  for (let i = 0; i < 6; i++) dv.setUint32(V + 4 * i, 0x100 + i, true);
  put("lock.update_lock_missing", h.sysUpdateElem!(key(1), V, BPF_F_LOCK));
  arena.u8.fill(0xff, O, O + 24);
  put("lock.lookup_lock", words(h.sysLookupElem!(key(1), O, BPF_F_LOCK)));
  arena.u8.fill(0xff, O, O + 24);
  put("lock.lookup_plain", words(h.sysLookupElem!(key(1), O, 0)));
  dv.setUint32(V, 0xaaaa, true);
  put("lock.update_lock_existing", h.sysUpdateElem!(key(1), V, BPF_F_LOCK));
  put("lock.update_lock_noexist", h.sysUpdateElem!(key(1), V, BPF_F_LOCK | BPF_NOEXIST));
  put("lock.update_lock_exist_missing", h.sysUpdateElem!(key(2), V, BPF_F_LOCK | BPF_EXIST));
  put("lock.update_lock_bad", h.sysUpdateElem!(key(2), V, BPF_F_LOCK | 8));
  arena.u8.fill(0xff, O, O + 24);
  put("lock.lookup_and_delete_lock", words(h.sysLookupAndDeleteElem!(key(1), O, BPF_F_LOCK)));
  put("lock.lookup_after", h.sysLookupElem!(key(1), O, BPF_F_LOCK));
  m.destroy();
  arena.free(scratch);
  return out;
}
