/**
 * bpf_trace_printk from CPU worker threads reaches the machine's one trace
 * pipe (the arena ring), read from the main thread.
 */
import { describe, expect, it } from "vitest";
import { assemble } from "@bpfsim/loader";
import { AttachType, BpfCmd, EventKind, ProgType, tracePipe } from "@bpfsim/core";
import { createMachine } from "@bpfsim/harness";
import { threadsUnavailable } from "../machine/helpers.js";

const threadsMissing = threadsUnavailable();
if (threadsMissing) console.log(`trace-threads: skipped: ${threadsMissing}`);

// "hi %d\n" on the stack, trace_printk(fmt, 7, cpu id), return XDP_PASS.
const prog = assemble(`
call 8
mov %r3, %r0
mov %r1, 0x0a6425
lsh %r1, 24
or %r1, 0x206968
stxdw [%r10-8], %r1
mov %r1, %r10
add %r1, -8
mov %r2, 7
call 6
mov %r0, 2
exit
`);

describe.skipIf(!!threadsMissing)("trace pipe across CPU threads", () => {
  it("lines from every CPU worker land in one pipe", async () => {
    const m = await createMachine({ cpus: 2, mode: "threads", arenaSize: 32 << 20, ringSlots: 16, slotBytes: 128 });
    try {
      const fd = m.loadProgram({ progType: ProgType.Xdp, insns: prog, name: "printk" });
      expect(m.proc.bpf(BpfCmd.LinkCreate, { progFd: fd, targetIfindex: 2, attachType: AttachType.Xdp })).toBeGreaterThan(0);
      const hook = m.hookId({ type: "xdp", ifindex: 2 });
      await m.send(0, [{ hookId: hook, kind: EventKind.Packet, repeat: 3, data: new Uint8Array(64) }]);
      await m.send(1, [{ hookId: hook, kind: EventKind.Packet, repeat: 2, data: new Uint8Array(64) }]);
      await m.drain();
      const recs = tracePipe(m.kernel).drainRecords();
      expect(recs.map((r) => r.msg).sort()).toEqual(["hi 0\n", "hi 0\n", "hi 0\n", "hi 1\n", "hi 1\n"]);
      expect(recs.map((r) => r.cpu).sort()).toEqual([0, 0, 0, 1, 1]);
    } finally {
      await m.shutdown();
    }
  });
});
