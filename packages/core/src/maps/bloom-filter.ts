/**
 * BPF_MAP_TYPE_BLOOM_FILTER (30) (kernel/bpf/bloom_filter.c): a bit array
 * and k hash functions; push sets k bits of a value, peek answers 0 (maybe
 * present) or -ENOENT (certainly absent). No keys, no element storage.
 *
 * Sizing as Linux: k = map_extra & 0xF (0 means 5); the bit count is
 * max_entries * k * 7 / 5 (about n * k / ln 2) rounded up to a power of two,
 * at least 64, at most 2^32; bit h of value v, for i < k, is
 * jhash2/jhash(v, value_size, seed + i) & (bits - 1), with seed 0 under
 * BPF_F_ZERO_SEED and random otherwise. With a zero seed bpfsim sets the
 * same bits as Linux, false positives included.
 *
 * Layout: the bit array (u32 words, bit h in word h >> 5, bit h & 31:
 * the same bytes as Linux's little-endian unsigned longs). Private words:
 *   p0 bits off   p1 mask (bits - 1)   p2 k   p3 seed
 *
 * Locking: none. Push sets bits with Atomics.or, peek reads words; a peek
 * racing a push of the same value may answer either way, as in Linux.
 *
 * User space: UPDATE pushes (flags BPF_ANY only), LOOKUP tests the value the
 * user passes in (see `sysLookupReadsValue`); delete and get_next_key are
 * EOPNOTSUPP and lookup-and-delete ENOTSUPP, as in Linux.
 *
 * Who may call: push/peek from programs on any CPU (bpf_map_push_elem,
 * bpf_map_peek_elem, via queue-stack.ts's helpers) and syscalls on any thread.
 */
import { Errno } from "../errno.js";
import { M_EXTRA } from "../kernel/layout.js";
import {
  BPF_ANY, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED,
} from "../uapi.js";
import { htabMapHash } from "./hashtab/jhash.js";
import type { MapAttr, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";
import type { PushPopMap } from "./queue-stack.js";

const BLOOM_CREATE_FLAG_MASK =
  BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
const KMALLOC_MAX_SIZE = 4 << 20;

const P_BITS = 0;
const P_MASK = 1;
const P_K = 2;
const P_SEED = 3;

/** bloom_map_alloc()'s sizing: the bit mask and the bytes of the bit array. */
function sizing(maxEntries: number, mapExtra: bigint): { k: number; mask: number; bytes: number } {
  const k = Number(mapExtra & 0xfn) || 5;
  const raw = maxEntries * k;
  const nrBits = raw > 0xffffffff ? Infinity : Math.floor(raw / 5) * 7;
  if (nrBits > 2 ** 31) return { k, mask: 0xffffffff, bytes: 2 ** 29 };
  const bits = nrBits <= 64 ? 64 : 2 ** Math.ceil(Math.log2(nrBits));
  return { k, mask: bits - 1, bytes: bits / 8 };
}

class BloomFilter implements MapImpl, PushPopMap {
  readonly vs: number;
  private readonly u32: Uint32Array;
  private readonly bits: number;
  private readonly mask: number;
  private readonly k: number;
  private readonly seed: number;

  constructor(private readonly m: MapHeaderView) {
    const w = m.privOff >>> 2;
    this.u32 = m.arena.u32;
    this.vs = m.valueSize;
    this.bits = this.u32[w + P_BITS]! >>> 2;
    this.mask = this.u32[w + P_MASK]!;
    this.k = this.u32[w + P_K]!;
    this.seed = this.u32[w + P_SEED]!;
  }

  private hash(valueOff: number, i: number): number {
    return (htabMapHash(this.m.arena.u8, valueOff, this.vs, (this.seed + i) >>> 0) & this.mask) >>> 0;
  }

  /** bloom_map_push_elem(). */
  pushElem(valueOff: number, flags: number): number {
    if (flags !== BPF_ANY) return -Errno.EINVAL;
    for (let i = 0; i < this.k; i++) {
      const h = this.hash(valueOff, i);
      Atomics.or(this.u32, this.bits + (h >>> 5), (1 << (h & 31)) >>> 0);
    }
    return 0;
  }

  /** bloom_map_peek_elem(): 0 if every bit is set, else -ENOENT. */
  peekElem(valueOff: number): number {
    for (let i = 0; i < this.k; i++) {
      const h = this.hash(valueOff, i);
      if (((Atomics.load(this.u32, this.bits + (h >>> 5)) >>> (h & 31)) & 1) === 0) return -Errno.ENOENT;
    }
    return 0;
  }

  /** Syscall LOOKUP: the membership test of the value the user passed (already copied to `valueOff`). */
  sysLookupElem(_keyOff: number, valueOff: number): number {
    return this.peekElem(valueOff);
  }

  /** Syscall UPDATE: push. */
  sysUpdateElem(_keyOff: number, valueOff: number, flags: number): number {
    return this.pushElem(valueOff, flags);
  }

  /** Programs cannot look into a bloom filter. */
  lookupElem(): number {
    return 0;
  }

  deleteElem(): number {
    return -Errno.EOPNOTSUPP;
  }

  getNextKey(): number {
    return -Errno.EOPNOTSUPP;
  }
}

function bloomAllocCheck(attr: MapAttr): number {
  const f = attr.mapFlags;
  if (attr.valueSize > KMALLOC_MAX_SIZE) return -Errno.E2BIG;
  if (attr.keySize !== 0 || attr.valueSize === 0 || attr.maxEntries === 0 || (f & ~BLOOM_CREATE_FLAG_MASK) !== 0 ||
    (f & BPF_F_RDONLY_PROG && f & BPF_F_WRONLY_PROG) || ((attr.mapExtra ?? 0n) & ~0xfn) !== 0n) {
    return -Errno.EINVAL;
  }
  return 0;
}

export const bloomFilterMapOps: MapOps = {
  allocCheck: (attr) => bloomAllocCheck(attr),
  memUsage: (attr: MapAttr) => 256 + sizing(attr.maxEntries, attr.mapExtra ?? 0n).bytes,
  alloc(m: MapHeaderView, owner: number): number {
    const mapExtra = m.arena.u64[(m.headerOff >>> 3) + M_EXTRA / 2]!;
    const s = sizing(m.maxEntries, mapExtra);
    if (s.bytes > m.arena.size) return -Errno.ENOMEM;
    const off = m.arena.alloc(s.bytes, owner);
    if (off < 0) return off;
    m.arena.u8.fill(0, off, off + s.bytes);
    const w = m.privOff >>> 2;
    m.arena.u32[w + P_BITS] = off;
    m.arena.u32[w + P_MASK] = s.mask;
    m.arena.u32[w + P_K] = s.k;
    m.arena.u32[w + P_SEED] = m.flags & BPF_F_ZERO_SEED ? 0 : (Math.random() * 0x100000000) >>> 0;
    return 0;
  },
  free(m: MapHeaderView): void {
    m.arena.free(m.arena.u32[(m.privOff >>> 2) + P_BITS]!);
  },
  open: (m) => new BloomFilter(m),
  sysLookupReadsValue: true,
};
