/**
 * The machine's trace pipe: where bpf_trace_printk writes, formatted like
 * the lines of /sys/kernel/tracing/trace_pipe:
 *
 *            <comm>-<pid>     [<cpu>] <flags> <sec>.<usec>: bpf_trace_printk: <msg>
 *
 * Who may call: `write` from a program on a CPU; `drain` from user space.
 * The machine's pipe lives in the arena (trace-ring.ts) so every CPU thread
 * writes to the same one; `MemoryTracePipe` here is a single-thread pipe for
 * tools and tests that run programs without a machine.
 */

/** One bpf_trace_printk record. */
export interface TraceRecord {
  cpu: number;
  pid: number;
  comm: string;
  ns: bigint;
  msg: string;
}

export interface TracePipe {
  /** Program on a CPU: append one record. */
  write(rec: TraceRecord): void;
}

/** Formats a record as a trace_pipe line (with its trailing newline). */
export function formatTraceLine(r: TraceRecord): string {
  const task = `${(r.comm || "<idle>").padStart(16)}-${String(r.pid).padEnd(7)}`;
  const cpu = String(r.cpu).padStart(3, "0");
  const sec = (r.ns / 1_000_000_000n).toString().padStart(5);
  const usec = ((r.ns / 1000n) % 1_000_000n).toString().padStart(6, "0");
  // Kernel messages usually end in "\n"; the event printer adds one only if missing.
  const msg = r.msg.endsWith("\n") ? r.msg : `${r.msg}\n`;
  return `${task} [${cpu}] d..31 ${sec}.${usec}: bpf_trace_printk: ${msg}`;
}

/** An in-memory trace pipe, bounded like the kernel's ring (oldest lines are overwritten). */
export class MemoryTracePipe implements TracePipe {
  private records: TraceRecord[] = [];
  /** Records overwritten because nobody read them in time. */
  lost = 0;
  constructor(private readonly capacity = 65536) {}

  write(rec: TraceRecord): void {
    if (this.records.length >= this.capacity) {
      this.records.shift();
      this.lost++;
    }
    this.records.push(rec);
  }

  /** User space: take every pending record (reading trace_pipe consumes it). */
  drainRecords(): TraceRecord[] {
    const out = this.records;
    this.records = [];
    return out;
  }

  /** User space: take every pending line, formatted. */
  drain(): string {
    return this.drainRecords().map(formatTraceLine).join("");
  }
}
