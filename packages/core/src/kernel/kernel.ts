/**
 * The kernel: one per machine, shared by every thread through the arena.
 *
 * `Kernel.create` formats the arena (root block, object table, process
 * table); `Kernel.attach(memory)` rebuilds a `Kernel` over the same arena in
 * another thread. Nothing a second thread needs lives in this object: it
 * holds only per-thread caches (map accessors by header offset, per-kind
 * caches keyed by object slot and generation) and this thread's scratch
 * block for copying user buffers into the arena.
 *
 * Who may call: any thread. Methods that change kernel state are the
 * syscall layer's (process.ts and the *-cmds.ts files).
 */
import { BpfError, Errno } from "../errno.js";
import { Arena, type ArenaOptions } from "../memory/arena.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import type { MapEnv, MapImpl, MapOps } from "../maps/map-ops.js";
import { mapOpsFor } from "../maps/registry.js";
import { STACK_AREA_BYTES } from "../exec/engine.js";
import {
  EXT_SLOTS, KERNEL_MAGIC, M_MAGIC, M_SLOT, MAP_MAGIC, ObjKind, P_STATE, PROC_SLOT_BYTES,
  R_EXT, R_MAGIC, R_NCPUS, R_NEXT_PID, R_PROC_LOCK, R_PROC_SLOTS, R_PROC_TABLE, R_STACKS, rootOff, rootW,
} from "./layout.js";
import { ObjectTable } from "./objects.js";
import { MapHeader } from "./map-header.js";
import { Process, type ProcessOptions } from "./process.js";
import { freeMapObject } from "./map-create.js";
import { Bpffs } from "./bpffs.js";
import "./commands.js";

export interface KernelOptions extends ArenaOptions {
  /** Simulated (possible) CPUs: per-CPU maps have this many slots. */
  ncpus: number;
  /** Same as `size`: arena bytes (default 256 MiB). */
  arenaSize?: number;
  /** Object table capacity (maps + programs + links). Default 4096. */
  maxObjects?: number;
  /** Process table capacity. Default 256. */
  maxProcesses?: number;
}

/** A map as this thread sees it: header view, the type's ops, and this thread's accessors. */
export interface MapHandle {
  readonly hdr: MapHeader;
  readonly ops: MapOps;
  readonly impl: MapImpl;
}

/** Releases an object of a kind other than maps when its last reference goes. */
export type ObjectRelease = (kernel: Kernel, dataOff: number, slot: number) => void;
const releaseHooks: (ObjectRelease | undefined)[] = [];

/** Register what frees a program or link object (called on the thread dropping the last reference). */
export function registerObjectRelease(kind: ObjKind, fn: ObjectRelease): void {
  releaseHooks[kind] = fn;
}

const SCRATCH_BYTES = 64 * 1024;

export class Kernel {
  readonly arena: Arena;
  readonly ncpus: number;
  readonly objects: ObjectTable;
  readonly mapEnv: MapEnv;
  /** The bpffs mount (/sys/fs/bpf) shared by all processes. */
  readonly bpffs: Bpffs;
  private readonly maps = new Map<number, MapHandle>();
  private readonly caches = new Map<string, Map<number, { gen: number; value: unknown }>>();
  private scratchOff = 0;
  private scratchSize = 0;

  private constructor(arena: Arena) {
    this.arena = arena;
    if (Atomics.load(arena.u32, rootW(R_MAGIC)) !== KERNEL_MAGIC) throw new BpfError(Errno.EINVAL, "arena holds no bpfsim kernel");
    this.ncpus = Atomics.load(arena.u32, rootW(R_NCPUS));
    this.objects = new ObjectTable(
      arena,
      (kind, dataOff, slot) => this.releaseObject(kind, dataOff, slot),
      (kind, dataOff) => {
        if (kind !== ObjKind.Map) return;
        const h = this.mapByHeader(dataOff);
        if (h?.ops.releaseUref) h.ops.releaseUref(h.hdr);
      },
    );
    this.mapEnv = { arena, ncpus: this.ncpus };
    this.bpffs = new Bpffs(this);
  }

  /** A new machine kernel with its own arena. */
  static create(opts: KernelOptions): Kernel {
    if (!Number.isInteger(opts.ncpus) || opts.ncpus < 1 || opts.ncpus > 1024) {
      throw new BpfError(Errno.EINVAL, `ncpus ${opts.ncpus} must be an integer in [1, 1024]`);
    }
    const arena = Arena.create({ ...opts, size: opts.size ?? opts.arenaSize });
    const u32 = arena.u32;
    u32[rootW(R_NCPUS)] = opts.ncpus;
    if (ObjectTable.format(arena, opts.maxObjects ?? 4096) < 0) throw new BpfError(Errno.ENOMEM, "arena too small for the object table");
    const procSlots = opts.maxProcesses ?? 256;
    const pt = arena.alloc(procSlots * PROC_SLOT_BYTES, KERNEL_OWNER);
    const stacks = arena.alloc(opts.ncpus * STACK_AREA_BYTES, KERNEL_OWNER);
    if (pt < 0 || stacks < 0) throw new BpfError(Errno.ENOMEM, "arena too small for the kernel tables");
    u32[rootW(R_PROC_TABLE)] = pt;
    u32[rootW(R_PROC_SLOTS)] = procSlots;
    u32[rootW(R_NEXT_PID)] = 1;
    u32[rootW(R_STACKS)] = stacks;
    Atomics.store(u32, rootW(R_MAGIC), KERNEL_MAGIC);
    return new Kernel(arena);
  }

  /** This kernel in another thread, from the memory `create` made. */
  static attach(memory: WebAssembly.Memory): Kernel {
    return new Kernel(Arena.attach(memory));
  }

  get memory(): WebAssembly.Memory {
    return this.arena.memory;
  }

  /** Start of CPU `cpu`'s stack area (STACK_AREA_BYTES). */
  stackBase(cpu: number): number {
    return Atomics.load(this.arena.u32, rootW(R_STACKS)) + cpu * STACK_AREA_BYTES;
  }

  /** A new simulated user-space process, fds 0-2 open, first bpf fd 3. */
  createProcess(opts: ProcessOptions = {}): Process {
    const u32 = this.arena.u32;
    const slots = u32[rootW(R_PROC_SLOTS)]!;
    const tableOff = u32[rootW(R_PROC_TABLE)]!;
    spinLock(this.arena.i32, rootOff(R_PROC_LOCK));
    let slot = -1;
    let pid = 0;
    for (let s = 0; s < slots; s++) {
      if (Atomics.load(u32, ((tableOff + s * PROC_SLOT_BYTES) >>> 2) + P_STATE) === 0) {
        slot = s;
        pid = u32[rootW(R_NEXT_PID)]!;
        u32[rootW(R_NEXT_PID)] = pid + 1;
        Atomics.store(u32, ((tableOff + s * PROC_SLOT_BYTES) >>> 2) + P_STATE, 1);
        break;
      }
    }
    spinUnlock(this.arena.i32, rootOff(R_PROC_LOCK));
    if (slot < 0) throw new BpfError(Errno.EAGAIN, "process table full");
    return Process.init(this, tableOff + slot * PROC_SLOT_BYTES, pid, opts);
  }

  /** This thread's handle on a live process created on any thread. Throws ESRCH. */
  process(pid: number): Process {
    const u32 = this.arena.u32;
    const slots = u32[rootW(R_PROC_SLOTS)]!;
    const tableOff = u32[rootW(R_PROC_TABLE)]!;
    for (let s = 0; s < slots; s++) {
      const off = tableOff + s * PROC_SLOT_BYTES;
      if (Atomics.load(u32, (off >>> 2) + P_STATE) === 1 && Process.pidAt(this, off) === pid) return Process.open(this, off);
    }
    throw new BpfError(Errno.ESRCH, `no process ${pid}`);
  }

  /**
   * Program or syscall context: the map whose header is at `headerOff`, with
   * this thread's cached accessors, or undefined if no map lives there.
   */
  mapByHeader(headerOff: number): MapHandle | undefined {
    const h = this.maps.get(headerOff);
    if (h !== undefined && h.hdr.isCurrent()) return h;
    if (headerOff <= 0 || headerOff + 256 > this.arena.size || (headerOff & 3) !== 0) return undefined;
    if (Atomics.load(this.arena.u32, (headerOff >>> 2) + M_MAGIC) !== MAP_MAGIC) return undefined;
    const hdr = new MapHeader(this.arena, headerOff);
    const ops = mapOpsFor(hdr.type);
    if (ops === undefined) return undefined;
    const fresh: MapHandle = { hdr, ops, impl: ops.open(hdr) };
    this.maps.set(headerOff, fresh);
    return fresh;
  }

  /** The map behind object slot `slot` (the caller holds a reference). */
  mapBySlot(slot: number): MapHandle | undefined {
    if (this.objects.kindOf(slot) !== ObjKind.Map) return undefined;
    const h = this.mapByHeader(this.objects.dataOf(slot));
    return h !== undefined && Atomics.load(this.arena.u32, h.hdr.word(M_SLOT)) === slot ? h : undefined;
  }

  /**
   * A per-thread cache entry for object `slot`, valid for the slot's current
   * generation: `build` runs when there is none (e.g. a compiled program).
   */
  cached<T>(name: string, slot: number, build: () => T): T {
    let c = this.caches.get(name);
    if (c === undefined) this.caches.set(name, (c = new Map()));
    const gen = this.objects.genOf(slot);
    const e = c.get(slot);
    if (e !== undefined && e.gen === gen) return e.value as T;
    const value = build();
    c.set(slot, { gen, value });
    return value;
  }

  /**
   * A root word for another module, claimed by name on first use (same word
   * on every thread). Returns its i32 word index in the arena.
   */
  extRoot(name: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    h = (h >>> 0) || 1;
    for (let i = 0; i < EXT_SLOTS; i++) {
      const w = rootW(R_EXT + 2 * ((h + i) % EXT_SLOTS));
      const prev = Atomics.compareExchange(this.arena.u32, w, 0, h);
      if (prev === 0 || prev === h) return w + 1;
    }
    throw new BpfError(Errno.ENOSPC, "no free kernel root word");
  }

  /**
   * Syscall: this thread's scratch area of at least `bytes`, for copying user
   * buffers into the arena. Valid until the next call on this thread.
   * Returns the offset or -ENOMEM.
   */
  scratch(bytes: number): number {
    if (bytes <= this.scratchSize) return this.scratchOff;
    const size = Math.max(SCRATCH_BYTES, 2 ** Math.ceil(Math.log2(bytes)));
    const off = this.arena.alloc(size, KERNEL_OWNER);
    if (off < 0) return off;
    if (this.scratchOff !== 0) this.arena.free(this.scratchOff);
    this.scratchOff = off;
    this.scratchSize = size;
    return off;
  }

  /** Give this thread's scratch back (thread exit). */
  detach(): void {
    if (this.scratchOff !== 0) this.arena.free(this.scratchOff);
    this.scratchOff = 0;
    this.scratchSize = 0;
    this.maps.clear();
    this.caches.clear();
  }

  private releaseObject(kind: ObjKind, dataOff: number, slot: number): void {
    if (kind === ObjKind.Map) {
      this.maps.delete(dataOff);
      freeMapObject(this, dataOff);
      return;
    }
    const hook = releaseHooks[kind];
    if (hook !== undefined) hook(this, dataOff, slot);
  }
}
