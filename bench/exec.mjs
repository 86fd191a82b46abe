// `pnpm bench exec [--json] [--no-linux] [--reps N]`: alu_loop on every
// registered engine (the interpreter, and the JIT when it is registered),
// in ns per run and ns per executed eBPF instruction, beside uBPF's
// interpreter and Linux's JIT. Linux is measured live with the shared
// kernel_bench.c when gcc, libbpf and bpf() allow it; otherwise the
// figure comes from the baselines file, and the output says so.
//
// Reads the built packages (packages/*/dist); `pnpm bench` builds first.
import { readFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { jitCompileFigures } from "./_exec-jit.mjs";

const repoRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));
const sharedBench = resolve(repoRoot, "../shared/bench");
const progsDir = join(sharedBench, "progs");

// From the baselines file (same machine class): medians, ns per run.
const BASELINE = { linuxJit: 3240, ubpfInterp: 221697, ubpfJit: 3941 };
const ALU_LOOP_INSNS = 21011;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** ns per run of `fn`: `reps` batches of about `batchMs`, median of the batch means. */
function measure(fn, reps, batchMs) {
  const warmEnd = performance.now() + 300;
  let calib = 0;
  while (performance.now() < warmEnd) {
    fn();
    calib++;
  }
  const perBatch = Math.max(1, Math.round((calib / 300) * batchMs));
  const samples = [];
  // CPU time of this thread's process too: on a shared, oversubscribed machine
  // wall time includes time spent waiting for a core; CPU time mostly does not.
  const cpuSamples = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / perBatch);
    const c = process.cpuUsage(c0);
    cpuSamples.push(((c.user + c.system) * 1000) / perBatch);
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), cpu: median(cpuSamples), runs: perBatch * reps };
}

/** Linux's alu_loop jit_kern_ns, measured now; or the baseline with the reason. */
function linuxAluLoop() {
  const src = join(sharedBench, "kernel_bench.c");
  if (!existsSync(src)) return { value: BASELINE.linuxJit, source: "baseline", note: "kernel_bench.c not found" };
  const dir = mkdtempSync(join(tmpdir(), "bpfsim-kbench-"));
  try {
    const exe = join(dir, "kernel_bench");
    let cc = spawnSync("gcc", ["-O2", "-o", exe, src, "-lbpf"], { encoding: "utf8" });
    if (cc.status !== 0) cc = spawnSync("gcc", ["-O2", "-o", exe, src, "-lbpf", "-lelf", "-lz"], { encoding: "utf8" });
    if (cc.status !== 0) return { value: BASELINE.linuxJit, source: "baseline", note: `gcc failed: ${(cc.stderr || cc.error?.message || "").trim().split("\n")[0]}` };
    const run = spawnSync(exe, ["-r", "5", "-t", "200", "-c", "0", "-d", progsDir, "progs"], { encoding: "utf8", timeout: 180_000 });
    const line = (run.stdout || "").split("\n").find((l) => l.startsWith("prog\talu_loop\tjit_kern_ns\t"));
    const med = line ? Number(line.split("\t")[6]) : NaN;
    if (!Number.isFinite(med) || med <= 0) {
      const why = (run.stderr || run.error?.message || "no alu_loop line").trim().split("\n").slice(-1)[0];
      return { value: BASELINE.linuxJit, source: "baseline", note: `kernel_bench failed: ${why}` };
    }
    return { value: med, source: "live", note: "BPF_PROG_TEST_RUN, kernel's own duration" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function execBench(args) {
  const json = args.includes("--json");
  const noLinux = args.includes("--no-linux");
  const repsArg = args.indexOf("--reps");
  const reps = repsArg >= 0 ? Number(args[repsArg + 1]) : 11;
  const core = await import(new URL("../packages/core/dist/index.js", import.meta.url).href);
  const loader = await import(new URL("../packages/loader/dist/index.js", import.meta.url).href);

  const dataPath = join(progsDir, "alu_loop.data");
  if (!existsSync(dataPath)) {
    console.error(`bench exec: ${dataPath} not found`);
    process.exitCode = 1;
    return;
  }
  const file = loader.parseDataFile(readFileSync(dataPath, "utf8"));
  const insns = loader.dataFileProgram(file);
  const env = new loader.ConformanceEnv();
  const { r1 } = env.loadMem(file.mem);

  const results = [];
  for (const name of ["interpreter", "jit"]) {
    const engine = core.getEngine(name);
    if (!engine) {
      if (!json) console.log(`${name}: not registered, skipped`);
      continue;
    }
    const prog = engine.compile({ insns, progType: 6, name: "alu_loop" }, env.arena);
    const r0 = prog.run(r1, env.cpu);
    if (r0 !== file.result) throw new Error(`${name}: alu_loop returned 0x${r0.toString(16)}, expected 0x${file.result.toString(16)}`);
    const executed = typeof prog.lastInsnCount === "number" && prog.lastInsnCount > 0 ? prog.lastInsnCount : ALU_LOOP_INSNS;
    const m = measure(() => prog.run(r1, env.cpu), reps, 200);
    results.push({ engine: name, ...m, executed });
  }
  const linux = noLinux ? { value: BASELINE.linuxJit, source: "baseline", note: "--no-linux" } : linuxAluLoop();

  const jitCompile = core.getEngine("jit") ? jitCompileFigures(core, loader, insns, env.arena.size) : [];

  if (json) {
    for (const c of jitCompile) console.log(JSON.stringify({ suite: "exec", case: c.case, engine: "jit", ...c }));
    for (const r of results) {
      const base = { suite: "exec", case: "alu_loop", engine: r.engine };
      console.log(JSON.stringify({ ...base, metric: "ns_per_run", value: Math.round(r.median), unit: "ns", linux: linux.value, linux_source: linux.source, ubpf_interp: BASELINE.ubpfInterp }));
      console.log(JSON.stringify({ ...base, metric: "ns_per_insn", value: Number((r.median / r.executed).toFixed(3)), unit: "ns", linux: Number((linux.value / ALU_LOOP_INSNS).toFixed(3)), linux_source: linux.source, ubpf_interp: Number((BASELINE.ubpfInterp / ALU_LOOP_INSNS).toFixed(3)) }));
      console.log(JSON.stringify({ ...base, metric: "cpu_ns_per_run", value: Math.round(r.cpu), unit: "ns", linux: linux.value, linux_source: linux.source, ubpf_interp: BASELINE.ubpfInterp }));
    }
    return;
  }
  console.log(`alu_loop (${ALU_LOOP_INSNS} instructions executed per run), median of ${reps} batches`);
  const row = (who, ns, extra = "") =>
    console.log(`  ${who.padEnd(28)} ${ns.toFixed(0).padStart(9)} ns/run  ${(ns / ALU_LOOP_INSNS).toFixed(3).padStart(7)} ns/insn  ${extra}`);
  for (const r of results) {
    row(`bpfsim ${r.engine}`, r.median, `(min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)}; CPU time ${r.cpu.toFixed(0)} ns/run; ${r.executed} insns counted)`);
  }
  row("uBPF interpreter (baseline)", BASELINE.ubpfInterp);
  row("uBPF JIT (baseline)", BASELINE.ubpfJit);
  row(`Linux JIT (${linux.source})`, linux.value, linux.note);
  for (const c of jitCompile) console.log(`  jit ${c.case} (${c.insns} insns) ${c.metric}: ${c.value} ${c.unit}`);
}
