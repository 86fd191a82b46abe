/**
 * BPF_MAP_CREATE and the freeing of a map when its last reference goes.
 *
 * The checks run in the order of kernel/bpf/syscall.c map_create(), so a
 * request that is wrong in several ways gets the errno Linux gives:
 *   btf ids -> map_extra -> RDONLY|WRONLY -> numa node -> type known ->
 *   allocCheck -> ifindex (offload) -> memlock charge -> arena alloc ->
 *   name -> id -> fd.
 * The facade never looks at the map type itself: everything type-specific
 * is the `MapOps` of the registry.
 *
 * Who may call: syscall context, any thread.
 */
import { Errno } from "../errno.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import type { MapAttr } from "../maps/map-ops.js";
import { mapOpsFor } from "../maps/registry.js";
import {
  BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_TOKEN_FD, BPF_F_WRONLY, BPF_OBJ_NAME_LEN, MapType,
} from "../uapi.js";
import type { MapCreateAttr } from "./attr.js";
import type { Kernel } from "./kernel.js";
import { FMODE_CAN_READ, FMODE_CAN_WRITE, M_MAGIC, MAP_HEADER_BYTES, ObjKind } from "./layout.js";
import { MapHeader, publishMapId, writeMapHeader } from "./map-header.js";
import type { Process } from "./process.js";

/** Allocation owner for a user's maps in the arena's per-owner accounting. */
export function userOwner(uid: number): number {
  return uid + 1;
}

/** bpf_get_file_flag(): fmode for BPF_F_RDONLY / BPF_F_WRONLY, or -EINVAL for both. */
export function fileFmode(flags: number): number {
  if (flags & BPF_F_RDONLY && flags & BPF_F_WRONLY) return -Errno.EINVAL;
  if (flags & BPF_F_RDONLY) return FMODE_CAN_READ;
  if (flags & BPF_F_WRONLY) return FMODE_CAN_WRITE;
  return FMODE_CAN_READ | FMODE_CAN_WRITE;
}

/** bpf_obj_name_cpy(): the 16-byte name field, or -EINVAL. */
export function objName(name: string | Uint8Array | undefined): Uint8Array | number {
  const out = new Uint8Array(BPF_OBJ_NAME_LEN);
  if (name === undefined) return out;
  const src = typeof name === "string" ? Uint8Array.from(name, (c) => c.charCodeAt(0) & 0xff) : name;
  if (typeof name === "string" && [...name].some((c) => c.charCodeAt(0) > 0xff)) return -Errno.EINVAL;
  for (let i = 0; i < BPF_OBJ_NAME_LEN; i++) {
    const c = i < src.length ? src[i]! : 0;
    if (c === 0) return out;
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46;
    if (!ok) return -Errno.EINVAL;
    out[i] = c;
  }
  return -Errno.EINVAL; // no NUL within BPF_OBJ_NAME_LEN bytes
}

const u32ok = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** BPF_MAP_CREATE: a new map and an fd on it, or -errno with nothing changed. */
export function mapCreate(proc: Process, a: MapCreateAttr): number {
  const k = proc.kernel;
  if (!u32ok(a.mapType) || !u32ok(a.keySize) || !u32ok(a.valueSize) || !u32ok(a.maxEntries)) return -Errno.EINVAL;
  let mapFlags = (a.mapFlags ?? 0) >>> 0;
  const tokenFlag = (mapFlags & BPF_F_TOKEN_FD) !== 0;
  mapFlags &= ~BPF_F_TOKEN_FD;
  const btfKey = a.btfKeyTypeId ?? 0;
  const btfValue = a.btfValueTypeId ?? 0;
  const btfVmlinux = a.btfVmlinuxValueTypeId ?? 0;
  if (btfVmlinux) {
    if (a.mapType !== MapType.StructOps || btfKey || btfValue) return -Errno.EINVAL;
  } else if (btfKey && !btfValue) return -Errno.EINVAL;
  if (a.mapType !== MapType.BloomFilter && a.mapType !== MapType.Arena && (a.mapExtra ?? 0n) !== 0n) return -Errno.EINVAL;
  const fmode = fileFmode(mapFlags);
  if (fmode < 0) return fmode;
  const numaNode = mapFlags & BPF_F_NUMA_NODE ? (a.numaNode ?? 0) : -1;
  // One simulated NUMA node (nr_node_ids == 1).
  if (numaNode !== -1 && numaNode !== 0) return -Errno.EINVAL;
  const ops = mapOpsFor(a.mapType);
  if (ops === undefined) return -Errno.EINVAL;

  let innerMapOff = 0;
  let innerMapErr = 0;
  if (a.innerMapFd) {
    const s = proc.fds.get(a.innerMapFd);
    if (s >= 0) {
      innerMapOff = k.mapBySlot(s)?.hdr.headerOff ?? 0;
      k.objects.put(s);
    } else innerMapErr = s;
  }
  const attr: MapAttr = {
    mapType: a.mapType, keySize: a.keySize, valueSize: a.valueSize, maxEntries: a.maxEntries, mapFlags,
    innerMapOff, innerMapErr, numaNode, spinLockOff: a.spinLockOff ?? -1, mapExtra: a.mapExtra ?? 0n,
    btfFd: a.btfFd ?? 0, btfKeyTypeId: btfKey, btfValueTypeId: btfValue,
  };
  if (typeof a.mapName === "string") attr.mapName = a.mapName;
  const sl = attr.spinLockOff!;
  if (sl !== -1 && (!Number.isInteger(sl) || sl < 0 || sl % 4 !== 0 || sl + 4 > a.valueSize)) return -Errno.EINVAL;
  const err = ops.allocCheck(attr, k.mapEnv);
  if (err) return err;
  // No device can take an offloaded map here.
  if (a.mapIfindex) return -Errno.EINVAL;
  // There are no BPF tokens here: map_token_fd can never name one.
  if (tokenFlag) return -Errno.EINVAL;

  if (ops.maxEntries) attr.maxEntries = ops.maxEntries(attr, k.mapEnv);
  const cost = ops.memUsage(attr, k.mapEnv);
  const charged = k.arena.chargeMemlock(proc.uid, cost);
  if (charged < 0) return charged;
  const undoCharge = (e: number): number => {
    k.arena.unchargeMemlock(proc.uid, cost);
    return e;
  };
  if (cost > k.arena.size) return undoCharge(-Errno.ENOMEM);
  const name = objName(a.mapName);
  const headerOff = k.arena.alloc(MAP_HEADER_BYTES, KERNEL_OWNER);
  if (headerOff < 0) return undoCharge(headerOff);
  writeMapHeader(k.arena, headerOff, {
    attr, ncpus: k.ncpus, memUsage: cost, uid: proc.uid, name: typeof name === "number" ? new Uint8Array(16) : name,
    btfVmlinuxValueTypeId: btfVmlinux, ifindex: 0,
  });
  const hdr = new MapHeader(k.arena, headerOff);
  const aerr = ops.alloc(hdr, userOwner(proc.uid));
  const dropHeader = (e: number): number => {
    Atomics.store(k.arena.u32, (headerOff >>> 2) + M_MAGIC, 0);
    k.arena.free(headerOff);
    return undoCharge(e);
  };
  if (aerr < 0) return dropHeader(aerr);
  const fail = (e: number): number => {
    ops.free(hdr);
    return dropHeader(e);
  };
  if (typeof name === "number") return fail(name);
  const slot = k.objects.alloc(ObjKind.Map, headerOff, proc.uid, (s, id) => publishMapId(k.arena, headerOff, s, id));
  if (slot < 0) return fail(slot);
  const fd = proc.fds.install(slot, fmode);
  if (fd < 0) k.objects.put(slot); // frees the map
  return fd;
}

/** Last reference gone (any thread): free the type's storage, the header, the memlock charge. */
export function freeMapObject(k: Kernel, headerOff: number): void {
  const hdr = new MapHeader(k.arena, headerOff);
  const ops = mapOpsFor(hdr.type);
  ops?.free(hdr);
  k.arena.unchargeMemlock(hdr.uid, hdr.memUsage);
  Atomics.store(k.arena.u32, (headerOff >>> 2) + M_MAGIC, 0);
  k.arena.free(headerOff);
}
