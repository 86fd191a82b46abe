/**
 * A minimal WebAssembly binary writer: just the encodings the JIT emits
 * (LEB128 integers, value types, the opcodes below, and the module sections).
 * No toolchain runs at run time; the JIT produces bytes and hands them to
 * `new WebAssembly.Module`.
 *
 * Context: pure data; callable from any thread.
 */

/** Value types (binary encoding). */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;
/** The empty block type. */
export const VOID = 0x40;

/** Opcodes the JIT uses (core spec + threads proposal under the 0xfe prefix). */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  i32Load: 0x28,
  i64Load: 0x29,
  i64Load8s: 0x30,
  i64Load8u: 0x31,
  i64Load16s: 0x32,
  i64Load16u: 0x33,
  i64Load32s: 0x34,
  i64Load32u: 0x35,
  i64Store: 0x37,
  i64Store8: 0x3c,
  i64Store16: 0x3d,
  i64Store32: 0x3e,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GtU: 0x4b,
  i32LeS: 0x4c,
  i32LeU: 0x4d,
  i32GeS: 0x4e,
  i32GeU: 0x4f,
  i64Eqz: 0x50,
  i64Eq: 0x51,
  i64Ne: 0x52,
  i64LtS: 0x53,
  i64LtU: 0x54,
  i64GtS: 0x55,
  i64GtU: 0x56,
  i64LeS: 0x57,
  i64LeU: 0x58,
  i64GeS: 0x59,
  i64GeU: 0x5a,
  f64Const: 0x44,
  f64Ge: 0x66,
  i32Clz: 0x67,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivS: 0x6d,
  i32DivU: 0x6e,
  i32RemS: 0x6f,
  i32RemU: 0x70,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i32Rotr: 0x78,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64DivS: 0x7f,
  i64DivU: 0x80,
  i64RemS: 0x81,
  i64RemU: 0x82,
  i64And: 0x83,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i64Rotl: 0x89,
  i64Rotr: 0x8a,
  i32WrapI64: 0xa7,
  i64TruncF64U: 0xb1,
  i64ExtendI32S: 0xac,
  i64ExtendI32U: 0xad,
  i32Extend8S: 0xc0,
  i32Extend16S: 0xc1,
  i64Extend8S: 0xc2,
  i64Extend16S: 0xc3,
  i64Extend32S: 0xc4,
  /** Prefix of the threads proposal's atomic instructions. */
  atomicPrefix: 0xfe,
} as const;

/**
 * Atomic read-modify-write opcodes (after the 0xfe prefix), 32-bit wide form
 * on an i64 operand (`i64.atomic.rmw32.*_u`) and 64-bit form (`i64.atomic.rmw.*`).
 */
export const AtomicOp = {
  add: { w32: 0x24, w64: 0x1f },
  and: { w32: 0x32, w64: 0x2d },
  or: { w32: 0x39, w64: 0x34 },
  xor: { w32: 0x40, w64: 0x3b },
  xchg: { w32: 0x47, w64: 0x42 },
  cmpxchg: { w32: 0x4e, w64: 0x49 },
} as const;

/** A growable byte buffer with the LEB128 encoders wasm needs. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  /** `capacity`: initial bytes; a good guess saves regrowing on big programs. */
  constructor(capacity = 256) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    this.grow(n);
  }

  private grow(n: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(b: number): this {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(src: ArrayLike<number>): this {
    this.reserve(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
    return this;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^32. */
  u32(v: number): this {
    this.reserve(5);
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.buf[this.length++] = b;
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of a 32-bit integer. */
  s32(v: number): this {
    this.reserve(5);
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.buf[this.length++] = b;
        return this;
      }
      this.buf[this.length++] = b | 0x80;
    }
  }

  /**
   * Signed LEB128 of a 64-bit integer given as two 32-bit halves, so the
   * emitter never allocates a BigInt per constant.
   */
  s64(lo: number, hi: number): this {
    // Values that fit an i32 (hi is the sign extension of lo) take the short path.
    if ((hi | 0) === (lo | 0) >> 31) return this.s32(lo);
    this.reserve(10);
    lo >>>= 0;
    hi |= 0;
    for (;;) {
      const b = lo & 0x7f;
      // Shift the 64-bit pair right by 7, arithmetic in the high half.
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>= 7;
      const done = (hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === 0xffffffff && (b & 0x40) !== 0);
      if (done) {
        this.buf[this.length++] = b;
        return this;
      }
      this.buf[this.length++] = b | 0x80;
    }
  }

  /** A name: length-prefixed UTF-8 (ASCII here). */
  name(s: string): this {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i));
    return this;
  }

  /** Appends another writer's bytes, prefixed by their length (sections, function bodies). */
  sized(inner: ByteWriter): this {
    this.u32(inner.length);
    return this.bytes(inner.view());
  }

  /** Emits section `id` with `inner` as its contents. */
  section(id: number, inner: ByteWriter): this {
    return this.u8(id).sized(inner);
  }

  /** The bytes written so far, without copying (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Section ids. */
export const Section = {
  type: 1,
  import: 2,
  function: 3,
  export: 7,
  code: 10,
} as const;

/** Import/export kinds. */
export const ExternKind = { func: 0, table: 1, memory: 2, global: 3 } as const;
