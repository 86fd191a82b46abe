/**
 * Stepped mode: every CPU's run loop on the calling thread, and a seeded
 * scheduler that picks which CPU makes the next step. Two granularities:
 *  - "event" (default): a step is one delivery — one event (one repetition
 *    of a burst) with every program its hook runs — so programs on
 *    different CPUs interleave between events;
 *  - "instruction" (interpreter engine only): a step is one eBPF
 *    instruction, so programs on different CPUs interleave between
 *    instructions (a helper call is one step), which exposes races such as
 *    a lost update between a load and a store.
 * The same seed and the same pushes give the same order, so a failing run
 * replays exactly.
 */
import type { SteppedCpuRunner } from "@bpfsim/cpu-worker";
import { Rng } from "./rng.js";

export class SteppedScheduler {
  private readonly rng: Rng;
  /** CPU numbers in the order they ran (kept only when tracing). */
  readonly trace: number[] | undefined;
  steps = 0;
  /** Called after every step with the CPU that made it (tests, replay tools). */
  onStep: ((cpu: number) => void) | undefined;

  constructor(
    private readonly runners: SteppedCpuRunner[],
    seed: number,
    keepTrace = false,
    private readonly granularity: "event" | "instruction" = "event",
  ) {
    this.rng = new Rng(seed);
    this.trace = keepTrace ? [] : undefined;
  }

  /** One step on a randomly chosen CPU with work. False when every ring is empty. */
  step(): boolean {
    let ready = 0;
    for (const r of this.runners) if (r.pending() > 0) ready++;
    if (ready === 0) return false;
    let k = this.rng.below(ready);
    for (const r of this.runners) {
      if (r.pending() === 0) continue;
      if (k-- === 0) {
        if (this.granularity === "event") r.step();
        else r.stepInsn();
        this.steps++;
        this.trace?.push(r.cpu);
        this.onStep?.(r.cpu);
        return true;
      }
    }
    return false;
  }

  /** Run until every ring is empty or `maxSteps` steps ran; returns the steps made. */
  run(maxSteps = Infinity): number {
    let n = 0;
    while (n < maxSteps && this.step()) n++;
    return n;
  }
}
