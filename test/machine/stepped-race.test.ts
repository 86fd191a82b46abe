/**
 * Stepped mode at instruction granularity: two CPUs incrementing a shared
 * ARRAY counter with a plain load/add/store lose updates under some
 * schedules (the race Linux programs avoid with atomics), with the atomic
 * add they never do, and at event granularity the race cannot show. A
 * schedule is reproducible from its seed.
 */
import { describe, expect, it } from "vitest";
import { assemble } from "@bpfsim/loader";
import { EventKind, MapType } from "@bpfsim/core";
import { createMachine } from "@bpfsim/harness";
import { arrayU64, FRAME64, loadXdp } from "./helpers.js";

function incProg(fd: number, atomic: boolean): Uint8Array {
  return assemble(`
stw [%r10-4], 0
lddw %r1, map_fd ${fd}
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, out
${atomic ? "mov %r1, 1\nlock add [%r0+0], %r1" : "ldxdw %r1, [%r0+0]\nadd %r1, 1\nstxdw [%r0+0], %r1"}
out:
mov %r0, 2
exit
`);
}

async function finalCount(seed: number, atomic: boolean, granularity: "event" | "instruction"): Promise<bigint> {
  const m = await createMachine({ cpus: 2, mode: "stepped", engine: "interpreter", granularity, seed, arenaSize: 16 << 20, ringSlots: 64, slotBytes: 128 });
  try {
    const fd = m.proc.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
    m.attach(loadXdp(m, incProg(fd, atomic)), { type: "xdp", ifindex: 2 });
    const hookId = m.hookId({ type: "xdp", ifindex: 2 });
    for (let c = 0; c < 2; c++) await m.send(c, [{ hookId, kind: EventKind.Packet, repeat: 20, data: FRAME64 }]);
    await m.drain();
    expect(m.counters(hookId).runs).toBe(40n);
    return arrayU64(m.proc, fd);
  } finally {
    await m.shutdown();
  }
}

describe("stepped mode, instruction granularity", () => {
  it("exposes lost updates of a non-atomic increment, never of an atomic one", async () => {
    const racy: bigint[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      racy.push(await finalCount(seed, false, "instruction"));
      expect(await finalCount(seed, true, "instruction")).toBe(40n);
      expect(await finalCount(seed, false, "event")).toBe(40n);
    }
    expect(racy.some((v) => v < 40n)).toBe(true);
    expect(racy.every((v) => v >= 20n && v <= 40n)).toBe(true);
    // The same seed replays the same interleaving, hence the same result.
    expect(await finalCount(3, false, "instruction")).toBe(racy[2]);
  });

  it("is refused without the interpreter", async () => {
    await expect(createMachine({ cpus: 2, mode: "stepped", engine: "jit", granularity: "instruction" })).rejects.toThrow(/EINVAL/);
  });
});
