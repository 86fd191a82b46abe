/**
 * A map's header in the arena (layout in layout.ts) and this thread's view of
 * it. The header is written once by the creating syscall before the map's id
 * and fd exist; afterwards only `frozen` and `writeActive` change, so a
 * `MapHeader` caches the immutable fields as plain numbers.
 *
 * Who may call: any thread. Program code gets to a map by its header offset
 * (what `lddw r1, map` resolves to), and `Kernel.mapByHeader` returns the
 * cached `MapHeader` and `MapImpl` for it.
 */
import type { ArenaApi } from "../memory/arena-api.js";
import type { MapAttr, MapHeaderView } from "../maps/map-ops.js";
import { BPF_OBJ_NAME_LEN } from "../uapi.js";
import {
  M_BTF_FD, M_BTF_KEY, M_BTF_VALUE, M_BTF_VMLINUX_VALUE, M_EXTRA, M_FLAGS, M_FROZEN, M_ID, M_IFINDEX,
  M_INNER, M_KEY_SIZE, M_MAGIC, M_MAX_ENTRIES, M_MEM_USAGE, M_NAME, M_NCPUS, M_NUMA, M_PRIV, M_SLOT,
  M_SPIN_LOCK_OFF, M_TYPE, M_UID, M_VALUE_SIZE, M_WRITE_ACTIVE, MAP_MAGIC,
} from "./layout.js";

/** What the syscall layer knows about a map beyond `MapAttr` when writing its header. */
export interface MapHeaderInit {
  attr: MapAttr;
  ncpus: number;
  memUsage: number;
  uid: number;
  /** Name bytes already validated (at most 15 chars). */
  name: Uint8Array;
  btfVmlinuxValueTypeId: number;
  ifindex: number;
}

/** Syscall (MAP_CREATE): write a fresh header at `off` (zero-filled block). */
export function writeMapHeader(arena: ArenaApi, off: number, h: MapHeaderInit): void {
  const w = off >>> 2;
  const u32 = arena.u32;
  const a = h.attr;
  u32[w + M_TYPE] = a.mapType;
  u32[w + M_KEY_SIZE] = a.keySize;
  u32[w + M_VALUE_SIZE] = a.valueSize;
  u32[w + M_MAX_ENTRIES] = a.maxEntries;
  u32[w + M_FLAGS] = a.mapFlags;
  u32[w + M_NCPUS] = h.ncpus;
  arena.i32[w + M_SPIN_LOCK_OFF] = a.spinLockOff ?? -1;
  u32[w + M_MEM_USAGE] = Math.min(h.memUsage, 0xffffffff);
  u32[w + M_UID] = h.uid;
  u32[w + M_BTF_FD] = a.btfFd ?? 0;
  u32[w + M_BTF_KEY] = a.btfKeyTypeId ?? 0;
  u32[w + M_BTF_VALUE] = a.btfValueTypeId ?? 0;
  arena.i32[w + M_NUMA] = a.numaNode ?? -1;
  u32[w + M_INNER] = a.innerMapOff ?? 0;
  arena.u64[(off >>> 3) + M_EXTRA / 2] = a.mapExtra ?? 0n;
  u32[w + M_BTF_VMLINUX_VALUE] = h.btfVmlinuxValueTypeId;
  u32[w + M_IFINDEX] = h.ifindex;
  arena.u8.set(h.name.subarray(0, BPF_OBJ_NAME_LEN - 1), off + M_NAME * 4);
  Atomics.store(u32, w + M_MAGIC, MAP_MAGIC);
}

/** Syscall: record the object slot and id once they are allocated. */
export function publishMapId(arena: ArenaApi, off: number, slot: number, id: number): void {
  Atomics.store(arena.u32, (off >>> 2) + M_SLOT, slot);
  Atomics.store(arena.u32, (off >>> 2) + M_ID, id);
}

/** A thread's view of one map header. */
export class MapHeader implements MapHeaderView {
  readonly privOff: number;
  readonly id: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly ncpus: number;
  readonly spinLockOff: number;
  readonly slot: number;
  readonly memUsage: number;
  readonly uid: number;

  constructor(
    readonly arena: ArenaApi,
    readonly headerOff: number,
  ) {
    const w = headerOff >>> 2;
    const u32 = arena.u32;
    this.privOff = headerOff + M_PRIV * 4;
    this.id = Atomics.load(u32, w + M_ID);
    this.type = u32[w + M_TYPE]!;
    this.keySize = u32[w + M_KEY_SIZE]!;
    this.valueSize = u32[w + M_VALUE_SIZE]!;
    this.maxEntries = u32[w + M_MAX_ENTRIES]!;
    this.flags = u32[w + M_FLAGS]!;
    this.ncpus = u32[w + M_NCPUS]!;
    this.spinLockOff = arena.i32[w + M_SPIN_LOCK_OFF]!;
    this.slot = u32[w + M_SLOT]!;
    this.memUsage = u32[w + M_MEM_USAGE]!;
    this.uid = u32[w + M_UID]!;
  }

  /** True while the header at `headerOff` still belongs to this map. */
  isCurrent(): boolean {
    const w = this.headerOff >>> 2;
    return Atomics.load(this.arena.u32, w + M_MAGIC) === MAP_MAGIC && Atomics.load(this.arena.u32, w + M_ID) === this.id;
  }

  get frozen(): boolean {
    return Atomics.load(this.arena.u32, (this.headerOff >>> 2) + M_FROZEN) !== 0;
  }

  /** Word index of a header field (M_* constant). */
  word(field: number): number {
    return (this.headerOff >>> 2) + field;
  }

  /** The map's name as stored (NUL-padded, BPF_OBJ_NAME_LEN bytes). */
  nameBytes(): Uint8Array {
    const o = this.headerOff + M_NAME * 4;
    return this.arena.u8.slice(o, o + BPF_OBJ_NAME_LEN);
  }

  get name(): string {
    const b = this.nameBytes();
    const n = b.indexOf(0);
    return String.fromCharCode(...b.subarray(0, n < 0 ? b.length : n));
  }

  get writeActive(): number {
    return Atomics.load(this.arena.u32, (this.headerOff >>> 2) + M_WRITE_ACTIVE);
  }
}
