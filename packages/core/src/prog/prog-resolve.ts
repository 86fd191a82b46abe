/**
 * Map references of BPF_PROG_LOAD (the verifier's `resolve_pseudo_ldimm64`):
 * every lddw with src BPF_PSEUDO_MAP_FD (1), BPF_PSEUDO_MAP_VALUE (2),
 * BPF_PSEUDO_MAP_IDX (5) or BPF_PSEUDO_MAP_IDX_VALUE (6) names a map by fd
 * (or by index into `fd_array`). The program takes a reference on each
 * distinct map (at most MAX_USED_MAPS), released when it is freed.
 *
 * In the image the engines run, map forms become plain 64-bit immediates:
 * the map's header offset, or for value forms the address of the value
 * (array maps with one element only, as `array_map_direct_value_addr`).
 *
 * Syscall context. On error every reference taken is dropped.
 */
import { Errno } from "../errno.js";
import type { DecodedInsn } from "../insn/codec.js";
import * as O from "../insn/opcodes.js";
import type { Kernel, MapHandle } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { MapType } from "../uapi.js";
import type { CheckFailure } from "./check-insns.js";

/** MAX_USED_MAPS */
export const MAX_USED_MAPS = 64;

export interface ResolvedMaps {
  /** Object slots of the distinct maps, each holding one reference for the program. */
  slots: number[];
  /** lddw slot index -> map and value offset. */
  refs: Map<number, { map: MapHandle; valueOff?: number }>;
}

/** Resolves map references; on failure drops what it took. */
export function resolveMaps(
  proc: Process,
  insns: readonly DecodedInsn[],
  fdArray: ArrayLike<number> | undefined,
): ResolvedMaps | CheckFailure {
  const k = proc.kernel;
  const out: ResolvedMaps = { slots: [], refs: new Map() };
  const bySlot = new Map<number, MapHandle>();
  const fail = (errno: number, msg: string): CheckFailure => {
    for (const s of out.slots) k.objects.put(s);
    return { errno, msg };
  };
  for (const i of insns) {
    if (i.code !== O.LDDW) continue;
    const src = i.src;
    if (src === 0 || src === O.BPF_PSEUDO_FUNC || src === O.BPF_PSEUDO_BTF_ID) continue;
    if (src !== O.BPF_PSEUDO_MAP_FD && src !== O.BPF_PSEUDO_MAP_VALUE && src !== O.BPF_PSEUDO_MAP_IDX && src !== O.BPF_PSEUDO_MAP_IDX_VALUE) {
      return fail(Errno.EINVAL, "unrecognized bpf_ld_imm64 insn");
    }
    let fd = i.imm;
    if (src === O.BPF_PSEUDO_MAP_IDX || src === O.BPF_PSEUDO_MAP_IDX_VALUE) {
      if (!fdArray) return fail(Errno.EINVAL, "fd_idx without fd_array is invalid");
      if (i.imm < 0 || i.imm >= fdArray.length) return fail(Errno.EFAULT, `fd_array index ${i.imm} out of range`);
      fd = fdArray[i.imm]!;
    }
    const isValue = src === O.BPF_PSEUDO_MAP_VALUE || src === O.BPF_PSEUDO_MAP_IDX_VALUE;
    if (!isValue && i.nextImm !== 0) return fail(Errno.EINVAL, "unrecognized bpf_ld_imm64 insn");
    const slot = proc.fds.get(fd);
    if (slot < 0) return fail(slot === -Errno.EINVAL ? Errno.EINVAL : Errno.EBADF, `fd ${fd} is not pointing to valid bpf_map`);
    const h = k.mapBySlot(slot);
    if (!h) {
      k.objects.put(slot);
      return fail(Errno.EINVAL, `fd ${fd} is not pointing to valid bpf_map`);
    }
    if (bySlot.has(slot)) {
      k.objects.put(slot); // the program already holds one
    } else {
      if (out.slots.length >= MAX_USED_MAPS) {
        k.objects.put(slot);
        return fail(Errno.E2BIG, `too many maps (max ${MAX_USED_MAPS})`);
      }
      bySlot.set(slot, h);
      out.slots.push(slot);
    }
    if (isValue) {
      const off = i.nextImm! >>> 0;
      if (h.hdr.type !== MapType.Array) return fail(Errno.EINVAL, "no direct value access support for this map type");
      const msg = `invalid access to map value pointer, value_size=${h.hdr.valueSize} off=${off}`;
      if (h.hdr.maxEntries !== 1) return fail(Errno.ENOTSUPP, msg);
      if (off >= h.hdr.valueSize) return fail(Errno.EINVAL, msg);
      out.refs.set(i.pc, { map: h, valueOff: off });
    } else {
      out.refs.set(i.pc, { map: h });
    }
  }
  return out;
}

/** Address of element 0 of a one-element array map (its direct value address). */
function arrayValueBase(k: Kernel, h: MapHandle): number {
  const keyOff = k.scratch(4);
  if (keyOff < 0) return 0;
  k.arena.u32[keyOff >>> 2] = 0;
  return h.impl.lookupElem?.(keyOff, 0) ?? 0;
}

/**
 * The engine image: a copy of the user's instructions with map lddws turned
 * into plain immediates (src_reg 0). With `keepSrc`, the verifier's form:
 * src_reg stays BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE (the _IDX forms
 * become those) so the verifier knows which immediates are maps. Returns
 * null if a value address cannot be found.
 */
export function buildImage(k: Kernel, user: Uint8Array, r: ResolvedMaps, keepSrc = false): Uint8Array | null {
  const img = user.slice();
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  for (const [pc, ref] of r.refs) {
    let addr = ref.map.hdr.headerOff;
    if (ref.valueOff !== undefined) {
      const base = arrayValueBase(k, ref.map);
      if (base === 0) return null;
      addr = base + ref.valueOff;
    }
    const src = keepSrc ? (ref.valueOff !== undefined ? O.BPF_PSEUDO_MAP_VALUE : O.BPF_PSEUDO_MAP_FD) : 0;
    img[pc * 8 + 1] = (img[pc * 8 + 1]! & 0x0f) | (src << 4);
    dv.setInt32(pc * 8 + 4, addr | 0, true);
    dv.setInt32(pc * 8 + 12, 0, true);
  }
  return img;
}
