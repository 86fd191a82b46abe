/**
 * Stress test of the hash map family on real threads: four workers (CPUs
 * 0-3) attach one arena and hammer six maps at once with random updates,
 * deletes and lookups, checking as they go:
 *  - BPF_F_LOCK lookups never see a torn value, even against plain updates
 *    and deletes of the same keys;
 *  - syscall lookups never see a torn value or another key's value while
 *    updates swap elements and deletes recycle them (one tiny map recycles
 *    its few elements constantly to make that race likely);
 *  - element counts never exceed max_entries, LRU updates never fail, and
 *    replacing keys of a full HASH never fails, even with more threads than
 *    the map has spare elements;
 *  - per-CPU slots are written only by their own CPU.
 * Afterwards the main thread checks that every atomic add from every thread
 * was counted, every per-CPU increment landed in its own slot, and every
 * remaining element of every map is intact. Bounded by iterations and time.
 *
 * Workers load the built core (dist): run `pnpm build` first; the test skips
 * with a message when dist is missing or older than the sources.
 */
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { Arena } from "../../packages/core/src/memory/arena.js";
import { mapOpsFor } from "../../packages/core/src/maps/registry.js";
import type { MapHeaderView, MapImpl } from "../../packages/core/src/maps/map-ops.js";
import { createStandaloneMap, type StandaloneMap } from "../../packages/core/src/maps/hashtab/standalone.js";
import { BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_NOEXIST, MapType } from "../../packages/core/src/uapi.js";

const NWORKERS = 4;
const ITERATIONS = 40_000;
const TIME_BUDGET_MS = 8_000;

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const buildInfo = root("packages/core/tsconfig.tsbuildinfo");
function distProblem(): string | undefined {
  if (!existsSync(buildInfo)) return "packages/core has not been built (run pnpm build)";
  const pairs = [
    "maps/hashtab/htab-map", "maps/hashtab/htab-values", "maps/hashtab/htab-core", "maps/hashtab/jhash", "maps/hashtab/freelist",
    "maps/hashtab/htab-ops", "maps/lru/bpf-lru", "memory/arena",
  ];
  for (const p of pairs) {
    const js = root(`packages/core/dist/${p}.js`);
    if (!existsSync(js)) return `packages/core/dist is missing ${p}.js (run pnpm build)`;
    // tsc -b skips re-emitting unchanged output, so compare with the last build, not the .js.
    if (statSync(buildInfo).mtimeMs < statSync(root(`packages/core/src/${p}.ts`)).mtimeMs) {
      return `packages/core/src/${p}.ts changed since the last build (run pnpm build)`;
    }
  }
  return undefined;
}
const why = distProblem();
if (why) console.log(`hash-stress: skipped, ${why}`);

interface WorkerResult {
  cpu: number;
  ops: number;
  errors: string[];
  counted: number[];
  percpuBumps: number[];
}

describe.skipIf(why !== undefined)("hash maps under 4 threads", () => {
  it("keep their invariants", async () => {
    const arena = Arena.create({ size: 32 << 20 });
    const mk = (mapType: number, keySize: number, valueSize: number, maxEntries: number, mapFlags = 0, spinLockOff = -1) =>
      createStandaloneMap(mapOpsFor(mapType)!, arena, { mapType, keySize, valueSize, maxEntries, mapFlags, spinLockOff }, NWORKERS);
    const counterKeys = 16;
    const percpuKeys = 16;
    const maps = {
      locked: { m: mk(MapType.Hash, 4, 64, 32, 0, 4), keySpace: 48 },
      plain: { m: mk(MapType.Hash, 4, 64, 32, BPF_F_NO_PREALLOC), keySpace: 48 },
      counters: { m: mk(MapType.Hash, 4, 8, counterKeys + 64), keySpace: counterKeys },
      percpu: { m: mk(MapType.PercpuHash, 4, 8, percpuKeys), keySpace: percpuKeys },
      lru: { m: mk(MapType.LruHash, 4, 32, 64), keySpace: 200 },
      lruPercpu: { m: mk(MapType.LruPercpuHash, 4, 16, 64, BPF_F_NO_COMMON_LRU), keySpace: 200 },
      churn: { m: mk(MapType.Hash, 4, 256, 4), keySpace: 6 },
      full: {
        m: createStandaloneMap(mapOpsFor(MapType.Hash)!, arena, { mapType: MapType.Hash, keySize: 4, valueSize: 16, maxEntries: 8, mapFlags: 0 }, 1),
        keySpace: 8,
      },
    };
    const scratch = arena.alloc(4096, 1);
    const K = scratch, V = scratch + 1024, O = scratch + 2048;
    const dv = arena.dv;
    const key = (k: number) => (dv.setUint32(K, k, true), K);
    for (let k = 0; k < counterKeys; k++) {
      dv.setBigUint64(V, 0n, true);
      expect(maps.counters.m.impl.sysUpdateElem!(key(k), V, BPF_NOEXIST)).toBe(0);
    }
    for (let k = 0; k < 8; k++) {
      for (let i = 0; i < 4; i++) dv.setUint32(V + 4 * i, i === 0 ? k : 1, true);
      expect(maps.full.m.impl.sysUpdateElem!(key(k), V, BPF_NOEXIST)).toBe(0);
    }
    for (let k = 0; k < percpuKeys; k++) {
      for (let c = 0; c < NWORKERS; c++) { dv.setUint32(V + 8 * c, c, true); dv.setUint32(V + 8 * c + 4, 0, true); }
      expect(maps.percpu.m.impl.sysUpdateElem!(key(k), V, BPF_NOEXIST)).toBe(0);
    }

    const headerOf = (s: { m: StandaloneMap; keySpace: number }) => {
      const { arena: _a, ...h } = s.m.header as MapHeaderView & Record<string, unknown>;
      return { ...h, keySpace: s.keySpace };
    };
    const startWord = scratch + 3072;
    const workerData = {
      memory: arena.memory,
      maps: {
        locked: headerOf(maps.locked), plain: headerOf(maps.plain), counters: headerOf(maps.counters),
        percpu: headerOf(maps.percpu), lru: headerOf(maps.lru), lruPercpu: headerOf(maps.lruPercpu),
        churn: headerOf(maps.churn), full: headerOf(maps.full),
        counterKeys, percpuKeys,
      },
      iterations: ITERATIONS,
      deadline: Date.now() + TIME_BUDGET_MS,
      startWord: startWord >> 2,
      nworkers: NWORKERS,
    };
    const url = new URL("./hash-stress-worker.mjs", import.meta.url);
    const results = await Promise.all(
      Array.from({ length: NWORKERS }, (_, cpu) =>
        new Promise<WorkerResult>((resolve, reject) => {
          const w = new Worker(url, { workerData: { ...workerData, cpu, seed: 0x9e3779b9 * (cpu + 1) } });
          w.once("message", resolve);
          w.once("error", reject);
          w.once("exit", (code) => code !== 0 && reject(new Error(`worker ${cpu} exited with ${code}`)));
        }),
      ),
    );
    console.log(`hash-stress: ${results.map((r) => `cpu ${r.cpu} ${r.ops} ops`).join(", ")}`);
    expect(results.flatMap((r) => r.errors)).toEqual([]);

    // Every atomic add from every thread was counted.
    for (let k = 0; k < counterKeys; k++) {
      expect(maps.counters.m.impl.sysLookupElem!(key(k), O, 0)).toBe(0);
      expect(dv.getBigUint64(O, true)).toBe(BigInt(results.reduce((s, r) => s + r.counted[k]!, 0)));
    }
    // Every per-CPU increment is in its own CPU's slot, and no slot was written by another CPU.
    for (let k = 0; k < percpuKeys; k++) {
      expect(maps.percpu.m.impl.sysLookupElem!(key(k), O, 0)).toBe(0);
      for (const r of results) {
        expect(dv.getUint32(O + 8 * r.cpu, true)).toBe(r.cpu);
        expect(dv.getUint32(O + 8 * r.cpu + 4, true)).toBe(r.percpuBumps[k]);
      }
    }
    // Every remaining element is intact, and the count matches the walk.
    const walk = (impl: MapImpl, max: number, check: (k: number) => void) => {
      const seen = new Set<number>();
      for (let r = impl.getNextKey!(0, O + 512); r === 0; r = impl.getNextKey!(K, O + 512)) {
        const k = dv.getUint32(O + 512, true);
        expect(seen.has(k), `key ${k} twice in the walk`).toBe(false);
        seen.add(k);
        arena.u8.copyWithin(K, O + 512, O + 516);
        expect(impl.sysLookupElem!(K, O, 0)).toBe(0);
        check(k);
        key(k);
      }
      expect(seen.size).toBe(impl.count!());
      expect(seen.size).toBeLessThanOrEqual(max);
    };
    const intact = (words: number, lockWord: number) => (k: number) => {
      expect(dv.getUint32(O, true)).toBe(k);
      const s = dv.getUint32(O + (lockWord === 1 ? 8 : 4), true);
      for (let i = 1; i < words; i++) if (i !== lockWord) expect(dv.getUint32(O + 4 * i, true)).toBe(s);
    };
    walk(maps.locked.m.impl, 32, intact(16, 1));
    walk(maps.plain.m.impl, 32, intact(16, -1));
    walk(maps.churn.m.impl, 4, intact(64, -1));
    walk(maps.full.m.impl, 8, intact(4, -1));
    expect(maps.full.m.impl.count!()).toBe(8);
    walk(maps.lru.m.impl, 64, intact(8, -1));
    walk(maps.lruPercpu.m.impl, 64, (k) => {
      for (let c = 0; c < NWORKERS; c++) {
        const w0 = dv.getUint32(O + 16 * c, true);
        expect(w0 === k || w0 === 0).toBe(true);
      }
    });
    for (const s of Object.values(maps)) s.m.destroy();
    arena.free(scratch);
    expect(arena.stats().blocksInUse).toBe(0);
  });
});
