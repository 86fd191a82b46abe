/**
 * The machine's trace pipe in the arena, so bpf_trace_printk lines from
 * every CPU worker reach the one reader, as /sys/kernel/tracing/trace_pipe
 * does for all CPUs.
 *
 * Layout (RING_HDR bytes of header, then `cap` bytes of records):
 *
 *   +0 lock (spin-lock word)  +4 head (write offset)  +8 tail (read offset)
 *   +12 used bytes            +16 cap                 +20 lost records
 *   +32 records...
 *
 * Record (8-byte aligned): u32 total length, u32 cpu, u32 pid, u32 msg
 * length, u64 ns, comm[16], msg bytes. A length of WRAP means "continue at
 * offset 0". Writers and the reader take the lock for the copy only; a
 * record that does not fit is dropped and counted in `lost` (Linux's ring
 * would overwrite the oldest line instead; COMPAT.md).
 *
 * Who may call: `write` from programs on any CPU thread, `drainRecords`
 * from user space on any thread.
 */
import type { ArenaApi } from "../memory/arena-api.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";
import type { TracePipe, TraceRecord } from "./trace-pipe.js";
import { formatTraceLine } from "./trace-pipe.js";

export const RING_HDR = 32;
const WRAP = 0xffffffff;
const REC_HDR = 40;

const align8 = (n: number): number => (n + 7) & ~7;

export class ArenaTracePipe implements TracePipe {
  constructor(
    private readonly arena: ArenaApi,
    private readonly off: number,
  ) {}

  /** Lays out an empty ring of `cap` bytes (a multiple of 8) at `off`. */
  static format(arena: ArenaApi, off: number, cap: number): void {
    arena.u8.fill(0, off, off + RING_HDR);
    arena.u32[(off >>> 2) + 4] = cap;
  }

  private get w(): number {
    return this.off >>> 2;
  }

  /** Records dropped because the ring was full. */
  get lost(): number {
    return Atomics.load(this.arena.u32, this.w + 5);
  }

  write(rec: TraceRecord): void {
    const a = this.arena;
    const u32 = a.u32;
    const w = this.w;
    const msg = Uint8Array.from(rec.msg.slice(0, 1024), (c) => c.charCodeAt(0) & 0xff);
    const need = align8(REC_HDR + msg.length);
    spinLock(a.i32, this.off);
    try {
      const cap = u32[w + 4]!;
      let head = u32[w + 1]!;
      let used = u32[w + 3]!;
      const wrapWaste = head + need > cap ? cap - head : 0;
      if (used + wrapWaste + need > cap) {
        u32[w + 5]!++;
        return;
      }
      const data = this.off + RING_HDR;
      if (wrapWaste) {
        if (cap - head >= 4) u32[(data + head) >>> 2] = WRAP;
        used += wrapWaste;
        head = 0;
      }
      const r = data + head;
      u32[r >>> 2] = need;
      u32[(r >>> 2) + 1] = rec.cpu;
      u32[(r >>> 2) + 2] = rec.pid;
      u32[(r >>> 2) + 3] = msg.length;
      a.dv.setBigUint64(r + 16, rec.ns, true);
      a.u8.fill(0, r + 24, r + 40);
      for (let i = 0; i < Math.min(rec.comm.length, 16); i++) a.u8[r + 24 + i] = rec.comm.charCodeAt(i) & 0xff;
      a.u8.set(msg, r + REC_HDR);
      u32[w + 1] = (head + need) % cap;
      u32[w + 3] = used + need;
    } finally {
      spinUnlock(a.i32, this.off);
    }
  }

  /** User space: take every pending record. */
  drainRecords(): TraceRecord[] {
    const a = this.arena;
    const u32 = a.u32;
    const w = this.w;
    const out: TraceRecord[] = [];
    spinLock(a.i32, this.off);
    try {
      const cap = u32[w + 4]!;
      let tail = u32[w + 2]!;
      let used = u32[w + 3]!;
      const data = this.off + RING_HDR;
      while (used > 0) {
        // used counts whole records and wrap padding, so it reaches exactly 0.
        if (cap - tail < REC_HDR || u32[(data + tail) >>> 2] === WRAP) {
          used -= cap - tail;
          tail = 0;
          continue;
        }
        const r = data + tail;
        const len = u32[r >>> 2]!;
        const mlen = u32[(r >>> 2) + 3]!;
        const commBytes = a.u8.subarray(r + 24, r + 40);
        const z = commBytes.indexOf(0);
        out.push({
          cpu: u32[(r >>> 2) + 1]!,
          pid: u32[(r >>> 2) + 2]!,
          ns: a.dv.getBigUint64(r + 16, true),
          comm: String.fromCharCode(...commBytes.subarray(0, z < 0 ? 16 : z)),
          msg: String.fromCharCode(...a.u8.subarray(r + REC_HDR, r + REC_HDR + mlen)),
        });
        tail = (tail + len) % cap;
        used -= len;
      }
      // Everything was read: start the next record at the beginning, so an empty ring takes any record up to cap.
      u32[w + 1] = 0;
      u32[w + 2] = 0;
      u32[w + 3] = 0;
    } finally {
      spinUnlock(a.i32, this.off);
    }
    return out;
  }

  /** User space: take every pending line, formatted like trace_pipe. */
  drain(): string {
    return this.drainRecords().map(formatTraceLine).join("");
  }
}
