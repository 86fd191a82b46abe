/**
 * The JIT's inline bpf_map_lookup_elem for LPM tries with 4-byte data (IPv4):
 * for any set of prefixes (inserted, some deleted again, so intermediate
 * nodes come and go) and any key, prefix length over 32 included, it returns
 * the same pointer (or NULL) as the interpreter, which calls the helper, and
 * makes no helper call itself. Other key sizes still call the helper.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BPF_F_NO_PREALLOC, KERNEL_OWNER, Kernel, MapType, ProgramFault, getEngine, type CpuContext, type HelperImpl } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";

function headerOf(k: Kernel, id: number): number {
  for (let s = 0; s < 4096; s++) {
    const h = k.mapBySlot(s);
    if (h && h.hdr.id === id) return h.hdr.headerOff;
  }
  throw new Error("map header not found");
}

function env() {
  const k = Kernel.create({ ncpus: 2, size: 16 * 1024 * 1024 });
  const p = k.createProcess({ comm: "jit-lpm", memlockLimit: Infinity });
  let calls = 0;
  const helpers: (HelperImpl | undefined)[] = [];
  helpers[1] = (_cpu, r1, r2) => {
    calls++;
    return BigInt(k.mapByHeader(Number(r1))!.impl.lookupElem!(Number(r2), 0));
  };
  const cpu: CpuContext = { arena: k.arena, cpu: 0, stackBase: k.stackBase(0), helpers, tailCalls: 0, state: {} };
  const keyBuf = k.arena.alloc(64, KERNEL_OWNER);
  return { k, p, cpu, keyBuf, calls: () => calls, reset: () => (calls = 0) };
}

/** r0 = bpf_map_lookup_elem(map, key at `keyAddr`). */
const lookupProg = (headerOff: number, keyAddr: number) =>
  assemble(`lddw %r1, 0x${headerOff.toString(16)}\nlddw %r2, 0x${keyAddr.toString(16)}\ncall 1\nexit`);

const run = (engine: "jit" | "interpreter", insns: Uint8Array, e: ReturnType<typeof env>) =>
  getEngine(engine)!.compile({ insns, progType: 0, name: "l" }, e.k.arena).run(0n, e.cpu);

const lpmKey = (plen: number, addr: number[]): Uint8Array => {
  const k = new Uint8Array(4 + addr.length);
  new DataView(k.buffer).setUint32(0, plen, true);
  k.set(addr, 4);
  return k;
};

/** Addresses from a few nearby values, so prefixes nest and share bits. */
const addr = fc.tuple(fc.constantFrom(10, 192, 0, 255), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }));

describe("JIT inline LPM trie lookup", () => {
  it("agrees with the interpreter for any prefixes and keys (no helper call)", () => {
    fc.assert(
      fc.property(
        fc.record({
          prefixes: fc.array(fc.tuple(fc.integer({ min: 0, max: 32 }), addr), { minLength: 0, maxLength: 24 }),
          deletes: fc.array(fc.nat(23), { maxLength: 6 }),
          probes: fc.array(fc.tuple(fc.oneof(fc.constant(32), fc.integer({ min: 0, max: 40 })), addr), { minLength: 1, maxLength: 8 }),
          unaligned: fc.boolean(),
        }),
        (c) => {
          const e = env();
          const fd = e.p.mapCreate({ mapType: MapType.LpmTrie, keySize: 8, valueSize: 4, maxEntries: 64, mapFlags: BPF_F_NO_PREALLOC });
          const headerOff = headerOf(e.k, e.p.mapInfo(fd).id);
          c.prefixes.forEach(([plen, a], i) => e.p.mapUpdate(fd, lpmKey(plen, a), new Uint8Array([i, 0, 0, 0])));
          for (const d of c.deletes) {
            const pr = c.prefixes[d % Math.max(1, c.prefixes.length)];
            if (pr) e.p.mapDelete(fd, lpmKey(pr[0], pr[1]));
          }
          const keyAt = e.keyBuf + (c.unaligned ? 1 : 0);
          for (const [plen, a] of c.probes) {
            e.k.arena.u8.set(lpmKey(plen, a), keyAt);
            const insns = lookupProg(headerOff, keyAt);
            e.reset();
            const ref = run("interpreter", insns, e);
            expect(e.calls()).toBe(1);
            e.reset();
            const jit = run("jit", insns, e);
            expect(e.calls()).toBe(0);
            expect(jit).toBe(ref);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it("finds the longest stored prefix, falls back to shorter ones, and misses past /32", () => {
    const e = env();
    const fd = e.p.mapCreate({ mapType: MapType.LpmTrie, keySize: 8, valueSize: 4, maxEntries: 16, mapFlags: BPF_F_NO_PREALLOC });
    const headerOff = headerOf(e.k, e.p.mapInfo(fd).id);
    e.p.mapUpdate(fd, lpmKey(8, [10, 0, 0, 0]), new Uint8Array([1, 0, 0, 0]));
    e.p.mapUpdate(fd, lpmKey(24, [10, 1, 2, 0]), new Uint8Array([2, 0, 0, 0]));
    const valueOf = (plen: number, a: number[]): number | null => {
      e.k.arena.u8.set(lpmKey(plen, a), e.keyBuf);
      const r = Number(run("jit", lookupProg(headerOff, e.keyBuf), e));
      return r === 0 ? null : e.k.arena.u8[r]!;
    };
    expect(valueOf(32, [10, 1, 2, 3])).toBe(2);
    expect(valueOf(32, [10, 1, 3, 3])).toBe(1);
    expect(valueOf(16, [10, 1, 2, 3])).toBe(1);
    expect(valueOf(32, [11, 1, 2, 3])).toBe(null);
    expect(valueOf(33, [10, 1, 2, 3])).toBe(null);
    expect(e.calls()).toBe(0);
  });

  it("a key pointer outside the arena goes through the helper and faults as the interpreter does", () => {
    const e = env();
    const fd = e.p.mapCreate({ mapType: MapType.LpmTrie, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC });
    const insns = lookupProg(headerOf(e.k, e.p.mapInfo(fd).id), e.k.arena.size - 4);
    const cpu: CpuContext = { ...e.cpu, helpers: [undefined, (_c, _r1, r2) => {
      throw new ProgramFault(2, `bad key ${r2}`);
    }] };
    for (const engine of ["jit", "interpreter"] as const) {
      expect(() => getEngine(engine)!.compile({ insns, progType: 0, name: "l" }, e.k.arena).run(0n, cpu)).toThrow(/bad key/);
    }
  });

  it("tries with other key sizes still call the helper", () => {
    const e = env();
    const fd = e.p.mapCreate({ mapType: MapType.LpmTrie, keySize: 20, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC });
    e.p.mapUpdate(fd, lpmKey(8, [0x20, ...new Array(15).fill(0)]), new Uint8Array(4));
    e.k.arena.u8.set(lpmKey(128, [0x20, ...new Array(15).fill(1)]), e.keyBuf);
    e.reset();
    expect(run("jit", lookupProg(headerOf(e.k, e.p.mapInfo(fd).id), e.keyBuf), e)).not.toBe(0n);
    expect(e.calls()).toBe(1);
  });
});
