/**
 * Threads mode: one Node.js worker thread per simulated CPU (N may exceed the
 * host's cores; the OS time-slices them). Each worker runs the cpu-worker
 * entry over the shared arena; the machine talks to it only through comlink
 * for control, never for events.
 */
import { Worker } from "node:worker_threads";
import { wrap, type Remote } from "comlink";
import { BpfError, Errno } from "@bpfsim/core";
import { cpuWorkerUrl, nodeEndpoint, reviveError, type CpuBoot, type CpuControl, type CpuStats } from "@bpfsim/cpu-worker";

export interface CpuHandle {
  readonly cpu: number;
  readonly worker: Worker;
  readonly control: Remote<CpuControl>;
  /** Set when the worker died or was terminated: the reason. */
  dead?: BpfError;
}

/** Start the workers; resolves once every one is online. */
export async function startCpuThreads(boots: CpuBoot[], onDeath: (cpu: number, err: BpfError) => void): Promise<CpuHandle[]> {
  const handles: CpuHandle[] = [];
  const ready: Promise<unknown>[] = [];
  for (const boot of boots) {
    const worker = new Worker(cpuWorkerUrl, { workerData: boot, name: `cpu${boot.cpu}` });
    const h: CpuHandle = { cpu: boot.cpu, worker, control: wrap<CpuControl>(nodeEndpoint(worker)) };
    // Ready when a first control call answers: the worker has loaded its
    // modules and attached the kernel, so events sent after boot are not kept
    // waiting behind module loading. An error or exit before that fails boot.
    const failed = new Promise((_, rej) => {
      worker.once("error", rej);
      worker.once("exit", (code) => rej(new BpfError(Errno.EIO, `cpu ${boot.cpu} exited during boot (code ${code})`)));
    });
    ready.push(Promise.race([h.control.stats(), failed]));
    worker.on("error", (e) => {
      if (h.dead) return;
      h.dead = e instanceof BpfError ? e : new BpfError(Errno.EIO, `cpu ${boot.cpu} failed: ${e.message}`);
      onDeath(boot.cpu, h.dead);
    });
    worker.on("exit", (code) => {
      if (h.dead) return;
      h.dead = new BpfError(Errno.EIO, `cpu ${boot.cpu} exited (code ${code})`);
      if (code !== 0) onDeath(boot.cpu, h.dead);
    });
    handles.push(h);
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    // One CPU failed to start: stop the others rather than leave them running.
    await Promise.all(handles.map((h) => h.worker.terminate()));
    throw e;
  }
  return handles;
}

/** Call a control method, rebuilding a serialised worker error as a BpfError. */
export async function control<T>(h: CpuHandle, f: (c: Remote<CpuControl>) => Promise<T>): Promise<T> {
  if (h.dead) throw new BpfError(h.dead.errno, `cpu ${h.cpu} is dead: ${h.dead.message}`);
  try {
    return await f(h.control);
  } catch (e) {
    throw reviveError(e);
  }
}

export async function statsOf(h: CpuHandle): Promise<CpuStats | undefined> {
  return h.dead ? undefined : control(h, (c) => c.stats());
}

export async function stopCpuThreads(handles: CpuHandle[]): Promise<void> {
  await Promise.all(
    handles.map(async (h) => {
      if (!h.dead) {
        try {
          await Promise.race([control(h, (c) => c.shutdown()), new Promise((r) => setTimeout(r, 2000))]);
        } catch {
          // a CPU that fails to stop is terminated below all the same
        }
      }
      h.dead ??= new BpfError(Errno.ESRCH, `cpu ${h.cpu} stopped`);
      await h.worker.terminate();
    }),
  );
}
