/**
 * What ARRAY_OF_MAPS and HASH_OF_MAPS share (kernel/bpf/map_in_map.c): the
 * inner map template, the compatibility check an inner map must pass to be
 * stored, and the references the outer map holds on its inner maps.
 *
 * The template: at create, `inner_map_fd` names a map whose type, key and
 * value sizes, flags, spin lock offset and max_entries are copied into the
 * outer map's private words 24..29 (Linux's inner_map_meta). The template
 * map itself is not held. A stored map must match it (bpf_map_meta_equal;
 * arrays also compare max_entries unless the template has BPF_F_INNER_MAP),
 * else EINVAL. Map-in-map inner maps (nesting) give EINVAL, types that
 * cannot be inner maps (PROG_ARRAY) ENOTSUPP, as Linux.
 *
 * Values: the outer map stores the inner map's header offset, so a
 * program's lookup returns exactly what helpers take as a map pointer (r1
 * of bpf_map_lookup_elem and the others). User space reads the inner map's
 * id instead, as Linux's map_fd_sys_lookup_elem does.
 *
 * References: each stored entry holds one reference on its inner map,
 * handed over by the syscall layer with the update (map_fd_get_ptr). A
 * replaced or deleted entry, and every entry when the outer map is freed,
 * drops its reference. Linux defers that drop past an RCU (tasks) grace
 * period so a running program can finish with the inner map; here it is
 * dropped at once, so user space must not delete an inner map that a
 * program is using at that moment and close its last fd (the map would be
 * freed under the program).
 *
 * Who may call: syscall on any thread, except `innerMapOf`-style reads from
 * programs (lock-free loads of one u32).
 */
import { Errno } from "../errno.js";
import { Kernel } from "../kernel/kernel.js";
import { M_SLOT, M_TYPE } from "../kernel/layout.js";
import { BPF_F_INNER_MAP, MapType } from "../uapi.js";
import type { MapAttr, MapHeaderView } from "./map-ops.js";

/** Private words of the template (after the ones the hash table uses). */
const T_TYPE = 24;
const T_KEY = 25;
const T_VALUE = 26;
const T_MAX = 27;
const T_FLAGS = 28;
const T_LOCK = 29;

/** The attributes bpf_map_meta_equal() compares. */
interface MapMeta {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  spinLockOff: number;
}

const kernels = new WeakMap<WebAssembly.Memory, Kernel>();
/** Any thread: a kernel view of this arena, to drop object references from map code. */
function kernelOf(m: MapHeaderView): Kernel {
  let k = kernels.get(m.arena.memory);
  if (!k) kernels.set(m.arena.memory, (k = Kernel.attach(m.arena.memory)));
  return k;
}

/** A map's attributes from its header, for template checks. */
function metaAt(m: MapHeaderView, headerOff: number): MapMeta | undefined {
  const h = kernelOf(m).mapByHeader(headerOff);
  if (!h) return undefined;
  const x = h.hdr;
  return { type: x.type, keySize: x.keySize, valueSize: x.valueSize, maxEntries: x.maxEntries, flags: x.flags, spinLockOff: x.spinLockOff };
}

/**
 * Syscall (allocCheck, no side effects): bpf_map_meta_alloc()'s checks of
 * the template. 0 or -errno.
 */
export function innerTemplateCheck(attr: MapAttr, env: { arena: MapHeaderView["arena"] }): number {
  if (attr.innerMapErr) return attr.innerMapErr;
  const off = attr.innerMapOff ?? 0;
  if (off === 0) return -Errno.EINVAL;
  const t = env.arena.u32[(off >>> 2) + M_TYPE]!;
  if (t === MapType.ArrayOfMaps || t === MapType.HashOfMaps) return -Errno.EINVAL;
  if (t === MapType.ProgArray) return -Errno.ENOTSUPP;
  return 0;
}

/** Syscall (alloc): copy the template into the outer map's private words. */
export function saveTemplate(m: MapHeaderView, innerHeaderOff: number): number {
  const t = metaAt(m, innerHeaderOff);
  if (!t) return -Errno.EINVAL;
  const u32 = m.arena.u32;
  const w = m.privOff >>> 2;
  u32[w + T_TYPE] = t.type;
  u32[w + T_KEY] = t.keySize;
  u32[w + T_VALUE] = t.valueSize;
  u32[w + T_MAX] = t.maxEntries;
  u32[w + T_FLAGS] = t.flags;
  m.arena.i32[w + T_LOCK] = t.spinLockOff;
  return 0;
}

/**
 * Syscall: can the map in object slot `objSlot` be stored? Returns its
 * header offset, or -EINVAL (not a map, or not like the template).
 */
export function innerMapForSlot(m: MapHeaderView, objSlot: number): number {
  const k = kernelOf(m);
  const h = k.mapBySlot(objSlot);
  if (!h) return -Errno.EINVAL;
  const x = h.hdr;
  const u32 = m.arena.u32;
  const w = m.privOff >>> 2;
  const flags = u32[w + T_FLAGS]!;
  const same = x.type === u32[w + T_TYPE] && x.keySize === u32[w + T_KEY] && x.valueSize === u32[w + T_VALUE] &&
    x.flags === flags && x.spinLockOff === m.arena.i32[w + T_LOCK];
  if (!same) return -Errno.EINVAL;
  const isArray = x.type === MapType.Array || x.type === MapType.PercpuArray;
  if (isArray && !(flags & BPF_F_INNER_MAP) && x.maxEntries !== u32[w + T_MAX]) return -Errno.EINVAL;
  return x.headerOff;
}

/** Syscall: the id of the inner map at `headerOff` (what user space reads). */
export function innerMapId(m: MapHeaderView, headerOff: number): number {
  return kernelOf(m).mapByHeader(headerOff)?.hdr.id ?? 0;
}

/** Any thread: drop the reference an entry held on the inner map at `headerOff`. */
export function putInnerMap(m: MapHeaderView, headerOff: number): void {
  if (headerOff === 0) return;
  const k = kernelOf(m);
  k.objects.put(Atomics.load(m.arena.u32, (headerOff >>> 2) + M_SLOT));
}

/** Any thread: drop a reference by object slot (an update that failed). */
export function putSlot(m: MapHeaderView, objSlot: number): void {
  kernelOf(m).objects.put(objSlot);
}

/** The inner map template of an outer map, as the verifier reads it (Linux's inner_map_meta). */
export interface InnerTemplate {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  spinLockOff: number;
}

/** Any thread: the template of a map-in-map map, or undefined for other types. */
export function innerTemplate(m: MapHeaderView): InnerTemplate | undefined {
  if (m.type !== MapType.ArrayOfMaps && m.type !== MapType.HashOfMaps) return undefined;
  const u32 = m.arena.u32;
  const w = m.privOff >>> 2;
  return {
    mapType: u32[w + T_TYPE]!, keySize: u32[w + T_KEY]!, valueSize: u32[w + T_VALUE]!, maxEntries: u32[w + T_MAX]!,
    mapFlags: u32[w + T_FLAGS]!, spinLockOff: m.arena.i32[w + T_LOCK]!,
  };
}
