/**
 * Scalar bounds: the kernel's five views of a value (tnum, s64, u64, s32,
 * u32 ranges) kept consistent with each other (`reg_bounds_sync`), and the
 * ALU transfer functions (`adjust_scalar_min_max_vals`).
 *
 * Every function here only narrows what is provably true; when unsure it
 * widens to "unbounded", which is always sound.
 */
import { type Reg, markUnbounded, markKnown, S64_MIN, S64_MAX, S32_MIN, S32_MAX } from "./reg-state.js";
import * as tn from "./tnum.js";
import { U64, U32 } from "./tnum.js";
import { C } from "./insn.js";

const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);
const u32 = (x: bigint): bigint => BigInt.asUintN(32, x);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

function updateBounds(r: Reg): void {
  const v32 = tn.tnumSubreg(r.varOff);
  r.s32min = max(r.s32min, s32(v32.value | (v32.mask & 0x80000000n)));
  r.s32max = min(r.s32max, s32(v32.value | (v32.mask & 0x7fffffffn)));
  r.u32min = max(r.u32min, v32.value);
  r.u32max = min(r.u32max, v32.value | v32.mask);
  const v = r.varOff;
  r.smin = max(r.smin, s64(v.value | (v.mask & (1n << 63n))));
  r.smax = min(r.smax, s64(v.value | (v.mask & S64_MAX)));
  r.umin = max(r.umin, v.value);
  r.umax = min(r.umax, v.value | v.mask);
}

function deduce32(r: Reg): void {
  if (r.umin >> 32n === r.umax >> 32n) {
    r.u32min = max(r.u32min, u32(r.umin));
    r.u32max = min(r.u32max, u32(r.umax));
    if (s32(r.umin) <= s32(r.umax)) {
      r.s32min = max(r.s32min, s32(r.umin));
      r.s32max = min(r.s32max, s32(r.umax));
    }
  }
  if (r.smin >> 32n === r.smax >> 32n) {
    if (u32(r.smin) <= u32(r.smax)) {
      r.u32min = max(r.u32min, u32(r.smin));
      r.u32max = min(r.u32max, u32(r.smax));
    }
    if (s32(r.smin) <= s32(r.smax)) {
      r.s32min = max(r.s32min, s32(r.smin));
      r.s32max = min(r.s32max, s32(r.smax));
    }
  }
  // Upper halves two consecutive numbers while the low halves cross zero: still one s32 range.
  if (u32((r.umin >> 32n) + 1n) === u32(r.umax >> 32n) && s32(r.umin) < 0n && s32(r.umax) >= 0n) {
    r.s32min = max(r.s32min, s32(r.umin));
    r.s32max = min(r.s32max, s32(r.umax));
  }
  if (u32((r.smin >> 32n) + 1n) === u32(r.smax >> 32n) && s32(r.smin) < 0n && s32(r.smax) >= 0n) {
    r.s32min = max(r.s32min, s32(r.smin));
    r.s32max = min(r.s32max, s32(r.smax));
  }
  if (s32(r.u32min) <= s32(r.u32max)) {
    r.s32min = max(r.s32min, s32(r.u32min));
    r.s32max = min(r.s32max, s32(r.u32max));
  }
  if (u32(r.s32min) <= u32(r.s32max)) {
    r.u32min = max(r.u32min, u32(r.s32min));
    r.u32max = min(r.u32max, u32(r.s32max));
  }
}

function deduce64(r: Reg): void {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = max(r.smin, s64(r.umin));
    r.smax = min(r.smax, s64(r.umax));
  }
  if (u64(r.smin) <= u64(r.smax)) {
    r.umin = max(r.umin, u64(r.smin));
    r.umax = min(r.umax, u64(r.smax));
  }
}

function deduceMixed(r: Reg): void {
  const hi = ~0xffffffffn;
  r.umin = max(r.umin, u64((r.umin & hi) | r.u32min));
  r.umax = min(r.umax, u64((r.umax & hi) | r.u32max));
  r.smin = max(r.smin, s64((r.smin & hi) | r.u32min));
  r.smax = min(r.smax, s64((r.smax & hi) | r.u32max));
  if (r.s32min >= 0n && r.smin >= S32_MIN && r.smax <= S32_MAX) {
    r.smin = r.s32min;
    r.smax = r.s32max;
    r.umin = r.s32min;
    r.umax = r.s32max;
    r.varOff = tn.tnumIntersect(r.varOff, tn.tnumRange(r.smin, r.smax));
  }
}

function boundOffset(r: Reg): void {
  const v64 = tn.tnumIntersect(r.varOff, tn.tnumRange(r.umin, r.umax));
  const v32 = tn.tnumIntersect(tn.tnumSubreg(v64), tn.tnumRange(r.u32min, r.u32max));
  r.varOff = tn.tnumOr(tn.tnumClearSubreg(v64), v32);
}

/** reg_bounds_sync: make the five views agree. */
export function boundsSync(r: Reg): void {
  // Fast path: a known value that every view already admits is the whole answer.
  if (r.varOff.mask === 0n) {
    const v = r.varOff.value;
    const sv = s64(v), v32 = u32(v), sv32 = s32(v);
    if (r.umin <= v && v <= r.umax && r.smin <= sv && sv <= r.smax && r.u32min <= v32 && v32 <= r.u32max && r.s32min <= sv32 && sv32 <= r.s32max) {
      r.umin = r.umax = v;
      r.smin = r.smax = sv;
      r.u32min = r.u32max = v32;
      r.s32min = r.s32max = sv32;
      return;
    }
  }
  updateBounds(r);
  deduce32(r);
  deduce64(r);
  deduceMixed(r);
  deduce32(r);
  deduce64(r);
  boundOffset(r);
  updateBounds(r);
}

/** Whether the bounds contradict each other (an impossible branch). */
export function boundsInvalid(r: Reg): boolean {
  return r.smin > r.smax || r.umin > r.umax || r.s32min > r.s32max || r.u32min > r.u32max ||
    (r.varOff.value & r.varOff.mask) !== 0n;
}

/** Zero-extend the low 32 bits into 64 (result of every ALU32 op). */
export function zext32(r: Reg): void {
  r.varOff = tn.tnumSubreg(r.varOff);
  r.umin = r.u32min;
  r.umax = r.u32max;
  if (r.s32min >= 0n) {
    r.smin = r.s32min;
    r.smax = r.s32max;
  } else {
    r.smin = 0n;
    r.smax = U32;
  }
  boundsSync(r);
}

function unbound32(r: Reg): void {
  r.s32min = S32_MIN; r.s32max = S32_MAX; r.u32min = 0n; r.u32max = U32;
}
function unbound64(r: Reg): void {
  r.smin = S64_MIN; r.smax = S64_MAX; r.umin = 0n; r.umax = U64;
}

function add(d: Reg, s: Reg): void {
  const a32 = d.s32min + s.s32min, b32 = d.s32max + s.s32max;
  if (a32 < S32_MIN || b32 > S32_MAX || a32 > S32_MAX || b32 < S32_MIN) { d.s32min = S32_MIN; d.s32max = S32_MAX; }
  else { d.s32min = a32; d.s32max = b32; }
  const c32 = d.u32min + s.u32min, e32 = d.u32max + s.u32max;
  if (e32 > U32) { d.u32min = 0n; d.u32max = U32; } else { d.u32min = c32; d.u32max = e32; }
  const a = d.smin + s.smin, b = d.smax + s.smax;
  if (a < S64_MIN || b > S64_MAX || a > S64_MAX || b < S64_MIN) { d.smin = S64_MIN; d.smax = S64_MAX; }
  else { d.smin = a; d.smax = b; }
  const c = d.umin + s.umin, e = d.umax + s.umax;
  if (e > U64) { d.umin = 0n; d.umax = U64; } else { d.umin = c; d.umax = e; }
  d.varOff = tn.tnumAdd(d.varOff, s.varOff);
}

function sub(d: Reg, s: Reg): void {
  const a32 = d.s32min - s.s32max, b32 = d.s32max - s.s32min;
  if (a32 < S32_MIN || b32 > S32_MAX) { d.s32min = S32_MIN; d.s32max = S32_MAX; } else { d.s32min = a32; d.s32max = b32; }
  if (d.u32min < s.u32max) { d.u32min = 0n; d.u32max = U32; } else { d.u32min -= s.u32max; d.u32max -= s.u32min; }
  const a = d.smin - s.smax, b = d.smax - s.smin;
  if (a < S64_MIN || b > S64_MAX) { d.smin = S64_MIN; d.smax = S64_MAX; } else { d.smin = a; d.smax = b; }
  if (d.umin < s.umax) { d.umin = 0n; d.umax = U64; } else { d.umin -= s.umax; d.umax -= s.umin; }
  d.varOff = tn.tnumSub(d.varOff, s.varOff);
}

function mulRange(a0: bigint, a1: bigint, b0: bigint, b1: bigint, lo: bigint, hi: bigint): [bigint, bigint] | null {
  const p = [a0 * b0, a0 * b1, a1 * b0, a1 * b1];
  let mn = p[0]!, mx = p[0]!;
  for (const x of p) { if (x < mn) mn = x; if (x > mx) mx = x; }
  return mn < lo || mx > hi ? null : [mn, mx];
}

function mul(d: Reg, s: Reg): void {
  const r32s = mulRange(d.s32min, d.s32max, s.s32min, s.s32max, S32_MIN, S32_MAX);
  const r32u = mulRange(d.u32min, d.u32max, s.u32min, s.u32max, 0n, U32);
  const rs = mulRange(d.smin, d.smax, s.smin, s.smax, S64_MIN, S64_MAX);
  const ru = mulRange(d.umin, d.umax, s.umin, s.umax, 0n, U64);
  [d.s32min, d.s32max] = r32s ?? [S32_MIN, S32_MAX];
  [d.u32min, d.u32max] = r32u ?? [0n, U32];
  [d.smin, d.smax] = rs ?? [S64_MIN, S64_MAX];
  [d.umin, d.umax] = ru ?? [0n, U64];
  d.varOff = tn.tnumMul(d.varOff, s.varOff);
}

/** and/or/xor: bounds from the resulting tnum, signed from unsigned if no sign crossing. */
function bitwise(d: Reg, s: Reg, o: number): void {
  const umax32 = min(d.u32max, s.u32max), umin32 = max(d.u32min, s.u32min);
  const umax64 = min(d.umax, s.umax), umin64 = max(d.umin, s.umin);
  d.varOff = o === C.AND ? tn.tnumAnd(d.varOff, s.varOff) : o === C.OR ? tn.tnumOr(d.varOff, s.varOff) : tn.tnumXor(d.varOff, s.varOff);
  const v32 = tn.tnumSubreg(d.varOff);
  d.u32min = o === C.OR ? max(v32.value, umin32) : v32.value;
  d.u32max = o === C.AND ? umax32 : v32.value | v32.mask;
  d.umin = o === C.OR ? max(d.varOff.value, umin64) : d.varOff.value;
  d.umax = o === C.AND ? umax64 : d.varOff.value | d.varOff.mask;
  if (s32(d.u32min) <= s32(d.u32max)) { d.s32min = s32(d.u32min); d.s32max = s32(d.u32max); }
  else { d.s32min = S32_MIN; d.s32max = S32_MAX; }
  if (s64(d.umin) <= s64(d.umax)) { d.smin = s64(d.umin); d.smax = s64(d.umax); }
  else { d.smin = S64_MIN; d.smax = S64_MAX; }
}

/**
 * dst = dst <op> src for a scalar dst and scalar src (ALU64 if !alu32).
 * Mirrors adjust_scalar_min_max_vals: operations whose result range the
 * kernel does not track (division, modulo, variable shifts) make dst unknown.
 */
export function scalarAlu(d: Reg, s: Reg, o: number, alu32: boolean): void {
  const bits = alu32 ? 32n : 64n;
  const srcConst = alu32 ? tn.tnumIsConst(tn.tnumSubreg(s.varOff)) : tn.tnumIsConst(s.varOff);
  const safe = o === C.ADD || o === C.SUB || o === C.AND || o === C.OR || o === C.XOR || o === C.MUL || o === C.NEG ||
    ((o === C.LSH || o === C.RSH || o === C.ARSH) && srcConst && (alu32 ? s.u32max : s.umax) < bits);
  if (!safe) {
    markUnbounded(d);
    if (alu32) zext32(d);
    return;
  }
  // Both operands known: the result is the concrete one (what the tnum and range rules give too).
  if (d.varOff.mask === 0n && (o === C.NEG || s.varOff.mask === 0n)) {
    const w = alu32 ? 32 : 64;
    const a = BigInt.asUintN(w, d.varOff.value);
    const b = BigInt.asUintN(w, s.varOff.value);
    let v: bigint | undefined;
    switch (o) {
      case C.ADD: v = a + b; break;
      case C.SUB: v = a - b; break;
      case C.MUL: v = a * b; break;
      case C.AND: v = a & b; break;
      case C.OR: v = a | b; break;
      case C.XOR: v = a ^ b; break;
      case C.NEG: v = -a; break;
      case C.LSH: v = a << b; break;
      case C.RSH: v = a >> b; break;
      case C.ARSH: v = BigInt.asIntN(w, a) >> b; break;
    }
    if (v !== undefined) {
      markKnown(d, BigInt.asUintN(w, v));
      return;
    }
  }
  if (alu32) {
    // Work on the low halves only: the result is then zero-extended.
    d.varOff = tn.tnumSubreg(d.varOff);
    unbound64(d);
  }
  switch (o) {
    case C.ADD: add(d, s); break;
    case C.SUB: sub(d, s); break;
    case C.NEG: {
      const v = { ...d };
      markKnown(d, 0n);
      sub(d, v);
      break;
    }
    case C.MUL: mul(d, s); break;
    case C.AND: case C.OR: case C.XOR: bitwise(d, s, o); break;
    case C.LSH: {
      const sh = Number(alu32 ? s.u32min : s.umin);
      if (alu32) {
        const ok = d.u32max <= (1n << BigInt(31 - sh)) || sh === 0;
        d.varOff = tn.tnumSubreg(tn.tnumLshift(d.varOff, sh));
        if (ok && d.u32max << BigInt(sh) <= U32) { d.u32min <<= BigInt(sh); d.u32max <<= BigInt(sh); } else { d.u32min = 0n; d.u32max = U32; }
        d.s32min = S32_MIN; d.s32max = S32_MAX;
      } else {
        if (d.umax << BigInt(sh) <= U64) { d.umin <<= BigInt(sh); d.umax <<= BigInt(sh); } else { d.umin = 0n; d.umax = U64; }
        d.smin = S64_MIN; d.smax = S64_MAX;
        d.varOff = tn.tnumLshift(d.varOff, sh);
        unbound32(d);
      }
      break;
    }
    case C.RSH: {
      const sh = BigInt(alu32 ? s.u32min : s.umin);
      if (alu32) {
        d.varOff = tn.tnumRshift(tn.tnumSubreg(d.varOff), Number(sh));
        d.u32min >>= sh; d.u32max >>= sh;
        d.s32min = S32_MIN; d.s32max = S32_MAX;
      } else {
        d.varOff = tn.tnumRshift(d.varOff, Number(sh));
        d.umin >>= sh; d.umax >>= sh;
        d.smin = S64_MIN; d.smax = S64_MAX;
        unbound32(d);
      }
      break;
    }
    case C.ARSH: {
      const sh = BigInt(alu32 ? s.u32min : s.umin);
      if (alu32) {
        d.s32min >>= sh; d.s32max >>= sh;
        d.varOff = tn.tnumArshift(tn.tnumSubreg(d.varOff), Number(sh), 32);
        d.u32min = 0n; d.u32max = U32;
      } else {
        d.smin >>= sh; d.smax >>= sh;
        d.varOff = tn.tnumArshift(d.varOff, Number(sh), 64);
        d.umin = 0n; d.umax = U64;
        unbound32(d);
      }
      break;
    }
  }
  if (alu32) zext32(d);
  else boundsSync(d);
}
