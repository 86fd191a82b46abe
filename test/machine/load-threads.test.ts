/**
 * User-space load threads (piscina): each task is its own simulated process
 * on its own thread, opening maps by id or by pinned path and working on
 * them while this thread does too; errors come back with their errno.
 */
import { expect, it } from "vitest";
import { Errno, MapType } from "@bpfsim/core";
import { createMachine, LoadThreads } from "@bpfsim/harness";
import { arrayU64, skipNote, threadsUnavailable } from "./helpers.js";

it.skipIf(skipNote(threadsUnavailable(), "load threads"))("open maps by id and by pin, run concurrently, report errno", async () => {
  const m = await createMachine({ cpus: 1, mode: "stepped", arenaSize: 16 << 20, ringSlots: 16, slotBytes: 128 });
  const load = new LoadThreads(m, 2);
  try {
    const p = m.proc;
    const config = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
    const table = p.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 64 });
    for (let k = 0; k < 40; k++) p.mapUpdate(table, new Uint8Array(new Uint32Array([k]).buffer), new Uint8Array(8));
    p.objPin(table, "/sys/fs/bpf/table");
    const configId = p.mapInfo(config).id;
    const [w, r, bad] = await Promise.all([
      load.run({ kind: "writer", mapId: configId, values: [5, 7], periodMs: 1, durationMs: 300 }),
      load.run({ kind: "reader", pin: "/sys/fs/bpf/table", periodMs: 1, durationMs: 300 }),
      load.run({ kind: "reader", mapId: 999_999, periodMs: 1, durationMs: 10 }),
    ]);
    expect(w.error).toBeUndefined();
    expect(w.ops).toBeGreaterThan(0);
    expect([5n, 7n]).toContain(arrayU64(p, config));
    expect(r.error).toBeUndefined();
    expect(r.passes).toBeGreaterThan(0);
    expect(r.lastCount).toBe(40);
    expect(bad.error?.errno).toBe(Errno.ENOENT);
    // Each task ran as its own process, gone once it finished.
    expect(new Set([w.pid, r.pid, bad.pid, p.pid]).size).toBe(4);
  } finally {
    await load.close();
    await m.shutdown();
  }
});
