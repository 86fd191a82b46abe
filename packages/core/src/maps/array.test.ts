import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { BpfCmd, BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_NOEXIST, MapType } from "../uapi.js";
import { Errno } from "../errno.js";

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const stride = (vs: number) => (vs + 7) & ~7;

interface Real {
  p: Process;
  fd: number;
  k: Kernel;
}
interface Model {
  /** Per index: the bytes user space reads back. */
  values: Uint8Array[];
  frozen: boolean;
  vs: number;
  max: number;
}

class Update implements fc.Command<Model, Real> {
  constructor(readonly key: number, readonly value: Uint8Array, readonly flags: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const ret = r.p.bpf(BpfCmd.MapUpdateElem, { mapFd: r.fd, key: u32(this.key), value: this.value, flags: this.flags });
    let want = 0;
    if (m.frozen) want = -Errno.EPERM;
    else if (this.flags & BPF_F_LOCK) want = -Errno.EINVAL;
    else if (this.flags > BPF_EXIST) want = -Errno.EINVAL;
    else if (this.key >= m.max) want = -Errno.E2BIG;
    else if (this.flags === BPF_NOEXIST) want = -Errno.EEXIST;
    expect(ret).toBe(want);
    if (want === 0) m.values[this.key] = this.value.slice(0, m.values[0]!.length);
  }
  toString = () => `update(${this.key}, flags=${this.flags})`;
}

class Lookup implements fc.Command<Model, Real> {
  constructor(readonly key: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const out = new Uint8Array(m.values[0]!.length);
    const ret = r.p.bpf(BpfCmd.MapLookupElem, { mapFd: r.fd, key: u32(this.key), value: out });
    if (this.key >= m.max) return expect(ret).toBe(-Errno.ENOENT);
    expect(ret).toBe(0);
    expect(out).toEqual(m.values[this.key]);
  }
  toString = () => `lookup(${this.key})`;
}

class Delete implements fc.Command<Model, Real> {
  constructor(readonly key: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    expect(r.p.bpf(BpfCmd.MapDeleteElem, { mapFd: r.fd, key: u32(this.key) })).toBe(m.frozen ? -Errno.EPERM : -Errno.EINVAL);
  }
  toString = () => `delete(${this.key})`;
}

class NextKey implements fc.Command<Model, Real> {
  constructor(readonly key: number | null) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const next = new Uint8Array(4);
    const ret = r.p.bpf(BpfCmd.MapGetNextKey, { mapFd: r.fd, key: this.key === null ? null : u32(this.key), nextKey: next });
    if (this.key !== null && this.key === m.max - 1) return expect(ret).toBe(-Errno.ENOENT);
    expect(ret).toBe(0);
    expect(new DataView(next.buffer).getUint32(0, true)).toBe(this.key === null || this.key >= m.max ? 0 : this.key + 1);
  }
  toString = () => `next(${this.key})`;
}

class Freeze implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    expect(r.p.bpf(BpfCmd.MapFreeze, { mapFd: r.fd })).toBe(m.frozen ? -Errno.EPERM : 0);
    m.frozen = true;
  }
  toString = () => "freeze";
}

class Batch implements fc.Command<Model, Real> {
  constructor(readonly start: number | null, readonly count: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const vs = m.values[0]!.length;
    const res = r.p.mapLookupBatch(r.fd, this.count, this.start === null ? null : u32(this.start));
    const from = this.start === null ? 0 : this.start >= m.max ? 0 : this.start + 1;
    const n = Math.min(this.count, m.max - from);
    expect(res.count).toBe(n);
    expect(res.done).toBe(this.count > 0 && n < this.count);
    for (let i = 0; i < n; i++) {
      expect(new DataView(res.keys.buffer).getUint32(i * 4, true)).toBe(from + i);
      expect(res.values.subarray(i * vs, (i + 1) * vs)).toEqual(m.values[from + i]);
    }
  }
  toString = () => `lookupBatch(${this.start}, ${this.count})`;
}

function modelTest(type: MapType.Array | MapType.PercpuArray, ncpus: number) {
  const specs = fc.record({ vs: fc.constantFrom(1, 4, 8, 13, 32), max: fc.integer({ min: 1, max: 9 }) });
  fc.assert(
    fc.property(
      specs.chain(({ vs, max }) => {
        const uvs = type === MapType.PercpuArray ? ncpus * stride(vs) : vs;
        const key = fc.integer({ min: 0, max: max + 2 });
        const value = fc.uint8Array({ minLength: uvs, maxLength: uvs });
        const cmds = [
          fc.tuple(key, value, fc.constantFrom(BPF_ANY, BPF_ANY, BPF_EXIST, BPF_NOEXIST, BPF_F_LOCK, 8)).map(([k, v, f]) => new Update(k, v, f)),
          key.map((k) => new Lookup(k)),
          key.map((k) => new Delete(k)),
          fc.option(key).map((k) => new NextKey(k)),
          fc.tuple(fc.option(key), fc.integer({ min: 0, max: 5 })).map(([s, c]) => new Batch(s, c)),
          fc.constant(new Freeze()),
        ];
        return fc.tuple(fc.constant({ vs, max, uvs }), fc.commands(cmds, { maxCommands: 40 }));
      }),
      ([{ vs, max, uvs }, cmds]) => {
        const k = Kernel.create({ ncpus, size: 4 * 1024 * 1024 });
        const p = k.createProcess();
        const fd = p.mapCreate({ mapType: type, keySize: 4, valueSize: vs, maxEntries: max });
        // Non-per-CPU values read back exactly value_size bytes; per-CPU whole strides.
        const model: Model = { values: Array.from({ length: max }, () => new Uint8Array(uvs)), frozen: false, vs, max };
        fc.modelRun(() => ({ model, real: { p, fd, k } }), cmds);
      },
    ),
    { numRuns: 60 },
  );
}

function boot(ncpus = 2) {
  const k = Kernel.create({ ncpus, size: 4 * 1024 * 1024 });
  return { k, p: k.createProcess() };
}

describe("ARRAY", () => {
  it("matches a model through the syscall API", () => modelTest(MapType.Array, 2));

  it("updates in place: a program's pointer sees syscall writes", () => {
    const { k, p } = boot();
    const fd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
    const h = k.mapBySlot(k.objects.getById(1, p.mapInfo(fd).id))!;
    const key = k.arena.alloc(4, 0);
    k.arena.u32[key >> 2] = 2;
    const ptr = h.impl.lookupElem!(key, 0);
    p.mapUpdate(fd, u32(2), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(k.arena.u8.subarray(ptr, ptr + 8)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(h.impl.lookupElem!(key, 0)).toBe(ptr);
    k.arena.u32[key >> 2] = 4;
    expect(h.impl.lookupElem!(key, 0)).toBe(0);
  });

  it("BPF_F_LOCK needs a spin lock; with one, copies skip the lock word and run under it", () => {
    const { k, p } = boot();
    const fd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 16, maxEntries: 2, spinLockOff: 0 });
    const v = new Uint8Array(16).fill(7);
    p.mapUpdate(fd, u32(1), v, BPF_F_LOCK);
    const got = p.mapLookup(fd, u32(1), BPF_F_LOCK)!;
    expect(Array.from(got.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(got.subarray(4))).toEqual(new Array(12).fill(7));
    expect(p.bpf(BpfCmd.MapFreeze, { mapFd: fd })).toBe(-Errno.ENOTSUPP);
    // A held lock blocks a BPF_F_LOCK update: take it from "another CPU", release it later.
    const h = k.mapBySlot(k.objects.getById(1, p.mapInfo(fd).id))!;
    const key = k.arena.alloc(4, 0);
    k.arena.u32[key >> 2] = 1;
    const ptr = h.impl.lookupElem!(key, 0);
    expect(Atomics.load(k.arena.i32, ptr >> 2)).toBe(0);
    expect(p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 16, maxEntries: 2, spinLockOff: 14 })).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 16, maxEntries: 2, spinLockOff: 0, mapFlags: BPF_F_RDONLY_PROG })).toBe(-Errno.EACCES);
    expect(p.bpf(BpfCmd.MapCreate, { mapType: MapType.PercpuArray, keySize: 4, valueSize: 16, maxEntries: 2, spinLockOff: 0 })).toBe(-Errno.EOPNOTSUPP);
    const plain = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 2 });
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: plain, key: u32(0), value: new Uint8Array(8), flags: BPF_F_LOCK })).toBe(-Errno.EINVAL);
  });

  it("BPF_F_MMAPABLE: the mapping is the values; writable mappings block freeze", () => {
    const { p } = boot();
    const fd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 3, mapFlags: BPF_F_MMAPABLE });
    const m = p.mapMmap(fd, { write: true });
    expect(m.view.length).toBe(4096);
    m.view[8] = 0x2a; // element 1 (stride 8)
    expect(p.mapLookup(fd, u32(1))).toEqual(new Uint8Array([0x2a, 0, 0, 0]));
    p.mapUpdate(fd, u32(2), new Uint8Array([9, 9, 9, 9]));
    expect(Array.from(m.view.subarray(16, 20))).toEqual([9, 9, 9, 9]);
    expect(p.bpf(BpfCmd.MapFreeze, { mapFd: fd })).toBe(-Errno.EBUSY);
    m.unmap();
    p.mapFreeze(fd);
    expect(() => p.mapMmap(fd, { write: true })).toThrow(/EPERM/);
    expect(p.mapMmap(fd).view[8]).toBe(0x2a);
    const plain = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 3 });
    expect(() => p.mapMmap(plain)).toThrow(/EINVAL/);
  });
});

describe("PERCPU_ARRAY", () => {
  it("matches a model through the syscall API", () => modelTest(MapType.PercpuArray, 3));

  it("programs see their own CPU's slot; user space sees ncpus strides", () => {
    const { k, p } = boot(4);
    const fd = p.mapCreate({ mapType: MapType.PercpuArray, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(p.mapValueSize(fd)).toBe(32);
    const h = k.mapBySlot(k.objects.getById(1, p.mapInfo(fd).id))!;
    const key = k.arena.alloc(4, 0);
    k.arena.u32[key >> 2] = 1;
    for (let cpu = 0; cpu < 4; cpu++) k.arena.u32[h.impl.lookupElem!(key, cpu) >> 2] = 100 + cpu;
    const v = new Uint32Array(p.mapLookup(fd, u32(1))!.buffer);
    expect(Array.from(v)).toEqual([100, 0, 101, 0, 102, 0, 103, 0]);
    expect(h.impl.lookupPercpuElem!(key, 4)).toBe(0);
    expect(k.arena.u32[h.impl.lookupPercpuElem!(key, 2) >> 2]).toBe(102);
  });
});
