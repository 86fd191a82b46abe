/**
 * BPF_PROG_LOAD publishes the program's id last, as Linux's bpf_prog_alloc_id
 * does: whoever finds the id (BPF_PROG_GET_FD_BY_ID on another thread) sees a
 * complete object, its id and slot already in its header. The test stands in
 * for that other thread by opening the program by id the moment the object
 * table has made it visible, before BPF_PROG_LOAD returns.
 */
import { describe, expect, it } from "vitest";
import { BpfCmd, Kernel, ObjKind, ProgType, progInfo } from "@bpfsim/core";
import { exit, mov, prog } from "./insns.js";

describe("program id publication", () => {
  it("a program found by id the moment it becomes visible reports its own id", () => {
    const k = Kernel.create({ ncpus: 2, size: 16 << 20 });
    const p = k.createProcess();
    const observer = k.createProcess();
    const seen: { id: number; infoId: number }[] = [];
    const alloc = k.objects.alloc.bind(k.objects);
    k.objects.alloc = (kind, dataOff, uid, init) => {
      const slot = alloc(kind, dataOff, uid, init);
      if (slot >= 0 && kind === ObjKind.Prog) {
        const id = k.objects.idOf(slot);
        const fd = observer.bpf(BpfCmd.ProgGetFdById, { id });
        expect(fd).toBeGreaterThan(0);
        seen.push({ id, infoId: progInfo(observer, fd).id });
        observer.close(fd);
      }
      return slot;
    };
    const pfd = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: prog(mov(0, 2), exit()), license: "GPL" });
    expect(pfd).toBeGreaterThan(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.infoId).toBe(seen[0]!.id);
    expect(progInfo(p, pfd).id).toBe(seen[0]!.id);
  });
});
