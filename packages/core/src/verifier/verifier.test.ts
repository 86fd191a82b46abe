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

  it("ENOSPC when an accepted program's log does not fit; the error errno otherwise", () => {
    const ok = verify(RET0, env({ logLevel: 2, logSize: 32 }));
    expect(ok.ok).toBe(false);
    expect(ok.errno).toBe(28);
    expect(ok.log.length).toBe(31);
    const bad = verify(prog([0x95, 0, 0, 0]), env({ logLevel: 2, logSize: 16 }));
    expect(bad.errno).toBe(13);
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
