/**
 * BPF_MAP_TYPE_PROG_ARRAY (3): the jump table of bpf_tail_call
 * (kernel/bpf/arraymap.c, prog_array_map_ops). Keys are u32 indexes, user
 * space stores program fds, reads back program ids.
 *
 * Storage: `maxEntries` u32 entries at priv word 0, each (object slot + 1)
 * of a program, or 0. Priv word 1 is the owner program type + 1 (0 = none
 * yet): the first program that references the map or is stored in it fixes
 * the type, and every later one must match (EINVAL), as Linux's
 * `bpf_prog_map_compatible`.
 *
 * References: an entry holds one reference on its program. When the last
 * user reference (fd or pin) goes, the entries are cleared unless
 * BPF_F_PRESERVE_ELEMS (`releaseUref`), as Linux does to break cycles. Update swaps the
 * entry with Atomics.exchange and then drops the old reference; delete
 * exchanges with 0. A CPU reading an entry (tail call) may see the old or
 * the new program; the compiled form it runs is a per-thread copy, so a
 * program freed meanwhile is never read from freed memory.
 *
 * Who may call: update/delete/lookup from syscall on any thread;
 * `progArrayGet` from a program on a CPU (the tail call).
 */
import { Errno } from "../errno.js";
import { ObjKind } from "../kernel/layout.js";
import { Kernel } from "../kernel/kernel.js";
import { BPF_ANY, BPF_EXIST, BPF_F_NUMA_NODE, BPF_F_PRESERVE_ELEMS, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG } from "../uapi.js";
import type { MapAttr, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";

const ALLOWED_FLAGS = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_PRESERVE_ELEMS;

/** Per-thread kernel for a memory, so map code can drop object references. Set by the program layer. */
const kernels = new WeakMap<WebAssembly.Memory, Kernel>();
export function bindProgArrayKernel(k: Kernel): void {
  kernels.set(k.memory, k);
}
/**
 * Any thread: the bound kernel view of this arena, else a new one attached
 * here. A thread that never loaded a program (a process that got its prog
 * fds by id) still updates prog arrays through the syscall layer.
 */
function kernelOf(m: MapHeaderView): Kernel {
  let k = kernels.get(m.arena.memory);
  if (!k) kernels.set(m.arena.memory, (k = Kernel.attach(m.arena.memory)));
  return k;
}

const entriesW = (m: MapHeaderView): number => m.arena.u32[m.privOff >>> 2]! >>> 2;

/** Program on a CPU: the program slot at `index`, or -1 (out of range or empty). */
export function progArrayGet(m: MapHeaderView, index: number): number {
  if (index >>> 0 >= m.maxEntries) return -1;
  return (Atomics.load(m.arena.u32, entriesW(m) + (index >>> 0)) >>> 0) - 1;
}

/** Syscall: empty every entry, dropping the program references. */
function clearEntries(m: MapHeaderView): void {
  const k = kernelOf(m);
  const w = entriesW(m);
  for (let i = 0; i < m.maxEntries; i++) {
    const e = Atomics.exchange(m.arena.u32, w + i, 0);
    if (e !== 0) k.objects.put(e - 1);
  }
}

/**
 * Syscall: fix the owner program type, or check it. True if `progType` may
 * use this map.
 */
export function progArrayClaimOwner(m: MapHeaderView, progType: number): boolean {
  const w = (m.privOff >>> 2) + 1;
  const prev = Atomics.compareExchange(m.arena.u32, w, 0, progType + 1);
  return prev === 0 || prev === progType + 1;
}

export const progArrayMapOps: MapOps = {
  // Syscall: fd_array_map_alloc_check + array_map_alloc_check. No side effects.
  allocCheck(attr: MapAttr): number {
    if (attr.keySize !== 4 || attr.valueSize !== 4 || attr.maxEntries === 0) return -Errno.EINVAL;
    if (attr.mapFlags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -Errno.EINVAL;
    if (attr.mapFlags & ~ALLOWED_FLAGS) return -Errno.EINVAL;
    if (attr.mapFlags & BPF_F_RDONLY && attr.mapFlags & BPF_F_WRONLY) return -Errno.EINVAL;
    return 0;
  },
  memUsage(attr: MapAttr): number {
    return 256 + attr.maxEntries * 8;
  },
  alloc(m: MapHeaderView, owner: number): number {
    const off = m.arena.alloc(m.maxEntries * 4, owner);
    if (off < 0) return off;
    m.arena.u8.fill(0, off, off + m.maxEntries * 4);
    m.arena.u32[m.privOff >>> 2] = off;
    m.arena.u32[(m.privOff >>> 2) + 1] = 0;
    return 0;
  },
  // Syscall, last reference: drop every program reference, free storage.
  free(m: MapHeaderView): void {
    clearEntries(m);
    m.arena.free(entriesW(m) << 2);
    m.arena.u32[m.privOff >>> 2] = 0;
  },
  // Syscall: last fd or pin gone (prog_array_map_clear): entries go unless BPF_F_PRESERVE_ELEMS.
  releaseUref(m: MapHeaderView): void {
    if (!(m.flags & BPF_F_PRESERVE_ELEMS)) clearEntries(m);
  },
  open(m: MapHeaderView): MapImpl {
    const u32 = m.arena.u32;
    const index = (keyOff: number): number => u32[keyOff >>> 2]!;
    return {
      // Syscall: the program id at the index (prog_fd_array_sys_lookup_elem).
      sysLookupElem(keyOff: number, outOff: number): number {
        const slot = progArrayGet(m, index(keyOff));
        if (slot < 0) return -Errno.ENOENT;
        const k = kernelOf(m);
        u32[outOff >>> 2] = k.objects.idOf(slot);
        return 0;
      },
      // Programs cannot look into a prog array; user space uses sysLookupElem.
      sysUpdateElem(): number {
        return -Errno.EINVAL; // needs the fd resolved by the syscall layer: sysUpdateFdElem
      },
      sysUpdateFdElem(keyOff: number, objSlot: number, flags: number): number {
        const k = kernelOf(m);
        const i = index(keyOff);
        const fail = (e: number): number => {
          k.objects.put(objSlot);
          return e;
        };
        if (flags !== BPF_ANY && flags !== BPF_EXIST) return fail(-Errno.EINVAL);
        if (i >= m.maxEntries) return fail(-Errno.E2BIG);
        if (k.objects.kindOf(objSlot) !== ObjKind.Prog) return fail(-Errno.EINVAL);
        const progType = k.arena.u32[(k.objects.dataOf(objSlot) >>> 2) + 1]!; // P_TYPE
        if (!progArrayClaimOwner(m, progType)) return fail(-Errno.EINVAL);
        const old = Atomics.exchange(u32, entriesW(m) + i, objSlot + 1);
        if (old !== 0) k.objects.put(old - 1);
        return 0;
      },
      // Syscall: fd_array_map_delete_elem.
      deleteElem(keyOff: number): number {
        const i = index(keyOff);
        if (i >= m.maxEntries) return -Errno.E2BIG;
        const old = Atomics.exchange(u32, entriesW(m) + i, 0);
        if (old === 0) return -Errno.ENOENT;
        kernelOf(m).objects.put(old - 1);
        return 0;
      },
      // Syscall: array order.
      getNextKey(keyOff: number, nextKeyOff: number): number {
        const i = keyOff === 0 ? -1 : index(keyOff);
        const next = i >= m.maxEntries ? 0 : i + 1;
        if (next >= m.maxEntries) return -Errno.ENOENT;
        u32[nextKeyOff >>> 2] = next;
        return 0;
      },
    };
  },
};
