/**
 * The PerfHost of a simulated process: perf_event_open through the kernel
 * layer (core/perf/perf-fd.ts) and the map update through the process's own
 * bpf(), so the fd is resolved in that process as Linux does.
 */
import { BpfCmd, check, perfEventOpenFd, type PerfEventAttr, type Process } from "@bpfsim/core";
import type { PerfHost } from "./perf-buffer.js";

export function processPerfHost(proc: Process): PerfHost {
  return {
    arena: proc.kernel.arena,
    ncpus: proc.kernel.ncpus,
    perfEventOpen: (attr: PerfEventAttr, cpu: number, pageCnt: number) => perfEventOpenFd(proc, attr, -1, cpu, pageCnt),
    mapUpdatePerfFd(mapFd: number, index: number, fd: number): void {
      const key = new Uint8Array(new Uint32Array([index]).buffer);
      const value = new Uint8Array(new Uint32Array([fd]).buffer);
      check(proc.bpf(BpfCmd.MapUpdateElem, { mapFd, key, value, flags: 0 }), "BPF_MAP_UPDATE_ELEM (perf event fd)");
    },
    close: (fd: number) => proc.close(fd),
  };
}
