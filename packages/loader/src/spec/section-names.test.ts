import { describe, expect, it } from "vitest";
import { AttachType, BPF_F_SLEEPABLE, ProgType } from "@bpfsim/core";
import { matchSection } from "./section-names.js";

describe("matchSection", () => {
  it.each([
    ["xdp", ProgType.Xdp, AttachType.Xdp, ""],
    ["kprobe/do_sys_open", ProgType.Kprobe, 0, "do_sys_open"],
    ["kprobe", ProgType.Kprobe, 0, ""],
    ["tp/syscalls/sys_enter_write", ProgType.Tracepoint, 0, "syscalls/sys_enter_write"],
    ["tracepoint/sched/sched_switch", ProgType.Tracepoint, 0, "sched/sched_switch"],
    ["raw_tp.w/sys_enter", ProgType.RawTracepointWritable, 0, "sys_enter"],
    ["cgroup/skb", ProgType.CgroupSkb, 0, ""],
    ["sk_reuseport/migrate", ProgType.SkReuseport, AttachType.SkReuseportSelectOrMigrate, ""],
    ["cgroup/connect_unix", ProgType.CgroupSockAddr, AttachType.CgroupUnixConnect, ""],
    ["fmod_ret/security_x", ProgType.Tracing, AttachType.ModifyReturn, "security_x"],
    ["kprobe.multi/tcp_*", ProgType.Kprobe, AttachType.TraceKprobeMulti, "tcp_*"],
  ])("%s", (name, type, attach, attachTo) => {
    const m = matchSection(name);
    expect(m.def?.type).toBe(type);
    expect(m.def?.expectedAttachType).toBe(attach);
    expect(m.attachTo).toBe(attachTo);
  });

  it("needs a '/' after a '+' prefix and an exact match otherwise", () => {
    expect(matchSection("kprobex").def).toBeUndefined();
    expect(matchSection("xdp_prog").def).toBeUndefined();
    expect(matchSection("xdp/foo").def).toBeUndefined();
    expect(matchSection("socketfilter").def).toBeUndefined();
  });

  it("sleepable variants carry BPF_F_SLEEPABLE", () => {
    expect(matchSection("fentry.s/do_x").def?.progFlags).toBe(BPF_F_SLEEPABLE);
    expect(matchSection("lsm.s/file_open").def?.type).toBe(ProgType.Lsm);
    expect(matchSection("fentry/do_x").def?.progFlags).toBe(0);
  });
});
