/**
 * Program objects on bpfsim: references between programs and maps, ids,
 * run statistics, the unprivileged rules of BPF_PROG_LOAD, engine choice.
 */
import { describe, expect, it } from "vitest";
import {
  BpfCmd, Kernel, MapType, ProgType, progInfo, setProgEngine, setStatsEnabled, setSysctlUnprivDisabled, progEngine,
} from "@bpfsim/core";
import { call, exit, ldMap, ldx, mov, movr, prog, stx } from "./insns.js";

function machine() {
  const k = Kernel.create({ ncpus: 2, size: 64 << 20 });
  return { k, p: k.createProcess() };
}

describe("program objects", () => {
  it("a program keeps its maps alive until it is freed", () => {
    const { p } = machine();
    const mfd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
    const pfd = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: prog(ldMap(1, mfd), mov(0, 2), exit()), license: "GPL" });
    expect(pfd).toBeGreaterThan(0);
    const mapId = progInfo(p, pfd).mapIds[0]!;
    expect(mapId).toBeGreaterThan(0);
    p.close(mfd);
    const a = { id: mapId };
    const again = p.bpf(BpfCmd.MapGetFdById, a);
    expect(again).toBeGreaterThan(0); // still alive: the program holds it
    p.close(again);
    const progId = progInfo(p, pfd).id;
    expect(p.bpf(BpfCmd.ProgGetNextId, { startId: 0 })).toBe(0);
    p.close(pfd);
    expect(p.bpf(BpfCmd.MapGetFdById, { id: mapId })).toBe(-2); // ENOENT: freed with the program
    expect(p.bpf(BpfCmd.ProgGetFdById, { id: progId })).toBe(-2);
  });

  it("a failed load leaves no references behind", () => {
    const { p } = machine();
    const mfd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
    const bad = prog(ldMap(1, mfd), mov(0, 2)); // no exit
    expect(p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: bad, license: "GPL" })).toBe(-22);
    const info = { bpfFd: mfd, info: new Uint8Array(104), infoLen: 104 };
    expect(p.bpf(BpfCmd.ObjGetInfoByFd, info)).toBe(0);
    const id = new DataView(info.info.buffer).getUint32(4, true);
    p.close(mfd);
    expect(p.bpf(BpfCmd.MapGetFdById, { id })).toBe(-2);
  });

  it("counts run_cnt and run_time_ns only with stats enabled; info by fd has the kernel's layout", () => {
    const { k, p } = machine();
    const pfd = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: prog(mov(0, 2), exit()), license: "GPL", progName: "counter" });
    const run = (repeat: number) => expect(p.bpf(BpfCmd.ProgTestRun, { progFd: pfd, dataIn: new Uint8Array(20), repeat })).toBe(0);
    run(5);
    expect(progInfo(p, pfd).runCnt).toBe(0n);
    setStatsEnabled(k, true);
    run(7);
    expect(progInfo(p, pfd).runCnt).toBe(7n);
    const raw = { bpfFd: pfd, info: new Uint8Array(232), infoLen: 232 };
    expect(p.bpf(BpfCmd.ObjGetInfoByFd, raw)).toBe(0);
    const dv = new DataView(raw.info.buffer);
    expect(dv.getUint32(0, true)).toBe(ProgType.Xdp);
    expect(dv.getUint32(20, true)).toBe(16); // xlated_prog_len
    expect(new TextDecoder().decode(raw.info.subarray(64, 71))).toBe("counter");
    expect(dv.getBigUint64(200, true)).toBe(7n); // run_cnt
    expect(dv.getUint32(84, true) & 1).toBe(1); // gpl_compatible
  });

  it("unprivileged: EPERM by default sysctl, socket filters only, narrowed helper set", () => {
    const { k, p } = machine();
    (p as unknown as { privileged: boolean }).privileged = false;
    const sock = { progType: ProgType.SocketFilter, insns: prog(ldx(4, 0, 1, 0), exit()), license: "GPL" };
    expect(p.bpf(BpfCmd.ProgLoad, sock)).toBe(-1);
    setSysctlUnprivDisabled(k, 0);
    expect(p.bpf(BpfCmd.ProgLoad, sock)).toBeGreaterThan(0);
    expect(p.bpf(BpfCmd.ProgLoad, { ...sock, progType: ProgType.Xdp })).toBe(-1);
    const printk = prog(movr(1, 10), mov(2, 0), call(6), mov(0, 0), exit());
    expect(p.bpf(BpfCmd.ProgLoad, { ...sock, insns: printk })).toBe(-22);
    expect(p.bpf(BpfCmd.ProgLoad, { ...sock, insns: prog(call(7), exit()) })).toBeGreaterThan(0);
    expect(p.bpf(BpfCmd.ProgLoad, { ...sock, insns: new Uint8Array(8 * 4097) })).toBe(-7); // BPF_MAXINSNS
  });

  it("the engine is chosen per machine: JIT by default, interpreter on request", () => {
    const { k } = machine();
    expect(progEngine(k).name).toBe("jit");
    setProgEngine(k, "interpreter");
    expect(progEngine(k).name).toBe("interpreter");
    expect(() => setProgEngine(k, "nope" as "jit")).toThrow(/ENOENT/);
  });

  it("syscall programs: ctx_in is copied in and back out, only retval is reported", () => {
    const { p } = machine();
    const fd = p.bpf(BpfCmd.ProgLoad, {
      progType: ProgType.Syscall, insns: prog(ldx(4, 2, 1, 0), mov(3, 42), stx(4, 1, 3, 4), movr(0, 2), exit()), license: "GPL",
    });
    expect(fd).toBeGreaterThan(0);
    const ctxIn = new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0]);
    const a = { progFd: fd, ctxIn, retval: 0 };
    expect(p.bpf(BpfCmd.ProgTestRun, a)).toBe(0);
    expect(a.retval).toBe(7);
    expect([...ctxIn]).toEqual([7, 0, 0, 0, 42, 0, 0, 0]);
    expect(p.bpf(BpfCmd.ProgTestRun, { progFd: fd, ctxIn, repeat: 2 })).toBe(-22);
    expect(p.bpf(BpfCmd.ProgTestRun, { progFd: fd, ctxIn, ctxOut: new Uint8Array(8) })).toBe(-22);
  });

  it("map value lddw (src 2) points into a one-element array; fd_array (src 5/6) names maps by index", () => {
    const { p } = machine();
    const mfd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 16, maxEntries: 1 });
    const value = new Uint8Array(16);
    new DataView(value.buffer).setUint32(8, 0xabcd, true);
    p.mapUpdate(mfd, new Uint8Array(4), value);
    const direct = prog(ldMap(1, mfd, 2, 8), ldx(4, 0, 1, 0), exit());
    const run = (fd: number) => {
      const a = { progFd: fd, dataIn: new Uint8Array(20), retval: 0 };
      expect(p.bpf(BpfCmd.ProgTestRun, a)).toBe(0);
      return a.retval;
    };
    const fd1 = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: direct, license: "GPL" });
    expect(run(fd1)).toBe(0xabcd);
    const byIdx = prog(ldMap(1, 0, 6, 8), ldx(4, 0, 1, 0), exit());
    expect(p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: byIdx, license: "GPL" })).toBe(-22); // no fd_array
    const fd2 = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: byIdx, license: "GPL", fdArray: [mfd] });
    expect(run(fd2)).toBe(0xabcd);
    expect(progInfo(p, fd2).mapIds).toEqual(progInfo(p, fd1).mapIds);
    // Past the value, or into a map with more than one element: refused as Linux does.
    expect(p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: prog(ldMap(1, mfd, 2, 16), mov(0, 0), exit()), license: "GPL" })).toBe(-22);
    const big = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 16, maxEntries: 2 });
    expect(p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: prog(ldMap(1, big, 2, 0), mov(0, 0), exit()), license: "GPL" })).toBe(-524);
  });
});
