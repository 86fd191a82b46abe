/**
 * The arena: one shared `WebAssembly.Memory` holding everything programs can
 * touch, with a thread-safe allocator.
 *
 * Design. Every thread (user process or CPU worker) maps the same buffer and
 * runs the allocator itself; there is no allocator thread. State lives in the
 * reserved first 64 KiB (layout drawn in arena-layout.ts):
 *
 *   [0, 64K) bookkeeping | [64K, bump) carved blocks | [bump, size) never used
 *
 *   small blocks (<= 32 KiB with header): 21 size classes, each a singly
 *     linked free list (head word + `next` in the block header) guarded by
 *     its own spin lock word. An empty class is refilled by carving a 64 KiB
 *     chunk from the large allocator into blocks. Small blocks stay in their
 *     class for ever (no coalescing), which keeps free O(1).
 *   large blocks: multiples of 4 KiB, from one address-ordered free list
 *     (first fit, split, coalesce with both neighbours on free) or from the
 *     bump pointer, all under the large-list lock. A free block that ends at
 *     the bump pointer is returned to it, so alloc+free of a large map leaves
 *     the arena as it was.
 *
 * Locking: a class lock protects that class's list only; the large lock
 * protects the large list and `bump`. The only nesting is class -> large
 * (refill), never the other way, so there is no lock cycle. Counters (bytes
 * handed out, per-owner, memlock) are separate words updated with Atomics.
 *
 * Ordering: a block's header word is written with Atomics.store before the
 * block is published on a list (under the lock, whose release is a
 * sequentially consistent exchange), so any thread that pops it sees it.
 * Zero-filling happens after the pop, outside the lock, on memory no other
 * thread can reach yet.
 *
 * Who may call: any thread; syscall and program context alike.
 */
import { BpfError, Errno } from "../errno.js";
import { ARENA_RESERVED, type ArenaApi } from "./arena-api.js";
import { spinLock, spinUnlock } from "./spin-lock.js";
import {
  ALLOC_TAG, ARENA_MAGIC, ARENA_VERSION, BLOCK_HEADER, CHUNK_BYTES, CLASS_SIZES, CLASS_TABLE_OFF,
  DEFAULT_MEMLOCK_BYTES, FREE_TAG, H_BLOCKS, H_BUMP, H_BYTES, H_LARGE_HEAD, H_LARGE_LOCK, H_MAGIC,
  H_DEFAULT_MEMLOCK, H_HWM, H_SIZE, H_VERSION, LARGE_CLASS, LARGE_GRAIN, PAGE_SIZE, TAG_MASK, classFor,
} from "./arena-layout.js";
import { MemlockAccounts, OwnerAccounts } from "./accounting.js";

const WASM_PAGE = 64 * 1024;
/** 4 GiB - 64 KiB: the largest shared wasm32 memory Node accepts with offsets in u32. */
export const ARENA_MAX_SIZE = 4 * 1024 * 1024 * 1024 - WASM_PAGE;
export const ARENA_DEFAULT_SIZE = 256 * 1024 * 1024;

export interface ArenaOptions {
  /** Bytes; a multiple of 64 KiB in [128 KiB, 4 GiB - 64 KiB]. Default 256 MiB. */
  size?: number;
  /** Default RLIMIT_MEMLOCK for users never given one, in bytes (Infinity allowed). Default 8 MiB. */
  defaultMemlock?: number;
}

/** Allocator statistics (for tests and `inspect`). */
export interface ArenaStats {
  /** Block bytes handed out and not yet freed (headers and class rounding included). */
  bytesInUse: number;
  blocksInUse: number;
  /** First byte never carved. */
  bump: number;
  size: number;
}

function roundUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The shared arena. Implements `ArenaApi`; build with `create` or, in another thread, `attach`. */
export class Arena implements ArenaApi {
  readonly memory: WebAssembly.Memory;
  readonly size: number;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
  readonly dv: DataView;
  /** Per-owner accounting of allocations. */
  readonly owners: OwnerAccounts;
  /** RLIMIT_MEMLOCK per simulated user. */
  readonly memlock: MemlockAccounts;

  private constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
    const buf = memory.buffer as SharedArrayBuffer;
    this.size = buf.byteLength;
    this.u8 = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.u32 = new Uint32Array(buf);
    this.i64 = new BigInt64Array(buf);
    this.u64 = new BigUint64Array(buf);
    this.dv = new DataView(buf);
    this.owners = new OwnerAccounts(this.u32);
    // The default limit is stored in the header area's spare word so every thread agrees.
    this.memlock = new MemlockAccounts(this.u32, Atomics.load(this.u32, H_DEFAULT_MEMLOCK));
  }

  /** Make a new arena. Throws BpfError(EINVAL) for a bad size, ENOMEM if the host refuses. */
  static create(opts: ArenaOptions = {}): Arena {
    const size = opts.size ?? ARENA_DEFAULT_SIZE;
    if (!Number.isInteger(size) || size % WASM_PAGE !== 0 || size < 2 * WASM_PAGE || size > ARENA_MAX_SIZE) {
      throw new BpfError(Errno.EINVAL, `arena size ${size} must be a multiple of 64 KiB in [128 KiB, 4 GiB - 64 KiB]`);
    }
    let memory: WebAssembly.Memory;
    try {
      const pages = size / WASM_PAGE;
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch (e) {
      throw new BpfError(Errno.ENOMEM, `cannot reserve a ${size}-byte shared memory: ${(e as Error).message}`);
    }
    const u32 = new Uint32Array(memory.buffer as SharedArrayBuffer);
    const dm = opts.defaultMemlock ?? DEFAULT_MEMLOCK_BYTES;
    u32[H_DEFAULT_MEMLOCK] = dm === Infinity ? 0xffffffff : Math.min(Math.floor(dm / PAGE_SIZE), 0xfffffffe);
    u32[H_VERSION] = ARENA_VERSION;
    u32[H_SIZE] = size >>> 0;
    u32[H_BUMP] = ARENA_RESERVED;
    u32[H_HWM] = ARENA_RESERVED;
    Atomics.store(u32, H_MAGIC, ARENA_MAGIC);
    return new Arena(memory);
  }

  /** Rebuild the arena object over a memory made by `create` (e.g. posted to a worker). */
  static attach(memory: WebAssembly.Memory): Arena {
    const u32 = new Uint32Array(memory.buffer as SharedArrayBuffer);
    if (Atomics.load(u32, H_MAGIC) !== ARENA_MAGIC || u32[H_VERSION] !== ARENA_VERSION) {
      throw new BpfError(Errno.EINVAL, "memory is not a bpfsim arena");
    }
    return new Arena(memory);
  }

  /**
   * Allocate `bytes`, zero-filled, 16-aligned, charged to `owner`.
   * Returns the offset, or -ENOMEM (nothing changed). Any thread.
   */
  alloc(bytes: number, owner: number): number {
    if (!(bytes >= 0) || bytes > this.size) return -Errno.ENOMEM;
    const need = Math.max(bytes, 1) + BLOCK_HEADER;
    const c = classFor(need);
    let block: number;
    let blockBytes: number;
    if (c >= 0) {
      block = this.popClass(c);
      blockBytes = CLASS_SIZES[c]!;
    } else {
      blockBytes = roundUp(need, LARGE_GRAIN);
      block = this.allocLarge(blockBytes);
    }
    if (block < 0) return -Errno.ENOMEM;
    // Memory never handed out is still zero (a fresh wasm memory): only the
    // recycled part of a block needs clearing, which keeps a huge arena
    // untouched (and uncommitted by the OS) until it is used.
    const dirtyEnd = c >= 0 ? block + blockBytes : this.dirtyEnd;
    const w = block >>> 2;
    Atomics.store(this.u32, w + 1, blockBytes);
    Atomics.store(this.u32, w + 2, owner >>> 0);
    Atomics.store(this.u32, w + 3, 0);
    Atomics.store(this.i32, w, ALLOC_TAG | (c >= 0 ? c : LARGE_CLASS));
    if (dirtyEnd > block + BLOCK_HEADER) this.u8.fill(0, block + BLOCK_HEADER, Math.min(dirtyEnd, block + blockBytes));
    this.owners.charge(owner, blockBytes);
    Atomics.add(this.u32, H_BYTES, blockBytes);
    Atomics.add(this.u32, H_BLOCKS, 1);
    return block + BLOCK_HEADER;
  }

  /**
   * Return a block. Throws BpfError(EFAULT) for an offset that is not a live
   * block (double free, wild pointer): that is a bug in the caller, and
   * corrupting the lists silently would be worse. Any thread.
   */
  free(off: number): void {
    const block = off - BLOCK_HEADER;
    if (!Number.isInteger(off) || block < ARENA_RESERVED || off >= this.size || (block & 15) !== 0) {
      throw new BpfError(Errno.EFAULT, `free of ${off}: not an arena block`);
    }
    const w = block >>> 2;
    const tag = Atomics.load(this.i32, w);
    if ((tag & TAG_MASK) !== ALLOC_TAG) throw new BpfError(Errno.EFAULT, `free of ${off}: not an allocated block`);
    const cls = tag & 0xff;
    // Claim the free: of two racing frees of the same block, one wins.
    if (Atomics.compareExchange(this.i32, w, tag, FREE_TAG | cls) !== tag) {
      throw new BpfError(Errno.EFAULT, `free of ${off}: double free`);
    }
    const blockBytes = Atomics.load(this.u32, w + 1);
    const owner = Atomics.load(this.u32, w + 2);
    this.owners.uncharge(owner, blockBytes);
    Atomics.sub(this.u32, H_BYTES, blockBytes);
    Atomics.sub(this.u32, H_BLOCKS, 1);
    if (cls === LARGE_CLASS) this.freeLarge(block, blockBytes);
    else this.pushClass(cls, block);
  }

  /** Usable bytes of a live block (its class size minus the header). */
  usableSize(off: number): number {
    return Atomics.load(this.u32, ((off - BLOCK_HEADER) >>> 2) + 1) - BLOCK_HEADER;
  }

  /** RLIMIT_MEMLOCK: charge `bytes` to `user`. 0, or -EPERM over the limit. */
  chargeMemlock(user: number, bytes: number): number {
    return this.memlock.charge(user, bytes);
  }

  /** Undo `chargeMemlock(user, bytes)`. */
  unchargeMemlock(user: number, bytes: number): void {
    this.memlock.uncharge(user, bytes);
  }

  /** Set `user`'s RLIMIT_MEMLOCK in bytes (Infinity = unlimited). */
  setMemlockLimit(user: number, bytes: number): void {
    this.memlock.setLimit(user, bytes);
  }

  stats(): ArenaStats {
    return {
      bytesInUse: Atomics.load(this.u32, H_BYTES),
      blocksInUse: Atomics.load(this.u32, H_BLOCKS),
      bump: Atomics.load(this.u32, H_BUMP),
      size: this.size,
    };
  }

  // --- small classes -------------------------------------------------------

  private popClass(c: number): number {
    const lockOff = CLASS_TABLE_OFF + c * 8;
    const headW = (lockOff + 4) >>> 2;
    spinLock(this.i32, lockOff);
    let block = Atomics.load(this.u32, headW);
    if (block === 0) {
      block = this.refill(c);
      if (block < 0) {
        spinUnlock(this.i32, lockOff);
        return -1;
      }
    } else {
      Atomics.store(this.u32, headW, Atomics.load(this.u32, (block >>> 2) + 3));
    }
    spinUnlock(this.i32, lockOff);
    return block;
  }

  private pushClass(c: number, block: number): void {
    const lockOff = CLASS_TABLE_OFF + c * 8;
    const headW = (lockOff + 4) >>> 2;
    spinLock(this.i32, lockOff);
    Atomics.store(this.u32, (block >>> 2) + 3, Atomics.load(this.u32, headW));
    Atomics.store(this.u32, headW, block);
    spinUnlock(this.i32, lockOff);
  }

  /** Under class lock c: carve a chunk into blocks; return one, list the rest. -1 if no memory. */
  private refill(c: number): number {
    const bs = CLASS_SIZES[c]!;
    const chunk = this.allocLarge(CHUNK_BYTES);
    if (chunk < 0) return -1;
    const n = Math.floor(CHUNK_BYTES / bs);
    const headW = (CLASS_TABLE_OFF + c * 8 + 4) >>> 2;
    // Blocks 1..n-1 go on the list in address order; block 0 is returned.
    let next = 0;
    for (let i = n - 1; i >= 1; i--) {
      const b = chunk + i * bs;
      Atomics.store(this.i32, b >>> 2, FREE_TAG | c);
      Atomics.store(this.u32, (b >>> 2) + 1, bs);
      Atomics.store(this.u32, (b >>> 2) + 3, next);
      next = b;
    }
    Atomics.store(this.u32, headW, next);
    return chunk;
  }

  // --- large blocks ----------------------------------------------------------

  /** Set by allocLarge: end of the part of the returned block that may hold old data. */
  private dirtyEnd = 0;

  /** A block of exactly `bytes` (multiple of LARGE_GRAIN), or -1. Takes the large lock. */
  private allocLarge(bytes: number): number {
    const lockOff = H_LARGE_LOCK * 4;
    spinLock(this.i32, lockOff);
    try {
      // First fit in the address-ordered list.
      let prevW = H_LARGE_HEAD;
      let b = Atomics.load(this.u32, prevW);
      while (b !== 0) {
        const bw = b >>> 2;
        const sz = Atomics.load(this.u32, bw + 1);
        const next = Atomics.load(this.u32, bw + 3);
        if (sz >= bytes) {
          if (sz - bytes >= LARGE_GRAIN) {
            const rest = b + bytes;
            Atomics.store(this.i32, rest >>> 2, FREE_TAG | LARGE_CLASS);
            Atomics.store(this.u32, (rest >>> 2) + 1, sz - bytes);
            Atomics.store(this.u32, (rest >>> 2) + 3, next);
            Atomics.store(this.u32, prevW, rest);
          } else {
            Atomics.store(this.u32, prevW, next);
            bytes = sz;
          }
          Atomics.store(this.u32, bw + 1, bytes);
          this.dirtyEnd = b + bytes;
          return b;
        }
        prevW = bw + 3;
        b = next;
      }
      const bump = Atomics.load(this.u32, H_BUMP);
      if (bump + bytes > this.size) return -1;
      Atomics.store(this.u32, H_BUMP, bump + bytes);
      Atomics.store(this.u32, (bump >>> 2) + 1, bytes);
      const hwm = Atomics.load(this.u32, H_HWM);
      this.dirtyEnd = Math.min(hwm, bump + bytes);
      if (bump + bytes > hwm) Atomics.store(this.u32, H_HWM, bump + bytes);
      return bump;
    } finally {
      spinUnlock(this.i32, lockOff);
    }
  }

  /** Insert in address order, coalescing with neighbours; give the tail back to bump. */
  private freeLarge(block: number, bytes: number): void {
    const lockOff = H_LARGE_LOCK * 4;
    spinLock(this.i32, lockOff);
    try {
      let prev = 0;
      let prevW = H_LARGE_HEAD;
      let cur = Atomics.load(this.u32, prevW);
      while (cur !== 0 && cur < block) {
        prev = cur;
        prevW = (cur >>> 2) + 3;
        cur = Atomics.load(this.u32, prevW);
      }
      let start = block;
      let size = bytes;
      // Merge with the following free block.
      if (cur !== 0 && block + bytes === cur) {
        size += Atomics.load(this.u32, (cur >>> 2) + 1);
        cur = Atomics.load(this.u32, (cur >>> 2) + 3);
      }
      // Merge with the preceding free block.
      if (prev !== 0 && prev + Atomics.load(this.u32, (prev >>> 2) + 1) === block) {
        start = prev;
        size += Atomics.load(this.u32, (prev >>> 2) + 1);
        // Find prev's predecessor link to rewrite: walk again (lists are short).
        prevW = H_LARGE_HEAD;
        let p = Atomics.load(this.u32, prevW);
        while (p !== prev) {
          prevW = (p >>> 2) + 3;
          p = Atomics.load(this.u32, prevW);
        }
      }
      if (start + size === Atomics.load(this.u32, H_BUMP)) {
        // The tail of the carved region: hand it back to bump.
        Atomics.store(this.u32, prevW, cur);
        Atomics.store(this.u32, H_BUMP, start);
        return;
      }
      const sw = start >>> 2;
      Atomics.store(this.i32, sw, FREE_TAG | LARGE_CLASS);
      Atomics.store(this.u32, sw + 1, size);
      Atomics.store(this.u32, sw + 3, cur);
      Atomics.store(this.u32, prevW, start);
    } finally {
      spinUnlock(this.i32, lockOff);
    }
  }
}
