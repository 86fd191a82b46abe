import { describe, expect, it } from "vitest";
import { BtfKind } from "./btf-types.js";
import { parseBtf } from "./parse-btf.js";
import { btfDumpRaw } from "./btf-dump.js";

/** Builds a BTF blob from raw type words and a string table. */
function blob(typeWords: number[], strings: string): Uint8Array {
  const str = new TextEncoder().encode(strings);
  const typeLen = typeWords.length * 4;
  const out = new Uint8Array(24 + typeLen + str.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  dv.setUint8(2, 1);
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, str.length, true);
  typeWords.forEach((w, i) => dv.setUint32(24 + i * 4, w >>> 0, true));
  out.set(str, 24 + typeLen);
  return out;
}
const info = (kind: number, vlen: number, kflag = 0) => ((kflag << 31) | (kind << 24) | vlen) >>> 0;

describe("parseBtf", () => {
  // strings: 0 "", 1 "big", 5 "A", 7 "B", 9 "i"
  const strings = "\0big\0A\0B\0i\0";

  it("reads ENUM64 values, signed and unsigned", () => {
    const b = blob(
      [
        1, info(BtfKind.Enum64, 2, 1), 8, 5, 0xffffffff, 0xffffffff, 7, 1, 0, // signed: A=-1, B=1
        9, info(BtfKind.Int, 0), 8, (1 << 24) | 64, // i: 8-byte signed int
      ],
      strings,
    );
    const btf = parseBtf(b);
    expect(btf.types[1]).toMatchObject({ kind: BtfKind.Enum64, name: "big", size: 8, signed: true });
    expect(btf.types[1]!.kind === BtfKind.Enum64 && btf.types[1]!.values.map((v) => v.value)).toEqual([-1n, 1n]);
    expect(btfDumpRaw(btf)).toEqual([
      "[1] ENUM64 'big' encoding=SIGNED size=8 vlen=2",
      "\t'A' val=-1",
      "\t'B' val=1",
      "[2] INT 'i' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED",
    ]);
  });

  it("rejects dangling type ids, unknown kinds and bad names with EINVAL", () => {
    expect(() => parseBtf(blob([0, info(BtfKind.Ptr, 0), 7], strings))).toThrow(/EINVAL: BTF: type \[1\] type references missing type \[7\]/);
    expect(() => parseBtf(blob([0, info(25, 0), 0], strings))).toThrow(/unknown kind 25/);
    expect(() => parseBtf(blob([99, info(BtfKind.Float, 0), 4], strings))).toThrow(/EINVAL/);
    expect(() => parseBtf(blob([0, info(BtfKind.Struct, 3), 4], strings))).toThrow(/members/);
  });

  it("rejects big-endian BTF by name", () => {
    const b = blob([], strings);
    b[0] = 0xeb;
    b[1] = 0x9f;
    expect(() => parseBtf(b)).toThrow(/big-endian/);
  });
});
