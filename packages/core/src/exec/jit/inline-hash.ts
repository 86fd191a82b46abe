/**
 * bpf_map_lookup_elem on a BPF_MAP_TYPE_HASH or BPF_MAP_TYPE_PERCPU_HASH
 * map, emitted inline: a helper call into JavaScript costs far more than the
 * lookup itself (BigInt arguments and result), and Linux inlines this lookup
 * too (htab_map_gen_lookup). The emitted code is the lock-free reader of
 * maps/hashtab/htab-core.ts, specialised for the map's key size and seed:
 *
 *   hash = htab_map_hash(key)                  jhash/jhash2, unrolled
 *   i    = hash & (n_buckets - 1)
 *   restart:
 *     e = atomic load bucket[i].head
 *     while e is not a nulls marker:
 *       if e.hash == hash and e.key == key: r0 = e + value offset
 *                                           (+ cpu * stride, per-CPU)
 *       e = atomic load e.next
 *     if e != nulls(i): goto restart           (walked into a recycled element)
 *     r0 = 0
 *
 * Same layout, same order of loads (sequentially consistent `head`/`next`,
 * plain `hash` and key), so it sees what the JavaScript lookup sees. Like the
 * array case (inline-helpers.ts) a site qualifies when r1 is a constant map
 * pointer from an `lddw` in the same block and, at compile time, a hash map of
 * one of these types lives there; the header and bucket array fields used are
 * fixed at map creation and the program holds a reference on the map. A key
 * pointer that fails the bounds check, or a CPU the per-CPU map has no slot
 * for, calls the helper instead. LRU types are not inlined (their lookups set
 * the referenced bit under the LRU's rules).
 *
 * Context: compile time, any thread.
 */
import type { ArenaApi } from "../../memory/arena-api.js";
import { ARENA_RESERVED } from "../../memory/arena-api.js";
import { M_KEY_SIZE, M_MAGIC, M_NCPUS, M_PRIV, M_TYPE, M_VALUE_SIZE, MAP_HEADER_BYTES, MAP_MAGIC } from "../../kernel/layout.js";
import { E_HASH, P_BUCKETS, P_NBUCKETS, P_SEED, elemHeaderSize } from "../../maps/hashtab/layout.js";
import { MapType } from "../../uapi.js";
import { G_CPU_ID, L_H_A, L_H_B, L_H_C, L_H_E, L_H_K, L_H_M, REG_LOCAL } from "./frame.js";
import { ByteWriter, Op } from "./wasm-writer.js";

/** One inlined hash lookup: the map's geometry, fixed at its creation. */
export interface HashLookupSite {
  readonly kind: "hash";
  readonly bucketsOff: number;
  readonly mask: number;
  readonly seed: number;
  readonly keySize: number;
  /** Value offset inside an element (CPU 0's slot for per-CPU types). */
  readonly valOff: number;
  /** Per-CPU: bytes per CPU slot and the map's CPU count (both 0 otherwise). */
  readonly stride: number;
  readonly ncpus: number;
}

const JHASH_INITVAL = 0xdeadbeef;
const roundUp8 = (n: number): number => (n + 7) & ~7;

/** The HASH/PERCPU_HASH map whose header is at `off`, or undefined. */
export function hashAt(arena: ArenaApi, off: number): HashLookupSite | undefined {
  if (off % 4 !== 0 || off < ARENA_RESERVED || off + MAP_HEADER_BYTES > arena.size) return undefined;
  const w = off >>> 2;
  const u32 = arena.u32;
  if (Atomics.load(u32, w + M_MAGIC) !== MAP_MAGIC) return undefined;
  const type = u32[w + M_TYPE];
  if (type !== MapType.Hash && type !== MapType.PercpuHash) return undefined;
  const nBuckets = u32[w + M_PRIV + P_NBUCKETS]!;
  const bucketsOff = u32[w + M_PRIV + P_BUCKETS]!;
  // Not a power of two or not placed: leave it to the helper.
  if (nBuckets === 0 || (nBuckets & (nBuckets - 1)) !== 0 || bucketsOff === 0 || bucketsOff % 8 !== 0) return undefined;
  const keySize = u32[w + M_KEY_SIZE]!;
  const percpu = type === MapType.PercpuHash;
  return {
    kind: "hash",
    bucketsOff,
    mask: nBuckets - 1,
    seed: u32[w + M_PRIV + P_SEED]!,
    keySize,
    valOff: elemHeaderSize(false) + roundUp8(keySize),
    stride: percpu ? roundUp8(u32[w + M_VALUE_SIZE]!) : 0,
    ncpus: percpu ? u32[w + M_NCPUS]! : 0,
  };
}

export function hashSiteKey(s: HashLookupSite): string {
  return `h${s.bucketsOff}:${s.mask}:${s.seed}:${s.keySize}:${s.valOff}:${s.stride}:${s.ncpus}`;
}

// Raw opcodes the shared writer does not name.
const I32_LOAD8_U = 0x2d;
const I32_LOAD16_U = 0x2f;
const I32_ATOMIC_LOAD = 0x10;

const get = (w: ByteWriter, l: number): ByteWriter => w.u8(Op.localGet).u32(l);
const set = (w: ByteWriter, l: number): ByteWriter => w.u8(Op.localSet).u32(l);
const i32c = (w: ByteWriter, v: number): ByteWriter => w.u8(Op.i32Const).s32(v | 0);
/** A plain load at local `base` + `offset` (no alignment promised). */
const load = (w: ByteWriter, op: number, base: number, offset: number): ByteWriter => get(w, base).u8(op).u32(0).u32(offset);

/** Little-endian bytes [k + off, k + off + n), 0 < n <= 4, as an i32 on the stack. */
function tail32(w: ByteWriter, off: number, n: number): void {
  if (n === 4) load(w, Op.i32Load, L_H_K, off);
  else if (n === 2) load(w, I32_LOAD16_U, L_H_K, off);
  else if (n === 1) load(w, I32_LOAD8_U, L_H_K, off);
  else {
    load(w, I32_LOAD16_U, L_H_K, off);
    load(w, I32_LOAD8_U, L_H_K, off + 2);
    i32c(w, 16).u8(Op.i32Shl).u8(Op.i32Or);
  }
}

/** x += word; leaves nothing on the stack. */
function addWord(w: ByteWriter, x: number, off: number, n: number): void {
  get(w, x);
  tail32(w, off, n);
  w.u8(Op.i32Add);
  set(w, x);
}

/** __jhash_mix step: x = (x - y) ^ rol32(y, r); y += z. */
function mixStep(w: ByteWriter, x: number, y: number, z: number, r: number): void {
  get(w, x); get(w, y); w.u8(Op.i32Sub);
  get(w, y); i32c(w, r).u8(Op.i32Rotl).u8(Op.i32Xor);
  set(w, x);
  get(w, y); get(w, z); w.u8(Op.i32Add);
  set(w, y);
}

/** __jhash_final step: x = (x ^ y) - rol32(y, r). */
function finalStep(w: ByteWriter, x: number, y: number, r: number): void {
  get(w, x); get(w, y); w.u8(Op.i32Xor);
  get(w, y); i32c(w, r).u8(Op.i32Rotl).u8(Op.i32Sub);
  set(w, x);
}

/** htab_map_hash() of the key at local K into local C (jhash and jhash2 agree for whole words). */
function emitHash(w: ByteWriter, keySize: number, seed: number): void {
  const A = L_H_A, B = L_H_B, C = L_H_C;
  const init = (JHASH_INITVAL + keySize + seed) >>> 0;
  for (const l of [A, B, C]) set(i32c(w, init), l);
  let k = 0;
  let length = keySize;
  while (length > 12) {
    addWord(w, A, k, 4);
    addWord(w, B, k + 4, 4);
    addWord(w, C, k + 8, 4);
    mixStep(w, A, C, B, 4);
    mixStep(w, B, A, C, 6);
    mixStep(w, C, B, A, 8);
    mixStep(w, A, C, B, 16);
    mixStep(w, B, A, C, 19);
    mixStep(w, C, B, A, 4);
    length -= 12;
    k += 12;
  }
  if (length === 0) return;
  addWord(w, A, k, Math.min(length, 4));
  if (length > 4) addWord(w, B, k + 4, Math.min(length - 4, 4));
  if (length > 8) addWord(w, C, k + 8, length - 8);
  finalStep(w, C, B, 14);
  finalStep(w, A, C, 11);
  finalStep(w, B, A, 25);
  finalStep(w, C, B, 16);
  finalStep(w, A, C, 4);
  finalStep(w, B, A, 14);
  finalStep(w, C, B, 24);
}

/** i32 on the stack: does element E's key equal the key at K? */
function emitKeyEq(w: ByteWriter, keySize: number, keyOff: number): void {
  let first = true;
  const and = () => {
    if (!first) w.u8(Op.i32And);
    first = false;
  };
  let j = 0;
  for (; j + 8 <= keySize; j += 8) {
    load(w, Op.i64Load, L_H_E, keyOff + j);
    load(w, Op.i64Load, L_H_K, j);
    w.u8(Op.i64Eq);
    and();
  }
  for (const [n, op] of [[4, Op.i32Load], [2, I32_LOAD16_U], [1, I32_LOAD8_U]] as const) {
    if (keySize - j >= n) {
      load(w, op, L_H_E, keyOff + j);
      load(w, op, L_H_K, j);
      w.u8(Op.i32Eq);
      and();
      j += n;
    }
  }
}

/**
 * Emits the inlined lookup at a call site; `callHelper` emits the regular
 * helper call (setting r0) for a key pointer outside the arena.
 */
export function emitHashLookup(w: ByteWriter, site: HashLookupSite, arenaSize: number, callHelper: () => void): void {
  const r0 = REG_LOCAL[0]!;
  const r2 = REG_LOCAL[2]!;
  const keyOff = elemHeaderSize(false);
  // Key bounds: r2 - ARENA_RESERVED > arenaSize - ARENA_RESERVED - keySize (unsigned) -> helper.
  w.u8(Op.localGet).u32(r2).u8(Op.i64Const).s32(ARENA_RESERVED).u8(Op.i64Sub);
  w.u8(Op.i64Const).s64(arenaSize - ARENA_RESERVED - site.keySize, 0).u8(Op.i64GtU);
  if (site.stride !== 0) {
    w.u8(Op.globalGet).u32(G_CPU_ID).u8(Op.i64Const).s64(site.ncpus, 0).u8(Op.i64GeU).u8(Op.i32Or);
  }
  w.u8(Op.if).u8(0x40);
  callHelper();
  w.u8(Op.else);
  w.u8(Op.localGet).u32(r2).u8(Op.i32WrapI64);
  set(w, L_H_K);
  emitHash(w, site.keySize, site.seed);
  // A = bucket index, M = its nulls marker.
  get(w, L_H_C); i32c(w, site.mask).u8(Op.i32And); set(w, L_H_A);
  get(w, L_H_A); i32c(w, 1).u8(Op.i32Shl); i32c(w, 1).u8(Op.i32Or); set(w, L_H_M);
  w.u8(Op.block).u8(0x40); // $done
  w.u8(Op.loop).u8(0x40); // $restart
  get(w, L_H_A); i32c(w, 3).u8(Op.i32Shl);
  w.u8(Op.atomicPrefix).u8(I32_ATOMIC_LOAD).u32(2).u32(site.bucketsOff);
  set(w, L_H_E);
  w.u8(Op.loop).u8(0x40); // $walk
  // A nulls marker ends the chain: ours -> miss; another bucket's -> restart.
  get(w, L_H_E); i32c(w, 1).u8(Op.i32And);
  w.u8(Op.if).u8(0x40);
  get(w, L_H_E); get(w, L_H_M); w.u8(Op.i32Eq);
  w.u8(Op.if).u8(0x40);
  w.u8(Op.i64Const).s32(0); set(w, r0);
  w.u8(Op.br).u32(4); // if, if, walk, restart, done
  w.u8(Op.end);
  w.u8(Op.br).u32(2); // if, walk, restart
  w.u8(Op.end);
  load(w, Op.i32Load, L_H_E, E_HASH); get(w, L_H_C); w.u8(Op.i32Eq);
  w.u8(Op.if).u8(0x40);
  emitKeyEq(w, site.keySize, keyOff);
  w.u8(Op.if).u8(0x40);
  get(w, L_H_E).u8(Op.i64ExtendI32U).u8(Op.i64Const).s64(site.valOff, 0).u8(Op.i64Add);
  if (site.stride !== 0) w.u8(Op.globalGet).u32(G_CPU_ID).u8(Op.i64Const).s64(site.stride, 0).u8(Op.i64Mul).u8(Op.i64Add);
  set(w, r0);
  w.u8(Op.br).u32(4); // if, if, walk, restart, done
  w.u8(Op.end);
  w.u8(Op.end);
  get(w, L_H_E).u8(Op.atomicPrefix).u8(I32_ATOMIC_LOAD).u32(2).u32(0);
  set(w, L_H_E);
  w.u8(Op.br).u32(0); // walk
  w.u8(Op.end); // walk
  w.u8(Op.end); // restart
  w.u8(Op.end); // done
  w.u8(Op.end); // if/else
}
