/**
 * A simulated user-space process: a pid, a uid (the memlock user), an fd
 * table in the arena, and the two faces of bpf():
 *
 *  - raw: `proc.bpf(cmd, attr)` returns what Linux returns, a value or
 *    -errno, and writes outputs into the caller's buffers and attr object;
 *  - high level: `mapCreate`, `mapLookup`, ... throw `BpfError` on failure.
 *    A missing key is an answer (`undefined` / `false`), not an exception.
 *
 * The process state lives in the arena, so `kernel.process(pid)` on another
 * thread gets a handle on the same process. Who may call: syscall context,
 * any thread; a process's fds may be used from several threads at once.
 */
import { BpfError, Errno } from "../errno.js";
import { BPF_ANY, BPF_F_RDONLY_PROG, BpfCmd } from "../uapi.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import type { BpfAttrMap, KnownBpfCmd, MapBatchAttr, MapCreateAttr } from "./attr.js";
import { FdTable } from "./fd-table.js";
import type { Kernel, MapHandle } from "./kernel.js";
import { FMODE_CAN_WRITE, M_FREEZE_LOCK, M_WRITE_ACTIVE, P_COMM, P_PID, P_INFLIGHT, P_STATE, P_UID, P_USERS } from "./layout.js";
import { mapBatch } from "./map-batch.js";
import { mapDeleteElem, mapGet, mapGetNextKey, mapLookupAndDeleteElem, mapLookupElem, mapPut, mapUpdateElem, sysValueSize } from "./map-cmds.js";
import { BPF_MAP_INFO_SIZE } from "./obj-cmds.js";
import { bpfDispatch } from "./syscall.js";

export interface ProcessOptions {
  /** Default 0 (root). */
  uid?: number;
  /** Up to 15 characters. */
  comm?: string;
  /** Sets RLIMIT_MEMLOCK for this process's user, in bytes (Infinity = unlimited). */
  memlockLimit?: number;
}

/** `struct bpf_map_info`, decoded. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  name: string;
  ifindex: number;
  btfVmlinuxValueTypeId: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
}

/** Result of one BPF_MAP_LOOKUP_BATCH call. */
export interface BatchResult {
  keys: Uint8Array;
  values: Uint8Array;
  count: number;
  /** Pass as `inBatch` to continue. */
  outBatch: Uint8Array;
  /** The map was exhausted (the call returned ENOENT). */
  done: boolean;
}

function must(ret: number, what: string): number {
  if (ret < 0) throw new BpfError(-ret, what);
  return ret;
}

export class Process {
  readonly fds: FdTable;
  /** This thread's map handles by fd, for the single-user fast path (see FdTable.peek). */
  readonly fdCache: ({ slot: number; gen: number; h: MapHandle } | undefined)[] = [];
  private constructor(
    readonly kernel: Kernel,
    /** Byte offset of this process's slot in the process table. */
    readonly procOff: number,
  ) {
    this.fds = new FdTable(kernel.arena, kernel.objects, procOff);
  }

  /** Kernel.createProcess: fill a claimed slot. */
  static init(kernel: Kernel, procOff: number, pid: number, opts: ProcessOptions): Process {
    const u32 = kernel.arena.u32;
    const w = procOff >>> 2;
    const uid = opts.uid ?? 0;
    u32[w + P_PID] = pid;
    u32[w + P_UID] = uid;
    Atomics.store(u32, w + P_USERS, 1);
    const comm = (opts.comm ?? "").slice(0, 15);
    kernel.arena.u8.fill(0, procOff + P_COMM * 4, procOff + P_COMM * 4 + 16);
    for (let i = 0; i < comm.length; i++) kernel.arena.u8[procOff + P_COMM * 4 + i] = comm.charCodeAt(i) & 0xff;
    if (opts.memlockLimit !== undefined) kernel.arena.setMemlockLimit(uid, opts.memlockLimit);
    if (FdTable.format(kernel.arena, procOff) < 0) {
      Atomics.store(u32, w + P_STATE, 0);
      throw new BpfError(Errno.ENOMEM, "no arena memory for an fd table");
    }
    return new Process(kernel, procOff);
  }

  /** Kernel.process: a handle on an existing process. */
  static open(kernel: Kernel, procOff: number): Process {
    const u32 = kernel.arena.u32;
    Atomics.add(u32, (procOff >>> 2) + P_USERS, 1);
    // Let a lock-free fd lookup the single user started finish before fds can be closed from here.
    while (Atomics.load(u32, (procOff >>> 2) + P_INFLIGHT) !== 0) { /* one bpf() call at most */ }
    return new Process(kernel, procOff);
  }

  /**
   * This thread is done with this handle (the process lives on). While a
   * process has one handle, its fd lookups take no lock (Linux's fget_light).
   */
  release(): void {
    Atomics.sub(this.kernel.arena.u32, (this.procOff >>> 2) + P_USERS, 1);
    this.fdCache.length = 0;
  }

  static pidAt(kernel: Kernel, procOff: number): number {
    return kernel.arena.u32[(procOff >>> 2) + P_PID]!;
  }

  get pid(): number {
    return this.kernel.arena.u32[(this.procOff >>> 2) + P_PID]!;
  }
  get uid(): number {
    return this.kernel.arena.u32[(this.procOff >>> 2) + P_UID]!;
  }
  get comm(): string {
    const o = this.procOff + P_COMM * 4;
    const b = this.kernel.arena.u8.subarray(o, o + 16);
    const n = b.indexOf(0);
    return String.fromCharCode(...b.subarray(0, n < 0 ? 16 : n));
  }
  get alive(): boolean {
    return Atomics.load(this.kernel.arena.u32, (this.procOff >>> 2) + P_STATE) === 1 && this.pid !== 0;
  }

  /** Raw bpf(2): a value or -errno, outputs written into `attr` and its buffers. */
  bpf<C extends KnownBpfCmd>(cmd: C, attr: BpfAttrMap[C]): number;
  bpf(cmd: number, attr: unknown): number;
  bpf(cmd: number, attr: unknown): number {
    if (!this.alive) return -Errno.ESRCH;
    return bpfDispatch(this, cmd, attr);
  }

  /** close(2). Throws EBADF. */
  close(fd: number): void {
    must(this.fds.close(fd), `close(${fd})`);
  }

  /** Open fds, ascending. */
  openFds(): number[] {
    return this.fds.list();
  }

  /** exit(2): close every fd (maps with no other holder are freed) and release the pid. */
  exit(): void {
    if (!this.alive) return;
    this.fdCache.length = 0;
    this.fds.destroy();
    const w = this.procOff >>> 2;
    this.kernel.arena.u32[w + P_PID] = 0;
    Atomics.store(this.kernel.arena.u32, w + P_STATE, 0);
  }

  // --- high-level API: throws BpfError ------------------------------------

  /** BPF_MAP_CREATE → fd. */
  mapCreate(attr: MapCreateAttr): number {
    return must(this.bpf(BpfCmd.MapCreate, attr), "BPF_MAP_CREATE");
  }

  /** Bytes of one value as user space sees it (ncpus * round_up(value_size, 8) for per-CPU maps). */
  mapValueSize(fd: number): number {
    const h = mapGet(this, fd);
    if (typeof h === "number") throw new BpfError(-h, `fd ${fd}`);
    const n = sysValueSize(h);
    mapPut(this, h, this.fds.held);
    return n;
  }

  /** BPF_MAP_LOOKUP_ELEM → value, or undefined if the key is absent. Pass `out` to avoid an allocation. */
  mapLookup(fd: number, key: Uint8Array, flags = 0, out?: Uint8Array): Uint8Array | undefined {
    const value = out ?? new Uint8Array(this.mapValueSize(fd));
    const r = mapLookupElem(this, fd, key, value, flags);
    if (r === -Errno.ENOENT) return undefined;
    must(r, "BPF_MAP_LOOKUP_ELEM");
    return value;
  }

  /** BPF_MAP_UPDATE_ELEM. */
  mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = BPF_ANY): void {
    must(mapUpdateElem(this, fd, key, value, flags), "BPF_MAP_UPDATE_ELEM");
  }

  /** BPF_MAP_DELETE_ELEM → false if the key was absent. */
  mapDelete(fd: number, key: Uint8Array): boolean {
    const r = mapDeleteElem(this, fd, key);
    if (r === -Errno.ENOENT) return false;
    must(r, "BPF_MAP_DELETE_ELEM");
    return true;
  }

  /** BPF_MAP_GET_NEXT_KEY → next key, or undefined after the last. `key` null = first. */
  mapGetNextKey(fd: number, key: Uint8Array | null, out?: Uint8Array): Uint8Array | undefined {
    const next = out ?? new Uint8Array(this.mapInfo(fd).keySize);
    const r = mapGetNextKey(this, fd, key, next);
    if (r === -Errno.ENOENT) return undefined;
    must(r, "BPF_MAP_GET_NEXT_KEY");
    return next;
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM → value, or undefined if absent. */
  mapLookupAndDelete(fd: number, key: Uint8Array, flags = 0): Uint8Array | undefined {
    const value = new Uint8Array(this.mapValueSize(fd));
    const r = mapLookupAndDeleteElem(this, fd, key, value, flags);
    if (r === -Errno.ENOENT) return undefined;
    must(r, "BPF_MAP_LOOKUP_AND_DELETE_ELEM");
    return value;
  }

  /** BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH with `del`): up to `count` elements after `inBatch`. */
  mapLookupBatch(fd: number, count: number, inBatch: Uint8Array | null = null, opts: { elemFlags?: number; del?: boolean } = {}): BatchResult {
    const info = this.mapInfo(fd);
    const vs = this.mapValueSize(fd);
    const a: MapBatchAttr = {
      mapFd: fd, inBatch, outBatch: new Uint8Array(info.keySize), keys: new Uint8Array(count * info.keySize),
      values: new Uint8Array(count * vs), count, elemFlags: opts.elemFlags ?? 0,
    };
    const r = mapBatch(this, opts.del ? BpfCmd.MapLookupAndDeleteBatch : BpfCmd.MapLookupBatch, a);
    if (r < 0 && r !== -Errno.ENOENT) throw new BpfError(-r, "BPF_MAP_LOOKUP_BATCH");
    return {
      keys: a.keys!.subarray(0, a.count * info.keySize), values: a.values!.subarray(0, a.count * vs),
      count: a.count, outBatch: a.outBatch!, done: r === -Errno.ENOENT,
    };
  }

  /** BPF_MAP_UPDATE_BATCH of `count` packed keys and values → elements updated (throws on the first failure). */
  mapUpdateBatch(fd: number, keys: Uint8Array, values: Uint8Array, count: number, elemFlags = 0): number {
    const a: MapBatchAttr = { mapFd: fd, keys, values, count, elemFlags };
    must(mapBatch(this, BpfCmd.MapUpdateBatch, a), `BPF_MAP_UPDATE_BATCH (after ${a.count})`);
    return a.count;
  }

  /** BPF_MAP_DELETE_BATCH → elements deleted. */
  mapDeleteBatch(fd: number, keys: Uint8Array, count: number): number {
    const a: MapBatchAttr = { mapFd: fd, keys, count };
    must(mapBatch(this, BpfCmd.MapDeleteBatch, a), `BPF_MAP_DELETE_BATCH (after ${a.count})`);
    return a.count;
  }

  /**
   * mmap(2) of a BPF_F_MMAPABLE map: a view straight onto the map's values
   * in the arena (no copy). A writable mapping keeps the map from being
   * frozen (EBUSY) until `unmap`; a frozen map cannot be mapped writable
   * (EPERM), nor a BPF_F_RDONLY_PROG one (EACCES), nor through a read-only fd (EACCES).
   */
  mapMmap(fd: number, opts: { write?: boolean } = {}): { view: Uint8Array; unmap(): void } {
    const h = mapGet(this, fd);
    if (typeof h === "number") throw new BpfError(-h, `mmap fd ${fd}`);
    const held = this.fds.held;
    try {
      if (!h.ops.mmapRegion || h.hdr.spinLockOff >= 0) throw new BpfError(Errno.ENOTSUPP, "mmap: map type cannot be mapped");
      const write = opts.write ?? false;
      if (write && !(this.fds.fmode & FMODE_CAN_WRITE)) throw new BpfError(Errno.EACCES, "mmap: fd is read-only");
      const r = h.ops.mmapRegion(h.hdr);
      if (typeof r === "number") throw new BpfError(-r, "mmap");
      const arena = this.kernel.arena;
      const w = h.hdr.word(M_WRITE_ACTIVE);
      if (write) {
        spinLock(arena.i32, h.hdr.word(M_FREEZE_LOCK) * 4);
        const frozen = h.hdr.frozen;
        if (!frozen && !(h.hdr.flags & BPF_F_RDONLY_PROG)) Atomics.add(arena.u32, w, 1);
        spinUnlock(arena.i32, h.hdr.word(M_FREEZE_LOCK) * 4);
        if (frozen) throw new BpfError(Errno.EPERM, "mmap: map is frozen");
        if (h.hdr.flags & BPF_F_RDONLY_PROG) throw new BpfError(Errno.EACCES, "mmap: map is BPF_F_RDONLY_PROG");
      }
      // The mapping holds the map, as a vma holds its file.
      this.kernel.objects.get(h.hdr.slot);
      let mapped = true;
      const slot = h.hdr.slot;
      return {
        view: new Uint8Array(arena.memory.buffer, r.off, r.bytes),
        unmap: () => {
          if (!mapped) return;
          mapped = false;
          if (write) Atomics.sub(arena.u32, w, 1);
          this.kernel.objects.put(slot);
        },
      };
    } finally {
      mapPut(this, h, held);
    }
  }

  /** BPF_MAP_FREEZE. */
  mapFreeze(fd: number): void {
    must(this.bpf(BpfCmd.MapFreeze, { mapFd: fd }), "BPF_MAP_FREEZE");
  }

  /** BPF_OBJ_PIN. */
  objPin(fd: number, path: string): void {
    must(this.bpf(BpfCmd.ObjPin, { bpfFd: fd, pathname: path }), `BPF_OBJ_PIN ${path}`);
  }

  /** BPF_OBJ_GET → fd. `fileFlags` may be BPF_F_RDONLY or BPF_F_WRONLY. */
  objGet(path: string, fileFlags = 0): number {
    return must(this.bpf(BpfCmd.ObjGet, { pathname: path, fileFlags }), `BPF_OBJ_GET ${path}`);
  }

  /** unlink(2) of a pinned path. */
  unlink(path: string): void {
    must(this.kernel.bpffs.unlink(path), `unlink ${path}`);
  }

  /** mkdir(2) under /sys/fs/bpf. */
  mkdir(path: string): void {
    must(this.kernel.bpffs.mkdir(path), `mkdir ${path}`);
  }

  /** BPF_MAP_GET_NEXT_ID → id, or undefined after the last. */
  mapGetNextId(startId: number): number | undefined {
    const a = { startId, nextId: 0 };
    const r = this.bpf(BpfCmd.MapGetNextId, a);
    if (r === -Errno.ENOENT) return undefined;
    must(r, "BPF_MAP_GET_NEXT_ID");
    return a.nextId;
  }

  /** BPF_PROG_GET_NEXT_ID → id, or undefined after the last. */
  progGetNextId(startId: number): number | undefined {
    const a = { startId, nextId: 0 };
    const r = this.bpf(BpfCmd.ProgGetNextId, a);
    if (r === -Errno.ENOENT) return undefined;
    must(r, "BPF_PROG_GET_NEXT_ID");
    return a.nextId;
  }

  /** BPF_MAP_GET_FD_BY_ID → fd. */
  mapGetFdById(id: number, openFlags = 0): number {
    return must(this.bpf(BpfCmd.MapGetFdById, { id, openFlags }), `BPF_MAP_GET_FD_BY_ID ${id}`);
  }

  /** BPF_PROG_GET_FD_BY_ID → fd. */
  progGetFdById(id: number): number {
    return must(this.bpf(BpfCmd.ProgGetFdById, { id }), `BPF_PROG_GET_FD_BY_ID ${id}`);
  }

  /** BPF_OBJ_GET_INFO_BY_FD on a map, decoded. */
  mapInfo(fd: number): MapInfo {
    const a = { bpfFd: fd, info: new Uint8Array(BPF_MAP_INFO_SIZE), infoLen: BPF_MAP_INFO_SIZE };
    must(this.bpf(BpfCmd.ObjGetInfoByFd, a), "BPF_OBJ_GET_INFO_BY_FD");
    const dv = new DataView(a.info.buffer);
    const nameEnd = a.info.indexOf(0, 24);
    return {
      type: dv.getUint32(0, true), id: dv.getUint32(4, true), keySize: dv.getUint32(8, true),
      valueSize: dv.getUint32(12, true), maxEntries: dv.getUint32(16, true), mapFlags: dv.getUint32(20, true),
      name: String.fromCharCode(...a.info.subarray(24, nameEnd < 0 || nameEnd > 40 ? 40 : nameEnd)),
      ifindex: dv.getUint32(40, true), btfVmlinuxValueTypeId: dv.getUint32(44, true), btfId: dv.getUint32(64, true),
      btfKeyTypeId: dv.getUint32(68, true), btfValueTypeId: dv.getUint32(72, true), mapExtra: dv.getBigUint64(80, true),
    };
  }
}
