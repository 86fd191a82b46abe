/**
 * Hooks and attachment: bpf() link commands with Linux's rules, several
 * programs per tcx hook in order, socket filter truncation, kprobes reading
 * pt_regs, raw tracepoints by name, and the stepped scheduler's
 * reproducibility.
 */
import { describe, expect, it } from "vitest";
import { assemble } from "@bpfsim/loader";
import { AttachType, BpfCmd, Errno, EventKind, MapType, ProgType, HC_BYTES_KEPT, HC_TRUNCATED } from "@bpfsim/core";
import { callEvent, rawTracepointEvent, timerTicks, tracepointEvent } from "@bpfsim/harness";
import { arrayU64, asmLookup, FRAME64, loadXdp, percpuU64, skipNote, threadsUnavailable, withMachine } from "./helpers.js";

const ret = (v: number) => assemble(`mov %r0, ${v}\nexit`);

describe("links through bpf()", () => {
  it("XDP: one program per interface, EBUSY for the second; LINK_DETACH; wrong type EINVAL", async () => {
    await withMachine({ cpus: 1, mode: "stepped", ringSlots: 16 }, async (m) => {
      const p = m.proc;
      const xdp = loadXdp(m, ret(1));
      const l1 = p.bpf(BpfCmd.LinkCreate, { progFd: xdp, targetIfindex: 2, attachType: AttachType.Xdp });
      expect(l1).toBeGreaterThan(0);
      expect(p.bpf(BpfCmd.LinkCreate, { progFd: xdp, targetIfindex: 2, attachType: AttachType.Xdp })).toBe(-Errno.EBUSY);
      const sock = m.loadProgram({ progType: ProgType.SocketFilter, insns: ret(0) });
      expect(p.bpf(BpfCmd.LinkCreate, { progFd: sock, targetIfindex: 3, attachType: AttachType.Xdp })).toBe(-Errno.EINVAL);
      expect(p.bpf(BpfCmd.LinkCreate, { progFd: 99, targetIfindex: 3, attachType: AttachType.Xdp })).toBe(-Errno.EBADF);
      const hook = m.hookId({ type: "xdp", ifindex: 2 });
      await m.send(0, [{ hookId: hook, kind: EventKind.Packet, repeat: 5, data: FRAME64 }]);
      await m.drain();
      expect(m.counters(hook).actions[1]).toBe(5n); // XDP_DROP
      expect(p.bpf(BpfCmd.LinkDetach, { linkFd: l1 })).toBe(0);
      await m.send(0, [{ hookId: hook, kind: EventKind.Packet, repeat: 3, data: FRAME64 }]);
      await m.drain();
      expect(m.counters(hook).runs).toBe(5n);
      expect(m.counters(hook).perCpu[0]![14]).toBe(3n); // no program: counted, not run
      // The detached link is still an fd; the interface is free again.
      const l2 = p.bpf(BpfCmd.LinkCreate, { progFd: xdp, targetIfindex: 2, attachType: AttachType.Xdp });
      expect(l2).toBeGreaterThan(0);
      p.close(l1);
      p.close(l2);
    });
  });

  it("tcx: programs run in attach order until one returns a verdict; PROG_ATTACH/DETACH", async () => {
    await withMachine({ cpus: 1, mode: "stepped", ringSlots: 16 }, async (m) => {
      const p = m.proc;
      const next = m.loadProgram({ progType: ProgType.SchedCls, insns: ret(-1) }); // TCX_NEXT
      const shot = m.loadProgram({ progType: ProgType.SchedCls, insns: ret(2) }); // TC_ACT_SHOT
      const hook = m.hookId({ type: "tc", ifindex: 2, direction: "ingress" });
      const send = async (n: number) => {
        await m.send(0, [{ hookId: hook, kind: EventKind.Packet, repeat: n, data: FRAME64 }]);
        await m.drain();
      };
      expect(p.bpf(BpfCmd.LinkCreate, { progFd: next, targetIfindex: 2, attachType: AttachType.TcxIngress })).toBeGreaterThan(0);
      await send(2);
      expect(m.counters(hook).actions[1]).toBe(2n); // all said next: TC_ACT_OK
      expect(p.bpf(BpfCmd.ProgAttach, { targetIfindex: 2, attachBpfFd: shot, attachType: AttachType.TcxIngress })).toBe(0);
      expect(p.bpf(BpfCmd.ProgAttach, { targetIfindex: 2, attachBpfFd: shot, attachType: AttachType.TcxIngress })).toBe(-Errno.EEXIST);
      await send(3);
      expect(m.counters(hook).actions[3]).toBe(3n); // TC_ACT_SHOT, after two runs each
      expect(m.counters(hook).runs).toBe(2n + 6n);
      expect(p.bpf(BpfCmd.ProgDetach, { targetIfindex: 2, attachBpfFd: shot, attachType: AttachType.TcxIngress })).toBe(0);
      expect(p.bpf(BpfCmd.ProgDetach, { targetIfindex: 2, attachBpfFd: shot, attachType: AttachType.TcxIngress })).toBe(-Errno.ENOENT);
      await send(1);
      expect(m.counters(hook).actions[1]).toBe(3n);
    });
  });

  it("socket filter: the return value is the bytes kept", async () => {
    await withMachine({ cpus: 1, mode: "stepped", ringSlots: 16, slotBytes: 256 }, async (m) => {
      const f = m.loadProgram({ progType: ProgType.SocketFilter, insns: ret(20) });
      m.attach(f, { type: "socket", socket: 7 });
      const hook = m.hookId({ type: "socket", socket: 7 });
      await m.send(0, [
        { hookId: hook, kind: EventKind.SocketData, data: new Uint8Array(100) },
        { hookId: hook, kind: EventKind.SocketData, data: new Uint8Array(10) },
      ]);
      await m.drain();
      const row = m.counters(hook).perCpu[0]!;
      expect(row[HC_BYTES_KEPT]).toBe(30n); // 20 of 100, all 10 of 10
      expect(row[HC_TRUNCATED]).toBe(1n);
    });
  });

  it("kprobe programs read their arguments from pt_regs; raw tracepoints attach by name", async () => {
    await withMachine({ cpus: 2, mode: "stepped", ringSlots: 16, slotBytes: 256 }, async (m) => {
      const p = m.proc;
      const sum = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
      // sum += regs->si (second argument, pt_regs offset 104): atomically, from both CPUs.
      const kp = m.loadProgram({
        progType: ProgType.Kprobe,
        insns: assemble(`
ldxdw %r6, [%r1+104]
stw [%r10-4], 0
${asmLookup(sum)}
jeq %r0, 0, out
lock add [%r0+0], %r6
out:
mov %r0, 0
exit
`),
      });
      m.attach(kp, { type: "kprobe", fn: "tcp_sendmsg" });
      const hook = m.hookId({ type: "kprobe", fn: "tcp_sendmsg" });
      await m.send(0, [callEvent(hook, [1n, 5n, 9n]), callEvent(hook, [1n, 7n])]);
      await m.send(1, [callEvent(hook, [0n, 100n])]);
      await m.drain();
      expect(arrayU64(p, sum)).toBe(112n);
      const raw = m.loadProgram({ progType: ProgType.RawTracepoint, insns: ret(0) });
      const link = p.bpf(BpfCmd.RawTracepointOpen, { name: "sched_switch", progFd: raw });
      expect(link).toBeGreaterThan(0);
      const tp = m.hookId({ type: "raw_tracepoint", name: "sched_switch" });
      await m.send(1, [rawTracepointEvent(tp, [1n, 2n])]);
      await m.drain();
      expect(m.counters(tp).runs).toBe(1n);
      expect(p.bpf(BpfCmd.RawTracepointOpen, { name: "", progFd: raw })).toBe(-Errno.ENOENT);
    });
  });
});

describe("link objects", () => {
  // Values as Linux 6.18 reports them for the same links (struct bpf_link_info, 64 bytes).
  it("have ids and bpf_link_info as in Linux", async () => {
    await withMachine({ cpus: 1, mode: "stepped", ringSlots: 16 }, async (m) => {
      const p = m.proc;
      const info = (fd: number) => {
        const a = { bpfFd: fd, infoLen: 256, info: new Uint8Array(256) };
        expect(p.bpf(BpfCmd.ObjGetInfoByFd, a)).toBe(0);
        expect(a.infoLen).toBe(64);
        const dv = new DataView(a.info.buffer);
        return [0, 4, 8, 16, 20, 24].map((o) => dv.getUint32(o, true));
      };
      const xdp = loadXdp(m, ret(2));
      const xl = p.bpf(BpfCmd.LinkCreate, { progFd: xdp, targetIfindex: 1, attachType: AttachType.Xdp });
      const [type, id, progId, ifindex] = info(xl);
      expect([type, ifindex]).toEqual([6, 1]);
      const pi = { bpfFd: xdp, infoLen: 8, info: new Uint8Array(8) };
      expect(p.bpf(BpfCmd.ObjGetInfoByFd, pi)).toBe(0);
      expect(progId).toBe(new DataView(pi.info.buffer).getUint32(4, true)); // bpf_prog_info.id
      // The link is reachable by id.
      const again = p.bpf(BpfCmd.LinkGetFdById, { id });
      expect(again).toBeGreaterThan(0);
      expect(p.bpf(BpfCmd.LinkDetach, { linkFd: xl })).toBe(0);
      expect(info(again)[3]).toBe(0); // detached: no interface
      const cls = m.loadProgram({ progType: ProgType.SchedCls, insns: ret(0) });
      const tl = p.bpf(BpfCmd.LinkCreate, { progFd: cls, targetIfindex: 1, attachType: AttachType.TcxIngress });
      expect(info(tl).filter((_, i) => i === 0 || i >= 3).slice(0, 3)).toEqual([11, 1, AttachType.TcxIngress]);
      const raw = m.loadProgram({ progType: ProgType.RawTracepoint, insns: ret(0) });
      const rl = p.bpf(BpfCmd.RawTracepointOpen, { name: "sched_switch", progFd: raw });
      const r = info(rl);
      expect([r[0], r[5]]).toEqual([1, 13]);
    });
  });
});

describe("stepped scheduler", () => {
  async function trace(seed: number): Promise<number[]> {
    return withMachine({ cpus: 3, mode: "stepped", seed, ringSlots: 16 }, async (m) => {
      const hook = m.hookId({ type: "xdp", ifindex: 2 });
      m.attach(loadXdp(m, ret(2)), { type: "xdp", ifindex: 2 });
      const order: number[] = [];
      m.stepped!.onStep = (cpu: number) => order.push(cpu);
      for (let c = 0; c < 3; c++) await m.send(c, Array.from({ length: 10 }, () => ({ hookId: hook, kind: EventKind.Packet, data: FRAME64 })));
      await m.drain();
      return order;
    });
  }

  it("replays the same interleaving from the same seed, another from another seed", async () => {
    const a = await trace(11);
    expect(a).toHaveLength(30);
    expect(await trace(11)).toEqual(a);
    expect(await trace(12)).not.toEqual(a);
  });
});

describe("CPU identity on real threads", () => {
  it.skipIf(skipNote(threadsUnavailable(), "threads-mode CPU identity"))(
    "each worker's programs see its CPU number (helper and per-CPU maps); perf ticks and tracepoints run",
    async () => {
      await withMachine({ cpus: 3, mode: "threads", slotBytes: 256 }, async (m) => {
        const p = m.proc;
        const ids = p.mapCreate({ mapType: MapType.PercpuArray, keySize: 4, valueSize: 8, maxEntries: 1 });
        // slot = bpf_get_smp_processor_id() + 1, and count ticks in the next word via sample_period (ctx+168).
        const prog = m.loadProgram({
          progType: ProgType.PerfEvent,
          insns: assemble(`
ldxdw %r7, [%r1+168]
call 8
mov %r6, %r0
add %r6, 1
stw [%r10-4], 0
${asmLookup(ids)}
jeq %r0, 0, out
stxdw [%r0+0], %r6
out:
mov %r0, 0
exit
`),
        });
        m.attach(prog, { type: "perf_event" });
        const hook = m.hookId({ type: "perf_event" });
        const ticks = timerTicks(hook, 3, 25, 100000n, 5);
        for (let c = 0; c < 3; c++) await m.send(c, ticks[c]!);
        await m.drain();
        expect(percpuU64(p, ids, 3)).toEqual([1n, 2n, 3n]);
        expect(m.counters(hook).perCpu.map((r) => r[1])).toEqual([25n, 25n, 25n]);
        const tp = m.loadProgram({ progType: ProgType.Tracepoint, insns: ret(0) });
        m.attach(tp, { type: "tracepoint", name: "syscalls:sys_enter_openat" });
        const tpHook = m.hookId({ type: "tracepoint", name: "syscalls:sys_enter_openat" });
        await m.send(2, [tracepointEvent(tpHook, 600, 1234, new Uint8Array(16))]);
        await m.drain();
        expect(m.counters(tpHook).perCpu[2]![1]).toBe(1n);
      });
    },
  );
});
