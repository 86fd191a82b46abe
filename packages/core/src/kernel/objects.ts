/**
 * The object table: maps, programs and links, with Linux-style ids and
 * reference counts, in arena slots (layout in layout.ts).
 *
 * Ids. Each kind has its own id space and cursor, like the kernel's
 * map_idr/prog_idr/link_idr with idr_alloc_cyclic(1, INT_MAX): a new object
 * takes the lowest free id at or above the cursor, wrapping to 1, and the
 * cursor moves past it. An id stays taken until the object is freed, so it
 * is never reused while anything holds the object.
 *
 * Generations. A slot's `gen` word is bumped every time the slot is reused.
 * Per-thread caches keyed by slot (compiled programs, map accessors) store
 * the gen they were built for and rebuild on mismatch.
 *
 * Locking. The object lock (a root word) guards slot allocation, the kind/id
 * words, id cursors and id lookups. `refcnt` is an atomic counter: holders
 * (fds, pins, programs using a map, syscalls in progress) add and drop
 * references without the lock. Going from 0 to 1 is only allowed through
 * `incNotZero` under the lock (GET_FD_BY_ID), so a dying object cannot be
 * revived; the thread that drops the last reference releases the object and
 * then frees the slot under the lock.
 *
 * Who may call: syscall context on any thread; `get`/`put` also from program
 * context (a program holding a map).
 */
import { BpfError, Errno } from "../errno.js";
import type { Arena } from "../memory/arena.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import {
  ID_MAX, O_DATA, O_GEN, O_ID, O_KIND, O_REFCNT, O_UID, O_USERCNT, OBJ_SLOT_BYTES, ObjKind,
  R_NEXT_ID, R_OBJ_LOCK, R_OBJ_SLOTS, R_OBJ_TABLE, rootOff, rootW,
} from "./layout.js";

/** Called (on the thread that dropped the last reference) to free what the object owns. */
export type ReleaseFn = (kind: ObjKind, dataOff: number, slot: number) => void;

export class ObjectTable {
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  readonly tableW: number;
  readonly slots: number;

  constructor(
    readonly arena: Arena,
    private readonly release: ReleaseFn,
    /** Called when the last user reference (fd or pin) goes: Linux's map_release_uref. */
    private readonly releaseUref?: ReleaseFn,
  ) {
    this.u32 = arena.u32;
    this.i32 = arena.i32;
    this.tableW = Atomics.load(this.u32, rootW(R_OBJ_TABLE)) >>> 2;
    this.slots = Atomics.load(this.u32, rootW(R_OBJ_SLOTS));
  }

  /** Kernel creation: lay out an empty table. Returns 0 or -ENOMEM. */
  static format(arena: Arena, slots: number): number {
    const off = arena.alloc(slots * OBJ_SLOT_BYTES, KERNEL_OWNER);
    if (off < 0) return off;
    Atomics.store(arena.u32, rootW(R_OBJ_SLOTS), slots);
    for (let k = 0; k < 3; k++) Atomics.store(arena.u32, rootW(R_NEXT_ID + k), 1);
    Atomics.store(arena.u32, rootW(R_OBJ_TABLE), off);
    return 0;
  }

  /** Word index of field `f` of `slot`. */
  w(slot: number, f: number): number {
    return this.tableW + slot * (OBJ_SLOT_BYTES >>> 2) + f;
  }

  kindOf(slot: number): ObjKind {
    return Atomics.load(this.u32, this.w(slot, O_KIND));
  }
  idOf(slot: number): number {
    return Atomics.load(this.u32, this.w(slot, O_ID));
  }
  dataOf(slot: number): number {
    return Atomics.load(this.u32, this.w(slot, O_DATA));
  }
  genOf(slot: number): number {
    return Atomics.load(this.u32, this.w(slot, O_GEN));
  }
  /**
   * genOf for a slot the caller holds (a reference, or an open fd of a
   * single-user process): the gen cannot change while it is held, and its
   * last bump happened before the hold was taken, so a plain read is exact
   * and skips an Atomics call on the syscall fast path.
   */
  genOfHeld(slot: number): number {
    return this.u32[this.w(slot, O_GEN)]!;
  }
  uidOf(slot: number): number {
    return Atomics.load(this.u32, this.w(slot, O_UID));
  }
  refcnt(slot: number): number {
    return Atomics.load(this.i32, this.w(slot, O_REFCNT));
  }

  private lock(): void {
    spinLock(this.i32, rootOff(R_OBJ_LOCK));
  }
  private unlock(): void {
    spinUnlock(this.i32, rootOff(R_OBJ_LOCK));
  }

  /**
   * Syscall: install a new object with refcnt 1 and a fresh cyclic id.
   * `init(slot, id)` runs before the object becomes visible (e.g. to write
   * the id into its header). Returns the slot, or -ENOSPC when the table or
   * the id space is full.
   */
  alloc(kind: ObjKind, dataOff: number, uid: number, init?: (slot: number, id: number) => void): number {
    this.lock();
    try {
      let free = -1;
      const used = new Set<number>();
      for (let s = 0; s < this.slots; s++) {
        const k = Atomics.load(this.u32, this.w(s, O_KIND));
        if (k === ObjKind.Free) {
          if (free < 0) free = s;
        } else if (k === kind) used.add(Atomics.load(this.u32, this.w(s, O_ID)));
      }
      if (free < 0) return -Errno.ENOSPC;
      const cw = rootW(R_NEXT_ID + kind - 1);
      // A kind whose cursor word was never formatted starts at 1 too (ids are never 0).
      let id = Atomics.load(this.u32, cw) || 1;
      for (let n = 0; used.has(id); n++) {
        if (n >= ID_MAX) return -Errno.ENOSPC;
        id = id + 1 >= ID_MAX ? 1 : id + 1;
      }
      Atomics.store(this.u32, cw, id + 1 >= ID_MAX ? 1 : id + 1);
      Atomics.store(this.u32, this.w(free, O_ID), id);
      Atomics.store(this.u32, this.w(free, O_DATA), dataOff);
      Atomics.store(this.u32, this.w(free, O_UID), uid);
      Atomics.store(this.i32, this.w(free, O_REFCNT), 1);
      Atomics.store(this.i32, this.w(free, O_USERCNT), 0);
      Atomics.add(this.u32, this.w(free, O_GEN), 1);
      // The object must be complete before its id can be found (GET_FD_BY_ID
      // on another thread), as Linux allocates the id last.
      init?.(free, id);
      Atomics.store(this.u32, this.w(free, O_KIND), kind);
      return free;
    } finally {
      this.unlock();
    }
  }

  /** Take a reference on an object the caller already holds one on. */
  get(slot: number): void {
    Atomics.add(this.i32, this.w(slot, O_REFCNT), 1);
  }

  /** Drop a reference; the last one releases the object and frees its slot and id. */
  put(slot: number): void {
    const prev = Atomics.sub(this.i32, this.w(slot, O_REFCNT), 1);
    if (prev > 1) return;
    if (prev < 1) throw new BpfError(Errno.EFAULT, `object slot ${slot}: reference count underflow`);
    const kind = this.kindOf(slot);
    this.release(kind, this.dataOf(slot), slot);
    this.lock();
    Atomics.store(this.u32, this.w(slot, O_KIND), ObjKind.Free);
    Atomics.store(this.u32, this.w(slot, O_ID), 0);
    Atomics.store(this.u32, this.w(slot, O_DATA), 0);
    this.unlock();
  }

  /**
   * User references (fds and pins), the kernel's usercnt. Dropping the last
   * one calls `releaseUref` (the prog array clears its entries there) while
   * the object itself may live on, held by programs. The caller still holds
   * a reference on the object while calling `userPut`.
   */
  userGet(slot: number): void {
    Atomics.add(this.i32, this.w(slot, O_USERCNT), 1);
  }
  userPut(slot: number): void {
    if (Atomics.sub(this.i32, this.w(slot, O_USERCNT), 1) === 1) this.releaseUref?.(this.kindOf(slot), this.dataOf(slot), slot);
  }

  /**
   * Syscall (GET_FD_BY_ID): the slot of the live object of `kind` with `id`,
   * with a reference taken; -ENOENT if there is none or it is being freed.
   */
  getById(kind: ObjKind, id: number): number {
    if (id === 0) return -Errno.ENOENT;
    this.lock();
    try {
      for (let s = 0; s < this.slots; s++) {
        if (Atomics.load(this.u32, this.w(s, O_KIND)) !== kind || Atomics.load(this.u32, this.w(s, O_ID)) !== id) continue;
        const rw = this.w(s, O_REFCNT);
        for (;;) {
          const r = Atomics.load(this.i32, rw);
          if (r <= 0) return -Errno.ENOENT;
          if (Atomics.compareExchange(this.i32, rw, r, r + 1) === r) return s;
        }
      }
      return -Errno.ENOENT;
    } finally {
      this.unlock();
    }
  }

  /** Syscall (GET_NEXT_ID): the smallest live id of `kind` greater than `start`, or -ENOENT. */
  nextId(kind: ObjKind, start: number): number {
    let best = -1;
    this.lock();
    for (let s = 0; s < this.slots; s++) {
      if (Atomics.load(this.u32, this.w(s, O_KIND)) !== kind) continue;
      const id = Atomics.load(this.u32, this.w(s, O_ID));
      if (id > start && (best < 0 || id < best)) best = id;
    }
    this.unlock();
    return best < 0 ? -Errno.ENOENT : best;
  }

  /** Live objects of `kind` by id (inspect, tests). A racy snapshot: objects may come and go. */
  list(kind: ObjKind): { slot: number; id: number; dataOff: number; refcnt: number }[] {
    const out: { slot: number; id: number; dataOff: number; refcnt: number }[] = [];
    for (let s = 0; s < this.slots; s++) {
      if (this.kindOf(s) !== kind) continue;
      out.push({ slot: s, id: this.idOf(s), dataOff: this.dataOf(s), refcnt: this.refcnt(s) });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Live objects of `kind` (tests, inspect). */
  count(kind: ObjKind): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) if (this.kindOf(s) === kind) n++;
    return n;
  }
}
