/**
 * The main job: the default scenario run end to end with progress output.
 *
 *   4 simulated CPUs (threads) <- RSS-spread packets on eth0
 *   XDP xdp_flows: per-flow counts in a PERCPU_HASH, sampled headers
 *     through bpf_perf_event_output
 *   user space: a PerfBuffer reader (this thread), a writer thread changing
 *     the sample mask, a reader thread walking the flows map (piscina)
 *
 * Returns the figures the report prints (report.ts).
 */
import { perfEventOfFd, perfEventStats } from "@bpfsim/core";
import { createMachine, type Machine } from "../machine/machine.js";
import { PacketGenerator, type Flow } from "../sources/packets.js";
import { PerfBuffer } from "../perf/perf-buffer.js";
import { LoadThreads } from "../load/load-pool.js";
import type { LoadResult } from "../load/load-task.js";
import { prepareScenario } from "./default-scenario.js";
import { FLOW_KEY_SIZE } from "./xdp-flows.js";

export interface RunOptions {
  cpus: number;
  seconds: number;
  seed: number;
  mode: "threads" | "stepped";
  engine: "jit" | "interpreter";
  flows: number;
  burst: number;
  log: (line: string) => void;
}

export interface FlowFigures {
  flow: Flow | undefined;
  key: Uint8Array;
  packets: bigint;
  bytes: bigint;
  perCpu: bigint[];
}

export interface RunFigures {
  opts: RunOptions;
  seconds: number;
  sentPerCpu: number[];
  deliveredPerCpu: bigint[];
  mapPacketsPerCpu: bigint[];
  actions: bigint[];
  faults: bigint;
  perf: { produced: bigint; received: number; lostReported: bigint; lostCounted: bigint; badCpu: number };
  flows: FlowFigures[];
  load: LoadResult[];
  cpuErrors: string[];
}

/** Key bytes the program builds for a flow (see xdp-flows.ts). */
export function flowKey(f: Flow): Uint8Array {
  const k = new Uint8Array(FLOW_KEY_SIZE);
  const n = f.src.length;
  k.set(f.src.subarray(n - 4), 0);
  k.set(f.dst.subarray(n - 4), 4);
  k.set([f.sport >> 8, f.sport & 0xff, f.dport >> 8, f.dport & 0xff, f.proto, f.v6 ? 1 : 0], 8);
  return k;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function readFlows(m: Machine, fd: number, gen: PacketGenerator): FlowFigures[] {
  const byKey = new Map(gen.flows.map((f) => [hex(flowKey(f)), f]));
  const out: FlowFigures[] = [];
  let key: Uint8Array | null = null;
  for (;;) {
    const next = m.proc.mapGetNextKey(fd, key);
    if (!next) break;
    const v = m.proc.mapLookup(fd, next);
    if (v) {
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
      const perCpu: bigint[] = [];
      let packets = 0n;
      let bytes = 0n;
      for (let c = 0; c < m.ncpus; c++) {
        const p = dv.getBigUint64(c * 16, true);
        perCpu.push(p);
        packets += p;
        bytes += dv.getBigUint64(c * 16 + 8, true);
      }
      out.push({ flow: byKey.get(hex(next)), key: next.slice(), packets, bytes, perCpu });
    }
    key = next;
  }
  return out.sort((a, b) => (b.packets > a.packets ? 1 : b.packets < a.packets ? -1 : 0));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDefaultScenario(o: RunOptions): Promise<RunFigures> {
  const tBoot = performance.now();
  const m = await createMachine({ cpus: o.cpus, mode: o.mode, seed: o.seed, engine: o.engine, arenaSize: 128 * 1024 * 1024 });
  const cpuErrors: string[] = [];
  m.onCpuDeath((cpu, e) => cpuErrors.push(`cpu ${cpu}: ${e.message}`));
  const load = o.mode === "threads" ? new LoadThreads(m, 2) : undefined;
  try {
    const s = prepareScenario(m);
    o.log(`machine: ${o.cpus} CPUs (${o.mode}, ${o.engine}), seed ${o.seed}, booted in ${Math.round(performance.now() - tBoot)} ms; xdp_flows attached to eth0 (ifindex 2)`);
    let received = 0;
    let lostReported = 0n;
    let badCpu = 0;
    const pb = new PerfBuffer(m.proc, s.eventsFd, {
      pageCnt: 16,
      onSample: (cpu, data) => {
        received++;
        // The program stamps its CPU; a sample must come out of that CPU's ring.
        if (data.length >= 8 && new DataView(data.buffer, data.byteOffset).getUint32(4, true) !== cpu) badCpu++;
      },
      onLost: (_cpu, n) => {
        lostReported += n;
      },
    });
    const flowsId = m.proc.mapInfo(s.flowsFd).id;
    const configId = m.proc.mapInfo(s.configFd).id;
    const ms = o.seconds * 1000;
    const tasks: Promise<LoadResult>[] = load
      ? [
          load.run({ kind: "writer", mapId: configId, values: [63, 31, 127], periodMs: 20, durationMs: ms + 60_000 }),
          load.run({ kind: "reader", mapId: flowsId, periodMs: 50, durationMs: ms + 60_000 }),
        ]
      : [];

    let stopReader = false;
    const reader = (async () => {
      while (!stopReader) await pb.poll(50);
    })();

    const gen = new PacketGenerator({ seed: o.seed, flows: o.flows });
    const sentPerCpu = new Array<number>(o.cpus).fill(0);
    const t0 = performance.now();
    let nextTick = t0 + 1000;
    let lastFig = m.cpuFigures();
    let lastT = t0;
    while (performance.now() - t0 < ms) {
      const per = gen.batch(s.hookId, 2048 * o.cpus, o.cpus, o.burst);
      for (let c = 0; c < o.cpus; c++) {
        if (m.cpuErrors.has(c)) continue;
        for (const e of per[c]!) sentPerCpu[c]! += e.repeat ?? 1;
        await m.send(c, per[c]!);
      }
      await new Promise((r) => setImmediate(r));
      const now = performance.now();
      if (now >= nextTick) {
        const fig = m.cpuFigures();
        const dt = (now - lastT) / 1000;
        const rates = fig.map((f, i) => Number(f.deliveries - lastFig[i]!.deliveries) / dt);
        const total = rates.reduce((a, b) => a + b, 0);
        o.log(`[${((now - t0) / 1000).toFixed(1)}s] ${(total / 1e6).toFixed(2)} M events/s (${rates.map((r) => (r / 1e6).toFixed(2)).join(" ")} per CPU)  perf: ${received} received, ${lostReported} lost`);
        lastFig = fig;
        lastT = now;
        nextTick = now + 1000;
      }
    }
    await m.drain();
    const seconds = (performance.now() - t0) / 1000;
    stopReader = true;
    await reader;
    while ((await pb.poll(0)) > 0);
    load?.stop();
    const loadResults = await Promise.all(tasks);

    let produced = 0n;
    let lostCounted = 0n;
    for (const fd of pb.fds()) {
      const st = perfEventStats(m.arena, perfEventOfFd(m.proc, fd));
      produced += st.samples + st.lost;
      lostCounted += st.lost;
    }
    const c = m.counters(s.hookId);
    const flows = readFlows(m, s.flowsFd, gen);
    const mapPacketsPerCpu = new Array<bigint>(o.cpus).fill(0n);
    for (const f of flows) f.perCpu.forEach((p, i) => (mapPacketsPerCpu[i]! += p));
    pb.close();
    return {
      opts: o,
      seconds,
      sentPerCpu,
      deliveredPerCpu: m.cpuFigures().map((f) => f.deliveries),
      mapPacketsPerCpu,
      actions: c.actions,
      faults: c.faults,
      perf: { produced, received, lostReported, lostCounted, badCpu },
      flows,
      load: loadResults,
      cpuErrors,
    };
  } finally {
    await load?.close();
    await m.shutdown();
  }
}
