/**
 * The bpf filesystem namespace: pinned objects and directories under
 * /sys/fs/bpf, shared by all processes of the machine (one mount).
 *
 * Layout: a singly linked list of entry blocks from root word R_BPFFS_HEAD,
 *   +0 next  +4 kind (1 = object, 2 = directory)  +8 object slot
 *   +12 path length  +16 path bytes (absolute, normalised, latin1)
 * /sys/fs/bpf itself is implicit. Each object entry holds one reference on
 * its object, so a pinned map outlives every fd.
 *
 * Locking: the bpffs lock (root word) guards the whole list; pins are rare
 * and lists short, so a linear scan under one lock is enough.
 *
 * Path rules follow the VFS as BPF_OBJ_PIN / BPF_OBJ_GET see it: the parent
 * must exist (ENOENT) and be a directory (ENOTDIR), the name must be new
 * (EEXIST), a pin outside bpffs is EPERM (other directories are taken to exist), getting a directory is EACCES,
 * over-long names are ENAMETOOLONG.
 *
 * Who may call: syscall context, any thread.
 */
import { Errno } from "../errno.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import type { Kernel } from "./kernel.js";
import { R_BPFFS_HEAD, R_BPFFS_LOCK, rootOff, rootW } from "./layout.js";

export const BPFFS_ROOT = "/sys/fs/bpf";
const KIND_OBJ = 1;
const KIND_DIR = 2;
const PATH_MAX = 4096;
const NAME_MAX = 255;

interface Entry {
  off: number;
  prevW: number;
  kind: number;
  slot: number;
}

/** A normalised absolute path plus whether it ended with '/', or -errno. */
export function normalisePath(path: string): { path: string; dirSlash: boolean } | number {
  if (typeof path !== "string") return -Errno.EFAULT;
  if (path.length === 0) return -Errno.ENOENT;
  if (path.length >= PATH_MAX) return -Errno.ENAMETOOLONG;
  const parts: string[] = [];
  for (const c of path.split("/")) {
    if (c === "" || c === ".") continue;
    if (c.length > NAME_MAX) return -Errno.ENAMETOOLONG;
    if (c === "..") parts.pop();
    else parts.push(c);
  }
  return { path: "/" + parts.join("/"), dirSlash: path.endsWith("/") };
}

function parentOf(p: string): string {
  return p.slice(0, p.lastIndexOf("/")) || "/";
}

function inBpffs(p: string): boolean {
  return p === BPFFS_ROOT || p.startsWith(BPFFS_ROOT + "/");
}

export class Bpffs {
  constructor(private readonly k: Kernel) {}

  private lock(): void {
    spinLock(this.k.arena.i32, rootOff(R_BPFFS_LOCK));
  }
  private unlock(): void {
    spinUnlock(this.k.arena.i32, rootOff(R_BPFFS_LOCK));
  }

  /** Under the lock: the entry for `path`, or undefined. */
  private find(path: string): Entry | undefined {
    const { u32, u8 } = this.k.arena;
    let prevW = rootW(R_BPFFS_HEAD);
    for (let off = Atomics.load(u32, prevW); off !== 0; off = Atomics.load(u32, prevW)) {
      const w = off >>> 2;
      const len = u32[w + 3]!;
      if (len === path.length) {
        let same = true;
        for (let i = 0; i < len && same; i++) same = u8[off + 16 + i] === (path.charCodeAt(i) & 0xff);
        if (same) return { off, prevW, kind: u32[w + 1]!, slot: u32[w + 2]! };
      }
      prevW = w;
    }
    return undefined;
  }

  /** Under the lock: ENOENT / ENOTDIR if `dir` cannot hold entries, else 0. Non-bpffs dirs: EPERM. */
  private checkDir(dir: string): number {
    if (dir === BPFFS_ROOT) return 0;
    // Directories outside bpffs are not modelled: taken to exist (like /tmp), so pinning there
    // is EPERM (not a bpffs directory), as Linux answers for a real directory.
    if (!inBpffs(dir)) return -Errno.EPERM;
    const parent = this.checkDir(parentOf(dir));
    if (parent === -Errno.EPERM) return -Errno.ENOENT;
    if (parent) return parent;
    const e = this.find(dir);
    if (e === undefined) return -Errno.ENOENT;
    return e.kind === KIND_DIR ? 0 : -Errno.ENOTDIR;
  }

  private insert(path: string, kind: number, slot: number): number {
    const { u32, u8 } = this.k.arena;
    const off = this.k.arena.alloc(16 + path.length, KERNEL_OWNER);
    if (off < 0) return off;
    const w = off >>> 2;
    u32[w + 1] = kind;
    u32[w + 2] = slot;
    u32[w + 3] = path.length;
    for (let i = 0; i < path.length; i++) u8[off + 16 + i] = path.charCodeAt(i) & 0xff;
    u32[w] = Atomics.load(u32, rootW(R_BPFFS_HEAD));
    Atomics.store(u32, rootW(R_BPFFS_HEAD), off);
    return 0;
  }

  /** Create a name for `path` (shared checks of pin and mkdir). 0 or -errno. */
  private create(path: string, kind: number, slot: number): number {
    const n = normalisePath(path);
    if (typeof n === "number") return n;
    if (n.path === BPFFS_ROOT || this.find(n.path)) return -Errno.EEXIST;
    const d = this.checkDir(parentOf(n.path));
    if (d) return d;
    if (n.dirSlash && kind !== KIND_DIR) return -Errno.ENOENT;
    return this.insert(n.path, kind, slot);
  }

  /**
   * BPF_OBJ_PIN: give object `slot` the name `path`; the caller's reference
   * becomes the pin's on success. 0 or -errno.
   */
  pin(path: string, slot: number): number {
    this.lock();
    try {
      return this.create(path, KIND_OBJ, slot);
    } finally {
      this.unlock();
    }
  }

  /** BPF_OBJ_GET: the object at `path` with a new reference taken, or -errno. */
  get(path: string): number {
    const n = normalisePath(path);
    if (typeof n === "number") return n;
    this.lock();
    try {
      if (n.path === BPFFS_ROOT) return -Errno.EACCES;
      if (!inBpffs(n.path)) return -Errno.ENOENT;
      const d = this.checkDir(parentOf(n.path));
      if (d) return d === -Errno.EPERM ? -Errno.ENOENT : d;
      const e = this.find(n.path);
      if (e === undefined) return -Errno.ENOENT;
      if (e.kind === KIND_DIR) return -Errno.EACCES;
      if (n.dirSlash) return -Errno.ENOTDIR;
      this.k.objects.get(e.slot);
      return e.slot;
    } finally {
      this.unlock();
    }
  }

  /** mkdir(2) on bpffs. 0 or -errno. */
  mkdir(path: string): number {
    this.lock();
    try {
      return this.create(path, KIND_DIR, 0);
    } finally {
      this.unlock();
    }
  }

  /** unlink(2) of a pin (drops its reference) or rmdir(2) of an empty directory. 0 or -errno. */
  unlink(path: string, dir = false): number {
    const n = normalisePath(path);
    if (typeof n === "number") return n;
    let slot = -1;
    this.lock();
    try {
      const e = n.path === BPFFS_ROOT ? undefined : this.find(n.path);
      if (e === undefined) return n.path === BPFFS_ROOT ? -Errno.EBUSY : -Errno.ENOENT;
      if (dir && e.kind !== KIND_DIR) return -Errno.ENOTDIR;
      if (!dir && e.kind === KIND_DIR) return -Errno.EISDIR;
      if (dir && this.list().some((p) => p.startsWith(n.path + "/"))) return -Errno.ENOTEMPTY;
      const u32 = this.k.arena.u32;
      Atomics.store(u32, e.prevW, u32[e.off >>> 2]!);
      this.k.arena.free(e.off);
      if (e.kind === KIND_OBJ) slot = e.slot;
    } finally {
      this.unlock();
    }
    if (slot >= 0) {
      this.k.objects.userPut(slot);
      this.k.objects.put(slot);
    }
    return 0;
  }

  /** Every pinned path and directory (unsorted). Caller may hold the lock or not; reads are racy but safe. */
  list(): string[] {
    const { u32, u8 } = this.k.arena;
    const out: string[] = [];
    for (let off = Atomics.load(u32, rootW(R_BPFFS_HEAD)); off !== 0; off = u32[off >>> 2]!) {
      const len = u32[(off >>> 2) + 3]!;
      out.push(String.fromCharCode(...u8.subarray(off + 16, off + 16 + len)));
    }
    return out;
  }
}
