/**
 * Benchmark helper: perf records end to end. An XDP program emits one 64-byte
 * record per packet with bpf_perf_event_output; a PerfBuffer on this thread
 * consumes them while the CPUs run. Reports records received per second and
 * records lost (full rings), which must add up to the records produced.
 */
import { assemble } from "@bpfsim/loader";
import { EventKind, MapType, ProgType } from "@bpfsim/core";
import { createMachine } from "../machine/machine.js";
import { PerfBuffer } from "../perf/perf-buffer.js";
import { processPerfHost } from "../perf/process-perf-host.js";

export interface PerfE2eResult {
  cpus: number;
  recordsPerSec: number;
  received: number;
  lost: number;
}

export async function perfEndToEnd(o: { seconds: number; cpus?: number; pageCnt?: number; wakeupEvents?: number }): Promise<PerfE2eResult> {
  const cpus = o.cpus ?? 2;
  const m = await createMachine({ cpus, mode: "threads", arenaSize: 64 << 20, ringSlots: 256, slotBytes: 128 });
  try {
    const events = m.proc.mapCreate({ mapType: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: cpus });
    const insns = assemble(`
mov %r6, %r1
stdw [%r10-64], 1
stdw [%r10-56], 2
stdw [%r10-48], 3
stdw [%r10-40], 4
stdw [%r10-32], 5
stdw [%r10-24], 6
stdw [%r10-16], 7
stdw [%r10-8], 8
mov %r1, %r6
lddw %r2, map_fd ${events}
lddw %r3, 0xffffffff
mov %r4, %r10
add %r4, -64
mov %r5, 64
call 25
mov %r0, 2
exit
`);
    m.attach(m.loadProgram({ progType: ProgType.Xdp, insns, name: "perf_out" }), { type: "xdp", ifindex: 2 });
    const hookId = m.hookId({ type: "xdp", ifindex: 2 });
    let received = 0;
    let lost = 0;
    const pb = new PerfBuffer(processPerfHost(m.proc), events, {
      pageCnt: o.pageCnt ?? 256,
      wakeupEvents: o.wakeupEvents ?? 64,
      onSample: () => received++,
      onLost: (_c, n) => (lost += Number(n)),
    });
    const frame = new Uint8Array(64);
    const batch = Array.from({ length: 64 }, () => ({ hookId, kind: EventKind.Packet, repeat: 16, data: frame }));
    let stop = false;
    const producer = (async () => {
      while (!stop) {
        for (let c = 0; c < cpus; c++) m.trySend(c, batch);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const warm = performance.now() + 300;
    while (performance.now() < warm) await pb.poll(10);
    const r0 = received;
    const t0 = performance.now();
    const end = t0 + o.seconds * 1000;
    while (performance.now() < end) await pb.poll(10);
    const t1 = performance.now();
    const got = received - r0;
    stop = true;
    await producer;
    await m.drain();
    while ((await pb.poll(0)) > 0);
    pb.close();
    return { cpus, recordsPerSec: got / ((t1 - t0) / 1000), received, lost };
  } finally {
    await m.shutdown();
  }
}
