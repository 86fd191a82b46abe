// `pnpm bench hash [--json]`: the hash map family on its own (MapImpl entry
// points, one thread), with Linux's figures through bpf() beside ours when
// the kernel lets us (root, gcc). The two are not the same path: Linux's
// numbers include a syscall per operation; bpfsim's syscall layer would add
// its own copying on top of these.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Arena } from "../packages/core/dist/memory/arena.js";
import { hashMapOps } from "../packages/core/dist/maps/hash.js";
import { lruHashMapOps } from "../packages/core/dist/maps/lru-hash.js";
import { createStandaloneMap } from "../packages/core/dist/maps/hashtab/standalone.js";

const N = 1 << 20;

function linuxFigures() {
  if (process.getuid?.() !== 0) return { why: "needs root" };
  const dir = mkdtempSync(join(tmpdir(), "hash-bench-"));
  try {
    const bin = join(dir, "hash-bench");
    execFileSync("gcc", ["-O2", "-o", bin, fileURLToPath(new URL("../scripts/maps/hash-bench.c", import.meta.url))], { stdio: "pipe" });
    const out = execFileSync(bin, { encoding: "utf8", timeout: 120_000 });
    return { figures: Object.fromEntries(out.trim().split("\n").map((l) => l.split(" ")).map(([k, v]) => [k, Number(v)])) };
  } catch (e) {
    return { why: String(e.message).split("\n")[0] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function timeOps(n, fn) {
  const t0 = process.hrtime.bigint();
  fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return Math.round(n / s);
}

export default async function main(args) {
  const arena = Arena.create({ size: 256 << 20 });
  const attr = { mapType: 1, keySize: 4, valueSize: 8, maxEntries: N, mapFlags: 0 };
  const before = arena.stats().bytesInUse;
  const m = createStandaloneMap(hashMapOps, arena, attr, 2);
  const arenaBytes = arena.stats().bytesInUse - before;
  const linuxMem = hashMapOps.memUsage(attr, { arena, ncpus: 2 });
  const s = arena.alloc(64, 1);
  const dv = arena.dv;
  const K = s, V = s + 16, O = s + 32;
  dv.setBigUint64(V, 1n, true);
  const ours = {};
  ours.hash_update_fill = timeOps(N, () => {
    for (let k = 0; k < N; k++) { dv.setUint32(K, k, true); m.impl.sysUpdateElem(K, V, 0); }
  });
  let x = 1;
  ours.hash_lookup_random = timeOps(N, () => {
    for (let i = 0; i < N; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; dv.setUint32(K, x & (N - 1), true); m.impl.sysLookupElem(K, O, 0); }
  });
  ours.hash_prog_lookup_random = timeOps(N, () => {
    for (let i = 0; i < N; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; dv.setUint32(K, x & (N - 1), true); m.impl.lookupElem(K, 0); }
  });
  m.destroy();
  const lru = createStandaloneMap(lruHashMapOps, arena, { ...attr, mapType: 9, maxEntries: 1 << 16 }, 2);
  ours.lru_update_evicting = timeOps(N, () => {
    for (let k = 0; k < N; k++) { dv.setUint32(K, k, true); lru.impl.sysUpdateElem(K, V, 0); }
  });
  lru.destroy();
  const linux = linuxFigures();
  const result = { memory: { n: N, bpfsimArenaBytes: arenaBytes, linuxMemUsageBytes: linuxMem }, opsPerSecond: ours, linux: linux.figures ?? null, linuxSkipped: linux.why };
  if (args.includes("--json")) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`1M-entry u32->u64 HASH: bpfsim arena ${arenaBytes} B, Linux htab_map_mem_usage ${linuxMem} B`);
  console.log("ops/s (one thread)            bpfsim MapImpl   Linux bpf()");
  for (const [k, v] of Object.entries(ours)) {
    const l = linux.figures?.[k];
    console.log(`${k.padEnd(30)}${String(v).padStart(14)}${String(l ?? "-").padStart(14)}`);
  }
  if (linux.why) console.log(`Linux figures skipped: ${linux.why}`);
}
