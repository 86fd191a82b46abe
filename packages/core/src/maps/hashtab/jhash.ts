/**
 * Bob Jenkins' lookup3 hash as Linux's <linux/jhash.h> uses it, so that a
 * hash map created with BPF_F_ZERO_SEED puts keys in the same buckets, and
 * iterates them in the same order, as the kernel does.
 *
 * Who may call: anyone (pure functions over arena bytes).
 */

/** JHASH_INITVAL: an arbitrary starting value. */
const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Mutable a/b/c triple shared by mix and final, kept in one small array. */
type Abc = Uint32Array;

function mix(s: Abc): void {
  let a = s[0]!, b = s[1]!, c = s[2]!;
  a = (a - c) >>> 0; a ^= rol32(c, 4); c = (c + b) >>> 0;
  b = (b - a) >>> 0; b ^= rol32(a, 6); a = (a + c) >>> 0;
  c = (c - b) >>> 0; c ^= rol32(b, 8); b = (b + a) >>> 0;
  a = (a - c) >>> 0; a ^= rol32(c, 16); c = (c + b) >>> 0;
  b = (b - a) >>> 0; b ^= rol32(a, 19); a = (a + c) >>> 0;
  c = (c - b) >>> 0; c ^= rol32(b, 4); b = (b + a) >>> 0;
  s[0] = a; s[1] = b; s[2] = c;
}

function final(s: Abc): void {
  let a = s[0]!, b = s[1]!, c = s[2]!;
  c ^= b; c = (c - rol32(b, 14)) >>> 0;
  a ^= c; a = (a - rol32(c, 11)) >>> 0;
  b ^= a; b = (b - rol32(a, 25)) >>> 0;
  c ^= b; c = (c - rol32(b, 16)) >>> 0;
  a ^= c; a = (a - rol32(c, 4)) >>> 0;
  b ^= a; b = (b - rol32(a, 14)) >>> 0;
  c ^= b; c = (c - rol32(b, 24)) >>> 0;
  s[0] = a; s[1] = b; s[2] = c;
}

const st = new Uint32Array(3);

function le32(u8: Uint8Array, off: number): number {
  return (u8[off]! | (u8[off + 1]! << 8) | (u8[off + 2]! << 16) | (u8[off + 3]! << 24)) >>> 0;
}

/** jhash(key, length, initval) over `length` bytes at `off`. */
export function jhash(u8: Uint8Array, off: number, length: number, initval: number): number {
  st[0] = st[1] = st[2] = (JHASH_INITVAL + length + initval) >>> 0;
  let k = off;
  while (length > 12) {
    st[0] = st[0]! + le32(u8, k);
    st[1] = st[1]! + le32(u8, k + 4);
    st[2] = st[2]! + le32(u8, k + 8);
    mix(st);
    length -= 12;
    k += 12;
  }
  if (length === 0) return st[2]!;
  // The kernel's fall-through switch: add the last 1..12 bytes little-endian.
  let a = 0, b = 0, c = 0;
  for (let i = 0; i < length; i++) {
    const byte = u8[k + i]! * 2 ** (8 * (i & 3));
    if (i < 4) a += byte;
    else if (i < 8) b += byte;
    else c += byte;
  }
  st[0] = st[0]! + a;
  st[1] = st[1]! + b;
  st[2] = st[2]! + c;
  final(st);
  return st[2]!;
}

/** jhash2(k, length, initval) over `words` u32 words at `off` (4-aligned). */
export function jhash2(u8: Uint8Array, off: number, words: number, initval: number): number {
  st[0] = st[1] = st[2] = (JHASH_INITVAL + (words << 2) + initval) >>> 0;
  let k = off;
  while (words > 3) {
    st[0] = st[0]! + le32(u8, k);
    st[1] = st[1]! + le32(u8, k + 4);
    st[2] = st[2]! + le32(u8, k + 8);
    mix(st);
    words -= 3;
    k += 12;
  }
  if (words === 0) return st[2]!;
  if (words >= 3) st[2] = st[2]! + le32(u8, k + 8);
  if (words >= 2) st[1] = st[1]! + le32(u8, k + 4);
  st[0] = st[0]! + le32(u8, k);
  final(st);
  return st[2]!;
}

/** htab_map_hash(): jhash2 for keys that are a whole number of words, jhash otherwise. */
export function htabMapHash(u8: Uint8Array, keyOff: number, keySize: number, seed: number): number {
  return (keySize & 3) === 0 ? jhash2(u8, keyOff, keySize >> 2, seed) : jhash(u8, keyOff, keySize, seed);
}
