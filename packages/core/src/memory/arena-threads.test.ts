import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Arena } from "./arena.js";

// Workers cannot load TypeScript sources; they import the built module,
// which `pnpm test` builds first.
const distArena = fileURLToPath(new URL("../../dist/memory/arena.js", import.meta.url));
const haveDist = existsSync(distArena);
if (!haveDist) console.log(`arena thread test skipped: ${distArena} not built (run the build first)`);

const workerSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.arenaUrl).then(({ Arena }) => {
  const a = Arena.attach(workerData.memory);
  const held = [];
  const out = [];
  let seed = workerData.seed;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
  for (let i = 0; i < workerData.iters; i++) {
    if (held.length > 0 && rnd() % 3 === 0) {
      const [b] = held.splice(rnd() % held.length, 1);
      // The block must still carry our stamp: nobody else was handed it.
      for (let k = 0; k < b.n; k++) if (a.u8[b.off + k] !== workerData.stamp) throw new Error("block overwritten at " + b.off);
      a.free(b.off);
      continue;
    }
    const n = 1 + (rnd() % (rnd() % 8 === 0 ? 70000 : 500));
    const off = a.alloc(n, workerData.stamp);
    if (off < 0) continue;
    for (let k = 0; k < n; k++) if (a.u8[off + k] !== 0) throw new Error("not zeroed");
    a.u8.fill(workerData.stamp, off, off + n);
    held.push({ off, n });
  }
  for (const b of held) out.push([b.off, b.n]);
  parentPort.postMessage(out);
});
`;

describe("Arena across threads", () => {
  it.skipIf(!haveDist)("four workers allocate and free concurrently with no overlap", async () => {
    const a = Arena.create({ size: 64 * 1024 * 1024 });
    const arenaUrl = new URL("../../dist/memory/arena.js", import.meta.url).href;
    const runs = [1, 2, 3, 4].map(
      (stamp) =>
        new Promise<[number, number][]>((resolve, reject) => {
          const w = new Worker(workerSrc, { eval: true, workerData: { memory: a.memory, arenaUrl, stamp, seed: stamp * 7919, iters: 4000 } });
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    const results = await Promise.all(runs);
    const all = results.flatMap((r, i) => r.map(([off, n]) => ({ off, n, stamp: i + 1 })));
    all.sort((x, y) => x.off - y.off);
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.off + all[i - 1]!.n).toBeLessThanOrEqual(all[i]!.off);
    for (const b of all) {
      expect(a.u8[b.off]).toBe(b.stamp);
      expect(a.u8[b.off + b.n - 1]).toBe(b.stamp);
    }
    expect(a.stats().blocksInUse).toBe(all.length);
    for (const s of [1, 2, 3, 4]) expect(a.owners.blocks(s)).toBe(all.filter((b) => b.stamp === s).length);
    for (const b of all) a.free(b.off);
    expect(a.stats().bytesInUse).toBe(0);
  });
});
