/**
 * `pnpm start`: the default scenario on a simulated 4-CPU machine, with a
 * progress line per second and a report at the end.
 *
 *   node packages/harness/dist/main.js [--cpus N] [--seconds S] [--seed N]
 *                                      [--mode threads|stepped] [--engine jit|interpreter]
 */
import { BpfError } from "@bpfsim/core";
import { runDefaultScenario, type RunOptions } from "./scenario/run-default.js";
import { formatReport } from "./scenario/report.js";

function parse(argv: string[]): RunOptions {
  const o: RunOptions = { cpus: 4, seconds: 5, seed: 1, mode: "threads", engine: "jit", flows: 256, burst: 8, log: (l) => console.log(l) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === "--cpus") o.cpus = Number(v);
    else if (a === "--seconds") o.seconds = Number(v);
    else if (a === "--seed") o.seed = Number(v);
    else if (a === "--flows") o.flows = Number(v);
    else if (a === "--burst") o.burst = Number(v);
    else if (a === "--mode" && (v === "threads" || v === "stepped")) o.mode = v;
    else if (a === "--engine" && (v === "jit" || v === "interpreter")) o.engine = v;
    else {
      console.error(`unknown option ${a}\nusage: main.js [--cpus N] [--seconds S] [--seed N] [--flows N] [--burst N] [--mode threads|stepped] [--engine jit|interpreter]`);
      process.exit(2);
    }
    i++;
  }
  return o;
}

try {
  const o = parse(process.argv.slice(2));
  console.log(`bpfsim: default scenario — XDP per-flow counters with sampled headers to a perf buffer, ${o.seconds} s`);
  const figures = await runDefaultScenario(o);
  console.log(formatReport(figures));
  const sent = figures.sentPerCpu.reduce((a, b) => a + b, 0);
  const consistent =
    figures.mapPacketsPerCpu.reduce((a, b) => a + b, 0n) === BigInt(sent) &&
    BigInt(figures.perf.received) + figures.perf.lostCounted === figures.perf.produced &&
    figures.cpuErrors.length === 0;
  process.exitCode = consistent ? 0 : 1;
} catch (e) {
  console.error(e instanceof BpfError ? `error: ${e.message}` : e);
  process.exitCode = 1;
}
