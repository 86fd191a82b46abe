/**
 * Per-owner byte accounting and per-user RLIMIT_MEMLOCK, in arena words.
 *
 * Both tables are open-addressed with linear probing over fixed slots in the
 * reserved 64 KiB (see arena-layout.ts). A slot is claimed once, by CAS of
 * its key word from 0 to `id + 1`, and never released, so readers need no
 * lock: a key, once visible, never changes. Counters are u32 words updated
 * with Atomics.add/sub or a CAS loop; all sizes fit in u32 because the arena
 * is below 4 GiB.
 *
 * Who may call: any thread (syscall or program context).
 */
import { BpfError, Errno } from "../errno.js";
import {
  MEMLOCK_INFINITY_PAGES,
  OWNER_SLOTS,
  OWNER_SLOT_BYTES,
  OWNER_TABLE_OFF,
  PAGE_SIZE,
  USER_SLOTS,
  USER_SLOT_BYTES,
  USER_TABLE_OFF,
} from "./arena-layout.js";

/** Finds (or claims) the slot of `id` in a table; returns its first word index, or -1 if full. */
function slotOf(u32: Uint32Array, tableOff: number, slots: number, slotBytes: number, id: number, claim: boolean, init?: (w: number) => void): number {
  const key = (id + 1) >>> 0;
  let i = Math.imul(key, 0x9e3779b1) >>> 0;
  for (let n = 0; n < slots; n++, i++) {
    const w = (tableOff + (i % slots) * slotBytes) >>> 2;
    const k = Atomics.load(u32, w);
    if (k === key) return w;
    if (k !== 0) continue;
    if (!claim) return -1;
    // Initialise the payload before publishing the key so a reader that
    // sees the key also sees the payload.
    const prev = Atomics.compareExchange(u32, w, 0, 0xffffffff);
    if (prev === 0) {
      init?.(w);
      Atomics.store(u32, w, key);
      return w;
    }
    // Lost the race; wait for the winner to publish, then re-check this slot.
    while (Atomics.load(u32, w) === 0xffffffff) { /* spin: a few stores away */ }
    if (Atomics.load(u32, w) === key) return w;
  }
  return -1;
}

/** Owner table: bytes and blocks charged to each allocation owner. */
export class OwnerAccounts {
  constructor(private readonly u32: Uint32Array) {}

  /** Allocator: charge a block. Owners beyond the table's capacity are not tracked. */
  charge(owner: number, bytes: number): void {
    const w = slotOf(this.u32, OWNER_TABLE_OFF, OWNER_SLOTS, OWNER_SLOT_BYTES, owner, true);
    if (w < 0) return;
    Atomics.add(this.u32, w + 1, bytes);
    Atomics.add(this.u32, w + 2, 1);
  }

  /** Allocator: uncharge a block on free. */
  uncharge(owner: number, bytes: number): void {
    const w = slotOf(this.u32, OWNER_TABLE_OFF, OWNER_SLOTS, OWNER_SLOT_BYTES, owner, false);
    if (w < 0) return;
    Atomics.sub(this.u32, w + 1, bytes);
    Atomics.sub(this.u32, w + 2, 1);
  }

  /** Bytes (block sizes, headers included) currently held by `owner`. */
  bytes(owner: number): number {
    const w = slotOf(this.u32, OWNER_TABLE_OFF, OWNER_SLOTS, OWNER_SLOT_BYTES, owner, false);
    return w < 0 ? 0 : Atomics.load(this.u32, w + 1);
  }

  /** Blocks currently held by `owner`. */
  blocks(owner: number): number {
    const w = slotOf(this.u32, OWNER_TABLE_OFF, OWNER_SLOTS, OWNER_SLOT_BYTES, owner, false);
    return w < 0 ? 0 : Atomics.load(this.u32, w + 2);
  }
}

/** Pages a charge of `bytes` costs: round_up(bytes, PAGE_SIZE) / PAGE_SIZE, as Linux's bpf_charge_memlock. */
export function memlockPages(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE);
}

/**
 * RLIMIT_MEMLOCK per simulated user (the kernel's `user->locked_vm`
 * compared against the limit, as kernels before 5.11 did for BPF maps).
 */
export class MemlockAccounts {
  constructor(
    private readonly u32: Uint32Array,
    private readonly defaultLimitPages: number,
  ) {}

  private slot(user: number): number {
    const w = slotOf(this.u32, USER_TABLE_OFF, USER_SLOTS, USER_SLOT_BYTES, user, true, (w) => {
      Atomics.store(this.u32, w + 1, this.defaultLimitPages);
      Atomics.store(this.u32, w + 2, 0);
    });
    if (w < 0) throw new BpfError(Errno.ENOSPC, `memlock table full: more than ${USER_SLOTS} users`);
    return w;
  }

  /** Set `user`'s limit in bytes; `Infinity` is RLIM_INFINITY. Floors to pages like Linux. */
  setLimit(user: number, bytes: number): void {
    const pages = bytes === Infinity ? MEMLOCK_INFINITY_PAGES : Math.min(Math.floor(bytes / PAGE_SIZE), MEMLOCK_INFINITY_PAGES - 1);
    Atomics.store(this.u32, this.slot(user) + 1, pages);
  }

  /** `user`'s limit in bytes (Infinity when unlimited). */
  limit(user: number): number {
    const p = Atomics.load(this.u32, this.slot(user) + 1);
    return p === MEMLOCK_INFINITY_PAGES ? Infinity : p * PAGE_SIZE;
  }

  /** Bytes currently charged to `user` (whole pages). */
  charged(user: number): number {
    return Atomics.load(this.u32, this.slot(user) + 2) * PAGE_SIZE;
  }

  /** Charge `bytes` (rounded up to pages). 0, or -EPERM over the limit with nothing charged. */
  charge(user: number, bytes: number): number {
    const w = this.slot(user);
    const pages = memlockPages(bytes);
    for (;;) {
      const cur = Atomics.load(this.u32, w + 2);
      const lim = Atomics.load(this.u32, w + 1);
      const next = cur + pages;
      if (next > 0xfffffffe || (lim !== MEMLOCK_INFINITY_PAGES && next > lim)) return -Errno.EPERM;
      if (Atomics.compareExchange(this.u32, w + 2, cur, next) === cur) return 0;
    }
  }

  /** Return a charge made with the same `bytes`. */
  uncharge(user: number, bytes: number): void {
    Atomics.sub(this.u32, this.slot(user) + 2, memlockPages(bytes));
  }
}
