/**
 * The keyless and map-in-map maps from programs: push/pop/peek helpers on
 * queues, stacks and bloom filters, and an inner map reached through an
 * outer map's lookup, on both engines.
 */
import { describe, expect, it } from "vitest";
import "../prog/index.js";
import { Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { progVerifier, setProgVerifier } from "../prog/verifier-hook.js";
import { setProgEngine } from "../prog/prog-env.js";
import { BpfCmd, MapType, ProgType } from "../uapi.js";
import { addi, call, exit, jeqi, ldMap, ldx, mov, movr, prog, st } from "../../../../test/prog/insns.js";

const MiB = 1024 * 1024;
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

function boot(engine: "interpreter" | "jit"): Process {
  const k = Kernel.create({ ncpus: 2, size: 32 * MiB });
  setProgEngine(k, engine);
  return k.createProcess({ comm: "progs" });
}

/** Loads and runs `insns` as XDP once; returns retval, or throws with the load's errno. */
function run(p: Process, insns: Uint8Array, verify = true): number {
  const saved = progVerifier();
  if (!verify) setProgVerifier(undefined);
  try {
    const logBuf = new Uint8Array(1 << 16);
    const fd = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns, license: "GPL", logLevel: 1, logSize: logBuf.length, logBuf });
    if (fd < 0) throw new Error(`load: ${fd}: ${new TextDecoder().decode(logBuf).replace(/\0.*$/s, "").slice(-400)}`);
    const a = { progFd: fd, dataIn: new Uint8Array(64), retval: 0 };
    expect(p.bpf(BpfCmd.ProgTestRun, a)).toBe(0);
    p.close(fd);
    return a.retval;
  } finally {
    setProgVerifier(saved);
  }
}

for (const engine of ["interpreter", "jit"] as const) {
  describe(`keyless maps from programs (${engine})`, () => {
    it("queue and stack: push 7 and 9, then pop gives 7 (queue) or 9 (stack), peek leaves it", () => {
      for (const [type, want] of [[MapType.Queue, 7], [MapType.Stack, 9]] as const) {
        const p = boot(engine);
        const fd = p.bpf(BpfCmd.MapCreate, { mapType: type, keySize: 0, valueSize: 4, maxEntries: 4 });
        const push = (v: number) => [st(4, 10, -4, v), ldMap(1, fd), movr(2, 10), addi(2, -4), mov(3, 0), call(87)];
        const insns = prog(
          ...push(7), ...push(9),
          st(4, 10, -8, 0), ldMap(1, fd), movr(2, 10), addi(2, -8), call(89), // peek
          ldMap(1, fd), movr(2, 10), addi(2, -8), call(88), // pop
          jeqi(0, 0, 1), exit(), // pop failed: its -errno
          ldx(4, 0, 10, -8), exit(),
        );
        expect(run(p, insns)).toBe(want);
        const out = new Uint8Array(4);
        expect(p.bpf(BpfCmd.MapLookupAndDeleteElem, { mapFd: fd, key: null, value: out, flags: 0 })).toBe(0);
        expect(new Uint32Array(out.buffer)[0]).toBe(type === MapType.Queue ? 9 : 7);
      }
    });

    it("bloom filter: a pushed value peeks as present, another as absent", () => {
      const p = boot(engine);
      const fd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.BloomFilter, keySize: 0, valueSize: 4, maxEntries: 100 });
      const insns = prog(
        st(4, 10, -4, 42), ldMap(1, fd), movr(2, 10), addi(2, -4), mov(3, 0), call(87),
        ldMap(1, fd), movr(2, 10), addi(2, -4), call(89), movr(6, 0), // 0: present
        st(4, 10, -4, 43), ldMap(1, fd), movr(2, 10), addi(2, -4), call(89), // -ENOENT: absent (100-entry filter)
        movr(7, 0),
        mov(0, 1), jeqi(6, 0, 1), exit(), // present must be 0
        mov(0, 2), jeqi(7, -2, 1), exit(),
        mov(0, 3), exit(),
      );
      expect(run(p, insns)).toBe(3);
      expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: null, value: u32(42) })).toBe(0);
    });
  });

  describe(`map-in-map from programs (${engine})`, () => {
    it("an outer lookup gives a pointer the map helpers take as the inner map (verified with the template)", () => {
      const p = boot(engine);
      const inner = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
      const outer = p.bpf(BpfCmd.MapCreate, { mapType: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
      const hom = p.bpf(BpfCmd.MapCreate, { mapType: MapType.HashOfMaps, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
      const v = new Uint8Array(8);
      v[0] = 77;
      p.mapUpdate(inner, u32(3), v);
      expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: outer, key: u32(1), value: u32(inner), flags: 0 })).toBe(0);
      expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: hom, key: u32(5), value: u32(inner), flags: 0 })).toBe(0);
      for (const [fd, key] of [[outer, 1], [hom, 5]] as const) {
        const insns = prog(
          st(4, 10, -4, key), ldMap(1, fd), movr(2, 10), addi(2, -4), call(1),
          jeqi(0, 0, 7), // no inner map: return 0
          movr(1, 0), st(4, 10, -8, 3), movr(2, 10), addi(2, -8), call(1), // lookup in the inner map
          jeqi(0, 0, 1),
          ldx(8, 0, 0, 0),
          exit(),
        );
        const r = run(p, insns);
        expect(r).toBe(77);
      }
    });
  });
}
