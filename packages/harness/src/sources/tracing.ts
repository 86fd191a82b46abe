/**
 * Event sources for the tracing hooks, seeded like the packet generator:
 *  - function calls (kprobe) and returns (kretprobe): a `struct pt_regs`
 *    (x86-64, 168 bytes) with the arguments in rdi, rsi, rdx, rcx, r8, r9 and
 *    the return value in rax, as the calling convention puts them;
 *  - tracepoint records: the common header (u16 type, u8 flags,
 *    u8 preempt_count, s32 pid) followed by the event's fields;
 *  - timer ticks of a perf event: `struct bpf_perf_event_data` (pt_regs,
 *    u64 sample_period, u64 addr).
 */
import { EventKind, type EventDesc } from "@bpfsim/core";

export const PT_REGS = { r9: 64, r8: 72, rax: 80, rcx: 88, rdx: 96, rsi: 104, rdi: 112, rip: 128, rsp: 152 } as const;
export const PT_REGS_SIZE = 168;
const ARG_REGS = [PT_REGS.rdi, PT_REGS.rsi, PT_REGS.rdx, PT_REGS.rcx, PT_REGS.r8, PT_REGS.r9];

/** pt_regs for a call of the function at `ip` with up to six arguments. */
export function ptRegs(args: readonly bigint[], ip = 0xffffffff81000000n, ret = 0n): Uint8Array {
  const b = new Uint8Array(PT_REGS_SIZE);
  const dv = new DataView(b.buffer);
  args.slice(0, 6).forEach((a, i) => dv.setBigUint64(ARG_REGS[i]!, BigInt.asUintN(64, a), true));
  dv.setBigUint64(PT_REGS.rax, BigInt.asUintN(64, ret), true);
  dv.setBigUint64(PT_REGS.rip, ip, true);
  dv.setBigUint64(PT_REGS.rsp, 0xffffc90000003f00n, true);
  return b;
}

/** A kprobe event (entry) or kretprobe event (`ret` given). */
export function callEvent(hookId: number, args: readonly bigint[], ret?: bigint): EventDesc {
  return { hookId, kind: EventKind.Call, data: ptRegs(args, undefined, ret ?? 0n), arg0: ret ?? 0n };
}

/** A tracepoint record: common header then `fields`. */
export function tracepointEvent(hookId: number, type: number, pid: number, fields: Uint8Array): EventDesc {
  const b = new Uint8Array(8 + fields.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, type, true);
  dv.setInt32(4, pid, true);
  b.set(fields, 8);
  return { hookId, kind: EventKind.Tracepoint, data: b };
}

/** A raw tracepoint event: the u64 arguments array (struct bpf_raw_tracepoint_args). */
export function rawTracepointEvent(hookId: number, args: readonly bigint[]): EventDesc {
  const b = new Uint8Array(8 * Math.max(1, args.length));
  const dv = new DataView(b.buffer);
  args.forEach((a, i) => dv.setBigUint64(8 * i, BigInt.asUintN(64, a), true));
  return { hookId, kind: EventKind.Tracepoint, data: b };
}

/** `count` timer ticks of a perf event with `samplePeriod`, interrupting at `ip`. */
export function tickEvent(hookId: number, samplePeriod: bigint, ip: bigint, count = 1): EventDesc {
  const b = new Uint8Array(PT_REGS_SIZE + 16);
  const dv = new DataView(b.buffer);
  b.set(ptRegs([], ip), 0);
  dv.setBigUint64(PT_REGS_SIZE, samplePeriod, true);
  return { hookId, kind: EventKind.Tick, repeat: count, data: b };
}

/**
 * A perf event's timer on every CPU: `ticks` ticks per CPU, each
 * interrupting at an instruction pointer drawn from `ips` by a seeded
 * generator. One event list per CPU (ticks are per-CPU, like a
 * cpu-clock event opened on each CPU).
 */
export function timerTicks(hookId: number, ncpus: number, ticks: number, samplePeriod: bigint, seed: number, ips: readonly bigint[] = [0xffffffff81000000n]): EventDesc[][] {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % ips.length;
  };
  return Array.from({ length: ncpus }, () => Array.from({ length: ticks }, () => tickEvent(hookId, samplePeriod, ips[next()]!)));
}
