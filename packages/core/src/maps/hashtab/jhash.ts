/**
 * Bob Jenkins' lookup3 hash as Linux's <linux/jhash.h> uses it, so that a
 * hash map created with BPF_F_ZERO_SEED puts keys in the same buckets, and
 * iterates them in the same order, as the kernel does (checked against the
 * kernel for 4-, 5-, 9- and 13-byte keys by the hash map probe tests).
 *
 * One routine serves jhash() and jhash2(): both consume 12-byte blocks the
 * same way and differ only in the initial value and in how the last 1-12
 * bytes are added (jhash2 takes whole words). State lives in locals, so a
 * hash allocates nothing; it runs on every lookup.
 *
 * Who may call: anyone (pure functions over arena bytes).
 */

/** JHASH_INITVAL: an arbitrary starting value. */
const JHASH_INITVAL = 0xdeadbeef;

function le32(u8: Uint8Array, off: number): number {
  return u8[off]! | (u8[off + 1]! << 8) | (u8[off + 2]! << 16) | (u8[off + 3]! << 24);
}

/** Little-endian bytes [off, off + n) with 0 < n <= 4, as a u32. */
function tail32(u8: Uint8Array, off: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = (v << 8) | u8[off + i]!;
  return v;
}

// All arithmetic is on int32 (|0); the result is made unsigned at the end.
function lookup3(u8: Uint8Array, off: number, length: number, init: number): number {
  let a = init | 0, b = a, c = a;
  let k = off;
  while (length > 12) {
    a = (a + le32(u8, k)) | 0;
    b = (b + le32(u8, k + 4)) | 0;
    c = (c + le32(u8, k + 8)) | 0;
    // __jhash_mix
    a = (a - c) | 0; a ^= (c << 4) | (c >>> 28); c = (c + b) | 0;
    b = (b - a) | 0; b ^= (a << 6) | (a >>> 26); a = (a + c) | 0;
    c = (c - b) | 0; c ^= (b << 8) | (b >>> 24); b = (b + a) | 0;
    a = (a - c) | 0; a ^= (c << 16) | (c >>> 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= (a << 19) | (a >>> 13); a = (a + c) | 0;
    c = (c - b) | 0; c ^= (b << 4) | (b >>> 28); b = (b + a) | 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  // The kernel's fall-through switch: the last 1..12 bytes, little-endian.
  a = (a + tail32(u8, k, Math.min(length, 4))) | 0;
  if (length > 4) b = (b + tail32(u8, k + 4, Math.min(length - 4, 4))) | 0;
  if (length > 8) c = (c + tail32(u8, k + 8, length - 8)) | 0;
  // __jhash_final
  c ^= b; c = (c - ((b << 14) | (b >>> 18))) | 0;
  a ^= c; a = (a - ((c << 11) | (c >>> 21))) | 0;
  b ^= a; b = (b - ((a << 25) | (a >>> 7))) | 0;
  c ^= b; c = (c - ((b << 16) | (b >>> 16))) | 0;
  a ^= c; a = (a - ((c << 4) | (c >>> 28))) | 0;
  b ^= a; b = (b - ((a << 14) | (a >>> 18))) | 0;
  c ^= b; c = (c - ((b << 24) | (b >>> 8))) | 0;
  return c >>> 0;
}

/** jhash(key, length, initval) over `length` bytes at `off`. */
export function jhash(u8: Uint8Array, off: number, length: number, initval: number): number {
  return lookup3(u8, off, length, (JHASH_INITVAL + length + initval) >>> 0);
}

/** jhash2(k, length, initval) over `words` u32 words at `off`. */
export function jhash2(u8: Uint8Array, off: number, words: number, initval: number): number {
  return lookup3(u8, off, words * 4, (JHASH_INITVAL + words * 4 + initval) >>> 0);
}

/**
 * jhash_1word(): jhash2 of a single word `w`, the common u32 key, without
 * the block loop (the same arithmetic as lookup3's tail for length 4).
 */
export function jhash1word(w: number, initval: number): number {
  let a = (JHASH_INITVAL + 4 + initval) | 0;
  let b = a, c = a;
  a = (a + w) | 0;
  c ^= b; c = (c - ((b << 14) | (b >>> 18))) | 0;
  a ^= c; a = (a - ((c << 11) | (c >>> 21))) | 0;
  b ^= a; b = (b - ((a << 25) | (a >>> 7))) | 0;
  c ^= b; c = (c - ((b << 16) | (b >>> 16))) | 0;
  a ^= c; a = (a - ((c << 4) | (c >>> 28))) | 0;
  b ^= a; b = (b - ((a << 14) | (a >>> 18))) | 0;
  c ^= b; c = (c - ((b << 24) | (b >>> 8))) | 0;
  return c >>> 0;
}

/** htab_map_hash(): jhash2 for keys that are a whole number of words, jhash otherwise. */
export function htabMapHash(u8: Uint8Array, keyOff: number, keySize: number, seed: number): number {
  if (keySize === 4) return jhash1word(le32(u8, keyOff), seed);
  return (keySize & 3) === 0 ? jhash2(u8, keyOff, keySize >> 2, seed) : jhash(u8, keyOff, keySize, seed);
}
