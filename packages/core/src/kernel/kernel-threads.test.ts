import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kernel } from "./kernel.js";
import { ObjKind } from "./layout.js";
import { BPF_F_LOCK, MapType } from "../uapi.js";

// Workers load the built package (they cannot import TypeScript sources).
const dist = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const haveDist = existsSync(dist);
if (!haveDist) console.log(`kernel thread tests skipped: ${dist} not built (run the build first)`);
const coreUrl = new URL("../../dist/index.js", import.meta.url).href;

const churnSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.coreUrl).then(({ Kernel, MapType, BpfCmd }) => {
  const k = Kernel.attach(workerData.memory);
  const p = k.createProcess({ comm: "w" + workerData.me });
  let seed = workerData.me * 7919 + 1;
  const rnd = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  const mine = [];
  let pins = 0;
  for (let i = 0; i < workerData.iters; i++) {
    const r = rnd(10);
    if (r < 4 || mine.length === 0) {
      const fd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 + rnd(64) });
      mine.push(fd);
    } else if (r < 7) {
      p.close(mine.splice(rnd(mine.length), 1)[0]);
    } else if (r < 9) {
      // Open somebody's map by id: it may vanish at any moment (ENOENT), never anything worse.
      const id = p.mapGetNextId(rnd(400));
      if (id !== undefined) {
        const fd = p.bpf(BpfCmd.MapGetFdById, { id });
        if (fd >= 0) { if (p.mapInfo(fd).id !== id) throw new Error("fd by id gave another map"); p.close(fd); }
        else if (fd !== -2) throw new Error("GET_FD_BY_ID " + fd);
      }
    } else if (pins < 3) {
      p.objPin(mine[rnd(mine.length)], "/sys/fs/bpf/w" + workerData.me + "_" + pins++);
    }
  }
  p.exit();
  k.detach();
  parentPort.postMessage(pins);
});
`;

const lockSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.coreUrl).then(({ Kernel, BPF_F_LOCK }) => {
  const k = Kernel.attach(workerData.memory);
  const p = k.createProcess();
  const fd = p.mapGetFdById(workerData.id);
  const key = new Uint8Array(4);
  const v = new Uint8Array(64);
  let torn = 0;
  for (let i = 0; i < workerData.iters; i++) {
    if (i & 1) {
      v.fill(workerData.me);
      p.mapUpdate(fd, key, v, BPF_F_LOCK);
    } else {
      const got = p.mapLookup(fd, key, BPF_F_LOCK, v);
      for (let j = 5; j < 64; j++) if (got[j] !== got[4]) { torn++; break; }
    }
  }
  p.exit();
  k.detach();
  parentPort.postMessage(torn);
});
`;

const sharedSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.coreUrl).then(({ Kernel, BpfCmd, BPF_F_LOCK }) => {
  const k = Kernel.attach(workerData.memory);
  const p = k.process(workerData.pid);
  const flag = new Int32Array(workerData.flag);
  const key = new Uint8Array(4);
  const v = new Uint8Array(16);
  const seen = {};
  let n = 0;
  Atomics.store(flag, 1, 1);
  while (Atomics.load(flag, 0) === 0) {
    const fd = 3 + (n++ % 4);
    // Under the value's spin lock, so a concurrent update is never seen half done.
    const r = p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key, value: v, flags: BPF_F_LOCK });
    const tag = r === 0 ? "v" + v[4] + "/" + v[15] : "e" + r;
    seen[tag] = (seen[tag] || 0) + 1;
  }
  p.release();
  k.detach();
  parentPort.postMessage(seen);
});
`;

function run(src: string, n: number, data: (i: number) => object): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => new Promise<number>((resolve, reject) => {
      const w = new Worker(src, { eval: true, workerData: { coreUrl, me: i + 1, ...data(i) } });
      w.once("message", resolve);
      w.once("error", reject);
    })),
  );
}

describe("kernel across threads", () => {
  it.skipIf(!haveDist)("create/close/get-by-id/pin from four threads keeps ids, refcounts and memory consistent", async () => {
    const k = Kernel.create({ ncpus: 2, size: 32 * 1024 * 1024 });
    const main = k.createProcess();
    const baseline = k.arena.stats().bytesInUse;
    const pins = await run(churnSrc, 4, () => ({ memory: k.memory, iters: 400 }));
    const pinned = pins.reduce((a, b) => a + b, 0);
    // Only pinned maps survive their processes.
    expect(k.objects.count(ObjKind.Map)).toBeLessThanOrEqual(pinned);
    expect(k.bpffs.list().length).toBe(pinned);
    for (const path of k.bpffs.list()) {
      const fd = main.objGet(path);
      expect(main.mapInfo(fd).type).toBe(MapType.Array);
      main.close(fd);
      main.unlink(path);
    }
    expect(k.objects.count(ObjKind.Map)).toBe(0);
    // Worker scratch and fd tables were returned; what remains is this thread's own.
    expect(k.arena.stats().bytesInUse - baseline).toBeLessThanOrEqual(64 * 1024 + 64 * 1024);
    expect(k.arena.memlock.charged(0)).toBe(0);
  });

  it.skipIf(!haveDist)("one process on two threads: closes and re-creates under a reader never expose a freed or foreign map", async () => {
    const k = Kernel.create({ ncpus: 2, size: 16 * 1024 * 1024 });
    const p = k.createProcess();
    const baseline = k.arena.stats().bytesInUse;
    // Map with tag t holds t at bytes 4 and 15 of key 0's value (bytes 0-3: its spin lock);
    // just after create it holds zeros.
    const make = (t: number) => {
      const fd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 16, maxEntries: 1, spinLockOff: 0 });
      const v = new Uint8Array(16).fill(t, 4);
      p.mapUpdate(fd, new Uint8Array(4), v, BPF_F_LOCK);
      return fd;
    };
    for (let t = 1; t <= 4; t++) make(t);
    const flag = new SharedArrayBuffer(8);
    const done = run(sharedSrc, 1, () => ({ memory: k.memory, pid: p.pid, flag }));
    while (Atomics.load(new Int32Array(flag), 1) === 0) await new Promise((r) => setTimeout(r, 5));
    let t = 5;
    const deadline = Date.now() + 600;
    while (Date.now() < deadline) {
      p.close(3 + (t % 4));
      make(t++ % 200 + 1);
      await new Promise((r) => setImmediate(r));
    }
    Atomics.store(new Int32Array(flag), 0, 1);
    const [seen] = (await done) as unknown as Record<string, number>[];
    for (const tag of Object.keys(seen!)) {
      // A value from a whole map (same tag both ends), or EBADF between close and re-create.
      expect(tag).toMatch(/^(v(\d+)\/\2|e-9)$/);
    }
    expect(Object.keys(seen!).some((x) => x.startsWith("v"))).toBe(true);
    for (const fd of [3, 4, 5, 6]) p.close(fd);
    expect(k.objects.count(ObjKind.Map)).toBe(0);
    // What remains beyond the kernel tables is this thread's scratch block (64 KiB + header).
    expect(k.arena.stats().bytesInUse).toBeLessThanOrEqual(baseline + 68 * 1024);
  });

  it.skipIf(!haveDist)("BPF_F_LOCK updates and lookups from three threads never see a torn value", async () => {
    const k = Kernel.create({ ncpus: 2, size: 16 * 1024 * 1024 });
    const p = k.createProcess();
    const fd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 64, maxEntries: 1, spinLockOff: 0 });
    const id = p.mapInfo(fd).id;
    const torn = await run(lockSrc, 3, () => ({ memory: k.memory, id, iters: 20000 }));
    expect(torn).toEqual([0, 0, 0]);
    expect(p.mapLookup(fd, new Uint8Array(4), BPF_F_LOCK)![4]).toBeGreaterThan(0);
  });
});
