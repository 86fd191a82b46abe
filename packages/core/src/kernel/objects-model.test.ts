import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Kernel } from "./kernel.js";
import type { Process } from "./process.js";
import { ObjKind } from "./layout.js";
import { BpfCmd, MapType } from "../uapi.js";
import { Errno } from "../errno.js";

/**
 * Model of the object layer as user space sees it: which fds are open on
 * which map id, which paths are pinned, which ids are live. A map lives
 * while an fd or a pin refers to it.
 */
interface Model {
  fds: Map<number, number>; // fd -> map id
  pins: Map<string, number>; // path -> map id
  nextId: number;
  everIds: number[];
}
interface Real {
  k: Kernel;
  p: Process;
}

const arr = { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 2 };
const live = (m: Model) => new Set([...m.fds.values(), ...m.pins.values()]);
const lowestFree = (m: Model) => {
  let fd = 3;
  while (m.fds.has(fd)) fd++;
  return fd;
};

function checkInvariants(m: Model, r: Real): void {
  const ids = [...live(m)].sort((a, b) => a - b);
  expect(r.k.objects.count(ObjKind.Map)).toBe(ids.length);
  const walked: number[] = [];
  for (let id = r.p.mapGetNextId(0); id !== undefined; id = r.p.mapGetNextId(id)) walked.push(id);
  expect(walked).toEqual(ids);
  expect(r.p.openFds()).toEqual([0, 1, 2, ...[...m.fds.keys()].sort((a, b) => a - b)]);
}

class Create implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const fd = r.p.mapCreate(arr);
    expect(fd).toBe(lowestFree(m));
    const id = r.p.mapInfo(fd).id;
    expect(id).toBe(m.nextId);
    m.nextId++;
    m.fds.set(fd, id);
    m.everIds.push(id);
    checkInvariants(m, r);
  }
  toString = () => "create";
}

class Close implements fc.Command<Model, Real> {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.fds.size > 0;
  run(m: Model, r: Real): void {
    const fd = [...m.fds.keys()][this.pick % m.fds.size]!;
    r.p.close(fd);
    m.fds.delete(fd);
    checkInvariants(m, r);
  }
  toString = () => `close(#${this.pick})`;
}

class Pin implements fc.Command<Model, Real> {
  constructor(readonly pick: number, readonly name: string) {}
  check = (m: Readonly<Model>) => m.fds.size > 0;
  run(m: Model, r: Real): void {
    const fd = [...m.fds.keys()][this.pick % m.fds.size]!;
    const path = `/sys/fs/bpf/${this.name}`;
    const ret = r.p.bpf(BpfCmd.ObjPin, { bpfFd: fd, pathname: path });
    if (m.pins.has(path)) return expect(ret).toBe(-Errno.EEXIST);
    expect(ret).toBe(0);
    m.pins.set(path, m.fds.get(fd)!);
    checkInvariants(m, r);
  }
  toString = () => `pin(#${this.pick}, ${this.name})`;
}

class Unpin implements fc.Command<Model, Real> {
  constructor(readonly name: string) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const path = `/sys/fs/bpf/${this.name}`;
    const ret = r.k.bpffs.unlink(path);
    if (!m.pins.has(path)) return expect(ret).toBe(-Errno.ENOENT);
    expect(ret).toBe(0);
    m.pins.delete(path);
    checkInvariants(m, r);
  }
  toString = () => `unpin(${this.name})`;
}

class ObjGet implements fc.Command<Model, Real> {
  constructor(readonly name: string) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const path = `/sys/fs/bpf/${this.name}`;
    const fd = r.p.bpf(BpfCmd.ObjGet, { pathname: path });
    if (!m.pins.has(path)) return expect(fd).toBe(-Errno.ENOENT);
    expect(fd).toBe(lowestFree(m));
    expect(r.p.mapInfo(fd).id).toBe(m.pins.get(path));
    m.fds.set(fd, m.pins.get(path)!);
    checkInvariants(m, r);
  }
  toString = () => `objGet(${this.name})`;
}

class GetById implements fc.Command<Model, Real> {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.everIds.length > 0;
  run(m: Model, r: Real): void {
    const id = m.everIds[this.pick % m.everIds.length]!;
    const fd = r.p.bpf(BpfCmd.MapGetFdById, { id });
    if (!live(m).has(id)) return expect(fd).toBe(-Errno.ENOENT);
    expect(fd).toBe(lowestFree(m));
    m.fds.set(fd, id);
    checkInvariants(m, r);
  }
  toString = () => `getById(#${this.pick})`;
}

describe("object layer against a model", () => {
  it("fds, ids, pins and lifetimes follow Linux's rules", () => {
    const name = fc.constantFrom("a", "b", "c");
    const cmds = [
      fc.constant(new Create()),
      fc.nat().map((n) => new Close(n)),
      fc.tuple(fc.nat(), name).map(([n, s]) => new Pin(n, s)),
      name.map((s) => new Unpin(s)),
      name.map((s) => new ObjGet(s)),
      fc.nat().map((n) => new GetById(n)),
    ];
    fc.assert(
      fc.property(fc.commands(cmds, { maxCommands: 50 }), (c) => {
        const k = Kernel.create({ ncpus: 2, size: 4 * 1024 * 1024 });
        const baseline = k.arena.stats().bytesInUse;
        const p = k.createProcess();
        const model: Model = { fds: new Map(), pins: new Map(), nextId: 1, everIds: [] };
        fc.modelRun(() => ({ model, real: { k, p } }), c);
        // Tear down: every map goes, and with it every byte it held.
        for (const path of [...model.pins.keys()]) k.bpffs.unlink(path);
        p.exit();
        expect(k.objects.count(ObjKind.Map)).toBe(0);
        expect(k.arena.memlock.charged(0)).toBe(0);
        expect(k.arena.stats().bytesInUse).toBe(baseline);
      }),
      { numRuns: 80 },
    );
  });
});
