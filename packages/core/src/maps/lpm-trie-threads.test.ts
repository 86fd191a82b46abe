/**
 * LPM lookups without a lock while another thread rewrites the trie: two
 * reader threads look up random addresses while this thread inserts,
 * replaces and deletes prefixes. Every value names the prefix it was stored
 * under, so a reader can check what it got: nothing, or a prefix that really
 * contains the address (possibly one just deleted, as with RCU in Linux),
 * never a torn value or a wrong prefix, and no walk that fails to end.
 */
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kernel } from "../kernel/kernel.js";
import { mapGet } from "../kernel/map-cmds.js";
import { BpfCmd, MapType } from "../uapi.js";

const dist = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const haveDist = existsSync(dist);
if (!haveDist) console.log(`LPM thread test skipped: ${dist} not built (run the build first)`);
const coreUrl = new URL("../../dist/index.js", import.meta.url).href;

const readerSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.coreUrl).then(({ Kernel }) => {
  const k = Kernel.attach(workerData.memory);
  const h = k.mapByHeader(workerData.headerOff);
  const keyOff = workerData.keyOff;
  const dv = k.arena.dv;
  const stop = new Int32Array(workerData.stop);
  let seed = workerData.me * 7919 + 1;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
  let bad = 0, hits = 0, n = 0;
  Atomics.add(stop, 1, 1); // ready
  while (Atomics.load(stop, 0) === 0) {
    const addr = (10 << 24 | (rnd() & 0xffffff)) >>> 0;
    dv.setUint32(keyOff, 32, true);
    dv.setUint32(keyOff + 4, addr, false);
    const v = h.impl.lookupElem(keyOff, 0);
    n++;
    if (v === 0) continue;
    hits++;
    // value: plen (u32) then the prefix's address (u32), written together
    const plen = dv.getUint32(v, true), pfx = dv.getUint32(v + 4, true);
    const mask = plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
    if (plen > 32 || ((addr & mask) >>> 0) !== pfx) bad++;
  }
  parentPort.postMessage({ bad, hits, n });
});
`;

describe("LPM trie across threads", () => {
  it.skipIf(!haveDist)("lock-free readers see only prefixes that contain the address while a writer churns", async () => {
    const k = Kernel.create({ ncpus: 2, size: 32 * 1024 * 1024 });
    const p = k.createProcess({ comm: "lpm" });
    const fd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.LpmTrie, keySize: 8, valueSize: 8, maxEntries: 512, mapFlags: 1 });
    const h = mapGet(p, fd);
    if (typeof h === "number") throw new Error("no map");
    const stop = new SharedArrayBuffer(8); // [0] stop, [1] readers ready
    const readers = [1, 2].map(
      (me) =>
        new Promise<{ bad: number; hits: number; n: number }>((resolve, reject) => {
          const w = new Worker(readerSrc, { eval: true, workerData: { coreUrl, me, memory: k.memory, headerOff: h.hdr.headerOff, stop, keyOff: k.arena.alloc(8, 0) } });
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    const flags = new Int32Array(stop);
    while (Atomics.load(flags, 1) < 2) await new Promise((r) => setTimeout(r, 5));
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const key = new Uint8Array(8);
    const kv = new DataView(key.buffer);
    const val = new Uint8Array(8);
    const vv = new DataView(val.buffer);
    const t0 = Date.now();
    let ops = 0;
    while (Date.now() - t0 < 400) {
      const plen = 8 + (rnd() % 25);
      const mask = (0xffffffff << (32 - plen)) >>> 0;
      const pfx = ((10 << 24) | (rnd() & 0xffffff)) & mask;
      kv.setUint32(0, plen, true);
      kv.setUint32(4, pfx >>> 0, false);
      if (rnd() % 3 === 0) p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key });
      else {
        vv.setUint32(0, plen, true);
        vv.setUint32(4, pfx >>> 0, true);
        p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key, value: val, flags: 0 });
      }
      ops++;
    }
    Atomics.store(flags, 0, 1);
    const res = await Promise.all(readers);
    expect(ops).toBeGreaterThan(100);
    for (const r of res) {
      expect(r.bad).toBe(0);
      expect(r.hits).toBeGreaterThan(0);
    }
  }, 30_000);
});
