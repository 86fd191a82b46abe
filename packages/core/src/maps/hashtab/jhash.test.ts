import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { htabMapHash, jhash1word, jhash2 } from "./jhash.js";

describe("jhash1word", () => {
  it("equals jhash2 over the same single word, for any word and seed", () => {
    const u8 = new Uint8Array(8);
    const dv = new DataView(u8.buffer);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 4 }), (w, seed, off) => {
        dv.setUint32(off, w, true);
        const ref = jhash2(u8, off, 1, seed);
        expect(jhash1word(w, seed)).toBe(ref);
        // htabMapHash takes the one-word path for 4-byte keys, aligned or not.
        expect(htabMapHash(u8, off, 4, seed)).toBe(ref);
      }),
    );
  });

});
