/**
 * The JIT's inline bpf_map_lookup_elem for array maps: same answers as the
 * interpreter (which calls the helper), no helper call on the inline path,
 * writes through the returned pointer land in the map.
 */
import { describe, expect, it } from "vitest";
import { Kernel, MapType, getEngine, type CpuContext, type HelperImpl } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";

function setup() {
  const k = Kernel.create({ ncpus: 1, size: 16 * 1024 * 1024 });
  const p = k.createProcess({ comm: "jit-test" });
  const fd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 12, maxEntries: 4 });
  const id = p.mapInfo(fd).id;
  let headerOff = -1;
  for (let s = 0; s < 1024 && headerOff < 0; s++) {
    const h = k.mapBySlot(s);
    if (h && h.hdr.id === id) headerOff = h.hdr.headerOff;
  }
  if (headerOff < 0) throw new Error("map header not found");
  for (let i = 0; i < 4; i++) {
    const v = new Uint8Array(12);
    new DataView(v.buffer).setBigUint64(0, BigInt(1000 + i), true);
    p.mapUpdate(fd, new Uint8Array(new Uint32Array([i]).buffer), v);
  }
  let calls = 0;
  const lookup: HelperImpl = (_cpu, r1, r2) => {
    calls++;
    return BigInt(k.mapByHeader(Number(r1))!.impl.lookupElem!(Number(r2)));
  };
  const helpers: (HelperImpl | undefined)[] = [];
  helpers[1] = lookup;
  const cpu: CpuContext = { arena: k.arena, cpu: 0, stackBase: k.stackBase(0), helpers, tailCalls: 0, state: {} };
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

describe("JIT inline array lookup", () => {
  const env = setup();

  it.each([0, 1, 3, 4, -1])("key %i agrees with the interpreter, without a helper call", (key) => {
    const insns = assemble(program(env.headerOff, key));
    env.reset();
    const ref = getEngine("interpreter")!.compile({ insns, progType: 0, name: "t" }, env.k.arena).run(0n, env.cpu);
    expect(env.calls()).toBe(1);
    env.reset();
    const jit = getEngine("jit")!.compile({ insns, progType: 0, name: "t" }, env.k.arena).run(0n, env.cpu);
    expect(env.calls()).toBe(0);
    expect(jit).toBe(ref);
    expect(jit).toBe(key >= 0 && key < 4 ? BigInt(1001 + key) : 2n ** 64n - 1n);
    if (key >= 0 && key < 4) {
      const v = env.p.mapLookup(env.fd, new Uint8Array(new Uint32Array([key]).buffer))!;
      expect(new DataView(v.buffer, v.byteOffset).getUint32(8, true)).toBe(77);
    }
  });

  it("falls back to the helper when r1 is not a constant map pointer", () => {
    const src = program(env.headerOff, 2).replace(`lddw %r1, 0x${env.headerOff.toString(16)}`, `lddw %r1, 0x${env.headerOff.toString(16)}\nja +0`);
    env.reset();
    const r = getEngine("jit")!.compile({ insns: assemble(src), progType: 0, name: "t" }, env.k.arena).run(0n, env.cpu);
    expect(r).toBe(1003n);
    expect(env.calls()).toBe(1);
  });
});
