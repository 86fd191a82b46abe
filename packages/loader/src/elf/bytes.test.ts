import { describe, expect, it } from "vitest";
import { BpfError } from "@bpfsim/core";
import { ByteReader, StringTable } from "./bytes.js";

describe("ByteReader", () => {
  it("bounds-checks every read with a BpfError naming the field", () => {
    const r = new ByteReader(new Uint8Array([1, 2, 3, 4, 5]), "test");
    expect(r.u32(0, "a")).toBe(0x04030201);
    expect(() => r.u32(2, "field_x")).toThrow(BpfError);
    expect(() => r.u32(2, "field_x")).toThrow(/EINVAL: test: field_x at offset 2/);
    expect(() => r.u8(-1, "neg")).toThrow(/EINVAL/);
    expect(() => r.slice(1, 2 ** 60, "huge")).toThrow(/EINVAL/);
  });
});

describe("StringTable", () => {
  it("reads, memoises and rejects unterminated strings", () => {
    const t = new StringTable(new TextEncoder().encode("\0abc\0de"), "strs");
    expect(t.get(1, "n")).toBe("abc");
    expect(t.get(2, "n")).toBe("bc");
    expect(() => t.get(5, "n")).toThrow(/not NUL-terminated/);
    expect(() => t.get(99, "n")).toThrow(/outside/);
  });

  it("a table whose names overlap absurdly is EINVAL, not minutes of work", () => {
    const bytes = new Uint8Array(1 << 20).fill(0x41);
    bytes[bytes.length - 1] = 0;
    const t = new StringTable(bytes, "strs");
    expect(() => {
      for (let off = 0; off < 100_000; off++) t.get(off, "n");
    }).toThrow(/overlap too much/);
  });
});
