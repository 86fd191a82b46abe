/**
 * Program types by Linux prog type number (include/linux/bpf_types.h in
 * spirit): one line per type. BPF_PROG_LOAD of a type not listed is -EINVAL.
 */
import { ProgType } from "../uapi.js";
import type { ProgTypeDef } from "./prog-type-def.js";
import { kprobeProgType } from "./types/kprobe.js";
import { perfEventProgType } from "./types/perf-event.js";
import { rawTracepointProgType } from "./types/raw-tracepoint.js";
import { schedActProgType, schedClsProgType } from "./types/sched-cls.js";
import { socketFilterProgType } from "./types/socket-filter.js";
import { syscallProgType } from "./types/syscall.js";
import { tracepointProgType } from "./types/tracepoint.js";
import { xdpProgType } from "./types/xdp.js";

export const progTypes: ReadonlyArray<ProgTypeDef | undefined> = (() => {
  const t: (ProgTypeDef | undefined)[] = [];
  t[ProgType.SocketFilter] = socketFilterProgType;
  t[ProgType.Kprobe] = kprobeProgType;
  t[ProgType.SchedCls] = schedClsProgType;
  t[ProgType.SchedAct] = schedActProgType;
  t[ProgType.Tracepoint] = tracepointProgType;
  t[ProgType.Xdp] = xdpProgType;
  t[ProgType.PerfEvent] = perfEventProgType;
  t[ProgType.RawTracepoint] = rawTracepointProgType;
  t[ProgType.Syscall] = syscallProgType;
  return t;
})();

/** The ops of program type `type`, or undefined (BPF_PROG_LOAD: -EINVAL). */
export function progTypeFor(type: number): ProgTypeDef | undefined {
  return progTypes[type];
}
