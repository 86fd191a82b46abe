/**
 * The JIT's inline bpf_map_lookup_elem for (per-CPU) array maps: same answers as the
 * interpreter (which calls the helper), no helper call on the inline path,
 * writes through the returned pointer land in the map.
 */
import { describe, expect, it } from "vitest";
import { Kernel, MapType, getEngine, type CpuContext, type HelperImpl } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";

function setup(mapType: number = MapType.Array, cpuNo = 0) {
  const k = Kernel.create({ ncpus: 2, size: 16 * 1024 * 1024 });
  const p = k.createProcess({ comm: "jit-test" });
  const fd = p.mapCreate({ mapType, keySize: 4, valueSize: 12, maxEntries: 4 });
  const id = p.mapInfo(fd).id;
  let headerOff = -1;
  for (let s = 0; s < 1024 && headerOff < 0; s++) {
    const h = k.mapBySlot(s);
    if (h && h.hdr.id === id) headerOff = h.hdr.headerOff;
  }
  if (headerOff < 0) throw new Error("map header not found");
  // Per-CPU values are ncpus strides of 16 bytes; CPU c's value i holds 1000 + i + 100 * c.
  const percpu = mapType === MapType.PercpuArray;
  for (let i = 0; i < 4; i++) {
    const v = new Uint8Array(percpu ? 32 : 12);
    for (let c = 0; c < (percpu ? 2 : 1); c++) new DataView(v.buffer).setBigUint64(c * 16, BigInt(1000 + i + 100 * c), true);
    p.mapUpdate(fd, new Uint8Array(new Uint32Array([i]).buffer), v);
  }
  let calls = 0;
  const lookup: HelperImpl = (_cpu, r1, r2) => {
    calls++;
    return BigInt(k.mapByHeader(Number(r1))!.impl.lookupElem!(Number(r2), cpuNo));
  };
  const helpers: (HelperImpl | undefined)[] = [];
  helpers[1] = lookup;
  const cpu: CpuContext = { arena: k.arena, cpu: cpuNo, stackBase: k.stackBase(cpuNo), helpers, tailCalls: 0, state: {} };
  return { k, p, fd, headerOff, cpu, calls: () => calls, reset: () => (calls = 0) };
}

/** r0 = value[key] + 1 after storing 77 into the value's second word; -1 on a miss. */
const program = (headerOff: number, key: number) => `
stw [%r10-4], ${key}
lddw %r1, 0x${headerOff.toString(16)}
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, miss
stw [%r0+8], 77
ldxdw %r0, [%r0+0]
add %r0, 1
exit
miss:
mov %r0, -1
exit`;

describe.each([
  ["ARRAY", MapType.Array, 0],
  ["PERCPU_ARRAY on CPU 1", MapType.PercpuArray, 1],
])("JIT inline lookup: %s", (_name, mapType, cpuNo) => {
  const env = setup(mapType, cpuNo);
  const base = 1000 + 100 * cpuNo;

  it.each([0, 1, 3, 4, -1])("key %i agrees with the interpreter, without a helper call", (key) => {
    const insns = assemble(program(env.headerOff, key));
    env.reset();
    const ref = getEngine("interpreter")!.compile({ insns, progType: 0, name: "t" }, env.k.arena).run(0n, env.cpu);
    expect(env.calls()).toBe(1);
    env.reset();
    const jit = getEngine("jit")!.compile({ insns, progType: 0, name: "t" }, env.k.arena).run(0n, env.cpu);
    expect(env.calls()).toBe(0);
    expect(jit).toBe(ref);
    expect(jit).toBe(key >= 0 && key < 4 ? BigInt(base + 1 + key) : 2n ** 64n - 1n);
    if (key >= 0 && key < 4) {
      const v = env.p.mapLookup(env.fd, new Uint8Array(new Uint32Array([key]).buffer))!;
      expect(new DataView(v.buffer, v.byteOffset).getUint32(cpuNo * 16 + 8, true)).toBe(77);
    }
  });

  it("falls back to the helper when r1 is not a constant map pointer", () => {
    const src = program(env.headerOff, 2).replace(`lddw %r1, 0x${env.headerOff.toString(16)}`, `lddw %r1, 0x${env.headerOff.toString(16)}\nja +0`);
    env.reset();
    const r = getEngine("jit")!.compile({ insns: assemble(src), progType: 0, name: "t" }, env.k.arena).run(0n, env.cpu);
    expect(r).toBe(BigInt(base + 3));
    expect(env.calls()).toBe(1);
  });
});
