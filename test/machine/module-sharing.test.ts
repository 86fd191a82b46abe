/**
 * Compile once, instantiate per CPU: with the JIT in threads mode the machine
 * compiles a program on its own thread and posts the WebAssembly.Module to
 * every CPU worker, which instantiates it instead of compiling. The figures
 * checked are compile counts (this thread's and each worker's), and that the
 * posted module runs: every event sent is counted with the program's action.
 */
import { describe, expect, it } from "vitest";
import { AttachType, BpfCmd, EventKind, jitCompileCount, ProgType } from "@bpfsim/core";
import { createMachine } from "@bpfsim/harness";
import { FRAME64, loadXdp, skipNote, threadsUnavailable } from "./helpers.js";

/** `r1 = tag; r0 = action; exit`: the tag makes the bytes (the module cache key) unique to a test. */
function tagged(tag: number, action: number): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  b[0] = 0xb7; // mov r1, tag
  b[1] = 1;
  dv.setInt32(4, tag, true);
  b[8] = 0xb7; // mov r0, action
  dv.setInt32(12, action, true);
  b[16] = 0x95; // exit
  return b;
}

async function sendAll(m: Awaited<ReturnType<typeof createMachine>>, hookId: number, repeat: number): Promise<void> {
  for (let c = 0; c < m.ncpus; c++) await m.send(c, [{ hookId, kind: EventKind.Packet, repeat, data: FRAME64 }]);
  await m.drain();
}

describe.skipIf(skipNote(threadsUnavailable(), "module sharing"))("JIT modules shared with CPU workers", () => {
  it("one compile per program per machine: the CPUs instantiate the posted module", async () => {
    const m = await createMachine({ cpus: 2, mode: "threads", engine: "jit", arenaSize: 16 << 20, ringSlots: 64, slotBytes: 128 });
    try {
      const before = jitCompileCount();
      const pass = loadXdp(m, tagged(0x51a7e1, 2), "pass");
      const drop = loadXdp(m, tagged(0x51a7e2, 1), "drop");
      expect(jitCompileCount() - before).toBe(2); // on load, once each
      m.attach(pass, { type: "xdp", ifindex: 2 });
      m.attach(drop, { type: "xdp", ifindex: 3 });
      expect(jitCompileCount() - before).toBe(2); // attach reuses them
      await m.programsShared();
      const h2 = m.hookId({ type: "xdp", ifindex: 2 });
      const h3 = m.hookId({ type: "xdp", ifindex: 3 });
      await sendAll(m, h2, 5);
      await sendAll(m, h3, 7);
      expect(m.counters(h2).events).toBe(10n);
      expect(m.counters(h2).actions[2]).toBe(10n); // XDP_PASS: the posted module ran
      expect(m.counters(h3).actions[1]).toBe(14n); // XDP_DROP
      const stats = await m.workerStats();
      expect(stats.map((s) => s?.jitCompiles)).toEqual([0, 0]);
    } finally {
      await m.shutdown();
    }
  });

  it("a program loaded and linked with bpf() alone is compiled by the CPU itself", async () => {
    const m = await createMachine({ cpus: 1, mode: "threads", engine: "jit", arenaSize: 16 << 20, ringSlots: 64, slotBytes: 128 });
    try {
      // Another process loads and links it: the machine never sees the fd, so nothing is posted.
      const other = m.kernel.createProcess({ comm: "other", memlockLimit: Infinity });
      const fd = other.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: tagged(0x51a7e3, 2), license: "GPL", progName: "own" });
      expect(fd).toBeGreaterThan(0);
      expect(other.bpf(BpfCmd.LinkCreate, { progFd: fd, attachType: AttachType.Xdp, targetIfindex: 4 })).toBeGreaterThan(0);
      await m.programsShared();
      const h = m.hookId({ type: "xdp", ifindex: 4 });
      await sendAll(m, h, 3);
      expect(m.counters(h).actions[2]).toBe(3n);
      expect((await m.workerStats()).map((s) => s?.jitCompiles)).toEqual([1]);
    } finally {
      await m.shutdown();
    }
  });

  it("the interpreter engine shares nothing and runs as before", async () => {
    const m = await createMachine({ cpus: 2, mode: "threads", engine: "interpreter", arenaSize: 16 << 20, ringSlots: 64, slotBytes: 128 });
    try {
      const before = jitCompileCount();
      m.attach(loadXdp(m, tagged(0x51a7e4, 2)), { type: "xdp", ifindex: 2 });
      await m.programsShared();
      expect(jitCompileCount()).toBe(before);
      const h = m.hookId({ type: "xdp", ifindex: 2 });
      await sendAll(m, h, 4);
      expect(m.counters(h).actions[2]).toBe(8n);
      expect((await m.workerStats()).map((s) => s?.jitCompiles)).toEqual([0, 0]);
    } finally {
      await m.shutdown();
    }
  });
});
