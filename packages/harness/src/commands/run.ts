/**
 * `bpfsim run`: the default scenario (the same as `pnpm start`) with options.
 */
import { parseArgs, UsageError, type Command } from "../cli.js";
import { runDefaultScenario } from "../scenario/run-default.js";
import { formatReport } from "../scenario/report.js";

function num(v: string | true | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n <= 0) throw new UsageError(`${name} needs a positive number`);
  return n;
}

export const runCommand: Command = {
  name: "run",
  summary: "run the default load scenario on a simulated machine and print a report",
  usage: "run [--cpus N] [--seconds S] [--seed N] [--flows N] [--burst N] [--mode threads|stepped] [--engine jit|interpreter]",
  help: "XDP per-flow counters (PERCPU_HASH) with sampled headers through a perf buffer, a reader and a writer thread.",
  async run(ctx) {
    const a = parseArgs(ctx.argv, ["--cpus", "--seconds", "--seed", "--flows", "--burst", "--mode", "--engine"]);
    const mode = a.options.get("--mode") ?? "threads";
    const engine = a.options.get("--engine") ?? "jit";
    if (mode !== "threads" && mode !== "stepped") throw new UsageError("--mode is threads or stepped");
    if (engine !== "jit" && engine !== "interpreter") throw new UsageError("--engine is jit or interpreter");
    const f = await runDefaultScenario({
      cpus: num(a.options.get("--cpus"), "--cpus", 4),
      seconds: num(a.options.get("--seconds"), "--seconds", 5),
      seed: num(a.options.get("--seed"), "--seed", 1),
      flows: num(a.options.get("--flows"), "--flows", 256),
      burst: num(a.options.get("--burst"), "--burst", 8),
      mode,
      engine,
      log: (l) => ctx.out(l),
    });
    for (const line of formatReport(f).split("\n")) ctx.out(line);
    const sent = f.sentPerCpu.reduce((x, y) => x + y, 0);
    const ok = f.mapPacketsPerCpu.reduce((x, y) => x + y, 0n) === BigInt(sent) && BigInt(f.perf.received) + f.perf.lostCounted === f.perf.produced;
    return ok && f.cpuErrors.length === 0 ? 0 : 1;
  },
};
