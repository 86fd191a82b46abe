/**
 * Entry of a CPU worker thread: one simulated CPU.
 *
 * It maps the machine's arena and attaches the kernel there, then loops:
 * take a batch from its event ring, run it, repeat; with nothing to do it
 * sleeps on the ring's doorbell. It sleeps with Atomics.waitAsync rather
 * than Atomics.wait so that the control plane (comlink: stats, shutdown) is
 * still served while the CPU is idle, and while busy it yields to the event
 * loop every few milliseconds for the same reason. The per-event path never
 * touches the event loop. Programs are found by id in the kernel's object
 * table; their JIT modules come from the machine (`adoptProgram`) or, if one
 * has not arrived, are compiled here on first use (cached per thread).
 */
import { parentPort, workerData } from "node:worker_threads";
import { expose } from "comlink";
import { ER_DOORBELL, Kernel, jitCompileCount, ringClosed } from "@bpfsim/core";
import { adoptProgramModule, makeCpuContext, resolveProgramById } from "./cpu-context.js";
import { nodeEndpoint } from "./endpoint.js";
import { serialising, type CpuBoot, type CpuControl } from "./protocol.js";
import { CpuRunner, CpuState } from "./run-loop.js";

const boot = workerData as CpuBoot;
const kernel = Kernel.attach(boot.memory);
const arena = kernel.arena;
const cpuCtx = makeCpuContext({ kernel, cpu: boot.cpu });
const runner = new CpuRunner({
  arena,
  cpu: boot.cpu,
  ringOff: boot.ringOff,
  hookTableOff: boot.hookTableOff,
  statsOff: boot.statsOff,
  ctxOff: boot.ctxOff,
  cpuCtx,
  resolveProgram: (id) => resolveProgramById(kernel, id),
});

type WaitAsync = (ta: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
const YIELD_MS = 4;
const IDLE_WAIT_MS = 100;
let stopping = false;

async function loop(): Promise<void> {
  const i32 = arena.i32;
  const dw = (boot.ringOff + ER_DOORBELL) >>> 2;
  let since = performance.now();
  runner.setState(CpuState.Running);
  for (;;) {
    const n = runner.runBatch(boot.batch);
    if (n > 0) {
      if (performance.now() - since > YIELD_MS) {
        await new Promise((r) => setImmediate(r));
        since = performance.now();
      }
      continue;
    }
    if (stopping || ringClosed(arena, boot.ringOff)) break;
    // The doorbell handshake of event-ring.ts, with an asynchronous wait.
    Atomics.store(i32, dw, 1);
    if (runner.pending() === 0 && !ringClosed(arena, boot.ringOff)) {
      runner.setState(CpuState.Idle);
      const r = waitAsync(i32, dw, 1, IDLE_WAIT_MS);
      if (r.async) await r.value;
      runner.setState(CpuState.Running);
    }
    Atomics.store(i32, dw, 0);
    since = performance.now();
  }
  runner.setState(CpuState.Stopped);
}

const done = loop();

const control: CpuControl = {
  async stats() {
    return { cpu: boot.cpu, state: stopping ? "stopping" : "running", lastFault: runner.lastFault, jitCompiles: jitCompileCount() };
  },
  async adoptProgram(id: number, module: WebAssembly.Module, arenaSize: number) {
    adoptProgramModule(id, module, arenaSize);
  },
  async shutdown() {
    stopping = true;
    await done;
  },
};

done.catch((e: unknown) => {
  // A bug in the run loop (not a program fault): mark the CPU dead and let
  // the machine see the error through the worker's 'error' event.
  runner.setState(CpuState.Dead);
  setImmediate(() => {
    throw e;
  });
});

expose(serialising(control), nodeEndpoint(parentPort!));
