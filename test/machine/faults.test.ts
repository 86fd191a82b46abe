/**
 * Failure and churn on real threads:
 *  - a CPU worker terminated mid-traffic surfaces an error (listener, EIO on
 *    send) while the other CPUs keep running and every map stays usable and
 *    consistent;
 *  - attaching and detaching programs while traffic flows never runs a
 *    half-attached program: every run is accounted for by a program that
 *    was attached, and once detached a program runs no more.
 */
import { describe, expect, it } from "vitest";
import { assemble } from "@bpfsim/loader";
import { BpfError, Errno, EventKind, MapType, ProgType } from "@bpfsim/core";
import {
  arrayU64, asmLookup, counterMaps, counterProg, FRAME64, loadXdp, percpuU64, skipNote, threadsUnavailable, withMachine,
} from "./helpers.js";

const unavailable = threadsUnavailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipNote(unavailable, "CPU fault and churn tests"))("threads under faults and churn", () => {
  it("killing a CPU surfaces an error; the others and the maps carry on", async () => {
    await withMachine({ cpus: 3, mode: "threads" }, async (m) => {
      const deaths: [number, BpfError][] = [];
      m.onCpuDeath((cpu, e) => deaths.push([cpu, e]));
      const { pcFd, shFd } = counterMaps(m.proc);
      m.attach(loadXdp(m, counterProg(pcFd, shFd)), { type: "xdp", ifindex: 2 });
      const hookId = m.hookId({ type: "xdp", ifindex: 2 });
      const ev = (n: number) => [{ hookId, kind: EventKind.Packet, repeat: n, data: FRAME64 }];
      const sent = [0, 0, 0];
      for (let i = 0; i < 20; i++) {
        for (let c = 0; c < 3; c++) {
          await m.send(c, ev(50));
          sent[c] += 50;
        }
      }
      await m.killCpu(1);
      expect(deaths.map((d) => d[0])).toEqual([1]);
      expect(deaths[0]![1].errno).toBe(Errno.EIO);
      await expect(m.send(1, ev(1))).rejects.toThrow(/EIO/);
      for (let i = 0; i < 20; i++) {
        for (const c of [0, 2]) {
          await m.send(c, ev(50));
          sent[c] += 50;
        }
      }
      await m.drain();
      const per = percpuU64(m.proc, pcFd, 3);
      expect(per[0]).toBe(BigInt(sent[0]!));
      expect(per[2]).toBe(BigInt(sent[2]!));
      expect(per[1]! <= BigInt(sent[1]!)).toBe(true);
      // The shared atomic counter agrees with the per-CPU ones: no half-done update.
      expect(arrayU64(m.proc, shFd)).toBe(per[0]! + per[1]! + per[2]!);
      // Maps are still usable from user space.
      m.proc.mapUpdate(shFd, new Uint8Array(4), new Uint8Array(8));
      expect(arrayU64(m.proc, shFd)).toBe(0n);
    });
  });

  it("attach/detach during traffic: every run belongs to an attached program", async () => {
    await withMachine({ cpus: 2, mode: "threads" }, async (m) => {
      const p = m.proc;
      const counters = [0, 1].map(() => p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 }));
      // Each program counts its own runs atomically and says "next" (TCX_NEXT), so all attached run.
      const progs = counters.map((fd) =>
        m.loadProgram({
          progType: ProgType.SchedCls,
          insns: assemble(`
stw [%r10-4], 0
${asmLookup(fd)}
jeq %r0, 0, out
mov %r1, 1
lock add [%r0+0], %r1
out:
mov %r0, -1
exit
`),
        }),
      );
      const spec = { type: "tc" as const, ifindex: 2, direction: "ingress" as const };
      const hookId = m.hookId(spec);
      let stop = false;
      let sent = 0;
      const traffic = (async () => {
        while (!stop) {
          for (let c = 0; c < 2; c++) await m.send(c, [{ hookId, kind: EventKind.Packet, repeat: 20, data: FRAME64 }]);
          sent += 40;
          await new Promise((r) => setImmediate(r));
        }
      })();
      const links: (number | undefined)[] = [undefined, undefined];
      for (let i = 0; i < 200; i++) {
        const k = i % 3 === 0 ? 1 : 0;
        if (links[k] === undefined) links[k] = m.attach(progs[k]!, spec);
        else {
          m.detach(links[k]!);
          links[k] = undefined;
        }
        if (i % 10 === 0) await sleep(1);
      }
      for (const k of [0, 1]) if (links[k] !== undefined) m.detach(links[k]!);
      stop = true;
      await traffic;
      await m.drain();
      const runs = counters.map((fd) => arrayU64(p, fd));
      const c = m.counters(hookId);
      expect(c.faults).toBe(0n);
      expect(c.events).toBe(BigInt(sent));
      // Every run the hook counted was made by one of the two programs.
      expect(c.runs).toBe(runs[0]! + runs[1]!);
      expect(runs[0]! <= BigInt(sent) && runs[1]! <= BigInt(sent)).toBe(true);
      // Detached for good: more traffic runs nothing.
      for (let c2 = 0; c2 < 2; c2++) await m.send(c2, [{ hookId, kind: EventKind.Packet, repeat: 100, data: FRAME64 }]);
      await m.drain();
      expect(counters.map((fd) => arrayU64(p, fd))).toEqual(runs);
    });
  });
});
