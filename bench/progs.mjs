// `pnpm bench progs [--json] [--reps N] [--case PROG] [--linux-live]`: the shared bench
// programs (../shared/bench/progs) loaded from their objects with
// loadCollection, prefilled as the kernel driver does (the harness's
// prefillBenchMaps, shared with the tests), and run with
// BPF_PROG_TEST_RUN on the driver's 64-byte packet, on every registered
// engine. Figures: ns per run from test_run's own duration (repeat N),
// beside Linux's jit_kern_ns median from the recorded baseline
// (../shared/bench/results/kernel_progs.tsv), or measured now with the
// shared kernel_bench.c with --linux-live. Event programs get a reader
// (RingBuffer / PerfBuffer, wakeup every record as libbpf's default) that
// drains between batches, like the driver, and every run must produce its
// record.
//
// Reads the built packages (packages/*/dist); `pnpm bench` builds first.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));
const sharedBench = resolve(repoRoot, "../shared/bench");
const progsDir = join(sharedBench, "progs");

const CASES = [
  { obj: "empty", prog: "empty", want: 2 },
  { obj: "hash_lookup", prog: "hash_lookup", want: 64 },
  { obj: "percpu_counter", prog: "percpu_counter", want: 2 },
  { obj: "xdp_parse", prog: "xdp_parse", want: 2 },
  { obj: "lpm_route", prog: "lpm_route", want: 2 },
  { obj: "ringbuf_output", prog: "ringbuf_output", want: 2, ring: true },
  { obj: "ringbuf_output", prog: "ringbuf_reserve", want: 2, ring: true },
  { obj: "perf_output", prog: "perf_output", want: 2, perf: true },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Linux's jit_kern_ns medians by program, from the recorded baseline. */
function linuxFigures() {
  const f = join(sharedBench, "results/kernel_progs.tsv");
  const out = {};
  if (!existsSync(f)) return out;
  for (const line of readFileSync(f, "utf8").split("\n")) {
    const c = line.split("\t");
    if (c[0] === "prog" && c[2] === "jit_kern_ns") out[c[1]] = Number(c[6]);
  }
  return out;
}

/** Linux's figures measured now with the shared kernel_bench.c (needs gcc, libbpf and root), or null with the reason. */
function linuxLive() {
  const src = join(sharedBench, "kernel_bench.c");
  if (!existsSync(src)) return { figures: null, why: "kernel_bench.c not found" };
  const dir = mkdtempSync(join(tmpdir(), "bpfsim-kbench-"));
  try {
    const exe = join(dir, "kernel_bench");
    const cc = spawnSync("gcc", ["-O2", "-o", exe, src, "-lbpf"], { encoding: "utf8" });
    if (cc.status !== 0) return { figures: null, why: `gcc failed: ${(cc.stderr || cc.error?.message || "").trim().split("\n")[0]}` };
    const run = spawnSync(exe, ["-r", "5", "-t", "100", "-c", "0", "-d", progsDir, "progs"], { encoding: "utf8", timeout: 600_000 });
    const figures = {};
    for (const line of (run.stdout || "").split("\n")) {
      const c = line.split("\t");
      if (c[0] === "prog" && c[2] === "jit_kern_ns" && Number(c[6]) > 0) figures[c[1]] = Number(c[6]);
    }
    if (Object.keys(figures).length === 0) return { figures: null, why: (run.stderr || run.error?.message || "no figures").trim().split("\n").slice(-1)[0] };
    return { figures, why: "" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runCase(core, loader, harness, c, engine, reps) {
  const k = core.Kernel.create({ ncpus: 2, size: 256 << 20 });
  core.setProgEngine(k, engine);
  const p = k.createProcess({ comm: "bench" });
  k.arena.setMemlockLimit(p.uid, Infinity);
  const path = join(progsDir, `${c.obj}.bpf.o`);
  const spec = loader.copyCollectionSpec(loader.openObject(new Uint8Array(readFileSync(path)), { name: loader.objectNameFromPath(path) }));
  for (const n of Object.keys(spec.programs)) if (n !== c.prog) delete spec.programs[n];
  for (const m of Object.values(spec.maps)) if (m.type === core.MapType.Ringbuf) m.maxEntries = 64 << 20;
  const col = loader.loadCollection(p, spec);
  harness.prefillBenchMaps(p, col);
  let consumed = 0;
  let reader;
  if (c.ring) reader = new core.RingBuffer(p, col.maps.rb.fd, () => void consumed++);
  if (c.perf) reader = new harness.PerfBuffer(p, col.maps.events.fd, { pageCnt: 4096, onSample: () => void consumed++ });
  const drain = () => reader?.consume();
  const run = (repeat) => {
    const a = { progFd: col.programs[c.prog].fd, dataIn: harness.benchPacket(), repeat };
    const r = p.bpf(core.BpfCmd.ProgTestRun, a);
    if (r !== 0) throw new Error(`${c.prog}: BPF_PROG_TEST_RUN errno ${-r}`);
    drain();
    return a;
  };
  const first = run(1);
  if (first.retval !== c.want) throw new Error(`${c.prog} on ${engine}: retval ${first.retval}, Linux gives ${c.want}`);
  // Calibrate a batch to ~100 ms of runs, then `reps` batches.
  let repeat = 64;
  for (;;) {
    const t0 = performance.now();
    run(repeat);
    const ms = performance.now() - t0;
    if (ms > 50 || repeat >= 1 << 22) {
      repeat = Math.max(1, Math.round((repeat * 100) / Math.max(ms, 1)));
      break;
    }
    repeat *= 4;
  }
  if (c.ring || c.perf) repeat = Math.min(repeat, 100_000);
  const dur = [];
  const wall = [];
  consumed = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const a = run(repeat);
    wall.push(Number(process.hrtime.bigint() - t0) / repeat);
    dur.push(a.duration);
  }
  const lost = c.ring || c.perf ? repeat * reps - consumed : 0;
  reader?.free?.();
  col.close();
  p.exit();
  return { repeat, ns: median(dur), wallNs: median(wall), lost };
}

export default async function progsBench(args) {
  const json = args.includes("--json");
  const repsArg = args.indexOf("--reps");
  const reps = repsArg >= 0 ? Number(args[repsArg + 1]) : 7;
  const caseArg = args.indexOf("--case");
  const only = caseArg >= 0 ? args[caseArg + 1] : undefined;
  if (!existsSync(join(progsDir, "empty.bpf.o"))) {
    console.error(`bench progs: ${progsDir} not found`);
    process.exitCode = 1;
    return;
  }
  const core = await import(new URL("../packages/core/dist/index.js", import.meta.url).href);
  const loader = await import(new URL("../packages/loader/dist/index.js", import.meta.url).href);
  const harness = await import(new URL("../packages/harness/dist/index.js", import.meta.url).href);
  let linux = linuxFigures();
  let linuxSource = "baseline";
  if (args.includes("--linux-live")) {
    const live = linuxLive();
    if (live.figures) [linux, linuxSource] = [live.figures, "live"];
    else if (!json) console.log(`Linux measured live failed (${live.why}); using the recorded baseline`);
  }
  if (!json) console.log(`bench programs, BPF_PROG_TEST_RUN on the 64-byte packet; ns/run = test_run duration, median of ${reps} batches; Linux: ${linuxSource}`);
  for (const c of CASES) {
    if (only && c.prog !== only) continue;
    for (const engine of ["interpreter", "jit"]) {
      if (!core.getEngine(engine)) continue;
      const lx = linux[c.prog];
      let r;
      try {
        r = runCase(core, loader, harness, c, engine, reps);
      } catch (e) {
        const why = String(e?.message ?? e).split("\n")[0];
        if (json) console.log(JSON.stringify({ suite: "progs", case: c.prog, engine, metric: "ns_per_run", value: null, note: why, linux: lx ?? null }));
        else console.log(`  ${c.prog.padEnd(16)} ${engine.padEnd(11)}       n/a  (${why})`);
        continue;
      }
      const ratio = lx ? ` (${(r.ns / lx).toFixed(1)}x)` : "";
      if (json) {
        console.log(JSON.stringify({ suite: "progs", case: c.prog, engine, metric: "ns_per_run", value: Math.round(r.ns), unit: "ns", wall_ns: Math.round(r.wallNs), repeat: r.repeat, lost: r.lost, linux: lx ?? null, linux_source: linuxSource }));
      } else {
        console.log(`  ${c.prog.padEnd(16)} ${engine.padEnd(11)} ${r.ns.toFixed(0).padStart(9)} ns/run  wall ${r.wallNs.toFixed(0).padStart(7)} ns  Linux JIT ${String(lx ?? "?").padStart(5)} ns${ratio}  repeat ${r.repeat}${r.lost ? `  LOST ${r.lost}` : ""}`);
      }
    }
  }
}
