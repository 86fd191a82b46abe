/**
 * Hash maps under real programs on the simulated machine: an XDP program on
 * every CPU counts each packet into a shared HASH key (inserting it with
 * BPF_NOEXIST when missing, so CPUs race to create it, then an atomic add),
 * into its own PERCPU_HASH slot (a plain increment, no lock), and writes a
 * random key into a small LRU_HASH, counting any failed update. Afterwards:
 * the shared count equals the packets sent, each CPU's slot equals what it
 * was sent, no LRU update failed and the LRU never holds more than its
 * max_entries. Stepped runs take the seed as input (replayable); one run uses
 * real threads.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventKind, MapType, type Process } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";
import {
  arrayU64, asmLookup, asmUpdate, FRAME64, loadXdp, percpuU64, skipNote, threadsUnavailable, withMachine,
} from "../machine/helpers.js";

const LRU_MAX = 16;

function prog(hashFd: number, pcFd: number, lruFd: number, errFd: number): Uint8Array {
  return assemble(`
stw [%r10-4], 0
${asmLookup(hashFd, -4)}
jne %r0, 0, add
stdw [%r10-16], 1
${asmUpdate(hashFd, -4, -16, 1)}
jeq %r0, 0, percpu
${asmLookup(hashFd, -4)}
jeq %r0, 0, fail
add:
mov %r1, 1
lock add [%r0+0], %r1
percpu:
${asmLookup(pcFd, -4)}
jeq %r0, 0, fail
ldxdw %r1, [%r0+0]
add %r1, 1
stxdw [%r0+0], %r1
call 7
and %r0, 63
stxw [%r10-8], %r0
stdw [%r10-24], 7
${asmUpdate(lruFd, -8, -24, 0)}
jeq %r0, 0, out
fail:
${asmLookup(errFd, -4)}
jeq %r0, 0, out
mov %r1, 1
lock add [%r0+0], %r1
out:
mov %r0, 2
exit
`);
}

function keysOf(p: Process, fd: number): number {
  let n = 0;
  for (let k = p.mapGetNextKey(fd, null); k; k = p.mapGetNextKey(fd, k)) n++;
  return n;
}

async function run(mode: "threads" | "stepped", cpus: number, seed: number, plan: { cpu: number; repeat: number }[]) {
  await withMachine({ cpus, mode, seed }, async (m) => {
    const p = m.proc;
    const hashFd = p.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 });
    const pcFd = p.mapCreate({ mapType: MapType.PercpuHash, keySize: 4, valueSize: 8, maxEntries: 4 });
    const lruFd = p.mapCreate({ mapType: MapType.LruHash, keySize: 4, valueSize: 8, maxEntries: LRU_MAX });
    const errFd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
    p.mapUpdate(pcFd, new Uint8Array(4), new Uint8Array(8 * cpus));
    m.attach(loadXdp(m, prog(hashFd, pcFd, lruFd, errFd)), { type: "xdp", ifindex: 2 });
    const hookId = m.hookId({ type: "xdp", ifindex: 2 });
    const sent = new Array<number>(cpus).fill(0);
    for (const e of plan) {
      const cpu = e.cpu % cpus;
      sent[cpu]! += e.repeat;
      await m.send(cpu, [{ hookId, kind: EventKind.Packet, repeat: e.repeat, data: FRAME64 }]);
    }
    await m.drain();
    const total = sent.reduce((a, b) => a + b, 0);
    expect(arrayU64(p, errFd)).toBe(0n);
    expect(total === 0 ? undefined : arrayU64(p, hashFd)).toBe(total === 0 ? undefined : BigInt(total));
    expect(percpuU64(p, pcFd, cpus)).toEqual(sent.map(BigInt));
    expect(keysOf(p, lruFd)).toBeLessThanOrEqual(LRU_MAX);
    expect(keysOf(p, hashFd)).toBe(total === 0 ? 0 : 1);
  });
}

const plan = fc.array(fc.record({ cpu: fc.nat(7), repeat: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 40 });

describe("hash maps under programs on several CPUs", () => {
  it("count every packet, stepped (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.nat(), plan, (cpus, seed, p) => run("stepped", cpus, seed, p)),
      { numRuns: 15 },
    );
  });

  it.skipIf(skipNote(threadsUnavailable(), "threads-mode hash counters"))("count every packet, 4 threads", async () => {
    await run("threads", 4, 1, Array.from({ length: 64 }, (_, i) => ({ cpu: i % 4, repeat: 50 })));
  });
});
