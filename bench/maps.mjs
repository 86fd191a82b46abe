// `pnpm bench maps [--json]`: user-space map syscalls on bpfsim (the
// high-level process API), with Linux's figure for the same operation beside
// each: measured in this run with kernel_bench.c when the kernel lets us,
// else taken from the recorded baseline (and said so).
//
// Shapes follow kernel_bench.c's `maps` mode: u32 key, u64 value (x ncpus for
// per-CPU maps), 1024 keys, max_entries 1024 (lru_hash 4096); batch figures
// are per element with 1024 elements per call. Thread figures: hash
// lookups/updates from 1, 2, 4 worker threads, each a process of its own on
// the same kernel (Kernel.attach), ops/s summed over threads.
import { Worker } from "node:worker_threads";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir, availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const coreUrl = pathToFileURL(join(root, "packages/core/dist/index.js")).href;
const { Kernel, MapType, mapOpsFor, BPF_ANY, BPF_NOEXIST } = await import(coreUrl);

const MAP_N = 1024;
const OPS = Number(process.env.BENCH_MAP_OPS ?? 100_000);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const THREAD_MS = Number(process.env.BENCH_THREAD_MS ?? 400);
// The shared benchmark folder sits beside the repository (../shared/bench).
const SHARED_BENCH = join(root, "..", "shared", "bench");
const KERNEL_BENCH = join(SHARED_BENCH, "kernel_bench.c");
const BASELINE_TSV = join(SHARED_BENCH, "results", "kernel_maps.tsv");

const KINDS = [
  { name: "hash", type: MapType.Hash, max: MAP_N, deletable: true },
  { name: "array", type: MapType.Array, max: MAP_N, deletable: false },
  { name: "percpu_array", type: MapType.PercpuArray, max: MAP_N, deletable: false },
  { name: "lru_hash", type: MapType.LruHash, max: 4 * MAP_N, deletable: true },
];
const OPS_NAMES = ["lookup", "lookup_miss", "update", "insert", "delete", "get_next_key", "lookup_batch"];

function possibleCpus() {
  try {
    return readFileSync("/sys/devices/system/cpu/possible", "utf8").trim().split(",").reduce((n, r) => {
      const [a, b] = r.split("-").map(Number);
      return n + (b === undefined ? 1 : b - a + 1);
    }, 0);
  } catch {
    return availableParallelism();
  }
}
const NCPUS = possibleCpus();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const now = () => Number(process.hrtime.bigint());
/** This process's CPU time in ns: on a loaded shared host it excludes time spent waiting for a core. */
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const keyBufs = Array.from({ length: 2 * MAP_N }, (_, i) => new Uint8Array(new Uint32Array([i]).buffer));

/** ns/op of one operation on one map, or a reason it does not apply. */
function measure(p, fd, kind, op, vsize) {
  const v = new Uint8Array(vsize);
  const fill = () => { for (let k = 0; k < MAP_N; k++) p.mapUpdate(fd, keyBufs[k], v, BPF_ANY); };
  const runs = [];
  const cpuRuns = [];
  for (let r = 0; r < REPS; r++) {
    let t0, t, n = OPS;
    const c0 = cpuNow();
    switch (op) {
      case "lookup":
        t0 = now();
        for (let i = 0; i < OPS; i++) p.mapLookup(fd, keyBufs[i & (MAP_N - 1)], 0, v);
        t = now() - t0;
        break;
      case "lookup_miss":
        t0 = now();
        for (let i = 0; i < OPS; i++) if (p.mapLookup(fd, keyBufs[MAP_N + (i & (MAP_N - 1))], 0, v)) throw new Error("lookup_miss found a key");
        t = now() - t0;
        break;
      case "update": {
        const dv = new DataView(v.buffer);
        t0 = now();
        for (let i = 0; i < OPS; i++) {
          dv.setUint32(0, i, true);
          p.mapUpdate(fd, keyBufs[i & (MAP_N - 1)], v, BPF_ANY);
        }
        t = now() - t0;
        break;
      }
      case "insert":
      case "delete": {
        if (!kind.deletable) return { value: null, note: "not supported by this map type (EINVAL)" };
        let tdel = 0, tins = 0, done = 0;
        while (done < OPS) {
          const a = now();
          for (let k = 0; k < MAP_N; k++) p.mapDelete(fd, keyBufs[k]);
          const b = now();
          for (let k = 0; k < MAP_N; k++) p.mapUpdate(fd, keyBufs[k], v, BPF_NOEXIST);
          const c = now();
          tdel += b - a;
          tins += c - b;
          done += MAP_N;
        }
        t = op === "insert" ? tins : tdel;
        n = done;
        break;
      }
      case "get_next_key": {
        const next = new Uint8Array(4);
        let have = false;
        t0 = now();
        for (let i = 0; i < OPS; i++) {
          if (p.mapGetNextKey(fd, have ? next : null, next) === undefined) have = false;
          else have = true;
        }
        t = now() - t0;
        break;
      }
      case "lookup_batch": {
        if (!mapOpsFor(kind.type)?.batchOps?.lookup) return { value: null, note: "BPF_MAP_LOOKUP_BATCH not implemented for this type yet" };
        let elems = 0;
        t0 = now();
        while (elems < OPS) {
          const res = p.mapLookupBatch(fd, MAP_N, null);
          if (res.count === 0) throw new Error("lookup_batch returned 0 elements");
          elems += res.count;
        }
        t = now() - t0;
        n = elems;
        break;
      }
    }
    const tc = cpuNow() - c0;
    runs.push(t / n);
    // CPU time covers the whole repetition; scale by the timed share for delete/insert.
    cpuRuns.push(op === "insert" || op === "delete" ? NaN : tc / n);
    fill();
  }
  const cpu = cpuRuns.some(Number.isNaN) ? null : median(cpuRuns);
  return { value: median(runs), cpu };
}

function linuxFigures() {
  const fig = new Map();
  let source = null;
  const dir = mkdtempSync(join(tmpdir(), "bpfsim-kbench-"));
  const bin = join(dir, "kernel_bench");
  if (existsSync(KERNEL_BENCH)) {
    const cc = spawnSync("gcc", ["-O2", "-o", bin, KERNEL_BENCH, "-lbpf", "-lelf", "-lz"], { encoding: "utf8" });
    if (cc.status === 0) {
      const run = spawnSync(bin, ["-r", String(Math.max(3, REPS)), "-n", String(OPS), "maps"], { encoding: "utf8", timeout: 300_000 });
      if (run.status === 0 && run.stdout.includes("\tlookup\t")) {
        source = "measured now with kernel_bench.c";
        parse(run.stdout);
      }
    }
  }
  if (!source && existsSync(BASELINE_TSV)) {
    source = "bpf() not available to this run: recorded baseline kernel_maps.tsv";
    parse(readFileSync(BASELINE_TSV, "utf8"));
  }
  function parse(tsv) {
    for (const line of tsv.split("\n")) {
      const f = line.split("\t");
      if (f[0] === "map" && f[6] !== "NA" && f[6] !== undefined) fig.set(`${f[1]}/${f[2]}`, Number(f[6]));
    }
  }
  return { fig, source: source ?? "no Linux figures available", live: source === "measured now with kernel_bench.c" };
}

const workerSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.coreUrl).then(({ Kernel, BPF_ANY }) => {
  const k = Kernel.attach(workerData.memory);
  const p = k.createProcess({ comm: "bench" });
  const fd = p.mapGetFdById(workerData.mapId);
  const keys = Array.from({ length: 1024 }, (_, i) => new Uint8Array(new Uint32Array([i]).buffer));
  const v = new Uint8Array(8);
  const flag = new Int32Array(workerData.flag);
  // Warm up (JIT) before the common start, so every thread is timed compiled.
  for (let n = 0; n < 50000; n++) p.mapLookup(fd, keys[(n * 7) & 1023], 0, v);
  Atomics.add(flag, 1, 1);
  Atomics.wait(flag, 0, 0);
  const end = performance.now() + workerData.ms;
  // Each thread walks the keys from its own starting point, so threads do not
  // move through the same buckets in lock step.
  let n = workerData.index * 331;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++, n++) {
      if (workerData.update) p.mapUpdate(fd, keys[(n * 7) & 1023], v, BPF_ANY);
      else p.mapLookup(fd, keys[(n * 7) & 1023], 0, v);
    }
  }
  p.exit();
  k.detach();
  parentPort.postMessage(n - workerData.index * 331);
});
`;

async function threads(k, mapId, n, update) {
  const flag = new SharedArrayBuffer(8);
  const f = new Int32Array(flag);
  const ws = Array.from({ length: n }, (_, index) => new Worker(workerSrc, { eval: true, workerData: { coreUrl, memory: k.memory, mapId, flag, ms: THREAD_MS, update, index } }));
  const done = ws.map((w) => new Promise((res, rej) => { w.once("message", res); w.once("error", rej); }));
  while (Atomics.load(f, 1) < n) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(f, 0, 1);
  Atomics.notify(f, 0);
  const counts = await Promise.all(done);
  await Promise.all(ws.map((w) => w.terminate()));
  return counts.reduce((a, b) => a + b, 0) / (THREAD_MS / 1000);
}

export default async function main(args) {
  const json = args.includes("--json");
  const out = [];
  const emit = (rec) => {
    out.push(rec);
    if (json) console.log(JSON.stringify(rec));
  };
  const k = Kernel.create({ ncpus: NCPUS, size: 64 * 1024 * 1024 });
  const p = k.createProcess({ comm: "bench", memlockLimit: Infinity });
  const linux = linuxFigures();
  if (!json) {
    console.log(`maps: ${OPS} ops x ${REPS} reps (median), ncpus ${NCPUS}; Linux: ${linux.source}`);
    console.log("bpfsim = wall-clock ns/op, cpu = this process's CPU ns/op (differs from wall when the host is loaded)");
  }
  for (const kind of KINDS) {
    const registered = mapOpsFor(kind.type) !== undefined;
    let fd = -1, vsize = 8;
    if (registered) {
      fd = p.mapCreate({ mapType: kind.type, keySize: 4, valueSize: 8, maxEntries: kind.max });
      vsize = p.mapValueSize(fd);
      const v = new Uint8Array(vsize);
      for (let i = 0; i < MAP_N; i++) p.mapUpdate(fd, keyBufs[i], v, BPF_ANY);
    }
    for (const op of OPS_NAMES) {
      const r = registered ? measure(p, fd, kind, op, vsize) : { value: null, note: `map type ${kind.name} not registered yet` };
      const rec = { suite: "maps", case: `${kind.name}/${op}`, metric: "ns_per_op", value: r.value === null ? null : Math.round(r.value * 10) / 10, unit: "ns", linux: linux.fig.get(`${kind.name}/${op}`) ?? null };
      if (r.cpu != null) rec.cpu_ns = Math.round(r.cpu * 10) / 10;
      if (rec.linux !== null && !linux.live) rec.linux_note = linux.source;
      if (r.note) rec.note = r.note;
      emit(rec);
    }
    if (registered) p.close(fd);
  }
  const hashOk = mapOpsFor(MapType.Hash) !== undefined;
  if (hashOk) {
    const fd = p.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: MAP_N });
    for (let i = 0; i < MAP_N; i++) p.mapUpdate(fd, keyBufs[i], new Uint8Array(8), BPF_ANY);
    const id = p.mapInfo(fd).id;
    for (const update of [false, true]) {
      for (const n of [1, 2, 4]) {
        const ops = await threads(k, id, n, update);
        emit({ suite: "maps", case: `hash/${update ? "update" : "lookup"}_threads_${n}`, metric: "ops_per_sec", value: Math.round(ops), unit: "ops/s", linux: null, note: `${n} worker thread(s), ${availableParallelism()} host CPUs` });
      }
    }
  } else {
    for (const n of [1, 2, 4]) emit({ suite: "maps", case: `hash/lookup_threads_${n}`, metric: "ops_per_sec", value: null, unit: "ops/s", linux: null, note: "hash map not registered yet" });
  }
  if (!json) {
    console.log("case".padEnd(30) + "bpfsim".padStart(14) + "cpu".padStart(10) + "linux".padStart(12));
    for (const r of out) {
      const v = r.value === null ? "-" : r.metric === "ops_per_sec" ? `${(r.value / 1e6).toFixed(2)} Mops/s` : `${r.value} ns`;
      const l = r.linux === null ? "-" : `${r.linux} ns`;
      const c = r.cpu_ns === undefined ? "" : `${r.cpu_ns} ns`;
      console.log(r.case.padEnd(30) + v.padStart(14) + c.padStart(10) + l.padStart(12) + (r.note ? `  (${r.note})` : ""));
    }
    const t1 = out.find((r) => r.case === "hash/lookup_threads_1")?.value;
    const t4 = out.find((r) => r.case === "hash/lookup_threads_4")?.value;
    if (t1 && t4) console.log(`hash lookup scaling 4 threads / 1 thread: ${(t4 / t1).toFixed(2)}x (target >= 1.5x; host has ${availableParallelism()} CPUs)`);
  }
}
