/**
 * The rare 64-bit operations the hot loop hands off: multiplication (exact
 * on 32-bit halves, no BigInt), division and modulo (BigInt unless both
 * operands fit in 32 bits), byte swaps, and atomics. Results are written
 * back into the register halves.
 *
 * Linux semantics (RFC 9669 section 4.1): unsigned division by zero gives
 * 0, modulo by zero leaves dst unchanged; signed division truncates toward
 * zero and INT_MIN / -1 wraps to INT_MIN, INT_MIN % -1 is 0.
 *
 * Program context on one CPU.
 */

/** High 32 bits of the unsigned 64-bit product of two u32 values. */
export function mulhu32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const t = a0 * b0;
  const m1 = a1 * b0 + (t >>> 16);
  const m2 = a0 * b1 + (m1 & 0xffff);
  return (a1 * b1 + (m1 >>> 16) + (m2 >>> 16)) >>> 0;
}

/** dst = dst * (sLo, sHi) mod 2^64 (halves signed or unsigned, only their bits count). */
export function mul64(lo: Int32Array, hi: Int32Array, d: number, sLo: number, sHi: number): void {
  const aLo = lo[d]!;
  const aHi = hi[d]!;
  lo[d] = Math.imul(aLo, sLo);
  hi[d] = (mulhu32(aLo >>> 0, sLo >>> 0) + Math.imul(aLo, sHi) + Math.imul(aHi, sLo)) | 0;
}

const big = (l: number, h: number): bigint => (BigInt(h) << 32n) | BigInt(l);

function put(lo: Int32Array, hi: Int32Array, d: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  lo[d] = Number(u & 0xffffffffn);
  hi[d] = Number(u >> 32n);
}

/**
 * 64-bit div/mod family on dst and (sLo, sHi) (halves signed or unsigned).
 * `kind`: 0 div, 1 mod, 2 sdiv, 3 smod.
 */
export function divmod64(lo: Int32Array, hi: Int32Array, d: number, sLo: number, sHi: number, kind: number): void {
  const aLo = lo[d]! >>> 0;
  const aHi = hi[d]! >>> 0;
  sLo >>>= 0;
  sHi >>>= 0;
  if (sLo === 0 && sHi === 0) {
    // Division by zero gives 0; modulo by zero leaves dst as it is.
    if (kind === 0 || kind === 2) lo[d] = hi[d] = 0;
    return;
  }
  if (kind < 2) {
    if (aHi === 0 && sHi === 0) {
      lo[d] = kind === 0 ? aLo / sLo : aLo % sLo;
      return;
    }
    const a = big(aLo, aHi);
    const b = big(sLo, sHi);
    put(lo, hi, d, kind === 0 ? a / b : a % b);
    return;
  }
  const a = BigInt.asIntN(64, big(aLo, aHi));
  const b = BigInt.asIntN(64, big(sLo, sHi));
  // BigInt division truncates toward zero; asUintN wraps INT_MIN / -1.
  put(lo, hi, d, kind === 2 ? a / b : a % b);
}

/** 32-bit div/mod family on unsigned a and b; the caller zero-extends the result. */
export function divmod32(a: number, b: number, kind: number): number {
  if (b === 0) return kind === 0 || kind === 2 ? 0 : a;
  switch (kind) {
    case 0:
      return (a / b) >>> 0;
    case 1:
      return a % b;
    case 2:
      return ((a | 0) / (b | 0)) | 0;
    default:
      return ((a | 0) % (b | 0)) | 0;
  }
}

export function bswap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}

export function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/**
 * Byte swap of dst. `toBe`: 1 to big endian (swap on this little-endian
 * machine), 0 to little endian (truncate only). Widths 16 and 32 zero the
 * rest of the register, as in Linux.
 */
export function byteSwap(lo: Int32Array, hi: Int32Array, d: number, width: number, swap: boolean): void {
  const l = lo[d]! >>> 0;
  if (width === 16) {
    lo[d] = swap ? bswap16(l) : l & 0xffff;
    hi[d] = 0;
  } else if (width === 32) {
    lo[d] = swap ? bswap32(l) : l;
    hi[d] = 0;
  } else if (swap) {
    lo[d] = bswap32(hi[d]! >>> 0);
    hi[d] = bswap32(l);
  }
}
