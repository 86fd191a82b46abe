/**
 * Model-based test harness for the hash map family: fast-check commands run
 * against a map (through MapImpl, as the syscall layer and programs call it)
 * and against a deliberately simple model, a JS Map from key to the bytes
 * user space would read back.
 *
 * LRU maps may evict on any update, so their model follows the map: after an
 * update, keys the map evicted leave the model, and the check is that the
 * map never holds a key or value the model does not, never holds more than
 * max_entries, and that the key just written is there. For the common LRU it
 * also checks that nothing is evicted while the map has room.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { Arena } from "../../packages/core/src/memory/arena.js";
import type { MapImpl, MapOps } from "../../packages/core/src/maps/map-ops.js";
import { roundUp8 } from "../../packages/core/src/maps/map-ops.js";
import { createStandaloneMap, type StandaloneMap } from "../../packages/core/src/maps/hashtab/standalone.js";
import { BPF_ANY, BPF_EXIST, BPF_F_NO_COMMON_LRU, BPF_NOEXIST } from "../../packages/core/src/uapi.js";

export interface ModelConfig {
  ops: MapOps;
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  ncpus: number;
  percpu: boolean;
  lru: boolean;
  /** Keys are drawn from [0, keySpace). */
  keySpace: number;
}

interface Model {
  entries: Map<number, Uint8Array>;
}

class Real {
  readonly impl: MapImpl;
  readonly keyOff: number;
  readonly valOff: number;
  readonly outOff: number;
  readonly nextOff: number;
  readonly vbytes: number;
  private readonly scratch: number;
  constructor(
    readonly cfg: ModelConfig,
    readonly arena: Arena,
    readonly map: StandaloneMap,
  ) {
    this.impl = map.impl;
    this.vbytes = cfg.percpu ? roundUp8(cfg.valueSize) * cfg.ncpus : cfg.valueSize;
    const scratch = (this.scratch = arena.alloc(4096 + this.vbytes * 2, 1));
    this.keyOff = scratch;
    this.nextOff = scratch + 1024;
    this.valOff = scratch + 2048;
    this.outOff = this.valOff + roundUp8(this.vbytes) + 8;
  }
  dispose(): void {
    this.arena.free(this.scratch);
  }
  putKey(k: number, at = this.keyOff): number {
    const u8 = this.arena.u8;
    for (let i = 0; i < this.cfg.keySize; i++) u8[at + i] = i < 4 ? (k >>> (8 * i)) & 0xff : 0x5a;
    return at;
  }
  getKey(at: number): number {
    return this.arena.dv.getUint32(at, true);
  }
  putValue(bytes: Uint8Array): number {
    this.arena.u8.set(bytes, this.valOff);
    return this.valOff;
  }
  read(off: number, n: number): Uint8Array {
    return this.arena.u8.slice(off, off + n);
  }
  keys(): number[] {
    const out: number[] = [];
    let r = this.impl.getNextKey!(0, this.nextOff);
    while (r === 0) {
      const k = this.getKey(this.nextOff);
      out.push(k);
      this.arena.u8.copyWithin(this.keyOff, this.nextOff, this.nextOff + this.cfg.keySize);
      r = this.impl.getNextKey!(this.keyOff, this.nextOff);
      if (out.length > this.cfg.maxEntries + 1) break;
    }
    return out;
  }
}

const valueBytes = (n: number, seed: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7 + 1) & 0xff;
  return b;
};

/** After an LRU update, drop evicted keys from the model and check the map holds nothing else. */
function reconcile(m: Model, r: Real, cfg: ModelConfig): void {
  const live = new Set(r.keys());
  expect(live.size).toBeLessThanOrEqual(cfg.maxEntries);
  for (const k of live) expect(m.entries.has(k), `map holds key ${k} the model lacks`).toBe(true);
  for (const k of [...m.entries.keys()]) if (!live.has(k)) m.entries.delete(k);
}

function sameContents(m: Model, r: Real): void {
  const keys = r.keys();
  expect(new Set(keys).size).toBe(keys.length);
  expect([...keys].sort((a, b) => a - b)).toEqual([...m.entries.keys()].sort((a, b) => a - b));
  expect(r.impl.count!()).toBe(m.entries.size);
}

type Cmd = fc.Command<Model, Real>;

/**
 * An LRU update takes a free element, evicting if need be, before it looks
 * for the key (Linux does the same): the key itself may be evicted on the
 * way, turning EEXIST into success or, for LRU_HASH, success into ENOENT.
 */
function expectUpdateRet(cfg: ModelConfig, ret: number, want: number, had: boolean): void {
  if (cfg.lru && had && ((want === -17 && ret === 0) || (want === 0 && ret === -2 && !cfg.percpu))) return;
  expect(ret).toBe(want);
}

class SysUpdate implements Cmd {
  constructor(readonly key: number, readonly seed: number, readonly flags: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const cfg = r.cfg;
    const v = valueBytes(r.vbytes, this.seed);
    const had = m.entries.has(this.key);
    const full = m.entries.size >= cfg.maxEntries;
    const ret = r.impl.sysUpdateElem!(r.putKey(this.key), r.putValue(v), this.flags);
    let want = 0;
    if (this.flags > BPF_EXIST) want = -22;
    else if (had && this.flags === BPF_NOEXIST) want = -17;
    else if (!had && this.flags === BPF_EXIST) want = -2;
    else if (!had && full && !cfg.lru) want = -7;
    expectUpdateRet(cfg, ret, want, had);
    if (ret === 0) m.entries.set(this.key, v);
    if (cfg.lru) {
      const before = new Set(m.entries.keys());
      reconcile(m, r, cfg);
      expect(m.entries.has(this.key) || ret !== 0).toBe(true);
      if (!full && !(cfg.mapFlags & BPF_F_NO_COMMON_LRU)) expect(m.entries.size).toBe(before.size);
    } else {
      sameContents(m, r);
    }
  }
  toString = () => `sysUpdate(${this.key}, ${this.seed}, ${this.flags})`;
}

class ProgUpdate implements Cmd {
  constructor(readonly key: number, readonly seed: number, readonly flags: number, readonly cpu: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const cfg = r.cfg;
    const stride = roundUp8(cfg.valueSize);
    const v = valueBytes(cfg.valueSize, this.seed);
    const had = m.entries.has(this.key);
    const full = m.entries.size >= cfg.maxEntries;
    const ret = r.impl.updateElem!(r.putKey(this.key), r.putValue(v), this.flags, this.cpu);
    let want = 0;
    if (had && this.flags === BPF_NOEXIST) want = -17;
    else if (!had && this.flags === BPF_EXIST) want = -2;
    else if (!had && full && !cfg.lru) want = -7;
    expectUpdateRet(cfg, ret, want, had);
    if (ret === 0) {
      if (cfg.percpu) {
        // Per-CPU: only this CPU's slot; a new element starts with zeroed slots.
        const cur = had ? m.entries.get(this.key)!.slice() : new Uint8Array(r.vbytes);
        cur.set(v, this.cpu * stride);
        m.entries.set(this.key, cur);
      } else {
        m.entries.set(this.key, v);
      }
    }
    if (cfg.lru) reconcile(m, r, cfg);
    else sameContents(m, r);
  }
  toString = () => `progUpdate(${this.key}, ${this.seed}, ${this.flags}, cpu ${this.cpu})`;
}

class Delete implements Cmd {
  constructor(readonly key: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const ret = r.impl.deleteElem!(r.putKey(this.key), 0);
    expect(ret).toBe(m.entries.delete(this.key) ? 0 : -2);
    sameContents(m, r);
  }
  toString = () => `delete(${this.key})`;
}

class SysLookup implements Cmd {
  constructor(readonly key: number, readonly andDelete: boolean) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const k = r.putKey(this.key);
    const ret = this.andDelete ? r.impl.sysLookupAndDeleteElem!(k, r.outOff, 0) : r.impl.sysLookupElem!(k, r.outOff, 0);
    const want = m.entries.get(this.key);
    expect(ret).toBe(want ? 0 : -2);
    if (want) expect(r.read(r.outOff, r.vbytes)).toEqual(want);
    if (this.andDelete) m.entries.delete(this.key);
    sameContents(m, r);
  }
  toString = () => `sys${this.andDelete ? "LookupAndDelete" : "Lookup"}(${this.key})`;
}

class ProgLookup implements Cmd {
  constructor(readonly key: number, readonly cpu: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const cfg = r.cfg;
    const p = r.impl.lookupElem!(r.putKey(this.key), this.cpu);
    const want = m.entries.get(this.key);
    expect(p !== 0).toBe(want !== undefined);
    if (want) {
      const slot = cfg.percpu ? want.subarray(this.cpu * roundUp8(cfg.valueSize)) : want;
      expect(r.read(p, cfg.valueSize)).toEqual(slot.slice(0, cfg.valueSize));
    }
  }
  toString = () => `progLookup(${this.key}, cpu ${this.cpu})`;
}

class NextKeyOfMissing implements Cmd {
  constructor(readonly key: number) {}
  check = (m: Readonly<Model>) => !m.entries.has(this.key);
  run(m: Model, r: Real): void {
    // A key that is not in the map restarts the walk at the first key.
    const first = r.impl.getNextKey!(0, r.nextOff) === 0 ? r.getKey(r.nextOff) : -1;
    const ret = r.impl.getNextKey!(r.putKey(this.key), r.nextOff);
    expect(ret).toBe(m.entries.size ? 0 : -2);
    if (ret === 0) expect(r.getKey(r.nextOff)).toBe(first);
  }
  toString = () => `getNextKey(missing ${this.key})`;
}

/** Run the model test for one configuration; `runs` bounds the fast-check runs. */
export function runHtabModel(cfg: ModelConfig, runs = 60): void {
  const key = fc.integer({ min: 0, max: cfg.keySpace - 1 });
  const cpu = fc.integer({ min: 0, max: cfg.ncpus - 1 });
  const seed = fc.integer({ min: 0, max: 255 });
  const flags = fc.constantFrom(BPF_ANY, BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3);
  const progFlags = fc.constantFrom(BPF_ANY, BPF_NOEXIST, BPF_EXIST);
  const commands = [
    fc.tuple(key, seed, flags).map(([k, s, f]) => new SysUpdate(k, s, f)),
    fc.tuple(key, seed, progFlags, cpu).map(([k, s, f, c]) => new ProgUpdate(k, s, f, c)),
    key.map((k) => new Delete(k)),
    fc.tuple(key, fc.boolean()).map(([k, d]) => new SysLookup(k, d)),
    fc.tuple(key, cpu).map(([k, c]) => new ProgLookup(k, c)),
    key.map((k) => new NextKeyOfMissing(k)),
  ];
  const arena = Arena.create({ size: 4 << 20 });
  const blocksBefore = arena.stats().blocksInUse;
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) => {
      const map = createStandaloneMap(cfg.ops, arena, cfg, cfg.ncpus);
      const real = new Real(cfg, arena, map);
      try {
        fc.modelRun(() => ({ model: { entries: new Map() }, real }), cmds);
      } finally {
        real.dispose();
        map.destroy();
      }
      expect(arena.stats().blocksInUse).toBe(blocksBefore);
    }),
    { numRuns: runs },
  );
}
