/**
 * The ring buffer with real parallel producers: two worker threads reserve,
 * fill and submit (or discard) records into one small ring while this thread
 * consumes with RingBuffer.poll. Every submitted record must arrive exactly
 * once, whole, and in each producer's order; discarded ones never.
 */
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kernel } from "../kernel/kernel.js";
import { mapGet } from "../kernel/map-cmds.js";
import { BpfCmd, MapType } from "../uapi.js";
import { ringbufBase } from "../maps/ringbuf.js";
import { RingBuffer } from "./consumer.js";

// Workers load the built package (they cannot import TypeScript sources).
const dist = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const haveDist = existsSync(dist);
if (!haveDist) console.log(`ring buffer thread test skipped: ${dist} not built (run the build first)`);
const coreUrl = new URL("../../dist/index.js", import.meta.url).href;

const producerSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.coreUrl).then(({ Kernel, ringReserve, ringCommit }) => {
  const k = Kernel.attach(workerData.memory);
  const a = k.arena;
  let seed = workerData.me * 7919 + 1;
  const rnd = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  const discarded = [];
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (let seq = 0; seq < workerData.count; seq++) {
    const size = 8 + rnd(300);
    let s;
    while ((s = ringReserve(a, workerData.base, size)) === 0) Atomics.wait(wait, 0, 0, 0.05); // full: let the consumer catch up
    // Header: producer, seq, size; then a pattern the consumer can check byte by byte.
    a.dv.setUint32(s, workerData.me, true);
    a.dv.setUint32(s + 4, seq, true);
    for (let i = 8; i < size; i++) a.u8[s + i] = (workerData.me * 31 + seq + i) & 255;
    const discard = rnd(10) === 0;
    if (discard) discarded.push(seq);
    ringCommit(a, s, 0, discard);
  }
  k.detach();
  parentPort.postMessage(discarded);
});
`;

describe("ring buffer across threads", () => {
  it.skipIf(!haveDist)("two producers, one consumer: every submitted record once, whole, in order", async () => {
    const k = Kernel.create({ ncpus: 2, size: 32 * 1024 * 1024 });
    const p = k.createProcess({ comm: "rb" });
    const fd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Ringbuf, keySize: 0, valueSize: 0, maxEntries: 16384 });
    const h = mapGet(p, fd);
    if (typeof h === "number") throw new Error("no map");
    const base = ringbufBase(h.hdr);
    const COUNT = 3000;
    const got: number[][] = [[], [], []];
    let bad = 0;
    const rb = new RingBuffer(p, fd, (d, size) => {
      const dv = new DataView(d.buffer, d.byteOffset, size);
      const me = dv.getUint32(0, true);
      const seq = dv.getUint32(4, true);
      for (let i = 8; i < size; i++) if (d[i] !== ((me * 31 + seq + i) & 255)) bad++;
      got[me]!.push(seq);
    });
    let done = false;
    const workers = [1, 2].map(
      (me) =>
        new Promise<number[]>((resolve, reject) => {
          const w = new Worker(producerSrc, { eval: true, workerData: { coreUrl, me, memory: k.memory, base, count: COUNT } });
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    const all = Promise.all(workers).finally(() => (done = true));
    while (!done) await rb.poll(20);
    const discarded = await all;
    rb.consume();
    rb.free();
    expect(bad).toBe(0);
    for (const me of [1, 2]) {
      const skip = new Set(discarded[me - 1]);
      const want = Array.from({ length: COUNT }, (_, i) => i).filter((s) => !skip.has(s));
      expect(got[me]).toEqual(want);
    }
  }, 60_000);
});
