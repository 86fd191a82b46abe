/**
 * The hash map family through a process's bpf() calls (the syscall layer
 * copies user buffers, checks flags and fds, then calls the map): a
 * fast-check model-based test per type, plus the per-CPU value size and
 * batch commands. LRU models follow evictions as in htab-model.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Kernel } from "../../packages/core/src/kernel/kernel.js";
import type { Process } from "../../packages/core/src/kernel/process.js";
import { BpfCmd, BPF_ANY, BPF_EXIST, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_NOEXIST, MapType } from "../../packages/core/src/uapi.js";

const NCPUS = 3;
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

interface Cfg {
  name: string;
  mapType: number;
  mapFlags: number;
  percpu: boolean;
  lru: boolean;
}
const MAX = 6;
const VALUE = 12;

interface Sys {
  p: Process;
  fd: number;
  vbytes: number;
  cfg: Cfg;
}
type Model = Map<number, Uint8Array>;

function keysOf(s: Sys): number[] {
  const out: number[] = [];
  let k: Uint8Array | null = null;
  for (;;) {
    const next = new Uint8Array(4);
    const r = s.p.bpf(BpfCmd.MapGetNextKey, { mapFd: s.fd, key: k, nextKey: next });
    if (r !== 0) {
      expect(r).toBe(-2);
      return out;
    }
    out.push(new DataView(next.buffer).getUint32(0, true));
    k = next;
    if (out.length > MAX) return out;
  }
}

function sync(m: Model, s: Sys, afterUpdate: boolean): void {
  const live = keysOf(s);
  expect(new Set(live).size).toBe(live.length);
  if (s.cfg.lru && afterUpdate) {
    for (const k of live) expect(m.has(k)).toBe(true);
    for (const k of [...m.keys()]) if (!live.includes(k)) m.delete(k);
  }
  expect([...live].sort((a, b) => a - b)).toEqual([...m.keys()].sort((a, b) => a - b));
}

class Update implements fc.Command<Model, Sys> {
  constructor(readonly k: number, readonly seed: number, readonly flags: number) {}
  check = () => true;
  run(m: Model, s: Sys): void {
    const v = new Uint8Array(s.vbytes).map((_, i) => (this.seed + i * 13) & 0xff);
    const had = m.has(this.k);
    const r = s.p.bpf(BpfCmd.MapUpdateElem, { mapFd: s.fd, key: u32(this.k), value: v, flags: this.flags });
    let want = 0;
    if (this.flags > BPF_EXIST) want = -22;
    else if (had && this.flags === BPF_NOEXIST) want = -17;
    else if (!had && this.flags === BPF_EXIST) want = -2;
    else if (!had && m.size >= MAX && !s.cfg.lru) want = -7;
    const evictedSelf = s.cfg.lru && had && ((want === -17 && r === 0) || (want === 0 && r === -2 && !s.cfg.percpu));
    if (!evictedSelf) expect(r).toBe(want);
    if (r === 0) m.set(this.k, v);
    sync(m, s, true);
  }
  toString = () => `update(${this.k}, ${this.seed}, ${this.flags})`;
}

class Lookup implements fc.Command<Model, Sys> {
  constructor(readonly k: number, readonly andDelete: boolean) {}
  check = () => true;
  run(m: Model, s: Sys): void {
    const out = new Uint8Array(s.vbytes);
    const cmd = this.andDelete ? BpfCmd.MapLookupAndDeleteElem : BpfCmd.MapLookupElem;
    const r = s.p.bpf(cmd, { mapFd: s.fd, key: u32(this.k), value: out });
    const want = m.get(this.k);
    expect(r).toBe(want ? 0 : -2);
    if (want) expect(out).toEqual(want);
    if (this.andDelete) m.delete(this.k);
    sync(m, s, false);
  }
  toString = () => `${this.andDelete ? "lookupAndDelete" : "lookup"}(${this.k})`;
}

class Delete implements fc.Command<Model, Sys> {
  constructor(readonly k: number) {}
  check = () => true;
  run(m: Model, s: Sys): void {
    expect(s.p.bpf(BpfCmd.MapDeleteElem, { mapFd: s.fd, key: u32(this.k) })).toBe(m.delete(this.k) ? 0 : -2);
    sync(m, s, false);
  }
  toString = () => `delete(${this.k})`;
}

const cfgs: Cfg[] = [
  { name: "HASH", mapType: MapType.Hash, mapFlags: 0, percpu: false, lru: false },
  { name: "HASH (no prealloc)", mapType: MapType.Hash, mapFlags: BPF_F_NO_PREALLOC, percpu: false, lru: false },
  { name: "PERCPU_HASH", mapType: MapType.PercpuHash, mapFlags: 0, percpu: true, lru: false },
  { name: "LRU_HASH", mapType: MapType.LruHash, mapFlags: 0, percpu: false, lru: true },
  { name: "LRU_PERCPU_HASH (per-CPU lists)", mapType: MapType.LruPercpuHash, mapFlags: BPF_F_NO_COMMON_LRU, percpu: true, lru: true },
];

describe("hash maps through bpf()", () => {
  const k = Kernel.create({ ncpus: NCPUS, size: 16 << 20 });
  const p = k.createProcess({ comm: "hash-model" });
  for (const cfg of cfgs) {
    it(`${cfg.name} against a model`, () => {
      const key = fc.integer({ min: 0, max: 9 });
      const cmds = [
        fc.tuple(key, fc.integer({ min: 0, max: 255 }), fc.constantFrom(BPF_ANY, BPF_NOEXIST, BPF_EXIST, 5)).map(([a, b, c]) => new Update(a, b, c)),
        fc.tuple(key, fc.boolean()).map(([a, b]) => new Lookup(a, b)),
        key.map((a) => new Delete(a)),
      ];
      fc.assert(
        fc.property(fc.commands(cmds, { maxCommands: 40 }), (list) => {
          const fd = p.mapCreate({ mapType: cfg.mapType, keySize: 4, valueSize: VALUE, maxEntries: MAX, mapFlags: cfg.mapFlags });
          try {
            const vbytes = cfg.percpu ? NCPUS * 16 : VALUE;
            expect(p.mapValueSize(fd)).toBe(vbytes);
            fc.modelRun(() => ({ model: new Map(), real: { p, fd, vbytes, cfg } }), list);
          } finally {
            p.close(fd);
          }
        }),
        { numRuns: 40 },
      );
    });
  }

  it("batch update, lookup and delete walk the whole map", () => {
    const fd = p.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 16 });
    const keys = new Uint8Array(new Uint32Array([1, 2, 3, 4, 5]).buffer);
    const values = new Uint8Array(new BigUint64Array([10n, 20n, 30n, 40n, 50n]).buffer);
    const up = { mapFd: fd, keys, values, count: 5, elemFlags: 0, flags: 0 };
    expect(p.bpf(BpfCmd.MapUpdateBatch, up)).toBe(0);
    expect(up.count).toBe(5);
    const outK = new Uint8Array(4 * 16), outV = new Uint8Array(8 * 16);
    const lk = { mapFd: fd, inBatch: null, outBatch: new Uint8Array(4), keys: outK, values: outV, count: 16, elemFlags: 0, flags: 0 };
    expect(p.bpf(BpfCmd.MapLookupBatch, lk)).toBe(-2);
    expect(lk.count).toBe(5);
    const got = new Map<number, bigint>();
    for (let i = 0; i < 5; i++) got.set(new DataView(outK.buffer).getUint32(4 * i, true), new DataView(outV.buffer).getBigUint64(8 * i, true));
    expect([...got.entries()].sort((a, b) => a[0] - b[0])).toEqual([[1, 10n], [2, 20n], [3, 30n], [4, 40n], [5, 50n]]);
    const del = { mapFd: fd, keys, count: 5, elemFlags: 0, flags: 0 };
    expect(p.bpf(BpfCmd.MapDeleteBatch, del)).toBe(0);
    expect(p.mapGetNextKey(fd, null)).toBeUndefined();
    p.close(fd);
  });

  it("BPF_F_LOCK through bpf(): in-place locked update, lock word zeroed on lookup, EOPNOTSUPP on LRU", () => {
    const lockAttr = { keySize: 4, valueSize: 16, maxEntries: 4, spinLockOff: 4 };
    expect(p.bpf(BpfCmd.MapCreate, { mapType: MapType.LruHash, ...lockAttr })).toBe(-95);
    expect(p.bpf(BpfCmd.MapCreate, { mapType: MapType.PercpuHash, ...lockAttr })).toBe(-95);
    const fd = p.mapCreate({ mapType: MapType.Hash, ...lockAttr });
    const v = new Uint8Array(new Uint32Array([0x11, 0x22, 0x33, 0x44]).buffer);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: u32(1), value: v, flags: 4 })).toBe(0);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: u32(1), value: v, flags: 4 | BPF_NOEXIST })).toBe(-17);
    const out = new Uint8Array(16).fill(0xff);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: u32(1), value: out, flags: 4 })).toBe(0);
    expect([...new Uint32Array(out.buffer)]).toEqual([0x11, 0, 0x33, 0x44]);
    p.close(fd);
    const plain = p.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 16, maxEntries: 4 });
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: plain, key: u32(1), value: v, flags: 4 })).toBe(-22);
    p.close(plain);
  });
});
