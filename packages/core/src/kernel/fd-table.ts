/**
 * Per-process file descriptor tables in the arena.
 *
 * Layout: the process slot (layout.ts) holds the fd lock, the capacity and
 * the table offset; the table is `cap` entries of [object slot + 1, fmode].
 * fds 0, 1 and 2 start open on "other files" (stdin, stdout, stderr), so the
 * first bpf fd is 3, and each new fd is the lowest free one, like Linux's
 * alloc_fd. The table doubles when full, up to RLIMIT_NOFILE (EMFILE).
 *
 * Locking: the fd lock guards the table pointer and every entry. An fd
 * lookup takes the lock, reads the entry and takes a reference on the
 * object before releasing it, so a concurrent close of the same fd cannot
 * free the object under the caller (Linux's fdget + refcount).
 *
 * Who may call: syscall context, any thread.
 */
import { Errno } from "../errno.js";
import type { Arena } from "../memory/arena.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import { FD_ENTRY_BYTES, FD_OTHER, NOFILE_MAX, P_FD_CAP, P_FD_LOCK, P_FD_TABLE, P_INFLIGHT, P_OPEN, P_USERS } from "./layout.js";
import type { ObjectTable } from "./objects.js";

const INITIAL_FDS = 64;

export class FdTable {
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  /** fmode of the entry the last successful `get` returned (single-threaded per thread). */
  fmode = 0;
  /** Whether the last successful `get` took a reference (false on the single-user fast path). */
  held = false;

  constructor(
    private readonly arena: Arena,
    private readonly objects: ObjectTable,
    /** Byte offset of the owning process slot. */
    private readonly procOff: number,
  ) {
    this.u32 = arena.u32;
    this.i32 = arena.i32;
  }

  /** Process creation: an empty table with 0, 1, 2 open on other files. 0 or -ENOMEM. */
  static format(arena: Arena, procOff: number): number {
    const t = arena.alloc(INITIAL_FDS * FD_ENTRY_BYTES, KERNEL_OWNER);
    if (t < 0) return t;
    for (let fd = 0; fd < 3; fd++) arena.u32[(t >>> 2) + fd * 2] = FD_OTHER;
    const pw = procOff >>> 2;
    arena.u32[pw + P_FD_CAP] = INITIAL_FDS;
    arena.u32[pw + P_OPEN] = 3;
    Atomics.store(arena.u32, pw + P_FD_TABLE, t);
    return 0;
  }

  private lock(): void {
    spinLock(this.i32, this.procOff + P_FD_LOCK * 4);
  }
  private unlock(): void {
    spinUnlock(this.i32, this.procOff + P_FD_LOCK * 4);
  }
  private get pw(): number {
    return this.procOff >>> 2;
  }

  /**
   * Install a reference the caller owns on object `slot` at the lowest free
   * fd. Returns the fd, or -EMFILE / -ENOMEM (the reference stays the caller's).
   */
  install(slot: number, fmode: number): number {
    this.lock();
    try {
      let cap = this.u32[this.pw + P_FD_CAP]!;
      let tw = this.u32[this.pw + P_FD_TABLE]! >>> 2;
      let fd = 0;
      while (fd < cap && this.u32[tw + fd * 2] !== 0) fd++;
      if (fd === cap) {
        if (cap >= NOFILE_MAX) return -Errno.EMFILE;
        const ncap = Math.min(cap * 2, NOFILE_MAX);
        const t = this.arena.alloc(ncap * FD_ENTRY_BYTES, KERNEL_OWNER);
        if (t < 0) return t;
        this.arena.u8.copyWithin(t, tw * 4, tw * 4 + cap * FD_ENTRY_BYTES);
        const old = tw * 4;
        Atomics.store(this.u32, this.pw + P_FD_TABLE, t);
        Atomics.store(this.u32, this.pw + P_FD_CAP, ncap);
        this.arena.free(old);
        tw = t >>> 2;
        cap = ncap;
      }
      this.u32[tw + fd * 2 + 1] = fmode;
      Atomics.store(this.u32, tw + fd * 2, slot + 1);
      this.u32[this.pw + P_OPEN]!++;
      this.objects.userGet(slot);
      return fd;
    } finally {
      this.unlock();
    }
  }

  /**
   * The object slot behind `fd` with a reference taken (drop it with
   * `objects.put`), and its fmode in `this.fmode`. -EBADF if `fd` is not
   * open, -EINVAL if it is open on something that is not a bpf object.
   */
  get(fd: number): number {
    if (!Number.isInteger(fd) || fd < 0) return -Errno.EBADF;
    this.held = true;
    this.lock();
    const cap = this.u32[this.pw + P_FD_CAP]!;
    if (fd >= cap) {
      this.unlock();
      return -Errno.EBADF;
    }
    const ew = (this.u32[this.pw + P_FD_TABLE]! >>> 2) + fd * 2;
    const e = this.u32[ew]!;
    if (e === 0 || e === FD_OTHER) {
      this.unlock();
      return e === 0 ? -Errno.EBADF : -Errno.EINVAL;
    }
    this.fmode = this.u32[ew + 1]!;
    this.objects.get(e - 1);
    this.unlock();
    return e - 1;
  }

  /**
   * Linux's __fget_light: when this thread is the process's only user, no
   * other thread can close `fd` under us, so the entry can be read without
   * the lock and without a reference. Returns the slot, or -1 to take the
   * slow path (`get`). Sets `fmode`; `held` is false.
   */
  peek(fd: number): number {
    const pw = this.pw;
    if (!(fd >= 0)) return -1;
    // Dekker handshake with Process.open: raise the flag, then check we are
    // alone; a thread attaching raises `users` and waits for the flag to drop.
    Atomics.store(this.u32, pw + P_INFLIGHT, 1);
    if (Atomics.load(this.u32, pw + P_USERS) !== 1 || fd >= this.u32[pw + P_FD_CAP]!) return this.unpeek();
    const ew = (this.u32[pw + P_FD_TABLE]! >>> 2) + fd * 2;
    const e = this.u32[ew]!;
    if (e === 0 || e === FD_OTHER) return this.unpeek();
    this.fmode = this.u32[ew + 1]!;
    this.held = false;
    return e - 1;
  }

  /** End of a lock-free lookup (after the operation that used it). Returns -1 for `peek`'s convenience. */
  unpeek(): number {
    Atomics.store(this.u32, this.pw + P_INFLIGHT, 0);
    return -1;
  }

  /** close(fd): 0 or -EBADF. Drops the fd's reference (which may free the object). */
  close(fd: number): number {
    if (!Number.isInteger(fd) || fd < 0) return -Errno.EBADF;
    this.lock();
    const cap = this.u32[this.pw + P_FD_CAP]!;
    const ew = (this.u32[this.pw + P_FD_TABLE]! >>> 2) + fd * 2;
    const e = fd < cap ? this.u32[ew]! : 0;
    if (e === 0) {
      this.unlock();
      return -Errno.EBADF;
    }
    Atomics.store(this.u32, ew, 0);
    this.u32[ew + 1] = 0;
    this.u32[this.pw + P_OPEN]!--;
    this.unlock();
    if (e !== FD_OTHER) {
      this.objects.userPut(e - 1);
      this.objects.put(e - 1);
    }
    return 0;
  }

  /** Open fds in increasing order (including 0-2 while open). */
  list(): number[] {
    this.lock();
    const cap = this.u32[this.pw + P_FD_CAP]!;
    const tw = this.u32[this.pw + P_FD_TABLE]! >>> 2;
    const out: number[] = [];
    for (let fd = 0; fd < cap; fd++) if (this.u32[tw + fd * 2] !== 0) out.push(fd);
    this.unlock();
    return out;
  }

  /** Process exit: close everything, then free the table itself. */
  destroy(): void {
    for (const fd of this.list()) this.close(fd);
    this.lock();
    const t = this.u32[this.pw + P_FD_TABLE]!;
    Atomics.store(this.u32, this.pw + P_FD_TABLE, 0);
    Atomics.store(this.u32, this.pw + P_FD_CAP, 0);
    this.unlock();
    if (t !== 0) this.arena.free(t);
  }
}
