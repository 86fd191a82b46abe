import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteWriter } from "./wasm-writer.js";

/** Reference signed LEB128 decoder. */
function readSleb(bytes: Uint8Array): { value: bigint; length: number } {
  let result = 0n;
  let shift = 0n;
  let i = 0;
  for (;;) {
    const b = bytes[i++]!;
    result |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) {
      if (b & 0x40) result -= 1n << shift;
      return { value: result, length: i };
    }
  }
}

function readUleb(bytes: Uint8Array): number {
  let result = 0;
  let mul = 1;
  for (const b of bytes) {
    result += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) break;
  }
  return result;
}

describe("ByteWriter LEB128", () => {
  it("s64 round-trips every 64-bit value, minimally", () => {
    fc.assert(
      fc.property(fc.bigIntN(64), (v) => {
        const lo = Number(BigInt.asUintN(32, v));
        const hi = Number(BigInt.asIntN(32, v >> 32n));
        const bytes = new ByteWriter().s64(lo, hi).finish();
        const r = readSleb(bytes);
        expect(r.value).toBe(v);
        expect(r.length).toBe(bytes.length);
        // Minimal: a value needing k bits takes ceil((k + 1) / 7) bytes, at most 10.
        const bits = v < 0n ? (-v - 1n).toString(2).length : v.toString(2).length;
        expect(bytes.length).toBe(Math.max(1, Math.ceil((bits + 1) / 7)));
      }),
    );
  });

  it("s32 and u32 round-trip", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), (s, u) => {
        expect(readSleb(new ByteWriter().s32(s).finish()).value).toBe(BigInt(s));
        expect(readUleb(new ByteWriter().u32(u).finish())).toBe(u);
      }),
    );
  });

  it("grows past its initial capacity without losing bytes", () => {
    const w = new ByteWriter(16);
    for (let i = 0; i < 1000; i++) w.u8(i & 0xff);
    w.bytes(new Uint8Array(300).fill(7));
    const out = w.finish();
    expect(out.length).toBe(1300);
    expect(out[999]).toBe(999 & 0xff);
    expect(out[1299]).toBe(7);
  });

  it("sized() prefixes the inner length", () => {
    const inner = new ByteWriter().bytes(new Uint8Array(200));
    const out = new ByteWriter().sized(inner).finish();
    expect(readUleb(out)).toBe(200);
    expect(out.length).toBe(202);
  });
});
