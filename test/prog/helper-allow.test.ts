/**
 * Helper allow-lists against the kernel: for each program type and each
 * helper bpfsim has a prototype for, Linux (as root) either refuses the call
 * as "unknown func" / "program of this type cannot use helper", or gets past
 * that check (and maybe fails later on argument types, which is fine here).
 */
import { describe, expect, it } from "vitest";
import { ProgType, helperProtos, progTypeFor } from "@bpfsim/core";
import { kernelSession, kernelUnavailable } from "./oracle.js";
import { call, exit, mov, progHex } from "./insns.js";

if (kernelUnavailable) console.log(`helper-allow: kernel comparison skipped: ${kernelUnavailable}`);

const types = [
  ProgType.SocketFilter, ProgType.Kprobe, ProgType.SchedCls, ProgType.SchedAct, ProgType.Tracepoint,
  ProgType.Xdp, ProgType.PerfEvent, ProgType.RawTracepoint, ProgType.Syscall,
];
const ids = helperProtos.flatMap((p) => (p ? [p.id] : []));

describe.skipIf(!!kernelUnavailable)("helper allow-lists against the kernel", () => {
  it.each(types.map((t) => [progTypeFor(t)!.name, t] as const))("%s", (_name, type) => {
    const flags = type === ProgType.Syscall ? 16 : 0; // syscall programs are sleepable
    const lines = ids.map(
      (id) => `load ${type} ${flags} GPL 1 65536 ${progHex(mov(1, 0), mov(2, 0), mov(3, 0), mov(4, 0), mov(5, 0), call(id), mov(0, 0), exit())}`,
    );
    const kern = kernelSession(lines);
    const ops = progTypeFor(type)!;
    const diff = ids.flatMap((id, i) => {
      const refused = /unknown func|cannot use helper/.test(kern[i]!);
      return refused === ops.helperAllowed(id, true) ? [`#${id}: kernel ${refused ? "refuses" : "allows"}`] : [];
    });
    expect(diff).toEqual([]);
  });
});
