/**
 * verify(): result fields beyond the verdict (errno classes, the ENOSPC log
 * rule, facts for the engines). The verdict corpus lives in test/verifier.
 */
import { describe, it, expect } from "vitest";
import { verify } from "./verifier.js";
import type { VerifierEnv, MapInfo } from "./env.js";
import { progTypeFor } from "../prog/registry.js";
import { helperProto } from "../helpers/func-protos.js";

const ARRAY: MapInfo = { mapType: 2, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0, spinLockOff: -1 };

function env(over: Partial<VerifierEnv> = {}): VerifierEnv {
  const pt = over.progType ?? 1;
  return {
    progType: pt, progTypeOps: progTypeFor(pt)!, maps: () => ARRAY, helpers: helperProto,
    privileged: true, strictAlignment: false, logLevel: 1, logSize: 1 << 20, ...over,
  };
}

/** Little-endian slots from [code, regs, off, imm]. */
function prog(...slots: [number, number, number, number][]): Uint8Array {
  const b = new Uint8Array(slots.length * 8);
  const dv = new DataView(b.buffer);
  slots.forEach(([c, r, o, i], k) => {
    dv.setUint8(k * 8, c);
    dv.setUint8(k * 8 + 1, r);
    dv.setInt16(k * 8 + 2, o, true);
    dv.setInt32(k * 8 + 4, i, true);
  });
  return b;
}

const RET0 = prog([0xb7, 0, 0, 0], [0x95, 0, 0, 0]);
/** *(u64*)(fp-8) = 3; r2 = fp-8; r1 = map; call lookup; if r0 == 0 goto +1; r0 = *(u64*)(r0+0); exit */
const LOOKUP = prog(
  [0x7a, 0x0a, -8, 3], [0xbf, 0xa2, 0, 0], [0x07, 0x02, 0, -8], [0x18, 0x11, 0, 0], [0, 0, 0, 0], [0x85, 0, 0, 1],
  [0x15, 0x00, 1, 0], [0x79, 0x00, 0, 0], [0x95, 0, 0, 0],
);

describe("verify", () => {
  it("accepts with errno 0 and the summary line at level 1", () => {
    const r = verify(RET0, env());
    expect(r.ok).toBe(true);
    expect(r.errno).toBe(0);
    expect(r.log).toBe("processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n");
  });

  it("logs nothing at level 0", () => {
    expect(verify(prog([0x95, 0, 0, 0]), env({ logLevel: 0 })).log).toBe("");
  });

  it("EACCES for unsafe programs, EINVAL for malformed ones", () => {
    expect(verify(prog([0x95, 0, 0, 0]), env()).errno).toBe(13);
    expect(verify(prog([0xb7, 0, 0, 0]), env()).errno).toBe(22);
    expect(verify(new Uint8Array(0), env()).errno).toBe(22);
  });

  it("E2BIG when the program is longer than an unprivileged user may load", () => {
    const big = new Uint8Array(4097 * 8);
    expect(verify(big, env({ privileged: false })).errno).toBe(7);
  });

  it("EPERM for program types an unprivileged user may not load", () => {
    expect(verify(RET0, env({ progType: 2, privileged: false })).errno).toBe(1);
  });

  it("ENOSPC whenever the log does not fit, keeping its end (its beginning with BPF_LOG_FIXED)", () => {
    const ok = verify(RET0, env({ logLevel: 2, logSize: 40 }));
    expect(ok.ok).toBe(false);
    expect(ok.errno).toBe(28);
    expect(ok.log).toBe("tal_states 0 peak_states 0 mark_read 0\n");
    const bad = verify(prog([0x95, 0, 0, 0]), env({ logLevel: 1, logSize: 16 }));
    expect(bad.errno).toBe(28);
    expect(ok.logTrueSize).toBeGreaterThan(40);
    const fixed = verify(RET0, env({ logLevel: 2, logSize: 12, logFixed: true }));
    expect(fixed.log).toBe("func#0 @0\n0");
  });

  it("reports the instruction of the error", () => {
    const r = verify(prog([0xb7, 0, 0, 0], [0x79, 0x20, 0, 0], [0x95, 0, 0, 0]), env());
    expect(r.errorInsn).toBe(1);
    expect(r.message).toBe("R2 !read_ok");
  });

  it("records facts for the engines", () => {
    const r = verify(LOOKUP, env());
    expect(r.ok).toBe(true);
    expect(r.facts[0]?.memInBounds).toBe(true);
    expect(r.facts[0]?.ptrKinds).toEqual(["stack"]);
    expect(r.facts[5]?.constMapKey).toBe(3n);
    expect(r.facts[6]?.nullCheck).toBe(true);
    expect(r.facts[7]?.ptrKinds).toEqual(["map_value"]);
  });
});

describe("verify on garbage", () => {
  it("always returns a verdict, never throws", async () => {
    const fc = (await import("fast-check")).default;
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 48 }), fc.boolean(), (slots, priv) => {
        const bytes = new Uint8Array(slots.length * 8);
        slots.forEach((s, i) => bytes.set(s, i * 8));
        const r = verify(bytes, env({ privileged: priv, logLevel: 2 }));
        expect(typeof r.ok).toBe("boolean");
        expect(r.ok ? r.errno === 0 : r.errno > 0).toBe(true);
        expect(r.message ?? "").not.toMatch(/verifier bug/);
      }),
      { numRuns: 300 },
    );
  });
});

describe("verify on random instructions", () => {
  it("never hits an internal error", async () => {
    const fc = (await import("fast-check")).default;
    const codes = [
      0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7,
      0x04, 0x0c, 0x14, 0x1c, 0x24, 0x34, 0x44, 0x54, 0x5c, 0x64, 0x74, 0x84, 0xa4, 0xac, 0xb4, 0xbc, 0xc4, 0xd4, 0xdc,
      0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x45, 0x55, 0x5d, 0x65, 0x6d, 0x75, 0xa5, 0xad, 0xb5, 0xc5, 0xd5, 0x85, 0x95,
      0x06, 0x16, 0x1e, 0x26, 0x36, 0x46, 0x56, 0xa6, 0xb6, 0xc6, 0xd6,
      0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x18, 0x20, 0x28, 0x30, 0x40,
    ];
    const slot = fc.tuple(
      fc.constantFrom(...codes), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }),
      fc.oneof(fc.integer({ min: -4, max: 6 }), fc.constantFrom(-8, -16, -512, 0, 8)),
      fc.oneof(fc.integer({ min: -8, max: 16 }), fc.constantFrom(1, 2, 5, 7, 12, 130, 131, 132, 181, 0x01, 0xe1, 0xf1, 64, 32)),
    );
    fc.assert(
      fc.property(fc.array(slot, { minLength: 1, maxLength: 24 }), fc.boolean(), (slots, priv) => {
        const fixed: [number, number, number, number][] = slots.map(([c, d, s, o, i]) => [c, ((c === 0x85 ? (s % 2) : s) << 4) | d, o, i]);
        fixed.push([0xb7, 0, 0, 0], [0x95, 0, 0, 0]);
        const r = verify(prog(...fixed), env({ privileged: priv, logLevel: 2 }));
        expect(r.message ?? "").not.toMatch(/verifier bug/);
      }),
      { numRuns: 500 },
    );
  });
});
