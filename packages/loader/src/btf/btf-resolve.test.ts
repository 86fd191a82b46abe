import { describe, expect, it } from "vitest";
import { BtfKind, type Btf, type BtfType } from "./btf-types.js";
import { btfFindSpinLock, btfResolveSize, btfTypeString, skipModsAndTypedefs } from "./btf-resolve.js";

const mk = (types: Omit<BtfType, "id">[]): Btf => ({
  types: [{ id: 0, name: "", kind: BtfKind.Unkn }, ...types.map((t, i) => ({ ...t, id: i + 1 }) as BtfType)],
  raw: new Uint8Array(),
  strings: new Uint8Array([0]),
});

describe("BTF helpers", () => {
  const btf = mk([
    { name: "u32", kind: BtfKind.Int, size: 4, encoding: 0, bitOffset: 0, bits: 32 }, // 1
    { name: "u32_t", kind: BtfKind.Typedef, type: 1 }, // 2
    { name: "", kind: BtfKind.Const, type: 2 }, // 3
    { name: "", kind: BtfKind.Array, type: 3, indexType: 1, nelems: 6 }, // 4
    { name: "bpf_spin_lock", kind: BtfKind.Struct, size: 4, members: [{ name: "val", type: 1, bitOffset: 0, bitfieldSize: 0 }] }, // 5
    { name: "val", kind: BtfKind.Struct, size: 32, members: [
      { name: "a", type: 4, bitOffset: 0, bitfieldSize: 0 },
      { name: "lock", type: 5, bitOffset: 192, bitfieldSize: 0 },
    ] }, // 6
    { name: "loop_a", kind: BtfKind.Typedef, type: 8 }, // 7
    { name: "loop_b", kind: BtfKind.Typedef, type: 7 }, // 8
    { name: "", kind: BtfKind.Ptr, type: 6 }, // 9
  ]);

  it("skips modifiers and typedefs", () => {
    expect(skipModsAndTypedefs(btf, 3).id).toBe(1);
  });
  it("sizes arrays through modifiers", () => {
    expect(btfResolveSize(btf, 4)).toBe(24);
    expect(btfResolveSize(btf, 6)).toBe(32);
    expect(btfResolveSize(btf, 9)).toBe(8);
  });
  it("a typedef cycle is EINVAL, not a hang", () => {
    expect(() => skipModsAndTypedefs(btf, 7)).toThrow(/EINVAL/);
    expect(() => btfResolveSize(btf, 7)).toThrow(/EINVAL/);
    expect(btfTypeString(btf, 7)).toBe("loop_a");
  });
  it("finds the spin lock offset", () => {
    expect(btfFindSpinLock(btf, 6)).toBe(24);
    expect(btfFindSpinLock(btf, 1)).toBe(-1);
  });
  it("spells types for listings", () => {
    expect(btfTypeString(btf, 9)).toBe("struct val *");
    expect(btfTypeString(btf, 4)).toBe("const u32_t[6]");
  });
});
