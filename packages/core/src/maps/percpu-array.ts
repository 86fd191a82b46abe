/**
 * BPF_MAP_TYPE_PERCPU_ARRAY (kernel/bpf/arraymap.c, percpu parts).
 *
 * Layout: one block sharded by CPU, each CPU's values contiguous so a CPU
 * only touches its own cache lines:
 *
 *   valuesOff + cpu * (maxEntries * stride) + index * stride,
 *   stride = round_up(value_size, 8)
 *
 * Private words: p0 values off, p1 per-CPU iteration keys off (ncpus * 8).
 *
 * Locking: none. A program on CPU c reads and writes only shard c, which no
 * other CPU writes, so its own-CPU access needs no lock (Linux's
 * this_cpu_ptr). Syscall reads and writes of all CPUs' slots race with
 * programs exactly as in Linux (no lock there either). bpf_spin_lock is not
 * allowed in per-CPU values (EOPNOTSUPP at create).
 *
 * User view: a value is ncpus * stride bytes, CPU 0 first. Like Linux's
 * copy_map_value_long, user space reads and writes whole strides, so the
 * padding after value_size bytes is stored and returned as written.
 *
 * Context: lookupElem/updateElem/lookupPercpuElem from programs on a CPU;
 * sys*, getNextKey from the syscall layer on any thread.
 */
import { Errno } from "../errno.js";
import { BPF_EXIST, BPF_NOEXIST } from "../uapi.js";
import {
  ARRAY_HEADER_BYTES, arrayAlloc, arrayAllocCheck, arrayForEach, arrayFree, arrayGetNextKey, arrayIndex, arrayUpdateCheck, copyValue,
  P_ITER_KEYS, P_VALUES,
} from "./array.js";
import { roundUp8, type MapAttr, type MapEnv, type MapHeaderView, type MapImpl, type MapOps } from "./map-ops.js";

class PercpuArrayImpl implements MapImpl {
  private readonly values: number;
  private readonly stride: number;
  private readonly shard: number;
  private readonly max: number;
  private readonly ncpus: number;
  private readonly iterKeys: number;

  constructor(private readonly m: MapHeaderView) {
    this.values = m.arena.u32[(m.privOff >>> 2) + P_VALUES]!;
    this.iterKeys = m.arena.u32[(m.privOff >>> 2) + P_ITER_KEYS]!;
    this.stride = roundUp8(m.valueSize);
    this.max = m.maxEntries;
    this.shard = this.max * this.stride;
    this.ncpus = m.ncpus;
  }

  /** Program: this CPU's value, or 0. No lock. */
  lookupElem(keyOff: number, cpu: number): number {
    const i = arrayIndex(this.m.arena, keyOff);
    return i < this.max ? this.values + cpu * this.shard + i * this.stride : 0;
  }

  /** Program: bpf_map_lookup_percpu_elem — `cpu`'s value, or 0 for a bad key or CPU. */
  lookupPercpuElem(keyOff: number, cpu: number): number {
    if (!(cpu >= 0 && cpu < this.ncpus)) return 0;
    return this.lookupElem(keyOff, cpu);
  }

  /** Program: update this CPU's slot only. */
  updateElem(keyOff: number, valueOff: number, flags: number, cpu: number): number {
    const i = arrayIndex(this.m.arena, keyOff);
    const err = arrayUpdateCheck(this.m, i, flags);
    if (err) return err;
    copyValue(this.m.arena.u8, this.values + cpu * this.shard + i * this.stride, valueOff, this.m.valueSize, -1);
    return 0;
  }

  /** Syscall: all CPUs' values, whole strides (bpf_percpu_array_copy). */
  sysLookupElem(keyOff: number, outOff: number): number {
    const i = arrayIndex(this.m.arena, keyOff);
    if (i >= this.max) return -Errno.ENOENT;
    const u8 = this.m.arena.u8;
    for (let c = 0, src = this.values + i * this.stride; c < this.ncpus; c++, src += this.shard) {
      u8.copyWithin(outOff + c * this.stride, src, src + this.stride);
    }
    return 0;
  }

  /** Syscall: set all CPUs' values from whole strides (bpf_percpu_array_update). */
  sysUpdateElem(keyOff: number, valueOff: number, flags: number): number {
    const i = arrayIndex(this.m.arena, keyOff);
    if (flags > BPF_EXIST) return -Errno.EINVAL;
    if (i >= this.max) return -Errno.E2BIG;
    if (flags === BPF_NOEXIST) return -Errno.EEXIST;
    const u8 = this.m.arena.u8;
    for (let c = 0, dst = this.values + i * this.stride; c < this.ncpus; c++, dst += this.shard) {
      u8.copyWithin(dst, valueOff + c * this.stride, valueOff + (c + 1) * this.stride);
    }
    return 0;
  }

  deleteElem(): number {
    return -Errno.EINVAL;
  }

  getNextKey(keyOff: number, nextKeyOff: number): number {
    return arrayGetNextKey(this.m, keyOff, nextKeyOff);
  }

  /** Program: bpf_for_each_map_elem over this CPU's values. */
  forEachElem(cpu: number, cb: (keyOff: number, valueOff: number) => number): number {
    return arrayForEach(this.m, this.iterKeys + cpu * 8, this.values + cpu * this.shard, this.stride, cb);
  }

  count(): number {
    return this.max;
  }
}

export const percpuArrayMapOps: MapOps = {
  allocCheck: (attr) => arrayAllocCheck(attr),
  /** array_map_mem_usage() for per-CPU: header, one pointer per entry, every CPU's values. */
  memUsage(attr: MapAttr, env: MapEnv): number {
    return ARRAY_HEADER_BYTES + attr.maxEntries * 8 + attr.maxEntries * roundUp8(attr.valueSize) * env.ncpus;
  },
  /** One shard of maxEntries strides per CPU. */
  alloc: (m, owner) => arrayAlloc(m, owner, m.ncpus * m.maxEntries * roundUp8(m.valueSize)),
  free: arrayFree,
  open: (m) => new PercpuArrayImpl(m),
  sysValueSize: (m) => m.ncpus * roundUp8(m.valueSize),
  batchOps: { lookup: true, update: true },
};
