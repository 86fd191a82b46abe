/**
 * The LPM trie's node layout and its read-only walks: bit helpers, prefix
 * matching and get_next_key's postorder iteration. The design, the drawn
 * example, the locking and the reclamation rules are in lpm-trie.ts, which
 * builds lookups and the writers on this class.
 *
 * Node layout in the arena (one size per map, 8-aligned):
 *
 *   +0  child[0]   u32  node offset or 0
 *   +4  child[1]   u32
 *   +8  prefixlen  u32
 *   +12 flags      u32  NODE_IM = 1: intermediate, holds no value
 *   +16 link       u32  next node on the free list (removed nodes only)
 *   +20 freed at   u32  Date.now() & 0xffffffff when it was removed (ms)
 *   +24 data[dataSize]  the key's data as the user gave it
 *   +24+roundUp8(dataSize) value[valueSize]
 *
 * Who may call: the bit helpers from any context; the iteration from
 * syscalls (lock-free, like Linux's RCU walk).
 */
import { Errno } from "../errno.js";
import { roundUp8, type MapHeaderView } from "./map-ops.js";

export const N_CHILD0 = 0;
export const N_PREFIXLEN = 8;
export const N_FLAGS = 12;
export const N_LINK = 16;
export const N_FREED_AT = 20;
export const N_DATA = 24;
export const NODE_IM = 1;

export const P_LOCK = 0;
export const P_ROOT = 1;
export const P_COUNT = 2;
export const P_OWNER = 3;
export const P_FREE_HEAD = 4;
export const P_FREE_TAIL = 5;
export const P_FREE_LEN = 6;

/** The trie's nodes as one thread sees them. */
export class LpmNodes {
  protected readonly u8: Uint8Array;
  protected readonly u32: Uint32Array;
  protected readonly i32: Int32Array;
  protected readonly w: number;
  protected readonly dataSize: number;
  protected readonly maxPrefixlen: number;
  protected readonly valOff: number;
  protected readonly nodeSize: number;

  constructor(protected readonly m: MapHeaderView) {
    this.u8 = m.arena.u8;
    this.u32 = m.arena.u32;
    this.i32 = m.arena.i32;
    this.w = m.privOff >>> 2;
    this.dataSize = m.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
    this.valOff = N_DATA + roundUp8(this.dataSize);
    this.nodeSize = this.valOff + roundUp8(m.valueSize);
  }

  // ---- bit helpers (any context) ---------------------------------------------

  /** The key's prefixlen (u32, little-endian; a program's key may be unaligned). */
  protected keyPrefixlen(keyOff: number): number {
    if ((keyOff & 3) === 0) return this.u32[keyOff >>> 2]!;
    const u8 = this.u8;
    return (u8[keyOff]! | (u8[keyOff + 1]! << 8) | (u8[keyOff + 2]! << 16) | (u8[keyOff + 3]! << 24)) >>> 0;
  }

  /** extract_bit(): bit `i` of the data at `dataOff`, MSB first. */
  protected bit(dataOff: number, i: number): number {
    return (this.u8[dataOff + (i >>> 3)]! >>> (7 - (i & 7))) & 1;
  }

  /** longest_prefix_match(): bits the node and the key share, up to the shorter prefix. */
  protected matchLen(node: number, keyOff: number, keyPlen: number): number {
    const limit = Math.min(this.u32[(node + N_PREFIXLEN) >>> 2]!, keyPlen);
    const a = node + N_DATA;
    const b = keyOff + 4;
    let n = 0;
    for (let i = 0; n < limit; i++) {
      const x = this.u8[a + i]! ^ this.u8[b + i]!;
      if (x !== 0) {
        n += Math.clz32(x) - 24;
        break;
      }
      n += 8;
    }
    return Math.min(n, limit);
  }

  /**
   * A child word, read with a plain load as rcu_dereference() reads it: every
   * later load of the walk depends on the value (address dependency), which
   * x86 and ARM keep in order, and writers fill a node before the
   * Atomics.store that links it. Atomics.load here tripled the lookup cost.
   */
  protected child(node: number, b: number): number {
    return this.u32[((node + N_CHILD0) >>> 2) + b]!;
  }

  protected plen(node: number): number {
    return this.u32[(node + N_PREFIXLEN) >>> 2]!;
  }

  protected isIm(node: number): boolean {
    return (this.u32[(node + N_FLAGS) >>> 2]! & NODE_IM) !== 0;
  }

  // ---- iteration: syscall -------------------------------------------------------

  protected writeKey(node: number, outOff: number): void {
    this.m.arena.dv.setUint32(outOff, this.plen(node), true);
    this.u8.copyWithin(outOff + 4, node + N_DATA, node + N_DATA + this.dataSize);
  }

  /** Leftmost value node under `root` in postorder; never 0 for a non-empty subtree. */
  protected leftmost(root: number): number {
    let next = 0;
    let node = root;
    while (node !== 0) {
      if (this.isIm(node)) {
        node = this.child(node, 0);
      } else {
        next = node;
        node = this.child(node, 0);
        if (node === 0) node = this.child(next, 1);
      }
    }
    return next;
  }

  /** trie_get_next_key(): postorder, more specific prefixes first; an unknown key restarts at the first. */
  getNextKey(keyOff: number, nextKeyOff: number): number {
    const root = Atomics.load(this.u32, this.w + P_ROOT);
    if (root === 0) return -Errno.ENOENT;
    const keyPlen = keyOff === 0 ? 0 : this.keyPrefixlen(keyOff);
    if (keyOff === 0 || keyPlen > this.maxPrefixlen) {
      this.writeKey(this.leftmost(root), nextKeyOff);
      return 0;
    }
    const stack: number[] = [];
    let node = root;
    let ml = 0;
    while (node !== 0 && stack.length <= this.maxPrefixlen) {
      stack.push(node);
      ml = this.matchLen(node, keyOff, keyPlen);
      const np = this.plen(node);
      if (np !== ml || np === keyPlen) break;
      node = this.child(node, this.bit(keyOff + 4, np));
    }
    if (node === 0 || this.plen(node) !== ml || this.isIm(node)) {
      this.writeKey(this.leftmost(root), nextKeyOff);
      return 0;
    }
    let sp = stack.length - 1;
    node = stack[sp]!;
    while (sp > 0) {
      const parent = stack[sp - 1]!;
      if (this.child(parent, 0) === node) {
        const right = this.child(parent, 1);
        if (right !== 0) {
          this.writeKey(this.leftmost(right), nextKeyOff);
          return 0;
        }
      }
      if (!this.isIm(parent)) {
        this.writeKey(parent, nextKeyOff);
        return 0;
      }
      node = parent;
      sp--;
    }
    return -Errno.ENOENT;
  }

  count(): number {
    return Atomics.load(this.u32, this.w + P_COUNT);
  }

  /** Syscall (map free, no other user): every node, linked or queued for reuse. */
  allNodes(): number[] {
    const out: number[] = [];
    const walk = (n: number): void => {
      if (n === 0) return;
      out.push(n);
      walk(this.child(n, 0));
      walk(this.child(n, 1));
    };
    walk(this.u32[this.w + P_ROOT]!);
    for (let n = this.u32[this.w + P_FREE_HEAD]!; n !== 0; n = this.u32[(n + N_LINK) >>> 2]!) out.push(n);
    return out;
  }
}
