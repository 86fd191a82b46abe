/**
 * The hook table's seqlock on real threads: a writer thread republishes a
 * hook's program list as fast as it can, each list internally consistent
 * (n entries, all equal to g, n = g % 8 + 1); the reader (this thread, as a
 * CPU would) must never see a mixed or truncated list.
 */
import { Worker } from "node:worker_threads";
import { pathToFileURL, fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { expect, it } from "vitest";
import { Arena, HOOK_MAX_PROGS, HookType, KERNEL_OWNER, hookGetOrCreate, hookRead, hookTableBytes, hookTableInit } from "@bpfsim/core";
import { skipNote } from "./helpers.js";

const coreDist = fileURLToPath(new URL("../../packages/core/dist/index.js", import.meta.url));

const writerSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.core).then((core) => {
  const arena = core.Arena.attach(workerData.memory);
  const { tableOff, hookId, rounds, stopOff } = workerData;
  for (let g = 1; g <= rounds && Atomics.load(arena.i32, stopOff >> 2) === 0; g++) {
    core.hookEdit(arena, tableOff, hookId, (progs, links) => {
      progs.length = 0; links.length = 0;
      for (let i = 0; i < (g % 8) + 1; i++) { progs.push(g); links.push(g); }
    });
  }
  parentPort.postMessage("done");
});
`;

it.skipIf(skipNote(existsSync(coreDist) ? undefined : "packages/core/dist missing (run `pnpm build`)", "seqlock thread test"))(
  "a CPU never reads a half-published program list",
  async () => {
    const arena = Arena.create({ size: 1 << 20 });
    const tableOff = arena.alloc(hookTableBytes(4, 1), KERNEL_OWNER);
    hookTableInit(arena, tableOff, 4, 1);
    const hookId = hookGetOrCreate(arena, tableOff, HookType.TcIngress, 2);
    const stopOff = arena.alloc(8, KERNEL_OWNER);
    const w = new Worker(writerSrc, { eval: true, workerData: { core: pathToFileURL(coreDist).href, memory: arena.memory, tableOff, hookId, rounds: 200_000, stopOff } });
    const done = new Promise((r) => w.once("message", r));
    const out = new Uint32Array(HOOK_MAX_PROGS);
    let reads = 0;
    let changes = 0;
    let last = -1;
    let finished = false;
    void done.then(() => (finished = true));
    const end = performance.now() + 3000;
    while (!finished && performance.now() < end) {
      for (let i = 0; i < 5000; i++) {
        const [n] = hookRead(arena, tableOff, hookId, out);
        if (n === 0) continue;
        const g = out[0]!;
        expect(n).toBe((g % 8) + 1);
        for (let j = 1; j < n; j++) expect(out[j]).toBe(g);
        if (g !== last) changes++;
        last = g;
        reads++;
      }
      await new Promise((r) => setImmediate(r));
    }
    Atomics.store(arena.i32, stopOff >> 2, 1);
    await done;
    await w.terminate();
    expect(reads).toBeGreaterThan(0);
    // The reader really raced the writer (saw many generations).
    expect(changes).toBeGreaterThan(10);
  },
);
