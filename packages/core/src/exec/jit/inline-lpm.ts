/**
 * bpf_map_lookup_elem on a BPF_MAP_TYPE_LPM_TRIE with 4-byte data (IPv4
 * prefixes: key_size 8), emitted inline: the walk of maps/lpm-trie.ts
 * (LpmTrie.lookup4, Linux's trie_lookup_elem) on wasm words, instead of a
 * call into JavaScript per lookup. The key's data is read once as a
 * big-endian word; each node costs a prefixlen load, a data load, a byte
 * swap and a clz:
 *
 *   if key.prefixlen > 32: r0 = 0
 *   node = atomic load root; found = 0
 *   up to 33 steps while node:
 *     ml = min(clz(node.data ^ key.data), node.prefixlen, key.prefixlen)
 *     if ml == 32: found = node; stop
 *     if ml < node.prefixlen: stop
 *     if node is not intermediate: found = node
 *     if node.prefixlen >= 32: stop
 *     node = node.child[bit node.prefixlen of key.data]     (plain load)
 *   r0 = found ? found + value offset : 0
 *
 * Same layout and order of loads as the JavaScript reader (lpm-trie-nodes.ts
 * for the node layout and why child words are plain loads), so it sees
 * what that reader sees, racing writers included. Nodes live in the arena
 * and are never returned to it while the map exists, so every load stays in
 * memory. A site qualifies as the array and hash ones do (inline-helpers.ts):
 * r1 a constant map pointer and, at compile time, an LPM trie with 8-byte
 * keys there; its root word's place is fixed at map creation and the program
 * holds a reference on the map. A key pointer that fails the bounds check
 * calls the helper instead.
 *
 * Context: compile time, any thread.
 */
import type { ArenaApi } from "../../memory/arena-api.js";
import { ARENA_RESERVED } from "../../memory/arena-api.js";
import { M_KEY_SIZE, M_MAGIC, M_PRIV, M_TYPE, MAP_HEADER_BYTES, MAP_MAGIC } from "../../kernel/layout.js";
import { N_CHILD0, N_DATA, N_FLAGS, N_PREFIXLEN, NODE_IM, P_ROOT } from "../../maps/lpm-trie-nodes.js";
import { MapType } from "../../uapi.js";
import { L_H_A, L_H_B, L_H_C, L_H_E, L_H_K, L_H_M, L_T0, REG_LOCAL } from "./frame.js";
import { ByteWriter, Op } from "./wasm-writer.js";

/** One inlined LPM lookup: where the trie's root word is. */
export interface LpmLookupSite {
  readonly kind: "lpm";
  readonly rootOff: number;
}

/** Value offset in a node of a trie with 4-byte data (N_DATA + round_up(4, 8)). */
const VAL_OFF = N_DATA + 8;
const I32_ATOMIC_LOAD = 0x10;

/** The LPM trie with 8-byte keys whose header is at `off`, or undefined. */
export function lpmAt(arena: ArenaApi, off: number): LpmLookupSite | undefined {
  if (off % 4 !== 0 || off < ARENA_RESERVED || off + MAP_HEADER_BYTES > arena.size) return undefined;
  const w = off >>> 2;
  const u32 = arena.u32;
  if (Atomics.load(u32, w + M_MAGIC) !== MAP_MAGIC) return undefined;
  if (u32[w + M_TYPE] !== MapType.LpmTrie || u32[w + M_KEY_SIZE] !== 8) return undefined;
  return { kind: "lpm", rootOff: (w + M_PRIV + P_ROOT) * 4 };
}

export function lpmSiteKey(s: LpmLookupSite): string {
  return `lpm:${s.rootOff}`;
}

const get = (w: ByteWriter, l: number): ByteWriter => w.u8(Op.localGet).u32(l);
const set = (w: ByteWriter, l: number): ByteWriter => w.u8(Op.localSet).u32(l);
const i32c = (w: ByteWriter, v: number): ByteWriter => w.u8(Op.i32Const).s32(v | 0);
/** i32.load with byte offset `off` (alignment hint 0: a key may be unaligned). */
const load = (w: ByteWriter, off: number): ByteWriter => w.u8(Op.i32Load).u32(0).u32(off);

/** Byte-swaps the i32 on top of the stack, kept in `tmp`: (x rotr 8) & 0xff00ff00 | (x rotl 8) & 0x00ff00ff. */
function bswap(w: ByteWriter, tmp: number): void {
  w.u8(Op.localTee).u32(tmp);
  i32c(w, 8).u8(Op.i32Rotr);
  i32c(w, 0xff00ff00).u8(Op.i32And);
  get(w, tmp);
  i32c(w, 8).u8(Op.i32Rotl);
  i32c(w, 0x00ff00ff).u8(Op.i32And).u8(Op.i32Or);
}

/**
 * Emits the inlined lookup at a call site; `callHelper` emits the regular
 * helper call (setting r0) for a key pointer outside the arena.
 * Locals: A key data (big-endian), B key prefixlen, C node, K found,
 * E node prefixlen, M match length, T0 steps.
 */
export function emitLpmLookup(w: ByteWriter, site: LpmLookupSite, arenaSize: number, callHelper: () => void): void {
  const r0 = REG_LOCAL[0]!;
  const r2 = REG_LOCAL[2]!;
  get(w, r2).u8(Op.i64Const).s32(ARENA_RESERVED).u8(Op.i64Sub);
  w.u8(Op.i64Const).s64(arenaSize - ARENA_RESERVED - 8, 0).u8(Op.i64GtU);
  w.u8(Op.if).u8(0x40);
  callHelper();
  w.u8(Op.else);
  get(w, r2).u8(Op.i32WrapI64);
  load(w, 0);
  w.u8(Op.localTee).u32(L_H_B);
  i32c(w, 32).u8(Op.i32GtU);
  w.u8(Op.if).u8(0x40);
  w.u8(Op.i64Const).s32(0);
  set(w, r0);
  w.u8(Op.else);
  get(w, r2).u8(Op.i32WrapI64);
  load(w, 4);
  bswap(w, L_H_A);
  set(w, L_H_A);
  i32c(w, 0);
  set(w, L_H_K);
  i32c(w, 0).u8(Op.atomicPrefix).u8(I32_ATOMIC_LOAD).u32(2).u32(site.rootOff);
  set(w, L_H_C);
  w.u8(Op.i64Const).s32(0);
  set(w, L_T0);
  w.u8(Op.block).u8(0x40); // $done
  w.u8(Op.loop).u8(0x40); // $step
  get(w, L_H_C).u8(Op.i32Eqz).u8(Op.brIf).u32(1);
  get(w, L_T0).u8(Op.i64Const).s32(32).u8(Op.i64GtU).u8(Op.brIf).u32(1);
  get(w, L_H_C);
  load(w, N_PREFIXLEN);
  set(w, L_H_E);
  get(w, L_H_C);
  load(w, N_DATA);
  bswap(w, L_H_M);
  get(w, L_H_A).u8(Op.i32Xor).u8(Op.i32Clz);
  set(w, L_H_M);
  // M = min(M, E, B), unsigned
  for (const other of [L_H_E, L_H_B]) {
    get(w, L_H_M);
    get(w, other);
    get(w, L_H_M);
    get(w, other);
    w.u8(Op.i32LtU).u8(Op.select);
    set(w, L_H_M);
  }
  get(w, L_H_M);
  i32c(w, 32).u8(Op.i32Eq);
  w.u8(Op.if).u8(0x40);
  get(w, L_H_C);
  set(w, L_H_K);
  w.u8(Op.br).u32(2); // if, step, done
  w.u8(Op.end);
  get(w, L_H_M);
  get(w, L_H_E).u8(Op.i32LtU).u8(Op.brIf).u32(1);
  get(w, L_H_C);
  load(w, N_FLAGS);
  i32c(w, NODE_IM).u8(Op.i32And).u8(Op.i32Eqz);
  w.u8(Op.if).u8(0x40);
  get(w, L_H_C);
  set(w, L_H_K);
  w.u8(Op.end);
  get(w, L_H_E);
  i32c(w, 32).u8(Op.i32GeU).u8(Op.brIf).u32(1);
  // node = child[(key >>> (31 - E)) & 1]
  get(w, L_H_C);
  get(w, L_H_A);
  i32c(w, 31);
  get(w, L_H_E).u8(Op.i32Sub).u8(Op.i32ShrU);
  i32c(w, 1).u8(Op.i32And);
  i32c(w, 2).u8(Op.i32Shl).u8(Op.i32Add);
  load(w, N_CHILD0);
  set(w, L_H_C);
  get(w, L_T0).u8(Op.i64Const).s32(1).u8(Op.i64Add);
  set(w, L_T0);
  w.u8(Op.br).u32(0);
  w.u8(Op.end); // step
  w.u8(Op.end); // done
  // r0 = found ? found + VAL_OFF : 0
  get(w, L_H_K).u8(Op.i64ExtendI32U).u8(Op.i64Const).s32(VAL_OFF).u8(Op.i64Add);
  w.u8(Op.i64Const).s32(0);
  get(w, L_H_K);
  w.u8(Op.select);
  set(w, r0);
  w.u8(Op.end); // prefixlen > 32
  w.u8(Op.end); // bounds
}
