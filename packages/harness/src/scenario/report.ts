/**
 * The main job's report: plain text, one section per question a reader has
 * (how fast, did every packet count, did every record arrive, which flows).
 */
import type { RunFigures } from "./run-default.js";

const n = (x: number | bigint) => Number(x).toLocaleString("en-US");
const XDP = ["ABORTED", "DROP", "PASS", "TX", "REDIRECT"];

/** "a.b.c.d:port" or "[v6]:port" (RFC 5952: longest run of zero groups as "::"). */
function endpoint(b: Uint8Array, v6: boolean, port: number): string {
  if (!v6) return `${Array.from(b).join(".")}:${port}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  const s = best < 0 ? hex.join(":") : `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
  return `[${s}]:${port}`;
}

export function formatReport(f: RunFigures): string {
  const L: string[] = [];
  const ok = (b: boolean) => (b ? "ok" : "MISMATCH");
  const sent = f.sentPerCpu.reduce((a, b) => a + b, 0);
  const mapSum = f.mapPacketsPerCpu.reduce((a, b) => a + b, 0n);
  L.push("", "== report ==", `duration ${f.seconds.toFixed(2)} s, ${f.opts.cpus} CPUs, ${n(sent)} packets sent on eth0`);
  L.push("", "per CPU        sent       run by CPU   counted in map   events/s");
  for (let c = 0; c < f.opts.cpus; c++) {
    L.push(`  cpu${c}  ${n(f.sentPerCpu[c]!).padStart(12)} ${n(f.deliveredPerCpu[c]!).padStart(14)} ${n(f.mapPacketsPerCpu[c]!).padStart(16)} ${(Number(f.deliveredPerCpu[c]!) / f.seconds / 1e6).toFixed(2).padStart(8)} M`);
  }
  L.push(`  sum   ${n(sent).padStart(12)} ${n(f.deliveredPerCpu.reduce((a, b) => a + b, 0n)).padStart(14)} ${n(mapSum).padStart(16)} ${(sent / f.seconds / 1e6).toFixed(2).padStart(8)} M`);
  L.push(`  per-CPU map counts sum to packets sent: ${ok(mapSum === BigInt(sent))}`);
  L.push("", `XDP actions: ${f.actions.slice(0, 5).map((a, i) => `${XDP[i]} ${n(a)}`).join(", ")}; program faults ${n(f.faults)}`);
  const p = f.perf;
  L.push("", "perf buffer (sampled packet headers, 64 B records)");
  L.push(`  produced ${n(p.produced)}, received ${n(p.received)}, lost ${n(p.lostCounted)} (${n(p.lostReported)} reported by PERF_RECORD_LOST)`);
  L.push(`  received + lost = produced: ${ok(BigInt(p.received) + p.lostCounted === p.produced)}; samples from the wrong CPU's ring: ${p.badCpu}`);
  L.push("", "top flows (PERCPU_HASH `flows`, summed over CPUs)");
  L.push("   #  proto  source -> destination                                packets        bytes   CPUs");
  f.flows.slice(0, 10).forEach((x, i) => {
    const fl = x.flow;
    const what = fl
      ? `${fl.proto === 6 ? "tcp" : "udp"}${fl.v6 ? "6" : "4"}   ${endpoint(fl.src, fl.v6, fl.sport)} -> ${endpoint(fl.dst, fl.v6, fl.dport)}`
      : `?      key ${Buffer.from(x.key).toString("hex")}`;
    const cpus = x.perCpu.map((c, j) => (c > 0n ? j : -1)).filter((j) => j >= 0).join(",");
    L.push(`  ${String(i + 1).padStart(2)}  ${what.padEnd(60)} ${n(x.packets).padStart(9)} ${n(x.bytes).padStart(12)}   ${cpus}`);
  });
  L.push(`  ${f.flows.length} flows in the map; each flow stays on one CPU (RSS)`);
  if (f.load.length) {
    L.push("", "user-space threads (piscina)");
    for (const r of f.load) {
      const what = r.kind === "writer" ? `${n(r.ops)} updates of config[0] (sample mask)` : `${n(r.passes)} passes over flows, ${n(r.ops)} syscalls, last pass saw ${r.lastCount} flows`;
      L.push(`  ${r.kind.padEnd(6)} pid ${r.pid}: ${what}${r.error ? `  ERROR ${r.error.message}` : ""}`);
    }
  }
  if (f.cpuErrors.length) L.push("", "CPU errors:", ...f.cpuErrors.map((e) => `  ${e}`));
  return L.join("\n");
}
