/**
 * Hash maps from a program: an XDP program counts into a map (lookup, then
 * an atomic add through the value pointer, or an insert with BPF_NOEXIST),
 * run with BPF_PROG_TEST_RUN and read back with BPF_MAP_LOOKUP_ELEM.
 */
import { describe, expect, it } from "vitest";
import { BpfCmd, Kernel, MapType, ProgType, encodeProgram, insn } from "@bpfsim/core";

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R10 = 10;

function counterProg(mapFd: number) {
  const ldMap = (dst: number) => insn(0x18, dst, 1 /* BPF_PSEUDO_MAP_FD */, 0, mapFd, 0);
  return encodeProgram([
    insn(0x62, R10, 0, -4, 7), // *(u32 *)(r10 - 4) = 7: the key
    ldMap(R1),
    insn(0xbf, R2, R10, 0, 0),
    insn(0x07, R2, 0, 0, -4),
    insn(0x85, 0, 0, 0, 1), // bpf_map_lookup_elem
    insn(0x15, R0, 0, 4, 0), // if r0 == 0 goto insert
    insn(0xb7, R1, 0, 0, 1),
    insn(0xdb, R0, R1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
    insn(0xb7, R0, 0, 0, 2),
    insn(0x95, 0, 0, 0, 0),
    // insert:
    insn(0x7a, R10, 0, -16, 1), // *(u64 *)(r10 - 16) = 1
    ldMap(R1),
    insn(0xbf, R2, R10, 0, 0),
    insn(0x07, R2, 0, 0, -4),
    insn(0xbf, R3, R10, 0, 0),
    insn(0x07, R3, 0, 0, -16),
    insn(0xb7, R4, 0, 0, 1), // BPF_NOEXIST
    insn(0x85, 0, 0, 0, 2), // bpf_map_update_elem
    insn(0xb7, R0, 0, 0, 2),
    insn(0x95, 0, 0, 0, 0),
  ]);
}

describe("hash maps used by a program", () => {
  for (const [name, mapType] of [
    ["HASH", MapType.Hash],
    ["PERCPU_HASH", MapType.PercpuHash],
    ["LRU_HASH", MapType.LruHash],
    ["LRU_PERCPU_HASH", MapType.LruPercpuHash],
  ] as const) {
    it(`${name}: lookup, atomic add and insert from a program`, () => {
      const ncpus = 2;
      const k = Kernel.create({ ncpus, size: 32 << 20 } as never);
      const p = k.createProcess();
      const mapFd = p.mapCreate({ mapType, keySize: 4, valueSize: 8, maxEntries: 16 });
      const progFd = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: counterProg(mapFd), license: "GPL" } as never);
      expect(progFd).toBeGreaterThan(2);
      const t = { progFd, dataIn: new Uint8Array(64), dataOut: new Uint8Array(64), repeat: 5 } as { retval?: number };
      expect(p.bpf(BpfCmd.ProgTestRun, t as never)).toBe(0);
      expect(t.retval).toBe(2);
      const v = p.mapLookup(mapFd, new Uint8Array([7, 0, 0, 0]));
      expect(v).toBeDefined();
      const dv = new DataView(v!.buffer);
      const total = mapType === MapType.PercpuHash || mapType === MapType.LruPercpuHash
        ? Array.from({ length: ncpus }, (_, c) => dv.getBigUint64(8 * c, true)).reduce((a, b) => a + b, 0n)
        : dv.getBigUint64(0, true);
      expect(total).toBe(5n);
    });
  }
});
