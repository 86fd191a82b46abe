/**
 * Conditional jumps (check_cond_jmp_op): deciding branches that cannot be
 * taken, narrowing scalar bounds on both edges, null checks that turn
 * `map_value_or_null` into `map_value` (for every copy with the same id),
 * and packet range learned from comparisons with `data_end`.
 */
import type { Vctx } from "./context.js";
import { type Insn, C, op, srcBit, cls } from "./insn.js";
import { type Reg, type VState, T, constScalar, isPointer, mayBeNull, markKnown, copyState, curFrame, unknownScalar, S64_MAX, S32_MAX } from "./reg-state.js";
import { boundsSync, boundsInvalid } from "./bounds.js";
import * as tn from "./tnum.js";

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const JSET_NOT = C.JSET | C.X;

const FLIP: Record<number, number> = {
  [C.JEQ]: C.JEQ, [C.JNE]: C.JNE, [C.JSET]: C.JSET, [C.JGT]: C.JLT, [C.JGE]: C.JLE, [C.JLT]: C.JGT, [C.JLE]: C.JGE,
  [C.JSGT]: C.JSLT, [C.JSGE]: C.JSLE, [C.JSLT]: C.JSGT, [C.JSLE]: C.JSGE,
};
const REV: Record<number, number> = {
  [C.JEQ]: C.JNE, [C.JNE]: C.JEQ, [C.JSET]: JSET_NOT, [C.JGT]: C.JLE, [C.JGE]: C.JLT, [C.JLT]: C.JGE, [C.JLE]: C.JGT,
  [C.JSGT]: C.JSLE, [C.JSGE]: C.JSLT, [C.JSLT]: C.JSGE, [C.JSLE]: C.JSGT,
};

function regNotNull(r: Reg): boolean {
  return r.type === T.MapValue || r.type === T.MapKey || r.type === T.Mem || r.type === T.ConstMapPtr;
}
const isConstW = (r: Reg, w32: boolean): boolean => r.type === T.Scalar && (w32 ? tn.tnumSubreg(r.varOff).mask === 0n : r.varOff.mask === 0n);
const constVal = (r: Reg, w32: boolean): bigint => (w32 ? BigInt.asUintN(32, r.varOff.value) : r.varOff.value);

interface View { t: tn.Tnum; umin: bigint; umax: bigint; smin: bigint; smax: bigint }
const view = (r: Reg, w32: boolean): View =>
  w32 ? { t: tn.tnumSubreg(r.varOff), umin: r.u32min, umax: r.u32max, smin: r.s32min, smax: r.s32max }
    : { t: r.varOff, umin: r.umin, umax: r.umax, smin: r.smin, smax: r.smax };

/** is_branch_taken: 1 always, 0 never, -1 unknown. */
export function branchTaken(a: Reg, b: Reg, o: number, w32: boolean): number {
  if (isPointer(a) || isPointer(b)) {
    let p = a, s = b;
    if (!isConstW(s, w32)) { p = b; s = a; }
    if (!isConstW(s, w32) || !regNotNull(p)) return -1;
    if (constVal(s, w32) !== 0n) return -1;
    return o === C.JEQ ? 0 : o === C.JNE ? 1 : -1;
  }
  const x = view(a, w32), y = view(b, w32);
  switch (o) {
    case C.JEQ: case C.JNE: {
      const eq = o === C.JEQ;
      if (x.t.mask === 0n && y.t.mask === 0n) return (x.t.value === y.t.value) === eq ? 1 : 0;
      if (x.umin > y.umax || x.umax < y.umin || x.smin > y.smax || x.smax < y.smin) return eq ? 0 : 1;
      if (!w32 && (a.u32min > b.u32max || a.u32max < b.u32min || a.s32min > b.s32max || a.s32max < b.s32min)) return eq ? 0 : 1;
      if (((x.t.value ^ y.t.value) & ~(x.t.mask | y.t.mask)) !== 0n) return eq ? 0 : 1;
      return -1;
    }
    case C.JSET: {
      let p = x, q = y;
      if (!isConstW(b, w32)) { p = y; q = x; if (!isConstW(a, w32)) return -1; }
      if ((~p.t.mask & p.t.value) & q.t.value) return 1;
      if (!((p.t.mask | p.t.value) & q.t.value)) return 0;
      return -1;
    }
    case C.JGT: return x.umin > y.umax ? 1 : x.umax <= y.umin ? 0 : -1;
    case C.JSGT: return x.smin > y.smax ? 1 : x.smax <= y.smin ? 0 : -1;
    case C.JLT: return x.umax < y.umin ? 1 : x.umin >= y.umax ? 0 : -1;
    case C.JSLT: return x.smax < y.smin ? 1 : x.smin >= y.smax ? 0 : -1;
    case C.JGE: return x.umin >= y.umax ? 1 : x.umax < y.umin ? 0 : -1;
    case C.JSGE: return x.smin >= y.smax ? 1 : x.smax < y.smin ? 0 : -1;
    case C.JLE: return x.umax <= y.umin ? 1 : x.umin > y.umax ? 0 : -1;
    case C.JSLE: return x.smax <= y.smin ? 1 : x.smin > y.smax ? 0 : -1;
  }
  return -1;
}

const wrapU = (v: bigint, w32: boolean): bigint => BigInt.asUintN(w32 ? 32 : 64, v);
const wrapS = (v: bigint, w32: boolean): bigint => BigInt.asIntN(w32 ? 32 : 64, v);

/** regs_refine_cond_op: narrow r1 and r2 assuming `r1 <o> r2` holds (exported for the property tests). */
export function refine(r1: Reg, r2: Reg, o: number, w32: boolean): void {
  const U = w32 ? ["u32min", "u32max"] as const : ["umin", "umax"] as const;
  const S = w32 ? ["s32min", "s32max"] as const : ["smin", "smax"] as const;
  switch (o) {
    case C.JEQ:
      for (const [lo, hi] of [U, S]) {
        r1[lo] = max(r1[lo], r2[lo]);
        r1[hi] = min(r1[hi], r2[hi]);
        r2[lo] = r1[lo];
        r2[hi] = r1[hi];
      }
      if (w32) {
        const t = tn.tnumIntersect(tn.tnumSubreg(r1.varOff), tn.tnumSubreg(r2.varOff));
        r1.varOff = tn.tnumWithSubreg(r1.varOff, t);
        r2.varOff = tn.tnumWithSubreg(r2.varOff, t);
      } else {
        r1.varOff = tn.tnumIntersect(r1.varOff, r2.varOff);
        r2.varOff = r1.varOff;
      }
      break;
    case C.JNE: {
      let a = r1, b = r2;
      if (!isConstW(b, w32)) { a = r2; b = r1; }
      if (!isConstW(b, w32)) break;
      const v = constVal(b, w32);
      if (a[U[0]] === wrapU(v, w32)) a[U[0]]++;
      if (a[U[1]] === wrapU(v, w32)) a[U[1]]--;
      if (a[S[0]] === wrapS(v, w32)) a[S[0]]++;
      if (a[S[1]] === wrapS(v, w32)) a[S[1]]--;
      break;
    }
    case C.JSET: case JSET_NOT: {
      let a = r1, b = r2;
      if (!isConstW(b, w32)) { a = r2; b = r1; }
      if (!isConstW(b, w32)) break;
      const v = constVal(b, w32);
      if (o === C.JSET) {
        if (v === 0n || (v & (v - 1n)) !== 0n) break;
        a.varOff = w32 ? tn.tnumWithSubreg(a.varOff, tn.tnumOr(tn.tnumSubreg(a.varOff), tn.tnumConst(v))) : tn.tnumOr(a.varOff, tn.tnumConst(v));
      } else {
        const keep = a.varOff;
        Object.assign(a, unknownScalar(), { id: a.id });
        a.varOff = w32 ? tn.tnumWithSubreg(keep, tn.tnumAnd(tn.tnumSubreg(keep), tn.tnumConst(~v))) : tn.tnumAnd(keep, tn.tnumConst(~v));
      }
      break;
    }
    case C.JLE:
      r1[U[1]] = min(r1[U[1]], r2[U[1]]);
      r2[U[0]] = max(r1[U[0]], r2[U[0]]);
      break;
    case C.JLT:
      r1[U[1]] = min(r1[U[1]], wrapU(r2[U[1]] - 1n, w32));
      r2[U[0]] = max(wrapU(r1[U[0]] + 1n, w32), r2[U[0]]);
      break;
    case C.JSLE:
      r1[S[1]] = min(r1[S[1]], r2[S[1]]);
      r2[S[0]] = max(r1[S[0]], r2[S[0]]);
      break;
    case C.JSLT:
      r1[S[1]] = min(r1[S[1]], wrapS(r2[S[1]] - 1n, w32));
      r2[S[0]] = max(wrapS(r1[S[0]] + 1n, w32), r2[S[0]]);
      break;
    default:
      refine(r2, r1, FLIP[o]!, w32);
  }
  void S64_MAX; void S32_MAX;
}

function forEachReg(st: VState, fn: (r: Reg) => void): void {
  for (const f of st.frames) {
    f.regs.forEach(fn);
    for (const s of f.stack) if (s.spilled) fn(s.spilled);
  }
}

/** sync_linked_regs: scalars copied from one another share what a comparison learned. */
function syncLinked(st: VState, known: Reg): void {
  if (known.type !== T.Scalar || !known.id) return;
  forEachReg(st, (r) => {
    if (r !== known && r.type === T.Scalar && r.id === known.id) {
      const id = r.id;
      Object.assign(r, known);
      r.id = id;
    }
  });
}

/** mark_ptr_or_null_regs: every copy of a maybe-null pointer becomes NULL (scalar 0) or non-null. */
function markPtrOrNull(ctx: Vctx, st: VState, regno: number, isNull: boolean): void {
  const target = curFrame(st).regs[regno]!;
  const id = target.id;
  const refId = target.refObjId;
  if (!id) return;
  forEachReg(st, (r) => {
    if (!mayBeNull(r) || r.id !== id) return;
    if (isNull) {
      Object.assign(r, constScalar(0n));
    } else {
      if (r.type === T.ConstMapPtrOrNull) {
        // A lookup in a map of maps yields the inner map (its template's attributes).
        r.type = T.ConstMapPtr;
        r.id = 0;
        return;
      }
      r.type = r.type === T.MapValueOrNull ? T.MapValue : T.Mem;
      if (r.type === T.Mem || (r.type === T.MapValue && (r.map?.spinLockOff ?? -1) < 0)) r.id = 0;
    }
  });
  if (isNull && refId) st.refs = st.refs.filter((x) => x.id !== refId);
  void ctx;
}

/** try_match_pkt_pointers: `pkt (op) pkt_end` gives the packet pointer a range on one edge. */
function matchPkt(o: number, d: Reg, s: Reg, dstNo: number, srcNo: number, w32: boolean, thisB: VState, otherB: VState): boolean {
  if (w32) return false;
  const isData = (r: Reg): boolean => r.type === T.Packet || r.type === T.PacketMeta;
  const isEnd = (a: Reg, e: Reg): boolean => (a.type === T.Packet && e.type === T.PacketEnd) || (a.type === T.PacketMeta && e.type === T.Packet);
  let ptrNo: number, flipped: boolean;
  if (isData(d) && isEnd(d, s)) { ptrNo = dstNo; flipped = false; }
  else if (isData(s) && isEnd(s, d)) { ptrNo = srcNo; flipped = true; }
  else return false;
  const oo = flipped ? FLIP[o]! : o; // normalised to "ptr (oo) end"
  let st: VState | null = null, open = false;
  switch (oo) {
    case C.JGT: st = thisB; open = false; break; // ptr <= end on fall-through
    case C.JGE: st = thisB; open = true; break;
    case C.JLT: st = otherB; open = true; break;
    case C.JLE: st = otherB; open = false; break;
    default: return false;
  }
  findGoodPkt(st, curFrame(st).regs[ptrNo]!, open);
  return true;
}

function findGoodPkt(st: VState, p: Reg, open: boolean): void {
  if (p.off < 0 || (p.off === 0 && open)) return;
  if (p.umax > 0xffffn || p.umax + BigInt(p.off) > 0xffffn) return;
  const range = p.off + (open ? 1 : 0) - (open ? 1 : 0);
  forEachReg(st, (r) => {
    if (r.type === p.type && r.id === p.id) r.range = Math.max(r.range, range);
  });
}

/** Returns the state to push for the taken edge (or null), and whether the fall-through edge is feasible. */
export function checkCondJmp(ctx: Vctx, insn: Insn, target: number): { other: VState | null; fallthrough: boolean } {
  const o = op(insn.code);
  const w32 = cls(insn.code) === C.JMP32;
  const x = srcBit(insn.code) === C.X;
  if (o > C.JSLE) ctx.fail("EINVAL", `invalid BPF_JMP/JMP32 opcode ${o.toString(16)}`);
  // Linux reads the destination operand first, then checks the source form.
  const d = ctx.readReg(insn.dst);
  if (x) {
    if (insn.imm !== 0) ctx.fail("EINVAL", "BPF_JMP/JMP32 uses reserved fields");
    const s = ctx.readReg(insn.src);
    if (ctx.isPtrValue(s)) ctx.fail("EACCES", `R${insn.src} pointer comparison prohibited`);
  } else if (insn.src !== 0) ctx.fail("EINVAL", "BPF_JMP/JMP32 uses reserved fields");
  const srcReg = x ? ctx.regs()[insn.src]! : constScalar(BigInt(insn.imm));
  const pred = branchTaken(d, srcReg, o, w32);
  if (d.type === T.Scalar && d.varOff.mask === 0n) ctx.fact(ctx.insnIdx).constValue = d.varOff.value;
  if (pred === 1) return { other: ctx.cur, fallthrough: false };
  if (pred === 0) return { other: null, fallthrough: true };
  const other = copyState(ctx.cur);
  const thisB = ctx.cur;
  const oRegs = curFrame(other).regs;
  const tRegs = curFrame(thisB).regs;
  let deadTaken = false, deadFall = false;
  if (d.type === T.Scalar && srcReg.type === T.Scalar) {
    const od = oRegs[insn.dst]!;
    const os = x ? oRegs[insn.src]! : constScalar(BigInt(insn.imm));
    const td = tRegs[insn.dst]!;
    const ts = x ? tRegs[insn.src]! : constScalar(BigInt(insn.imm));
    refine(td, ts, REV[o]!, w32);
    boundsSync(td); boundsSync(ts);
    refine(od, os, o, w32);
    boundsSync(od); boundsSync(os);
    deadFall = boundsInvalid(td) || boundsInvalid(ts);
    deadTaken = boundsInvalid(od) || boundsInvalid(os);
    if (x) { syncLinked(thisB, ts); syncLinked(other, os); }
    syncLinked(thisB, td);
    syncLinked(other, od);
  }
  if (!w32 && !x && insn.imm === 0 && (o === C.JEQ || o === C.JNE) && mayBeNull(d)) {
    ctx.fact(ctx.insnIdx).nullCheck = true;
    markPtrOrNull(ctx, thisB, insn.dst, o === C.JNE);
    markPtrOrNull(ctx, other, insn.dst, o === C.JEQ);
  } else if (!matchPkt(o, d, srcReg, insn.dst, insn.src, w32, thisB, other) && ctx.isPtrValue(d)) {
    ctx.fail("EACCES", `R${insn.dst} pointer comparison prohibited`);
  }
  void markKnown;
  return { other: deadTaken ? null : other, fallthrough: !deadFall };
}
