/**
 * N CPUs x random events, a program that bumps a per-CPU counter and an
 * atomic shared counter: after the rings drain, every CPU's counter equals
 * the events it was sent and the shared counter equals their sum. Property
 * runs use the stepped machine (the seed is part of the input, so a failure
 * replays); one run uses real threads.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventKind } from "@bpfsim/core";
import { createMachine } from "@bpfsim/harness";
import { arrayU64, counterMaps, counterProg, FRAME64, loadXdp, percpuU64, skipNote, threadsUnavailable } from "./helpers.js";

async function runCounters(mode: "threads" | "stepped", cpus: number, seed: number, plan: { cpu: number; repeat: number }[]) {
  const m = await createMachine({ cpus, mode, seed, arenaSize: 16 << 20, ringSlots: 64, slotBytes: 128 });
  try {
    const { pcFd, shFd } = counterMaps(m.proc);
    m.attach(loadXdp(m, counterProg(pcFd, shFd)), { type: "xdp", ifindex: 2 });
    const hookId = m.hookId({ type: "xdp", ifindex: 2 });
    const sent = new Array<number>(cpus).fill(0);
    for (const e of plan) {
      const cpu = e.cpu % cpus;
      sent[cpu]! += e.repeat;
      await m.send(cpu, [{ hookId, kind: EventKind.Packet, repeat: e.repeat, data: FRAME64 }]);
    }
    await m.drain();
    const per = percpuU64(m.proc, pcFd, cpus);
    expect(per).toEqual(sent.map(BigInt));
    expect(arrayU64(m.proc, shFd)).toBe(BigInt(sent.reduce((a, b) => a + b, 0)));
    const c = m.counters(hookId);
    expect(c.events).toBe(BigInt(sent.reduce((a, b) => a + b, 0)));
    expect(c.actions[2]).toBe(c.events); // every run returned XDP_PASS
    expect(m.cpuFigures().map((f) => f.deliveries)).toEqual(sent.map(BigInt));
  } finally {
    await m.shutdown();
  }
}

const plan = fc.array(fc.record({ cpu: fc.nat(7), repeat: fc.integer({ min: 1, max: 40 }) }), { maxLength: 60 });

describe("per-CPU and shared counters", () => {
  it("sum to the events sent, stepped (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.nat(), plan, (cpus, seed, p) => runCounters("stepped", cpus, seed, p)),
      { numRuns: 25 },
    );
  });

  it.skipIf(skipNote(threadsUnavailable(), "threads-mode counters"))("sum to the events sent, threads", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 4 }), plan, (cpus, p) => runCounters("threads", cpus, 1, p)),
      { numRuns: 3 },
    );
  });
});
