/**
 * Value copies of the hash map family, between user or program buffers and
 * elements: copy_map_value() (never the bpf_spin_lock word), the locked
 * variants for BPF_F_LOCK, and the per-CPU slot copies. Layered between the
 * bucket layer (htab-core.ts) and the element operations (htab-map.ts).
 *
 * Who may call: program on a CPU or syscall on any thread, as noted.
 */
import { spinLock, spinTryLock, spinUnlock } from "../../memory/spin-lock.js";
import type { MapHeaderView } from "../map-ops.js";
import { BPF_F_LOCK } from "../../uapi.js";
import { HtabCore, copySmall } from "./htab-core.js";

/**
 * Take a recycled element's value lock, waiting a few milliseconds at most.
 * Syscall-side holders (BPF_F_LOCK copies) hold it for one copy; only a
 * program that locked the value before the element was deleted can hold it
 * longer, and with CPUs stepped on one thread waiting for it would never
 * end. Then the fill goes ahead without the lock (Linux re-zeroes the lock
 * of a recycled element; the stale holder's unlock releases it here).
 */
function lockBounded(i32: Int32Array, off: number): boolean {
  for (let i = 0; i < 256; i++) {
    if (spinTryLock(i32, off)) return true;
    if (i >= 32) Atomics.wait(i32, off >>> 2, Atomics.load(i32, off >>> 2), 0.02);
  }
  return false;
}

export class HtabValues extends HtabCore {
  /** Offset of the value's bpf_spin_lock, or -1. */
  protected readonly lockOff: number;
  protected readonly percpu: boolean;

  constructor(m: MapHeaderView, lru: boolean, percpu: boolean) {
    super(m, lru);
    this.lockOff = m.spinLockOff;
    this.percpu = percpu;
  }

  /** copy_map_value(): value bytes except the bpf_spin_lock word (left as it is). */
  protected copyValue(dst: number, src: number): void {
    const u8 = this.u8;
    const n = this.valueSize;
    const l = this.lockOff;
    if (l < 0) {
      copySmall(this.u8, this.u32, dst, src, n);
    } else {
      u8.copyWithin(dst, src, src + l);
      u8.copyWithin(dst + l + 4, src + l + 4, src + n);
    }
  }

  /**
   * Fill a fresh element's value. With a bpf_spin_lock the fill takes the
   * lock too (it starts unlocked: arena memory is zeroed and every holder
   * releases it): a BPF_F_LOCK updater or reader that found this element
   * before it was recycled may still be inside it, and must finish first
   * (a bounded wait: see lockBounded).
   */
  protected copyIn(e: number, src: number): void {
    const v = e + this.valOff;
    if (this.lockOff < 0) {
      this.copyValue(v, src);
      return;
    }
    const lock = v + this.lockOff;
    const got = lockBounded(this.i32, lock);
    this.copyValue(v, src);
    if (got) spinUnlock(this.i32, lock);
  }

  /**
   * The lock-free BPF_F_LOCK fast path (htab_map_update_elem() takes it too):
   * copy into an element found without the bucket lock, under its spin lock,
   * but only if it still holds the key, checked with the lock held. A
   * recycled element would otherwise receive another key's value (Linux's
   * immediate reuse of preallocated elements leaves that window open).
   */
  protected copyInLockedIfLinked(e: number, hash: number, keyOff: number, src: number): boolean {
    const g = this.readBegin(e, hash, keyOff);
    if (g < 0) return false;
    const v = e + this.valOff;
    spinLock(this.i32, v + this.lockOff);
    const live = this.unchanged(e, g);
    if (live) this.copyValue(v, src);
    spinUnlock(this.i32, v + this.lockOff);
    return live;
  }

  protected copyInLocked(e: number, src: number): void {
    const v = e + this.valOff;
    spinLock(this.i32, v + this.lockOff);
    this.copyValue(v, src);
    spinUnlock(this.i32, v + this.lockOff);
  }

  /**
   * pcpu_copy_value()/pcpu_init_value(): a syscall writes every CPU's slot
   * from a ncpus * stride buffer (whole strides, as Linux copies them); a
   * program writes its own slot, and a new element's other slots are zeroed.
   */
  protected copyPercpuIn(e: number, src: number, cpu: number, sys: boolean, fresh: boolean): void {
    const v = e + this.valOff;
    const s = this.stride;
    if (sys) {
      this.u8.copyWithin(v, src, src + s * this.ncpus);
      return;
    }
    if (fresh) this.u8.fill(0, v, v + s * this.ncpus);
    this.u8.copyWithin(v + cpu * s, src, src + this.valueSize);
  }

  /** bpf_map_copy_value() for the syscall: per-CPU slots, or the value with its lock word zeroed. */
  protected copyOut(e: number, out: number, flags: number): void {
    const v = e + this.valOff;
    if (this.percpu) {
      this.u8.copyWithin(out, v, v + this.stride * this.ncpus);
      return;
    }
    if (flags & BPF_F_LOCK) {
      spinLock(this.i32, v + this.lockOff);
      this.copyValue(out, v);
      spinUnlock(this.i32, v + this.lockOff);
    } else {
      this.copyValue(out, v);
    }
    if (this.lockOff >= 0) this.u8.fill(0, out + this.lockOff, out + this.lockOff + 4);
  }
}
