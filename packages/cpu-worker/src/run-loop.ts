/**
 * One simulated CPU's run loop: take a batch from the event ring, run the
 * programs attached to each event's hook in this CPU's context, record the
 * results, hand the slots back. The same `CpuRunner` serves both machine
 * modes: a worker thread drives it with `runBatch` (threads mode); the
 * stepped scheduler drives a `SteppedCpuRunner` (stepped-runner.ts) one
 * delivery or one instruction at a time.
 *
 * Per-CPU statistics row (CPU_STATS_BYTES at statsOff + cpu * CPU_STATS_BYTES,
 * i64 words, written only by this CPU, read by anyone):
 *
 *   w0 deliveries   program-visible events (a burst of n counts n)
 *   w1 slots        ring slots taken
 *   w2 batches
 *   w3 faults       program runs that faulted
 *   w4 state        CpuState
 *   w5 runs         program runs
 *
 * Hook counters are accumulated in JS during a batch and stored to the
 * hook table's row for this CPU at the end of the batch (this CPU is the
 * row's only writer, so a store suffices; readers may lag by one batch).
 */
import {
  type ArenaApi,
  type CompiledProgram,
  type CpuContext,
  EV_ARG0,
  EV_DATA_LEN,
  EV_HDR_BYTES,
  EV_HOOK,
  EV_REPEAT,
  HC_ACTION,
  HC_BYTES_KEPT,
  HC_EVENTS,
  HC_FAULTS,
  HC_NO_PROG,
  HC_RUNS,
  HC_TRUNCATED,
  HC_WORDS,
  HOOK_MAX_PROGS,
  HookType,
  ProgramFault,
  ER_CAPACITY,
  ER_HEAD,
  ER_SLOTS,
  ER_SLOT_BYTES,
  ER_TAIL,
  hookCounterIndex,
  hookInfo,
  hookRead,
  hookSeq,
} from "@bpfsim/core";
import { buildSkBuff, buildXdpMd } from "./ctx-build.js";

export const CPU_STATS_BYTES = 64;
export const CS_DELIVERIES = 0;
export const CS_SLOTS = 1;
export const CS_BATCHES = 2;
export const CS_FAULTS = 3;
export const CS_STATE = 4;
export const CS_RUNS = 5;

export enum CpuState {
  Booting = 0,
  Idle = 1,
  Running = 2,
  Stopped = 3,
  Dead = 4,
}

export interface CpuRunnerOptions {
  arena: ArenaApi;
  cpu: number;
  ringOff: number;
  hookTableOff: number;
  statsOff: number;
  /** This CPU's context area (CTX_AREA_BYTES). */
  ctxOff: number;
  /** The context programs run with (cpu number, stack, helpers). */
  cpuCtx: CpuContext;
  /** The compiled program with this id, compiled once and cached by the caller. */
  resolveProgram(id: number): CompiledProgram | undefined;
}

export interface HookEntry {
  seq: number;
  type: HookType;
  target: number;
  progs: CompiledProgram[];
  /** Running totals for this CPU's counter row. */
  counters: Float64Array;
  dirty: boolean;
}

/** r0 as the signed 32-bit value hooks interpret; small results convert without allocating. */
export function toInt32(r0: bigint): number {
  return r0 < 0x80000000n ? Number(r0) : Number(BigInt.asIntN(32, r0));
}

const XDP_ABORTED = 0;
const TC_ACT_SHOT = 2;
const TCX_NEXT = -1;

export class CpuRunner {
  readonly cpu: number;
  protected readonly o: CpuRunnerOptions;
  private readonly hooks: (HookEntry | undefined)[] = [];
  private readonly ids = new Uint32Array(HOOK_MAX_PROGS);
  protected readonly ctxBig: bigint;
  private readonly statsW: number;
  protected readonly totals = new Float64Array(8);
  lastFault: string | undefined;

  constructor(o: CpuRunnerOptions) {
    this.o = o;
    this.cpu = o.cpu;
    this.ctxBig = BigInt(o.ctxOff);
    this.statsW = (o.statsOff + o.cpu * CPU_STATS_BYTES) >>> 3;
  }

  /** Publish this CPU's state word. */
  setState(s: CpuState): void {
    Atomics.store(this.o.arena.i64, this.statsW + CS_STATE, BigInt(s));
  }

  /** Published slots waiting in the ring. */
  pending(): number {
    const i32 = this.o.arena.i32;
    const w = this.o.ringOff >>> 2;
    return (Atomics.load(i32, w + (ER_TAIL >>> 2)) - Atomics.load(i32, w + (ER_HEAD >>> 2))) >>> 0;
  }

  /**
   * Threads mode: process up to `max` slots (every delivery of each), then
   * release them. Returns the number of slots processed.
   */
  runBatch(max: number): number {
    const { arena, ringOff } = this.o;
    const i32 = arena.i32;
    const rw = ringOff >>> 2;
    const head = Atomics.load(i32, rw + (ER_HEAD >>> 2)) >>> 0;
    const tail = Atomics.load(i32, rw + (ER_TAIL >>> 2)) >>> 0;
    const n = Math.min(max, (tail - head) >>> 0);
    if (n === 0) return 0;
    const mask = arena.u32[rw + (ER_CAPACITY >>> 2)]! - 1;
    const slotBytes = arena.u32[rw + (ER_SLOT_BYTES >>> 2)]!;
    const base = ringOff + ER_SLOTS;
    let deliveries = 0;
    for (let i = 0; i < n; i++) {
      const s = base + ((head + i) & mask) * slotBytes;
      const rep = arena.u32[(s + EV_REPEAT) >>> 2]! || 1;
      this.deliver(s, rep);
      deliveries += rep;
    }
    this.totals[CS_DELIVERIES] += deliveries;
    this.totals[CS_SLOTS] += n;
    this.totals[CS_BATCHES] += 1;
    // Results first, then the slots: whoever sees the ring drained (the
    // machine's drain) also sees every counter of the events in it.
    this.flush();
    Atomics.store(i32, rw + (ER_HEAD >>> 2), (head + n) | 0);
    return n;
  }

  /** The hook entry, re-read when its generation changed (seqlock, hook-table.ts). */
  protected hook(hookId: number): HookEntry {
    const { arena, hookTableOff } = this.o;
    let h = this.hooks[hookId];
    const seq = hookSeq(arena, hookTableOff, hookId);
    if (h && h.seq === seq) return h;
    const [count, stable] = hookRead(arena, hookTableOff, hookId, this.ids);
    const progs: CompiledProgram[] = [];
    for (let i = 0; i < count; i++) {
      const p = this.o.resolveProgram(this.ids[i]!);
      if (p) progs.push(p);
    }
    if (!h) {
      const info = hookInfo(arena, hookTableOff, hookId);
      h = { seq: stable, type: info.type, target: info.target, progs, counters: new Float64Array(HC_WORDS), dirty: false };
      // Continue from what an earlier runner on this CPU published (a restarted worker).
      const ci = hookCounterIndex(arena, hookTableOff, hookId, this.o.cpu);
      for (let w = 0; w < HC_WORDS; w++) h.counters[w] = Number(Atomics.load(arena.i64, ci + w));
      this.hooks[hookId] = h;
    } else {
      h.seq = stable;
      h.progs = progs;
    }
    return h;
  }

  /** Run the hook's programs `rep` times on the event in slot `s`. */
  protected deliver(s: number, rep: number): void {
    const h = this.hook(this.o.arena.u32[(s + EV_HOOK) >>> 2]!);
    if (!this.begin(h, rep)) return;
    const progs = h.progs;
    if (h.type === HookType.Xdp) return this.deliverXdp(h, progs[0]!, s, rep);
    const len = this.o.arena.u32[(s + EV_DATA_LEN) >>> 2]!;
    for (let r = 0; r < rep; r++) {
      const ctx = this.prepare(h, s);
      for (let i = 0; ; i++) if (!this.settle(h, i, progs.length, this.runOne(progs[i]!, ctx, h), len)) break;
    }
  }

  /**
   * The hot path: XDP, one program, `rep` repetitions of the frame in slot
   * `s`. Same results as prepare/runOne/settle, without their dispatch.
   */
  private deliverXdp(h: HookEntry, p: CompiledProgram, s: number, rep: number): void {
    const { arena, ctxOff, cpuCtx } = this.o;
    const u32 = arena.u32;
    const len = u32[(s + EV_DATA_LEN) >>> 2]!;
    const dataOff = s + EV_HDR_BYTES;
    const rxq = u32[(s + EV_ARG0) >>> 2]!;
    const c = h.counters;
    const ctx = this.ctxBig;
    // The engine's int32 entry when it has one: no BigInt per run.
    const run32 = p.runInt32 ? p : undefined;
    for (let r = 0; r < rep; r++) {
      buildXdpMd(arena, ctxOff, dataOff, len, h.target, rxq);
      cpuCtx.tailCalls = 0;
      let act: number;
      try {
        act = run32 ? run32.runInt32!(ctxOff, cpuCtx) : toInt32(p.run(ctx, cpuCtx));
      } catch (e) {
        act = this.fault(h, e);
      }
      c[HC_ACTION + (act >>> 0 <= 4 ? act : XDP_ABORTED)] += 1;
    }
    c[HC_RUNS] += rep;
    this.totals[CS_RUNS] += rep;
  }

  /**
   * Count `rep` deliveries to hook `h`; false when no program is attached
   * (the events are counted as HC_NO_PROG and nothing runs).
   */
  begin(h: HookEntry, rep: number): boolean {
    const c = h.counters;
    h.dirty = true;
    c[HC_EVENTS] += rep;
    if (h.progs.length > 0) return true;
    c[HC_NO_PROG] += rep;
    return false;
  }

  /** The context for one delivery of slot `s` to hook `h`, built in place; returns r1. */
  prepare(h: HookEntry, s: number): bigint {
    const { arena, ctxOff } = this.o;
    const u32 = arena.u32;
    const len = u32[(s + EV_DATA_LEN) >>> 2]!;
    const dataOff = s + EV_HDR_BYTES;
    // Packets: arg0 = rx queue (low word) | RSS hash (high word).
    const arg0 = u32[(s + EV_ARG0) >>> 2]!;
    switch (h.type) {
      case HookType.Xdp:
        buildXdpMd(arena, ctxOff, dataOff, len, h.target, arg0);
        return this.ctxBig;
      case HookType.TcIngress:
      case HookType.TcEgress:
        buildSkBuff(arena, ctxOff, dataOff, len, h.target, arg0, u32[(s + EV_ARG0 + 4) >>> 2]!);
        return this.ctxBig;
      case HookType.SocketFilter:
        buildSkBuff(arena, ctxOff, dataOff, len, h.target, 0, u32[(s + EV_ARG0 + 4) >>> 2]!);
        return this.ctxBig;
      default:
        // Tracing hooks: the payload is the context (pt_regs, record, args, bpf_perf_event_data).
        return BigInt(dataOff);
    }
  }

  /**
   * Program `i` of the `np` programs of hook `h` returned `ret` on a
   * `len`-byte event: record the result; true if program i + 1 runs next.
   *  - XDP: one program; its action is counted (above XDP_REDIRECT: aborted).
   *  - tc: programs run in order while they return TCX_NEXT; all "next" = TC_ACT_OK.
   *  - socket filter: one filter; r0 is the number of bytes kept.
   *  - tracing: every program runs; r0 is only counted (0 or not).
   */
  settle(h: HookEntry, i: number, np: number, ret: number, len: number): boolean {
    const c = h.counters;
    switch (h.type) {
      case HookType.Xdp:
        c[HC_ACTION + (ret >>> 0 <= 4 ? ret : XDP_ABORTED)] += 1;
        return false;
      case HookType.TcIngress:
      case HookType.TcEgress:
        if (ret === TCX_NEXT && i + 1 < np) return true;
        c[HC_ACTION + 1 + (ret === TCX_NEXT ? 0 : ret >= -1 && ret <= 7 ? ret : TC_ACT_SHOT)] += 1;
        return false;
      case HookType.SocketFilter: {
        const keep = Math.min(ret >>> 0, len);
        c[HC_ACTION + (keep === 0 ? 0 : 1)] += 1;
        c[HC_BYTES_KEPT] += keep;
        if (keep > 0 && keep < len) c[HC_TRUNCATED] += 1;
        return false;
      }
      default:
        c[HC_ACTION + (ret === 0 ? 0 : 1)] += 1;
        return i + 1 < np;
    }
  }

  /** What a faulting run counts as: XDP_ABORTED, TC_ACT_SHOT, or 0 (drop / ignored). */
  faultValue(h: HookEntry): number {
    return h.type === HookType.TcIngress || h.type === HookType.TcEgress ? TC_ACT_SHOT : h.type === HookType.Xdp ? XDP_ABORTED : 0;
  }

  /** Run one program to completion; a fault is counted and yields `faultValue`. */
  private runOne(p: CompiledProgram, ctx: bigint, h: HookEntry): number {
    const cpuCtx = this.o.cpuCtx;
    cpuCtx.tailCalls = 0;
    h.counters[HC_RUNS] += 1;
    this.totals[CS_RUNS] += 1;
    try {
      // Contexts at arena offsets below 4 GiB take the engine's int32 entry.
      if (p.runInt32 && ctx < 0x100000000n) return p.runInt32(Number(ctx), cpuCtx);
      return toInt32(p.run(ctx, cpuCtx));
    } catch (e) {
      return this.fault(h, e);
    }
  }

  /** Count a program fault (rethrow anything that is not one: a bug, not a program's doing). */
  fault(h: HookEntry, e: unknown): number {
    if (!(e instanceof ProgramFault)) throw e;
    h.counters[HC_FAULTS] += 1;
    this.totals[CS_FAULTS] += 1;
    this.lastFault = e.message;
    return this.faultValue(h);
  }

  /** Store this CPU's running totals (hook rows and the stats row). */
  flush(): void {
    const { arena, hookTableOff, cpu } = this.o;
    const i64 = arena.i64;
    for (let id = 0; id < this.hooks.length; id++) {
      const h = this.hooks[id];
      if (!h || !h.dirty) continue;
      h.dirty = false;
      const ci = hookCounterIndex(arena, hookTableOff, id, cpu);
      for (let w = 0; w < HC_WORDS; w++) if (h.counters[w] !== 0) Atomics.store(i64, ci + w, BigInt(h.counters[w]!));
    }
    for (let w = 0; w < CS_STATE; w++) Atomics.store(i64, this.statsW + w, BigInt(this.totals[w]!));
    Atomics.store(i64, this.statsW + CS_RUNS, BigInt(this.totals[CS_RUNS]!));
  }
}
