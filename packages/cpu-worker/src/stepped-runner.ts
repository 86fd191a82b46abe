/**
 * A CPU driven by the stepped scheduler: the same run loop as a worker's
 * (run-loop.ts), advanced one delivery (`step`) or one eBPF instruction
 * (`stepInsn`, interpreter programs) at a time, so the scheduler can
 * interleave CPUs at either granularity. A burst of n is n deliveries; its
 * slot is released after the last.
 *
 * Who may call: the stepped scheduler, on the thread that owns all CPUs.
 */
import {
  BpfError,
  Errno,
  EV_DATA_LEN,
  EV_HOOK,
  EV_REPEAT,
  ER_CAPACITY,
  ER_HEAD,
  ER_SLOTS,
  ER_SLOT_BYTES,
  HC_RUNS,
  InterpreterProgram,
  type CompiledProgram,
  type VmState,
} from "@bpfsim/core";
import { CpuRunner, CS_BATCHES, CS_DELIVERIES, CS_RUNS, CS_SLOTS, toInt32, type HookEntry } from "./run-loop.js";

export class SteppedCpuRunner extends CpuRunner {
  /** Deliveries left of the slot at the head of the ring. */
  private burstLeft = 0;

  /**
   * Stepped mode: one delivery of the event at the head of the ring (a
   * burst of n takes n steps). Returns false if the ring is empty.
   */
  step(): boolean {
    if (this.pending() === 0) return false;
    const s = this.headSlot();
    this.deliver(s, 1);
    this.totals[CS_DELIVERIES] += 1;
    this.endDelivery();
    return true;
  }

  /**
   * Stepped mode at instruction granularity (interpreter programs only):
   * execute one eBPF instruction of the delivery in progress on this CPU,
   * starting the next delivery when none is. Helper calls run whole inside
   * one step. Returns false if there is nothing to do.
   */
  stepInsn(): boolean {
    let cur = this.cur;
    if (!cur) {
      if (this.pending() === 0) return false;
      const s = this.headSlot();
      const h = this.hook(this.o.arena.u32[(s + EV_HOOK) >>> 2]!);
      this.totals[CS_DELIVERIES] += 1;
      if (!this.begin(h, 1)) {
        this.endDelivery();
        return true;
      }
      const progs = h.progs;
      cur = this.cur = { h, progs, i: 0, ctx: this.prepare(h, s), len: this.o.arena.u32[(s + EV_DATA_LEN) >>> 2]!, st: undefined, prog: undefined };
      this.startProg(cur);
    }
    let ret: number | undefined;
    try {
      const r = cur.prog!.step(cur.st!, this.o.cpuCtx, 1);
      if (r.done) ret = toInt32(r.r0);
    } catch (e) {
      ret = this.fault(cur.h, e);
    }
    if (ret === undefined) return true;
    if (this.settle(cur.h, cur.i, cur.progs.length, ret, cur.len)) {
      cur.i++;
      this.startProg(cur);
      return true;
    }
    this.cur = undefined;
    this.endDelivery();
    return true;
  }

  private cur: { h: HookEntry; progs: CompiledProgram[]; i: number; ctx: bigint; len: number; st: VmState | undefined; prog: InterpreterProgram | undefined } | undefined;

  private startProg(cur: NonNullable<SteppedCpuRunner["cur"]>): void {
    const p = cur.progs[cur.i];
    if (!(p instanceof InterpreterProgram)) throw new BpfError(Errno.EINVAL, "instruction-level stepping needs the interpreter engine");
    this.o.cpuCtx.tailCalls = 0;
    cur.h.counters[HC_RUNS] += 1;
    this.totals[CS_RUNS] += 1;
    cur.prog = p;
    cur.st = p.start(cur.ctx, this.o.cpuCtx);
  }

  /** Offset of the slot at the head of the ring; a new burst starts its countdown. */
  private headSlot(): number {
    const { arena, ringOff } = this.o;
    const rw = ringOff >>> 2;
    const head = Atomics.load(arena.i32, rw + (ER_HEAD >>> 2)) >>> 0;
    const s = ringOff + ER_SLOTS + (head & (arena.u32[rw + (ER_CAPACITY >>> 2)]! - 1)) * arena.u32[rw + (ER_SLOT_BYTES >>> 2)]!;
    if (this.burstLeft === 0) this.burstLeft = arena.u32[(s + EV_REPEAT) >>> 2]! || 1;
    return s;
  }

  /** One delivery of the head slot is done: release the slot after its last repetition. */
  private endDelivery(): void {
    if (--this.burstLeft !== 0) return;
    const { arena, ringOff } = this.o;
    const hw = (ringOff >>> 2) + (ER_HEAD >>> 2);
    this.totals[CS_SLOTS] += 1;
    this.totals[CS_BATCHES] += 1;
    // Publish counters when the ring runs dry (and every 256 slots), not per
    // step, and before the slot is released (see runBatch).
    if (this.pending() === 1 || (this.totals[CS_SLOTS]! & 255) === 0) this.flush();
    Atomics.store(arena.i32, hw, (Atomics.load(arena.i32, hw) + 1) | 0);
  }
}
