/**
 * User-space load threads: a piscina pool whose workers are simulated
 * processes (load-task.ts) working on the machine's maps concurrently with
 * the CPUs. The pool is given the arena once (workerData); tasks are small
 * descriptions, results come back as data.
 */
import { Piscina } from "piscina";
import { KERNEL_OWNER } from "@bpfsim/core";
import type { Machine } from "../machine/machine.js";
import type { LoadResult, LoadTask } from "./load-task.js";

type TaskSpec = LoadTask extends infer T ? (T extends LoadTask ? Omit<T, "stopOff"> : never) : never;

export class LoadThreads {
  private readonly pool: Piscina;
  private readonly stopOff: number;

  constructor(
    private readonly m: Machine,
    threads = 2,
  ) {
    this.pool = new Piscina({
      filename: new URL("../../dist/load/load-task.js", import.meta.url).href,
      workerData: { memory: m.arena.memory },
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 1000,
    });
    this.stopOff = m.arena.alloc(8, KERNEL_OWNER);
    m.arena.i32[this.stopOff >>> 2] = 0;
  }

  /** Start a task on a pool thread; resolves with its result when it ends. */
  run(task: TaskSpec): Promise<LoadResult> {
    return this.pool.run({ ...task, stopOff: this.stopOff } as LoadTask) as Promise<LoadResult>;
  }

  /** Ask every running task to finish now. */
  stop(): void {
    Atomics.store(this.m.arena.i32, this.stopOff >>> 2, 1);
  }

  async close(): Promise<void> {
    this.stop();
    await this.pool.destroy();
  }
}
