/**
 * Garbage in: the translator either refuses with a BpfError or produces a
 * module that WebAssembly validates, for any instruction stream. Random
 * streams drawn from the real opcodes (and some raw bytes) reach every
 * emitter path with odd registers, offsets, immediates and jump targets.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BpfError } from "../../errno.js";
import { OPCODES } from "../../insn/opcode-table.js";
import { translate } from "./translate.js";

const codes = [...OPCODES.keys()];
const slot = fc.tuple(
  fc.oneof({ arbitrary: fc.constantFrom(...codes), weight: 9 }, { arbitrary: fc.nat(255), weight: 1 }),
  fc.nat(10),
  fc.oneof(fc.nat(10), fc.constantFrom(0, 1, 4), fc.nat(15)),
  fc.oneof(fc.integer({ min: -8, max: 8 }), fc.constantFrom(0, 1, 8, 16, 32, -512, -8), fc.integer({ min: -32768, max: 32767 })),
  fc.oneof(fc.integer({ min: -8, max: 64 }), fc.constantFrom(0, 1, 12, 16, 32, 64, 0xe1, 0xf1, 0x01, 0x40, -1), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
);

function encode(slots: [number, number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(slots.length * 8);
  const dv = new DataView(out.buffer);
  slots.forEach(([op, dst, src, off, imm], k) => {
    dv.setUint8(k * 8, op);
    dv.setUint8(k * 8 + 1, (src << 4) | dst);
    dv.setInt16(k * 8 + 2, off, true);
    dv.setInt32(k * 8 + 4, imm, true);
  });
  return out;
}

describe("translate on arbitrary instruction streams", () => {
  it("refuses with a BpfError or emits a valid module", () => {
    let valid = 0;
    fc.assert(
      fc.property(fc.array(slot, { minLength: 1, maxLength: 40 }), (slots) => {
        // End with exit so that some streams are well formed.
        const insns = encode([...slots, [0x95, 0, 0, 0, 0]]);
        let bytes: Uint8Array;
        try {
          bytes = translate(insns, 1 << 20).bytes;
        } catch (e) {
          expect(e).toBeInstanceOf(BpfError);
          return;
        }
        valid++;
        expect(WebAssembly.validate(bytes)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // The generator must reach the emitters, not only the refusals.
    expect(valid).toBeGreaterThan(100);
  });
});
