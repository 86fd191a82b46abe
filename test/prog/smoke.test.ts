import { describe, expect, it } from "vitest";
import { BpfCmd, Kernel, ProgType, encodeProgram, insn } from "@bpfsim/core";

describe("smoke", () => {
  it("loads and runs", () => {
    const k = Kernel.create({ ncpus: 2, size: 64 << 20 } as never);
    const p = k.createProcess();
    const insns = encodeProgram([insn(0xb7, 0, 0, 0, 2), insn(0x95, 0, 0, 0, 0)]);
    const a: any = { progType: ProgType.Xdp, insns, license: "GPL" };
    const fd = p.bpf(BpfCmd.ProgLoad, a);
    expect(fd).toBeGreaterThan(2);
    const t: any = { progFd: fd, dataIn: new Uint8Array(64), dataOut: new Uint8Array(64), repeat: 3 };
    expect(p.bpf(BpfCmd.ProgTestRun, t)).toBe(0);
    expect(t.retval).toBe(2);
    expect(t.dataSizeOut).toBe(64);
  });
});
