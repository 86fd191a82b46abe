/**
 * BPF_MAP_TYPE_QUEUE (22) and BPF_MAP_TYPE_STACK (23)
 * (kernel/bpf/queue_stack_maps.c): keyless maps of values, FIFO or LIFO.
 * The two share everything but pop and peek, as in Linux.
 *
 * Layout: a circular array of size = max_entries + 1 slots of value_size
 * bytes (one slot stays free so that head == tail means empty).
 * Private words:
 *
 *   p0 lock i32   p1 head (next slot to write)   p2 tail (oldest element)
 *   p3 elements off   p4 size (slots)
 *
 *   push:        elements[head] = value; head = (head + 1) % size
 *   queue pop:   value = elements[tail]; tail = (tail + 1) % size
 *   stack pop:   head = (head - 1) mod size; value = elements[head]
 *   full:        (head + 1) % size == tail; BPF_EXIST then drops the oldest
 *                (tail advances), otherwise E2BIG
 *
 * Locking: every operation, reads included, copies under the map's one
 * spin lock (Linux's qs->lock): values are copied in and out, never handed
 * out by pointer, so there is nothing to reclaim.
 *
 * User space: LOOKUP is peek, UPDATE is push (flags BPF_ANY or BPF_EXIST),
 * LOOKUP_AND_DELETE is pop; DELETE and GET_NEXT_KEY are EINVAL. Programs use
 * bpf_map_push_elem (87), bpf_map_pop_elem (88), bpf_map_peek_elem (89),
 * registered here (they serve the bloom filter too, through `PushPopMap`);
 * bpf_map_lookup_elem gives NULL.
 *
 * Who may call: every routine from a program on any CPU or a syscall on any
 * thread.
 */
import type { HelperImpl } from "../exec/engine.js";
import { ProgramFault } from "../exec/engine.js";
import { Errno } from "../errno.js";
import { HelperId } from "../helpers/func-protos.js";
import { err, helperEnv, needMem } from "../helpers/helper-env.js";
import { registerHelperImpl } from "../helpers/helper-table.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import {
  BPF_EXIST, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_NOEXIST,
} from "../uapi.js";
import type { MapAttr, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";

const QUEUE_STACK_CREATE_FLAG_MASK =
  BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
/** KMALLOC_MAX_SIZE on x86-64. */
const KMALLOC_MAX_SIZE = 4 << 20;

const P_LOCK = 0;
const P_HEAD = 1;
const P_TAIL = 2;
const P_ELEMS = 3;
const P_SIZE = 4;

class QueueStack implements MapImpl, PushPopMap {
  private readonly u32: Uint32Array;
  private readonly w: number;
  readonly vs: number;
  private readonly elems: number;
  private readonly size: number;
  private readonly lockOff: number;

  constructor(private readonly m: MapHeaderView, private readonly stack: boolean) {
    this.u32 = m.arena.u32;
    this.w = m.privOff >>> 2;
    this.vs = m.valueSize;
    this.elems = this.u32[this.w + P_ELEMS]!;
    this.size = this.u32[this.w + P_SIZE]!;
    this.lockOff = (this.w + P_LOCK) << 2;
  }

  /** queue_stack_map_push_elem(): 0, -EINVAL (flags), -E2BIG (full without BPF_EXIST). */
  pushElem(valueOff: number, flags: number): number {
    if (flags & BPF_NOEXIST || flags >>> 0 > BPF_EXIST) return -Errno.EINVAL;
    const { u32, w } = this;
    spinLock(this.m.arena.i32, this.lockOff);
    try {
      let head = u32[w + P_HEAD]!;
      let tail = u32[w + P_TAIL]!;
      if ((head + 1) % this.size === tail) {
        if (!(flags & BPF_EXIST)) return -Errno.E2BIG;
        tail = (tail + 1) % this.size;
        u32[w + P_TAIL] = tail;
      }
      const dst = this.elems + head * this.vs;
      this.m.arena.u8.copyWithin(dst, valueOff, valueOff + this.vs);
      head = (head + 1) % this.size;
      u32[w + P_HEAD] = head;
      return 0;
    } finally {
      spinUnlock(this.m.arena.i32, this.lockOff);
    }
  }

  /** __queue_map_get() / __stack_map_get(): copy the next value out (and remove it). 0 or -ENOENT (value zeroed). */
  get(outOff: number, remove: boolean): number {
    const { u32, w } = this;
    const u8 = this.m.arena.u8;
    spinLock(this.m.arena.i32, this.lockOff);
    try {
      const head = u32[w + P_HEAD]!;
      const tail = u32[w + P_TAIL]!;
      if (head === tail) {
        u8.fill(0, outOff, outOff + this.vs);
        return -Errno.ENOENT;
      }
      const index = this.stack ? (head === 0 ? this.size - 1 : head - 1) : tail;
      const src = this.elems + index * this.vs;
      u8.copyWithin(outOff, src, src + this.vs);
      if (remove) {
        if (this.stack) u32[w + P_HEAD] = index;
        else u32[w + P_TAIL] = (tail + 1) % this.size;
      }
      return 0;
    } finally {
      spinUnlock(this.m.arena.i32, this.lockOff);
    }
  }

  /** bpf_map_pop_elem. */
  popElem(outOff: number): number {
    return this.get(outOff, true);
  }

  /** bpf_map_peek_elem. */
  peekElem(outOff: number): number {
    return this.get(outOff, false);
  }

  /** Programs cannot look into a queue or stack (NULL). */
  lookupElem(): number {
    return 0;
  }

  /** Syscall LOOKUP: peek. */
  sysLookupElem(_keyOff: number, outOff: number): number {
    return this.get(outOff, false);
  }

  /** Syscall UPDATE: push. */
  sysUpdateElem(_keyOff: number, valueOff: number, flags: number): number {
    return this.pushElem(valueOff, flags);
  }

  /** Syscall LOOKUP_AND_DELETE: pop (flags must be 0). */
  sysLookupAndDeleteElem(_keyOff: number, outOff: number, flags: number): number {
    if (flags !== 0) return -Errno.EINVAL;
    return this.get(outOff, true);
  }

  deleteElem(): number {
    return -Errno.EINVAL;
  }

  getNextKey(): number {
    return -Errno.EINVAL;
  }

  count(): number {
    const head = this.u32[this.w + P_HEAD]!;
    const tail = this.u32[this.w + P_TAIL]!;
    return (head - tail + this.size) % this.size;
  }
}

/** queue_stack_map_alloc_check(). */
function queueStackAllocCheck(attr: MapAttr): number {
  const f = attr.mapFlags;
  if (attr.maxEntries === 0 || attr.keySize !== 0 || attr.valueSize === 0 || (f & ~QUEUE_STACK_CREATE_FLAG_MASK) !== 0 ||
    (f & BPF_F_RDONLY_PROG && f & BPF_F_WRONLY_PROG)) {
    return -Errno.EINVAL;
  }
  if (attr.valueSize > KMALLOC_MAX_SIZE) return -Errno.E2BIG;
  return 0;
}

function makeOps(stack: boolean): MapOps {
  return {
    allocCheck: (attr) => queueStackAllocCheck(attr),
    memUsage: (attr: MapAttr) => 256 + (attr.maxEntries + 1) * attr.valueSize,
    alloc(m: MapHeaderView, owner: number): number {
      const size = m.maxEntries + 1;
      const bytes = size * m.valueSize;
      if (bytes > m.arena.size) return -Errno.ENOMEM;
      const off = m.arena.alloc(bytes, owner);
      if (off < 0) return off;
      const w = m.privOff >>> 2;
      m.arena.u32.fill(0, w, w + 5);
      m.arena.u32[w + P_ELEMS] = off;
      m.arena.u32[w + P_SIZE] = size;
      return 0;
    },
    free(m: MapHeaderView): void {
      m.arena.free(m.arena.u32[(m.privOff >>> 2) + P_ELEMS]!);
    },
    open: (m) => new QueueStack(m, stack),
  };
}

export const queueMapOps = makeOps(false);
export const stackMapOps = makeOps(true);

// ---- helpers (program on a CPU) ------------------------------------------------

/** The element operations of keyless maps (queue, stack; bloom filter: push and peek). */
export interface PushPopMap {
  readonly vs: number;
  pushElem(valueOff: number, flags: number): number;
  popElem?(outOff: number): number;
  peekElem(valueOff: number): number;
}

function pushPopArg(cpu: Parameters<HelperImpl>[0], r1: bigint, what: string): PushPopMap {
  const m = helperEnv(cpu).mapAt(Number(BigInt.asUintN(64, r1)));
  const impl = m?.impl as Partial<PushPopMap> | undefined;
  if (!impl || typeof impl.pushElem !== "function") throw new ProgramFault(-1, `${what}: r1 is not a queue, stack or bloom filter map`);
  return impl as PushPopMap;
}

const ret = (v: number): bigint => (v < 0 ? err(-v) : BigInt(v));

/** bpf_map_push_elem(map, value, flags). */
export const mapPushElem: HelperImpl = (cpu, r1, r2, r3) => {
  const q = pushPopArg(cpu, r1, "bpf_map_push_elem");
  const v = needMem(cpu.arena, r2, q.vs, "bpf_map_push_elem value");
  if (r3 > 0xffffffffn) return err(Errno.EINVAL);
  return ret(q.pushElem(v, Number(r3)));
};

/** bpf_map_pop_elem(map, value). */
export const mapPopElem: HelperImpl = (cpu, r1, r2) => {
  const q = pushPopArg(cpu, r1, "bpf_map_pop_elem");
  if (!q.popElem) return err(Errno.EOPNOTSUPP);
  return ret(q.popElem(needMem(cpu.arena, r2, q.vs, "bpf_map_pop_elem value")));
};

/** bpf_map_peek_elem(map, value). */
export const mapPeekElem: HelperImpl = (cpu, r1, r2) => {
  const q = pushPopArg(cpu, r1, "bpf_map_peek_elem");
  return ret(q.peekElem(needMem(cpu.arena, r2, q.vs, "bpf_map_peek_elem value")));
};

registerHelperImpl(HelperId.map_push_elem, mapPushElem);
registerHelperImpl(HelperId.map_pop_elem, mapPopElem);
registerHelperImpl(HelperId.map_peek_elem, mapPeekElem);
