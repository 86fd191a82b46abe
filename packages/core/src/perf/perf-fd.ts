/**
 * perf_event_open for a simulated process: the event and its ring in the
 * arena (perf-event.ts), an object-table entry of kind PerfEvent so a perf
 * event array can hold a reference, and an fd in the process's table.
 *
 *   perfEventOpenFd(proc, attr, -1, cpu, pageCnt)  ~  perf_event_open + mmap
 *   close(fd)                                       ~  close: the ring is freed
 *                                                      once no map holds the event
 *
 * Who may call: syscall context on any thread.
 */
import { BpfError, Errno } from "../errno.js";
import { ObjKind, FMODE_CAN_READ, FMODE_CAN_WRITE } from "../kernel/layout.js";
import { registerObjectRelease, type Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { perfEventClose, perfEventOpen, type PerfEventAttr } from "./perf-event.js";
import { bindPerfEventArrayKernel } from "../maps/perf-event-array.js";

registerObjectRelease(ObjKind.PerfEvent, (k: Kernel, dataOff: number) => perfEventClose(k.arena, dataOff));

/**
 * Open a perf event on `cpu` for any task (pid must be -1: bpfsim has no
 * per-task events) with a mapped ring of `pageCnt` data pages. Returns the
 * fd and the event's arena offset (the "mmap"). Throws BpfError.
 */
export function perfEventOpenFd(proc: Process, attr: PerfEventAttr, pid: number, cpu: number, pageCnt: number): { fd: number; evOff: number } {
  const k = proc.kernel;
  bindPerfEventArrayKernel(k);
  if (pid !== -1) throw new BpfError(Errno.EINVAL, "perf_event_open: only pid = -1 (all tasks on one CPU) is simulated");
  const evOff = perfEventOpen(k.arena, attr, cpu, k.ncpus, pageCnt);
  const slot = k.objects.alloc(ObjKind.PerfEvent, evOff, proc.uid);
  if (slot < 0) {
    perfEventClose(k.arena, evOff);
    throw new BpfError(-slot, "perf_event_open");
  }
  const fd = proc.fds.install(slot, FMODE_CAN_READ | FMODE_CAN_WRITE);
  if (fd < 0) {
    k.objects.put(slot);
    throw new BpfError(-fd, "perf_event_open");
  }
  return { fd, evOff };
}

/** The perf event behind `fd` (its arena offset); EBADF if `fd` is not a perf event. */
export function perfEventOfFd(proc: Process, fd: number): number {
  const slot = proc.fds.get(fd);
  if (slot < 0) throw new BpfError(Errno.EBADF, `fd ${fd}`);
  try {
    if (proc.kernel.objects.kindOf(slot) !== ObjKind.PerfEvent) throw new BpfError(Errno.EBADF, `fd ${fd} is not a perf event`);
    return proc.kernel.objects.dataOf(slot);
  } finally {
    proc.kernel.objects.put(slot);
  }
}
