/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY end to end: programs on several CPUs write
 * sequence-numbered records through bpf_perf_event_output into small rings
 * while a PerfBuffer consumes them; every record is received in order or
 * counted as lost (received + lost = produced, per CPU), and the program saw
 * -ENOSPC exactly for the lost ones. Plus the helper's errors, as in Linux.
 */
import { describe, expect, it } from "vitest";
import { assemble } from "@bpfsim/loader";
import { BpfCmd, Errno, EventKind, MapType, PERF_COUNT_SW_BPF_OUTPUT, PERF_SAMPLE_RAW, PERF_TYPE_SOFTWARE, perfEventOfFd, perfEventOpenFd, perfEventStats } from "@bpfsim/core";
import { PerfBuffer, type Machine } from "@bpfsim/harness";
import { arrayU64, asmLookup, asmUpdate, FRAME64, loadXdp, skipNote, threadsUnavailable, withMachine } from "./helpers.js";

function seqOutputProg(seqFd: number, evFd: number, failFd: number): Uint8Array {
  return assemble(`
mov %r6, %r1
stw [%r10-4], 0
${asmLookup(seqFd)}
jeq %r0, 0, out
ldxdw %r7, [%r0+0]
add %r7, 1
stxdw [%r0+0], %r7
stxdw [%r10-24], %r7
call 8
stxdw [%r10-16], %r0
mov %r1, %r6
lddw %r2, map_fd ${evFd}
lddw %r3, 0xffffffff
mov %r4, %r10
add %r4, -24
mov %r5, 16
call 25
jeq %r0, 0, out
${asmLookup(failFd)}
jeq %r0, 0, out
mov %r1, 1
lock add [%r0+0], %r1
out:
mov %r0, 2
exit
`);
}

async function perfRun(m: Machine, perCpu: number, burst: number) {
  const p = m.proc;
  const seqFd = p.mapCreate({ mapType: MapType.PercpuArray, keySize: 4, valueSize: 8, maxEntries: 1 });
  const failFd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
  const evFd = p.mapCreate({ mapType: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: m.ncpus });
  m.attach(loadXdp(m, seqOutputProg(seqFd, evFd, failFd)), { type: "xdp", ifindex: 2 });
  const hookId = m.hookId({ type: "xdp", ifindex: 2 });
  const got: bigint[][] = Array.from({ length: m.ncpus }, () => []);
  const lost = new Array<bigint>(m.ncpus).fill(0n);
  let wrongCpu = 0;
  const pb = new PerfBuffer(p, evFd, {
    pageCnt: 1,
    onSample: (cpu, d) => {
      const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
      if (dv.getBigUint64(8, true) !== BigInt(cpu)) wrongCpu++;
      got[cpu]!.push(dv.getBigUint64(0, true));
    },
    onLost: (cpu, n) => (lost[cpu]! += n),
  });
  let stop = false;
  const reader = (async () => {
    while (!stop) await pb.poll(5);
  })();
  for (let i = 0; i < perCpu; i += burst) {
    for (let c = 0; c < m.ncpus; c++) await m.send(c, [{ hookId, kind: EventKind.Packet, repeat: burst, data: FRAME64 }]);
    await new Promise((r) => setTimeout(r, 1));
  }
  await m.drain();
  stop = true;
  await reader;
  pb.consume();
  const fds = pb.fds();
  for (let c = 0; c < m.ncpus; c++) {
    const st = perfEventStats(m.arena, perfEventOfFd(p, fds[c]!));
    const pending = m.arena.i64[(perfEventOfFd(p, fds[c]!) + 48) >> 3]!; // lost, not yet reported
    expect(st.samples + st.lost).toBe(BigInt(perCpu));
    expect(BigInt(got[c]!.length)).toBe(st.samples);
    expect(lost[c]! + pending).toBe(st.lost);
    // In order: strictly increasing sequence numbers from 1..perCpu.
    for (let i = 1; i < got[c]!.length; i++) expect(got[c]![i]! > got[c]![i - 1]!).toBe(true);
  }
  expect(wrongCpu).toBe(0);
  const totalLost = lost.reduce((a, b) => a + b, 0n);
  const failures = arrayU64(p, failFd);
  // The program saw -ENOSPC for every lost record (reported or still pending).
  expect(failures).toBe(BigInt(m.ncpus * perCpu) - got.reduce((a, g) => a + BigInt(g.length), 0n));
  expect(failures).toBeGreaterThanOrEqual(totalLost);
  pb.close();
  return { lost: totalLost, failures };
}

describe("perf event array", () => {
  it("stepped: records in order, received + lost = produced, -ENOSPC counted", async () => {
    await withMachine({ cpus: 2, mode: "stepped", seed: 7 }, async (m) => {
      // 600 records of 32 bytes per CPU into 4 KiB rings between reads: some must be lost.
      const r = await perfRun(m, 600, 300);
      expect(r.failures).toBeGreaterThan(0n);
    });
  });

  it.skipIf(skipNote(threadsUnavailable(), "threads-mode perf"))("threads: a concurrent reader loses nothing silently", async () => {
    await withMachine({ cpus: 3, mode: "threads" }, async (m) => {
      await perfRun(m, 3000, 50);
    });
  });

  it("bpf_perf_event_output errors follow Linux", async () => {
    await withMachine({ cpus: 2, mode: "stepped", ringSlots: 16 }, async (m) => {
      const p = m.proc;
      const evFd = p.mapCreate({ mapType: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: 2 });
      const resFd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
      const attr = { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_BPF_OUTPUT, sampleType: PERF_SAMPLE_RAW };
      // Only CPU 1 has an event, stored at index 1.
      const ev1 = perfEventOpenFd(p, attr, -1, 1, 1);
      expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: evFd, key: new Uint8Array([1, 0, 0, 0]), value: new Uint8Array(new Uint32Array([ev1.fd]).buffer), flags: 0 })).toBe(0);
      const outcome = async (flags: string) => {
        const prog = assemble(`
mov %r6, %r1
stdw [%r10-8], 42
mov %r1, %r6
lddw %r2, map_fd ${evFd}
lddw %r3, ${flags}
mov %r4, %r10
add %r4, -8
mov %r5, 8
call 25
stxdw [%r10-16], %r0
stw [%r10-20], 0
${asmUpdate(resFd, -20, -16, 0)}
mov %r0, 2
exit
`);
        const link = m.attach(loadXdp(m, prog), { type: "xdp", ifindex: 3 });
        await m.send(0, [{ hookId: m.hookId({ type: "xdp", ifindex: 3 }), kind: EventKind.Packet, data: FRAME64 }]);
        await m.drain();
        m.detach(link);
        return Number(BigInt.asIntN(64, arrayU64(p, resFd)));
      };
      expect(await outcome("7")).toBe(-Errno.E2BIG); // index >= max_entries
      expect(await outcome("0xffffffff")).toBe(-Errno.ENOENT); // current CPU (0): no event at index 0
      expect(await outcome("1")).toBe(-Errno.EOPNOTSUPP); // index 1: CPU 1's event, running on CPU 0
      expect(await outcome("0x100000000")).toBe(-Errno.EINVAL); // flags outside BPF_F_INDEX_MASK
      // A map fd where a perf event fd belongs: EBADF, and nothing stored.
      expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: evFd, key: new Uint8Array(4), value: new Uint8Array(new Uint32Array([resFd]).buffer), flags: 0 })).toBe(-Errno.EBADF);
      expect(await outcome("0xffffffff")).toBe(-Errno.ENOENT);
    });
  });
});
