/**
 * BPF_MAP_TYPE_LPM_TRIE (11): longest-prefix match (kernel/bpf/lpm_trie.c).
 *
 * Keys are `struct bpf_lpm_trie_key_u8 { u32 prefixlen; u8 data[]; }`, data
 * in network order, compared bit by bit from the most significant bit of
 * data[0]. The trie is a binary, path-compressed Patricia tree: a node may
 * skip bits, and an intermediate node (IM) exists only to hold two children
 * whose prefixes diverge. Example with 8-bit data:
 *
 *   insert 192.168.0.0/16 (value 1), 192.168.0.0/24 (2), 192.168.1.0/24 (3),
 *   192.168.128.0/24 (4):
 *
 *                        +----------------+
 *                        | 192.168.0.0/16 |  (1)
 *                        +----------------+
 *                      bit 16 = 0 |      \ bit 16 = 1
 *                   +---------------+   +------------------+
 *                   | 192.168.0.0/23|   | 192.168.128.0/24 |  (4)
 *                   |   (IM node)   |   +------------------+
 *                   +---------------+
 *           bit 23 = 0 /         \ bit 23 = 1
 *       +----------------+   +----------------+
 *       | 192.168.0.0/24 |   | 192.168.1.0/24 |
 *       +----------------+   +----------------+
 *              (2)                  (3)
 *
 *   lookup 192.168.1.1/32 walks /16 (candidate), IM /23, /24 (match) -> 3;
 *   lookup 192.168.2.1/32 fails below /16 and returns 1.
 *   get_next_key walks in postorder: 0.0/24, 1.0/24, 128.0/24, 0.0/16.
 *
 * Node layout: lpm-trie-nodes.ts (with the read-only walks and get_next_key).
 *
 * Private words: p0 trie lock, p1 root, p2 n_entries, p3 owner,
 * p4/p5/p6 free list head, tail, length.
 *
 * Locking: program and syscall lookups take no lock; they follow child
 * words with plain, address-dependent loads (rcu_dereference; see
 * LpmNodes.child). Updates and deletes run under the one trie lock
 * (Linux too has one spinlock per trie). A new node is filled completely
 * before the single Atomics.store that links it, so a reader sees the old
 * subtree or the new one. An update of an existing prefix writes a new node
 * and swaps it in, so a reader never sees a half-written value.
 *
 * Reclamation (the RCU grace period of Linux, approximated): nodes are
 * type-stable. A removed node goes to the tail of this map's FIFO free list
 * with the time it was removed, and is reused only when more than
 * REUSE_DELAY nodes wait behind it and GRACE_MS have passed; until then new
 * nodes come from the arena. Linux waits until every CPU has left the
 * programs that might hold a pointer; bpfsim has no such CPU hook, so a
 * reader that stalls (thread descheduled, stepped CPU not scheduled) for
 * longer than GRACE_MS after its lookup can see the node reused. Even then
 * it stays inside this map's nodes, and the walk is bounded by
 * max_prefixlen + 1 steps, so it always ends. Nodes go back to the arena
 * only when the map is freed.
 *
 * Context: lookupElem from programs on any CPU (and syscall); updateElem and
 * deleteElem from programs or syscall; getNextKey from syscall.
 */
import { Errno } from "../errno.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import {
  BPF_EXIST, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG,
  BPF_NOEXIST,
} from "../uapi.js";
import {
  LpmNodes, NODE_IM, N_CHILD0, N_DATA, N_FLAGS, N_FREED_AT, N_LINK, N_PREFIXLEN, P_COUNT, P_FREE_HEAD, P_FREE_LEN, P_FREE_TAIL,
  P_LOCK, P_OWNER, P_ROOT,
} from "./lpm-trie-nodes.js";
import type { MapAttr, MapHeaderView, MapImpl, MapOps } from "./map-ops.js";

/** LPM_DATA_SIZE_MAX: 256 bytes of data (2048-bit prefixes). */
export const LPM_DATA_SIZE_MAX = 256;
/** LPM_VAL_SIZE_MAX on Linux 6.18 x86-64 (KMALLOC_MAX_SIZE - 256 - sizeof(struct lpm_trie_node)), probed. */
export const LPM_VAL_SIZE_MAX = 4194024;
const LPM_CREATE_FLAG_MASK =
  BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;


/** Removed nodes queued before the oldest one may be reused. */
const REUSE_DELAY = 256;
/** And the time (ms) it must have been removed for: the stand-in for an RCU grace period. */
const GRACE_MS = 100;

class LpmTrie extends LpmNodes implements MapImpl {
  // ---- lookup: program or syscall, no lock -------------------------------------

  /** trie_lookup_elem(): the value of the longest stored prefix of the key, or 0. */
  lookupElem(keyOff: number): number {
    const keyPlen = this.keyPrefixlen(keyOff);
    if (keyPlen > this.maxPrefixlen) return 0;
    if (this.dataSize === 4) return this.lookup4(keyOff, keyPlen);
    let found = 0;
    let node = Atomics.load(this.u32, this.w + P_ROOT);
    // Each step of a consistent trie lengthens the prefix; the bound only
    // matters for a reader racing with node reuse.
    for (let steps = 0; node !== 0 && steps <= this.maxPrefixlen; steps++) {
      const ml = this.matchLen(node, keyOff, keyPlen);
      const np = this.plen(node);
      if (ml === this.maxPrefixlen) {
        found = node;
        break;
      }
      if (ml < np) break;
      if (!this.isIm(node)) found = node;
      if (np >= this.maxPrefixlen) break;
      node = this.child(node, this.bit(keyOff + 4, np));
    }
    return found === 0 ? 0 : found + this.valOff;
  }

  /**
   * lookupElem for 4-byte data (IPv4 prefixes), the same walk on words: the
   * key's bits are read once as a big-endian u32, each node's as another, so
   * longest_prefix_match() is one clz32 and extract_bit() a shift.
   */
  private lookup4(keyOff: number, keyPlen: number): number {
    const u8 = this.u8;
    const u32 = this.u32;
    const k = keyOff + 4;
    const key = (u8[k]! << 24) | (u8[k + 1]! << 16) | (u8[k + 2]! << 8) | u8[k + 3]!;
    let found = 0;
    let node = Atomics.load(u32, this.w + P_ROOT);
    for (let steps = 0; node !== 0 && steps <= 32; steps++) {
      const nw = node >>> 2;
      const np = u32[nw + (N_PREFIXLEN >>> 2)]!;
      // Node data is 8-aligned: one word load, swapped to big-endian.
      const x = u32[nw + (N_DATA >>> 2)]!;
      const data = (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
      const ml = Math.min(Math.clz32(data ^ key), np, keyPlen);
      if (ml === 32) {
        found = node;
        break;
      }
      if (ml < np) break;
      if ((u32[nw + (N_FLAGS >>> 2)]! & NODE_IM) === 0) found = node;
      if (np >= 32) break;
      // A plain load, as LpmNodes.child explains.
      node = u32[nw + (N_CHILD0 >>> 2) + ((key >>> (31 - np)) & 1)]!;
    }
    return found === 0 ? 0 : found + this.valOff;
  }

  // ---- writers: program or syscall, under the trie lock ---------------------

  private lock(): void {
    spinLock(this.i32, (this.w + P_LOCK) << 2);
  }

  private unlock(): void {
    spinUnlock(this.i32, (this.w + P_LOCK) << 2);
  }

  /** A node from the free list (if enough are queued) or the arena. 0 when out of memory. Lock held. */
  private allocNode(): number {
    const u32 = this.u32;
    const w = this.w;
    let n = 0;
    const head = u32[w + P_FREE_HEAD]!;
    if (u32[w + P_FREE_LEN]! > REUSE_DELAY && ((Date.now() >>> 0) - u32[(head + N_FREED_AT) >>> 2]!) >>> 0 >= GRACE_MS) {
      n = head;
      u32[w + P_FREE_HEAD] = u32[(n + N_LINK) >>> 2]!;
      if (u32[w + P_FREE_HEAD] === 0) u32[w + P_FREE_TAIL] = 0;
      u32[w + P_FREE_LEN]!--;
    } else {
      const off = this.m.arena.alloc(this.nodeSize, u32[w + P_OWNER]!);
      if (off < 0) return 0;
      n = off;
    }
    return n;
  }

  /**
   * Queue a removed node for late reuse. Lock held. Its child words are
   * left as they were, so a reader standing on it can still walk on.
   */
  private freeNode(n: number): void {
    const u32 = this.u32;
    const w = this.w;
    u32[(n + N_LINK) >>> 2] = 0;
    u32[(n + N_FREED_AT) >>> 2] = Date.now() >>> 0;
    const tail = u32[w + P_FREE_TAIL]!;
    if (tail === 0) u32[w + P_FREE_HEAD] = n;
    else u32[(tail + N_LINK) >>> 2] = n;
    u32[w + P_FREE_TAIL] = n;
    u32[w + P_FREE_LEN]!++;
  }

  /** Fill a fresh node; unlinked, so plain stores. */
  private initNode(n: number, plen: number, flags: number, dataOff: number, valueOff: number): void {
    const u32 = this.u32;
    u32[(n + N_CHILD0) >>> 2] = 0;
    u32[((n + N_CHILD0) >>> 2) + 1] = 0;
    u32[(n + N_PREFIXLEN) >>> 2] = plen;
    u32[(n + N_FLAGS) >>> 2] = flags;
    this.u8.copyWithin(n + N_DATA, dataOff, dataOff + this.dataSize);
    if (valueOff !== 0) this.u8.copyWithin(n + this.valOff, valueOff, valueOff + this.m.valueSize);
  }

  /** trie_check_add_elem(): ENOENT for BPF_EXIST, ENOSPC when full; else counts the element. */
  private checkAdd(flags: number): number {
    if (flags === BPF_EXIST) return -Errno.ENOENT;
    const c = this.w + P_COUNT;
    if (this.u32[c]! >= this.m.maxEntries) return -Errno.ENOSPC;
    Atomics.add(this.u32, c, 1);
    return 0;
  }

  /** trie_update_elem(). 0 or -errno; a failure changes nothing. */
  updateElem(keyOff: number, valueOff: number, flags: number): number {
    if (flags >>> 0 > BPF_EXIST) return -Errno.EINVAL;
    const keyPlen = this.keyPrefixlen(keyOff);
    if (keyPlen > this.maxPrefixlen) return -Errno.EINVAL;
    this.lock();
    try {
      return this.updateLocked(keyOff, keyPlen, valueOff, flags);
    } finally {
      this.unlock();
    }
  }

  private updateLocked(keyOff: number, keyPlen: number, valueOff: number, flags: number): number {
    const u32 = this.u32;
    const kdata = keyOff + 4;
    // Find the slot (a root or child word) where the key belongs.
    let slotW = this.w + P_ROOT;
    let node = u32[slotW]!;
    let ml = 0;
    while (node !== 0) {
      ml = this.matchLen(node, keyOff, keyPlen);
      const np = this.plen(node);
      if (np !== ml || np === keyPlen) break;
      slotW = ((node + N_CHILD0) >>> 2) + this.bit(kdata, np);
      node = u32[slotW]!;
    }
    const fresh = this.allocNode();
    if (fresh === 0) return -Errno.ENOMEM;
    this.initNode(fresh, keyPlen, 0, kdata, valueOff);
    const fail = (e: number): number => {
      this.freeNode(fresh);
      return e;
    };
    if (node === 0) {
      const e = this.checkAdd(flags);
      if (e) return fail(e);
      Atomics.store(u32, slotW, fresh);
      return 0;
    }
    if (this.plen(node) === ml) {
      // Same prefix: replace the node (a value) or fill an intermediate one.
      if (!this.isIm(node)) {
        if (flags === BPF_NOEXIST) return fail(-Errno.EEXIST);
      } else {
        const e = this.checkAdd(flags);
        if (e) return fail(e);
      }
      u32[(fresh + N_CHILD0) >>> 2] = this.child(node, 0);
      u32[((fresh + N_CHILD0) >>> 2) + 1] = this.child(node, 1);
      Atomics.store(u32, slotW, fresh);
      this.freeNode(node);
      return 0;
    }
    const e = this.checkAdd(flags);
    if (e) return fail(e);
    if (ml === keyPlen) {
      // The new prefix contains the node's: insert it as the node's parent.
      u32[((fresh + N_CHILD0) >>> 2) + this.bit(node + N_DATA, ml)] = node;
      Atomics.store(u32, slotW, fresh);
      return 0;
    }
    // The prefixes diverge at bit `ml`: an intermediate node holds both.
    const im = this.allocNode();
    if (im === 0) {
      Atomics.sub(u32, this.w + P_COUNT, 1);
      return fail(-Errno.ENOMEM);
    }
    this.initNode(im, ml, NODE_IM, node + N_DATA, 0);
    const newBit = this.bit(kdata, ml);
    u32[((im + N_CHILD0) >>> 2) + newBit] = fresh;
    u32[((im + N_CHILD0) >>> 2) + (newBit ^ 1)] = node;
    Atomics.store(u32, slotW, im);
    return 0;
  }

  /** trie_delete_elem(). 0, -ENOENT, -EINVAL. */
  deleteElem(keyOff: number): number {
    const keyPlen = this.keyPrefixlen(keyOff);
    if (keyPlen > this.maxPrefixlen) return -Errno.EINVAL;
    this.lock();
    try {
      return this.deleteLocked(keyOff, keyPlen);
    } finally {
      this.unlock();
    }
  }

  private deleteLocked(keyOff: number, keyPlen: number): number {
    const u32 = this.u32;
    let trimW = this.w + P_ROOT;
    let trim2W = trimW;
    let parent = 0;
    let node = u32[trimW]!;
    let ml = 0;
    while (node !== 0) {
      ml = this.matchLen(node, keyOff, keyPlen);
      const np = this.plen(node);
      if (np !== ml || np === keyPlen) break;
      parent = node;
      trim2W = trimW;
      trimW = ((node + N_CHILD0) >>> 2) + this.bit(keyOff + 4, np);
      node = u32[trimW]!;
    }
    if (node === 0 || this.plen(node) !== keyPlen || this.plen(node) !== ml || this.isIm(node)) return -Errno.ENOENT;
    Atomics.sub(u32, this.w + P_COUNT, 1);
    const c0 = this.child(node, 0);
    const c1 = this.child(node, 1);
    if (c0 !== 0 && c1 !== 0) {
      // Two children: the node stays as an intermediate one.
      Atomics.or(u32, (node + N_FLAGS) >>> 2, NODE_IM);
      return 0;
    }
    if (parent !== 0 && this.isIm(parent) && c0 === 0 && c1 === 0) {
      // A leaf under an intermediate node: promote its sibling, drop both.
      const sibling = this.child(parent, this.child(parent, 0) === node ? 1 : 0);
      Atomics.store(u32, trim2W, sibling);
      this.freeNode(parent);
      this.freeNode(node);
      return 0;
    }
    Atomics.store(u32, trimW, c0 !== 0 ? c0 : c1);
    this.freeNode(node);
    return 0;
  }

  /** Lookup-and-delete is not an LPM operation (ENOTSUPP, as Linux). */
  sysLookupAndDeleteElem(): number {
    return -Errno.ENOTSUPP;
  }
}


/** trie_alloc()'s attribute checks: all EINVAL. */
function lpmAllocCheck(attr: MapAttr): number {
  const f = attr.mapFlags;
  if (attr.maxEntries === 0 || !(f & BPF_F_NO_PREALLOC) || (f & ~LPM_CREATE_FLAG_MASK) !== 0 ||
    (f & BPF_F_RDONLY_PROG && f & BPF_F_WRONLY_PROG) || attr.keySize < 5 || attr.keySize > 4 + LPM_DATA_SIZE_MAX ||
    attr.valueSize < 1 || attr.valueSize > LPM_VAL_SIZE_MAX) {
    return -Errno.EINVAL;
  }
  return 0;
}

export const lpmTrieMapOps: MapOps = {
  allocCheck: (attr) => lpmAllocCheck(attr),
  /** The trie header; nodes are charged to the owner as they are allocated (Linux counts them dynamically). */
  memUsage: () => 256,
  alloc(m: MapHeaderView, owner: number): number {
    const w = m.privOff >>> 2;
    m.arena.u32.fill(0, w, w + 8);
    m.arena.u32[w + P_OWNER] = owner;
    return 0;
  },
  free(m: MapHeaderView): void {
    const t = new LpmTrie(m);
    for (const n of t.allNodes()) m.arena.free(n);
    const w = m.privOff >>> 2;
    m.arena.u32.fill(0, w, w + 8);
  },
  open: (m) => new LpmTrie(m),
  // generic_map_{lookup,update,delete}_batch, as trie_map_ops lists them.
  batchOps: { lookup: true, update: true, delete: true },
};
