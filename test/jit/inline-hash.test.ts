/**
 * The JIT's inline bpf_map_lookup_elem for HASH and PERCPU_HASH maps: for
 * any key size, seed and contents it returns the same pointer (or NULL) as
 * the interpreter, which calls the helper, and makes no helper call itself.
 * Small maps with many keys give long chains; keys of every length exercise
 * each jhash tail and each key-compare width.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BPF_F_ZERO_SEED, KERNEL_OWNER, Kernel, MapType, ProgramFault, getEngine, kernelHelperEnv, progCpuContext, type CpuContext, type HelperImpl } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";

function headerOf(k: Kernel, id: number): number {
  for (let s = 0; s < 4096; s++) {
    const h = k.mapBySlot(s);
    if (h && h.hdr.id === id) return h.hdr.headerOff;
  }
  throw new Error("map header not found");
}

function env(cpuNo: number) {
  const k = Kernel.create({ ncpus: 2, size: 16 * 1024 * 1024 });
  const p = k.createProcess({ comm: "jit-hash", memlockLimit: Infinity });
  let calls = 0;
  const helpers: (HelperImpl | undefined)[] = [];
  helpers[1] = (_cpu, r1, r2) => {
    calls++;
    return BigInt(k.mapByHeader(Number(r1))!.impl.lookupElem!(Number(r2), cpuNo));
  };
  const cpu: CpuContext = { arena: k.arena, cpu: cpuNo, stackBase: k.stackBase(cpuNo), helpers, tailCalls: 0, state: {} };
  const keyBuf = k.arena.alloc(64, KERNEL_OWNER);
  return { k, p, cpu, keyBuf, calls: () => calls, reset: () => (calls = 0) };
}

/** r0 = bpf_map_lookup_elem(map, key at `keyAddr`). */
const lookupProg = (headerOff: number, keyAddr: number) =>
  assemble(`lddw %r1, 0x${headerOff.toString(16)}\nlddw %r2, 0x${keyAddr.toString(16)}\ncall 1\nexit`);

const run = (engine: "jit" | "interpreter", insns: Uint8Array, e: ReturnType<typeof env>) =>
  getEngine(engine)!.compile({ insns, progType: 0, name: "h" }, e.k.arena).run(0n, e.cpu);

describe("JIT inline hash lookup", () => {
  it("agrees with the interpreter for any key size, seed and contents (no helper call)", () => {
    fc.assert(
      fc.property(
        fc.record({
          keySize: fc.integer({ min: 1, max: 41 }),
          percpu: fc.boolean(),
          zeroSeed: fc.boolean(),
          cpuNo: fc.integer({ min: 0, max: 1 }),
          maxEntries: fc.integer({ min: 1, max: 8 }),
          seedKeys: fc.array(fc.uint8Array({ minLength: 41, maxLength: 41 }), { minLength: 1, maxLength: 8 }),
          probes: fc.array(fc.oneof(fc.nat(7), fc.uint8Array({ minLength: 41, maxLength: 41 })), { minLength: 1, maxLength: 6 }),
        }),
        (c) => {
          const e = env(c.cpuNo);
          const mapType = c.percpu ? MapType.PercpuHash : MapType.Hash;
          const fd = e.p.mapCreate({ mapType, keySize: c.keySize, valueSize: 4, maxEntries: c.maxEntries, mapFlags: c.zeroSeed ? BPF_F_ZERO_SEED : 0 });
          const headerOff = headerOf(e.k, e.p.mapInfo(fd).id);
          const keys = c.seedKeys.slice(0, c.maxEntries).map((b) => b.subarray(0, c.keySize));
          for (const key of keys) e.p.mapUpdate(fd, key, new Uint8Array(c.percpu ? 16 : 4));
          for (const pr of c.probes) {
            const key = typeof pr === "number" ? keys[pr % keys.length]! : pr.subarray(0, c.keySize);
            e.k.arena.u8.set(key, e.keyBuf);
            const insns = lookupProg(headerOff, e.keyBuf);
            e.reset();
            const ref = run("interpreter", insns, e);
            expect(e.calls()).toBe(1);
            e.reset();
            const jit = run("jit", insns, e);
            expect(e.calls()).toBe(0);
            expect(jit).toBe(ref);
            if (typeof pr === "number") expect(jit).not.toBe(0n); // a stored key is found
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a key pointer outside the arena goes through the helper and faults as the interpreter does", () => {
    const e = env(0);
    const fd = e.p.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 4 });
    const headerOff = headerOf(e.k, e.p.mapInfo(fd).id);
    const insns = lookupProg(headerOff, e.k.arena.size - 2);
    const cpu: CpuContext = { ...e.cpu, helpers: [undefined, (_c, _r1, r2) => {
      throw new ProgramFault(2, `bad key ${r2}`);
    }] };
    for (const engine of ["jit", "interpreter"] as const) {
      expect(() => getEngine(engine)!.compile({ insns, progType: 0, name: "h" }, e.k.arena).run(0n, cpu)).toThrow(/bad key/);
    }
  });

  it("LRU hash maps still call the helper (their lookups mark the element referenced)", () => {
    const e = env(0);
    const fd = e.p.mapCreate({ mapType: MapType.LruHash, keySize: 4, valueSize: 4, maxEntries: 4 });
    e.p.mapUpdate(fd, new Uint8Array([1, 0, 0, 0]), new Uint8Array(4));
    e.k.arena.u8.set([1, 0, 0, 0], e.keyBuf);
    const insns = lookupProg(headerOf(e.k, e.p.mapInfo(fd).id), e.keyBuf);
    e.reset();
    expect(run("jit", insns, e)).not.toBe(0n);
    expect(e.calls()).toBe(1);
  });
});

describe("JIT map lookups that are not inlined (32-bit arguments, no BigInt)", () => {
  /** A CPU with the real helper table and helper environment. */
  function realCpu() {
    const k = Kernel.create({ ncpus: 2, size: 16 * 1024 * 1024 });
    const p = k.createProcess({ comm: "jit-l32", memlockLimit: Infinity });
    const cpu = progCpuContext(k, 1, kernelHelperEnv(k, () => undefined));
    const keyBuf = k.arena.alloc(64, KERNEL_OWNER);
    return { k, p, cpu, keyBuf };
  }
  const both = (insns: Uint8Array, e: ReturnType<typeof realCpu>) =>
    (["interpreter", "jit"] as const).map((engine) => {
      try {
        return getEngine(engine)!.compile({ insns, progType: 0, name: "l" }, e.k.arena).run(0n, e.cpu);
      } catch (x) {
        return x instanceof ProgramFault ? `fault: ${x.reason}` : x;
      }
    });

  it.each([MapType.LruHash, MapType.LruPercpuHash])("map type %i: hits, misses, a bad key and a bad map agree with the interpreter", (mapType) => {
    const e = realCpu();
    const fd = e.p.mapCreate({ mapType, keySize: 4, valueSize: 8, maxEntries: 8 });
    for (let i = 0; i < 5; i++) e.p.mapUpdate(fd, new Uint8Array([i, 0, 0, 0]), new Uint8Array(mapType === MapType.LruHash ? 8 : 16));
    const hdr = headerOf(e.k, e.p.mapInfo(fd).id);
    for (const key of [0, 3, 4, 5, 200]) {
      e.k.arena.u8.set([key & 255, 0, 0, 0], e.keyBuf);
      const [ref, jit] = both(lookupProg(hdr, e.keyBuf), e);
      expect(jit).toBe(ref);
      expect(jit === 0n).toBe(key >= 5);
    }
    // Outside the arena / not a map: the regular helper call, so the same fault.
    const [refKey, jitKey] = both(lookupProg(hdr, e.k.arena.size - 2), e);
    expect(String(refKey)).toMatch(/^fault/);
    expect(jitKey).toBe(refKey);
    const [refMap, jitMap] = both(lookupProg(e.keyBuf, e.keyBuf), e);
    expect(String(refMap)).toMatch(/^fault/);
    expect(jitMap).toBe(refMap);
  });
});

describe("JIT map updates and deletes (32-bit arguments, no BigInt)", () => {
  /** Runs a fixed sequence of update/delete calls on a fresh machine with `engine`; results and final contents. */
  function sequence(engine: "jit" | "interpreter", mapType: number) {
    const k = Kernel.create({ ncpus: 2, size: 16 * 1024 * 1024 });
    const p = k.createProcess({ comm: "jit-u32", memlockLimit: Infinity });
    const cpu = progCpuContext(k, 1, kernelHelperEnv(k, () => undefined));
    const fd = p.mapCreate({ mapType, keySize: 4, valueSize: 8, maxEntries: 2 });
    const hdr = headerOf(k, p.mapInfo(fd).id);
    const buf = k.arena.alloc(64, KERNEL_OWNER);
    const key = buf;
    const val = buf + 8;
    const out: unknown[] = [];
    const call = (id: number, keyPtr: number, valPtr: number, flags: number) => {
      const insns = assemble(`lddw %r1, 0x${hdr.toString(16)}\nlddw %r2, 0x${keyPtr.toString(16)}\nlddw %r3, 0x${valPtr.toString(16)}\nmov %r4, ${flags}\ncall ${id}\nexit`);
      try {
        out.push(getEngine(engine)!.compile({ insns, progType: 0, name: "u" }, k.arena).run(0n, cpu));
      } catch (x) {
        out.push(x instanceof ProgramFault ? `fault: ${x.reason}` : x);
      }
    };
    for (const [id, kv, flags] of [[2, 1, 0], [2, 1, 1], [2, 2, 2], [2, 3, 0], [2, 1, 2], [2, 1, 9], [3, 1, 0], [3, 1, 0], [3, 7, 0], [2, 4, 0]] as const) {
      k.arena.u32[key >> 2] = kv;
      k.arena.u32[val >> 2] = kv * 10 + id;
      call(id, key, val, flags);
    }
    call(2, key, k.arena.size - 4, 0); // value outside the arena
    call(3, k.arena.size - 2, val, 0); // key outside the arena
    const contents: string[] = [];
    for (let kv = 0; kv < 8; kv++) {
      const v = p.mapLookup(fd, new Uint8Array(new Uint32Array([kv]).buffer));
      contents.push(v ? `${kv}=${Array.from(v).join(",")}` : `${kv}:-`);
    }
    return { out, contents };
  }

  it.each([MapType.Hash, MapType.PercpuHash, MapType.LruHash, MapType.Array])("map type %i: same results, errors, faults and contents as the interpreter", (mapType) => {
    const ref = sequence("interpreter", mapType);
    const jit = sequence("jit", mapType);
    expect(jit).toEqual(ref);
    expect(ref.out.some((r) => typeof r === "bigint" && r > 0xffffffffn)).toBe(true); // some -errno came back
  });
});
