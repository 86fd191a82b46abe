import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { BpfError } from "../errno.js";
import { decodeAt, decodeProgram, decodeProgramOrThrow, encodeProgram, insn, lddwImm64, splitImm64, type Insn } from "./codec.js";
import { OPCODES, opInfo, variantName } from "./opcode-table.js";
import { validInsn } from "../../../../test/conformance/arbitraries.js";
import * as O from "./opcodes.js";

describe("instruction codec", () => {
  it("decode(encode(i)) = i for every valid instruction", () => {
    fc.assert(
      fc.property(validInsn, (i) => {
        const bytes = encodeProgram([i]);
        const r = decodeAt(bytes, 0);
        expect(r.ok ? r.insn : r.error).toEqual(i);
        if (r.ok) expect(r.slots).toBe(i.code === O.LDDW ? 2 : 1);
      }),
    );
  });

  it("decodes a program of many instructions with their slot indices", () => {
    fc.assert(
      fc.property(fc.array(validInsn, { minLength: 1, maxLength: 30 }), (is) => {
        const r = decodeProgram(encodeProgram(is));
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.insns.map(({ pc: _pc, ...rest }) => rest)).toEqual(is);
      }),
    );
  });

  it("garbage gives a result, never an exception", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeProgram(bytes);
        if (!r.ok) expect(typeof r.error.message).toBe("string");
        try {
          decodeProgramOrThrow(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(BpfError);
        }
      }),
    );
  });

  const one = (code: number, regs: number, off: number, imm: number): Uint8Array => {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint8(0, code);
    dv.setUint8(1, regs);
    dv.setInt16(2, off, true);
    dv.setInt32(4, imm, true);
    return b;
  };
  const kindOf = (b: Uint8Array) => {
    const r = decodeAt(b, 0);
    return r.ok ? "ok" : r.error.kind;
  };

  it("rejects what Linux rejects", () => {
    expect(kindOf(one(0x00, 0, 0, 0))).toBe("InvalidOpcode");
    expect(kindOf(one(0x8e, 0, 0, 0))).toBe("InvalidOpcode"); // JMP32 | CALL
    expect(kindOf(one(0x9d, 0, 0, 0))).toBe("InvalidOpcode"); // exit | X
    expect(kindOf(one(0x99, 0x10, 0, 0))).toBe("InvalidOpcode"); // ldxsdw
    expect(kindOf(one(0xb7, 0x0b, 0, 0))).toBe("InvalidRegister"); // r11
    expect(kindOf(one(0xbf, 0xb0, 0, 0))).toBe("InvalidRegister");
    expect(kindOf(one(0x07, 0x10, 0, 1))).toBe("ReservedField"); // K with src_reg
    expect(kindOf(one(0x0f, 0x10, 0, 1))).toBe("ReservedField"); // X with imm
    expect(kindOf(one(0x07, 0x00, 1, 1))).toBe("ReservedField"); // add with off
    expect(kindOf(one(0x3f, 0x10, 2, 0))).toBe("ReservedField"); // div off 2
    expect(kindOf(one(0xbc, 0x10, 32, 0))).toBe("ReservedField"); // movsx3232
    expect(kindOf(one(0xd4, 0x00, 0, 8))).toBe("ReservedField"); // le8
    expect(kindOf(one(0x95, 0x00, 0, 1))).toBe("ReservedField"); // exit with imm
    expect(kindOf(one(0x05, 0x00, 1, 1))).toBe("ReservedField"); // ja with imm
    expect(kindOf(one(0x06, 0x00, 1, 1))).toBe("ReservedField"); // gotol with off
    expect(kindOf(one(0xdb, 0x10, 0, 0x02))).toBe("ReservedField"); // atomic op 2
    expect(kindOf(one(0x61, 0x10, 0, 1))).toBe("ReservedField"); // ldx imm
    expect(kindOf(one(0x62, 0x10, 0, 1))).toBe("ReservedField"); // st src
    expect(kindOf(one(0x18, 0x01, 0, 1))).toBe("IncompleteLddw"); // no second slot
    const bad2 = new Uint8Array(16);
    bad2.set(one(0x18, 0x01, 0, 1));
    bad2.set(one(0x95, 0, 0, 0), 8);
    expect(kindOf(bad2)).toBe("IncompleteLddw");
    expect(kindOf(one(0xbf, 0x21, 0, 0))).toBe("ok");
    expect(decodeProgram(new Uint8Array(12)).ok).toBe(false);
    expect(decodeProgram(new Uint8Array(0)).ok).toBe(false);
  });

  it("lddw immediates split and join exactly", () => {
    fc.assert(
      fc.property(fc.bigUintN(64), (v) => {
        const { imm, nextImm } = splitImm64(v);
        expect(lddwImm64(insn(O.LDDW, 1, 0, 0, imm, nextImm))).toBe(v);
      }),
    );
  });
});

describe("opcode table", () => {
  it("has the RFC 9669 opcodes with their Linux values", () => {
    expect(opInfo(0x07)?.name).toBe("add");
    expect(opInfo(0x0c)?.name).toBe("add32");
    expect(opInfo(0x18)?.kind).toBe("lddw");
    expect(opInfo(0x85)?.kind).toBe("call");
    expect(opInfo(0x8d)?.kind).toBe("callx");
    expect(opInfo(0x06)?.name).toBe("ja32");
    expect(opInfo(0xdb)?.size).toBe(8);
    expect(opInfo(0xc3)?.size).toBe(4);
    expect(opInfo(0x91)?.name).toBe("ldxsb");
    expect(opInfo(0xd7)?.name).toBe("bswap");
    // 2 ALU classes x (13 ops x 2 sources - neg X) + le, be, bswap; 2 JMP classes x 11 x 2 + ja, ja32,
    // call, callx, exit; lddw; 3+3 legacy; 4 ldx + 3 ldxsx + 4 st + 4 stx; 2 atomic.
    expect(OPCODES.size).toBe(2 * 25 + 3 + 2 * 22 + 5 + 1 + 6 + 15 + 2);
    const div = opInfo(0x3f)!;
    expect(variantName(div, 1, 0)).toBe("sdiv");
    expect(variantName(opInfo(0xbf)!, 16, 0)).toBe("movsx1664");
    expect(variantName(opInfo(0xc3)!, 0, 0xf1)).toBe("lock cmpxchg32");
  });
});
