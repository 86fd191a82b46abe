import { BpfError } from "@bpfsim/core";

/**
 * Bounds-checked little-endian reads over an untrusted byte buffer.
 *
 * Every parser in the loader reads through this class so that a truncated or
 * corrupted object produces a `BpfError` (EINVAL) naming what was being read,
 * never a `RangeError` from a `DataView` or a silent wrap-around.
 *
 * Context: syscall / user space, any thread. Pure; no shared state.
 */
export class ByteReader {
  private readonly view: DataView;

  /** @param bytes the whole buffer; @param what names it in error messages */
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Throws unless `[off, off + len)` lies inside the buffer. */
  need(off: number, len: number, field: string): void {
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0 || off + len > this.bytes.length) {
      throw new BpfError("EINVAL", `${this.what}: ${field} at offset ${off} (+${len}) is outside the ${this.bytes.length}-byte buffer`);
    }
  }

  u8(off: number, field: string): number {
    this.need(off, 1, field);
    return this.view.getUint8(off);
  }

  u16(off: number, field: string): number {
    this.need(off, 2, field);
    return this.view.getUint16(off, true);
  }

  u32(off: number, field: string): number {
    this.need(off, 4, field);
    return this.view.getUint32(off, true);
  }

  i32(off: number, field: string): number {
    this.need(off, 4, field);
    return this.view.getInt32(off, true);
  }

  u64(off: number, field: string): bigint {
    this.need(off, 8, field);
    return this.view.getBigUint64(off, true);
  }

  /**
   * A 64-bit offset or size as a JS number. Values past 2^53 cannot address
   * anything in a buffer that fits in memory, so they are rejected here.
   */
  u64n(off: number, field: string): number {
    const v = this.u64(off, field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new BpfError("EINVAL", `${this.what}: ${field} (${v}) is too large`);
    }
    return Number(v);
  }

  /** A sub-range as a view (no copy), bounds-checked. */
  slice(off: number, len: number, field: string): Uint8Array {
    this.need(off, len, field);
    return this.bytes.subarray(off, off + len);
  }

  /** The NUL-terminated string at `off`; an unterminated one is an error. */
  cstr(off: number, field: string): string {
    this.need(off, 0, field);
    const end = this.bytes.indexOf(0, off);
    if (end < 0) throw new BpfError("EINVAL", `${this.what}: ${field} at offset ${off} is not NUL-terminated`);
    return decoder.decode(this.bytes.subarray(off, end));
  }
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Decodes bytes up to the first NUL (or the end) as UTF-8. */
export function decodeCString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/**
 * A NUL-terminated string table (ELF .strtab/.shstrtab, the BTF string
 * section) read by offset. Untrusted tables could make naive look-ups
 * quadratic (thousands of names pointing into one huge unterminated run), so
 * the end of every string is precomputed once, results are memoised, and the
 * total text decoded is bounded; past the bound the table is EINVAL.
 */
export class StringTable {
  private readonly cache = new Map<number, string>();
  private nextNul: Int32Array | undefined;
  private budget: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {
    this.budget = bytes.length * 16 + (1 << 20);
  }

  /** The string at `off`; EINVAL if out of range or unterminated. */
  get(off: number, field: string): string {
    const hit = this.cache.get(off);
    if (hit !== undefined) return hit;
    if (!Number.isSafeInteger(off) || off < 0 || off >= this.bytes.length) {
      throw new BpfError("EINVAL", `${this.what}: ${field} at offset ${off} is outside the ${this.bytes.length}-byte table`);
    }
    const ends = (this.nextNul ??= nulIndex(this.bytes));
    const end = ends[off]!;
    if (end < 0) throw new BpfError("EINVAL", `${this.what}: ${field} at offset ${off} is not NUL-terminated`);
    this.budget -= end - off;
    if (this.budget < 0) throw new BpfError("EINVAL", `${this.what}: names overlap too much to be a real string table`);
    const s = decoder.decode(this.bytes.subarray(off, end));
    this.cache.set(off, s);
    return s;
  }
}

/** For every byte, the index of the first NUL at or after it, or -1. */
function nulIndex(bytes: Uint8Array): Int32Array {
  const out = new Int32Array(bytes.length);
  let next = -1;
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] === 0) next = i;
    out[i] = next;
  }
  return out;
}
