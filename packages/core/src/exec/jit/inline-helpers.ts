/**
 * Helpers the JIT emits inline instead of calling out to JavaScript:
 * bpf_map_lookup_elem on a (PERCPU_)HASH map (inline-hash.ts), on an IPv4
 * LPM trie (inline-lpm.ts) and on a
 * BPF_MAP_TYPE_ARRAY, like Linux's
 * array_map_gen_lookup(), and on a BPF_MAP_TYPE_PERCPU_ARRAY (Linux's
 * percpu_array_map_gen_lookup), with this CPU's shard:
 *
 *   r0 = key < max_entries ? values [+ cpu * shard] + key * round_up(value_size, 8) : 0
 *
 * A site qualifies when r1 at the call is a constant from `lddw r1, <map>`
 * in the same basic block (what clang emits) and, at compile time, that
 * offset holds the header of an array map in the arena (kernel/layout.ts).
 * The header fields used are written before the map is published and never
 * change, and a loaded program holds a reference on its maps, so the values
 * block cannot move while the module can run. The plan is part of the module
 * cache key, so a module is only reused for the same maps.
 *
 * The key pointer (r2) gets the usual bounds check; when it fails the site
 * calls the helper instead, so the outcome is whatever the helper (and the
 * interpreter) does.
 *
 * Context: compile time, any thread.
 */
import type { ArenaApi } from "../../memory/arena-api.js";
import { ARENA_RESERVED } from "../../memory/arena-api.js";
import { M_MAGIC, M_MAX_ENTRIES, M_NCPUS, M_PRIV, M_TYPE, M_VALUE_SIZE, MAP_HEADER_BYTES, MAP_MAGIC } from "../../kernel/layout.js";
import { P_VALUES } from "../../maps/array.js";
import { MapType } from "../../uapi.js";
import { Cls, OP_LDDW, type DecodedInsns } from "./decode.js";
import { hashAt, hashSiteKey, type HashLookupSite } from "./inline-hash.js";
import { lpmAt, lpmSiteKey, type LpmLookupSite } from "./inline-lpm.js";
import { G_CPU_ID, L_T0, REG_LOCAL } from "./frame.js";
import { ByteWriter, Op } from "./wasm-writer.js";

/** Helper id of bpf_map_lookup_elem. */
export const HELPER_MAP_LOOKUP_ELEM = 1;

/** One inlined array lookup. */
export interface ArrayLookupSite {
  readonly valuesOff: number;
  readonly elemSize: number;
  readonly maxEntries: number;
  /** PERCPU_ARRAY: bytes per CPU shard (0 for ARRAY) and the map's CPU count. */
  readonly shard: number;
  readonly ncpus: number;
}

/** An inlined site: an array lookup (this file), a hash lookup (inline-hash.ts) or an LPM trie lookup (inline-lpm.ts). */
export type InlineSite = (ArrayLookupSite & { readonly kind?: "array" }) | HashLookupSite | LpmLookupSite;

/** Inline sites by call insn index. */
export type InlinePlan = ReadonlyMap<number, InlineSite>;

/** The (per-CPU) array map whose header is at `off`, or undefined. */
function arrayAt(arena: ArenaApi, off: number): ArrayLookupSite | undefined {
  if (off % 4 !== 0 || off < ARENA_RESERVED || off + MAP_HEADER_BYTES > arena.size) return undefined;
  const w = off >>> 2;
  const u32 = arena.u32;
  if (Atomics.load(u32, w + M_MAGIC) !== MAP_MAGIC) return undefined;
  const type = u32[w + M_TYPE];
  if (type !== MapType.Array && type !== MapType.PercpuArray) return undefined;
  const elemSize = (u32[w + M_VALUE_SIZE]! + 7) & ~7;
  const maxEntries = u32[w + M_MAX_ENTRIES]!;
  const percpu = type === MapType.PercpuArray;
  return {
    valuesOff: u32[w + M_PRIV + P_VALUES]!,
    elemSize,
    maxEntries,
    shard: percpu ? elemSize * maxEntries : 0,
    ncpus: percpu ? u32[w + M_NCPUS]! : 0,
  };
}

/**
 * Finds the call sites to inline. Tracks the constant in r1 through each
 * basic block (reset at jump targets, jumps and calls, and on any write to r1).
 */
export function planInlines(ins: DecodedInsns, arena: ArenaApi | undefined): InlinePlan {
  const plan = new Map<number, InlineSite>();
  if (!arena) return plan;
  const target = new Uint8Array(ins.count + 1);
  for (let i = 0; i < ins.count; i++) {
    const cls = ins.op[i]! & 7;
    if ((cls === Cls.JMP || cls === Cls.JMP32) && (ins.op[i]! & 0xf0) !== 0x80 && (ins.op[i]! & 0xf0) !== 0x90) {
      const t = ins.op[i] === 0x06 ? i + ins.imm[i]! + 1 : i + ins.off[i]! + 1;
      if (t >= 0 && t <= ins.count) target[t] = 1;
    }
  }
  let r1 = -1;
  for (let i = 0; i < ins.count; i++) {
    if (target[i]) r1 = -1;
    const op = ins.op[i]!;
    const cls = op & 7;
    if (op === OP_LDDW) {
      if (ins.dst[i] === 1) r1 = ins.imm[i + 1] === 0 && ins.src[i] !== 4 ? ins.imm[i]! >>> 0 : -1;
      i++;
      continue;
    }
    if (op === 0x85 && ins.src[i] === 0 && ins.imm[i] === HELPER_MAP_LOOKUP_ELEM && r1 >= 0) {
      const site = arrayAt(arena, r1) ?? hashAt(arena, r1) ?? lpmAt(arena, r1);
      if (site) plan.set(i, site);
    }
    if (cls === Cls.JMP || cls === Cls.JMP32) r1 = -1;
    else if ((cls === Cls.ALU || cls === Cls.ALU64 || cls === Cls.LDX) && ins.dst[i] === 1) r1 = -1;
    else if (cls === Cls.STX && (op & 0xe0) === 0xc0 && ins.src[i] === 1) r1 = -1;
  }
  return plan;
}

/** A string that identifies the plan, for the module cache key. */
export function planKey(plan: InlinePlan): string {
  let k = "";
  for (const [pc, s] of plan) {
    if (s.kind === "hash") k += `${pc}:${hashSiteKey(s)};`;
    else if (s.kind === "lpm") k += `${pc}:${lpmSiteKey(s)};`;
    else k += `${pc}:${s.valuesOff}:${s.elemSize}:${s.maxEntries}:${s.shard}:${s.ncpus};`;
  }
  return k;
}

/**
 * Emits an inlined array lookup at `pc`; `callHelper` emits the regular
 * helper call (setting r0), used when the key pointer is out of bounds.
 */
export function emitArrayLookup(w: ByteWriter, site: ArrayLookupSite, arenaSize: number, callHelper: () => void): void {
  const r2 = REG_LOCAL[2]!;
  w.u8(Op.localGet).u32(r2).u8(Op.i64Const).s32(ARENA_RESERVED).u8(Op.i64Sub);
  w.u8(Op.i64Const).s64(arenaSize - ARENA_RESERVED - 4, 0).u8(Op.i64GtU);
  if (site.shard !== 0) {
    // A CPU the map has no shard for: let the helper decide.
    w.u8(Op.globalGet).u32(G_CPU_ID).u8(Op.i64Const).s64(site.ncpus, 0).u8(Op.i64GeU).u8(Op.i32Or);
  }
  w.u8(Op.if).u8(0x40);
  callHelper();
  w.u8(Op.else);
  w.u8(Op.localGet).u32(r2).u8(Op.i32WrapI64).u8(Op.i64Load32u).u32(0).u32(0).u8(Op.localTee).u32(L_T0);
  w.u8(Op.i64Const).s32(site.elemSize).u8(Op.i64Mul);
  w.u8(Op.i64Const).s64(site.valuesOff, 0).u8(Op.i64Add);
  if (site.shard !== 0) {
    w.u8(Op.globalGet).u32(G_CPU_ID).u8(Op.i64Const).s64(site.shard, 0).u8(Op.i64Mul).u8(Op.i64Add);
  }
  w.u8(Op.i64Const).s32(0);
  w.u8(Op.localGet).u32(L_T0).u8(Op.i64Const).s64(site.maxEntries, 0).u8(Op.i64LtU);
  w.u8(Op.select).u8(Op.localSet).u32(REG_LOCAL[0]!);
  w.u8(Op.end);
}
