/**
 * A piscina worker: a user-space process of the simulated machine running on
 * its own thread, concurrently with the CPUs. It attaches the kernel over
 * the machine's arena (passed once as workerData), creates its own process
 * (its own fd table), opens maps by id or pinned path as any tool would, and
 * runs one load task:
 *
 *  - "writer": updates an ARRAY map's value 0 every `periodMs`, cycling
 *    through `values` (the scenario's sample mask);
 *  - "reader": walks a map with GET_NEXT_KEY + LOOKUP every `periodMs` and
 *    reports how many elements and how many full passes it saw.
 *
 * Each task ends after `durationMs` or when the stop word is set. Errors are
 * returned as data ({ error: { errno, message } }), not thrown, so they cross
 * the thread boundary with their errno.
 */
import { workerData } from "node:worker_threads";
import { BpfCmd, BpfError, Kernel, type Process } from "@bpfsim/core";

export type LoadTask =
  | { kind: "writer"; mapId?: number; pin?: string; values: number[]; periodMs: number; durationMs: number; stopOff: number }
  | { kind: "reader"; mapId?: number; pin?: string; periodMs: number; durationMs: number; stopOff: number };

export interface LoadResult {
  kind: string;
  pid: number;
  ops: number;
  passes: number;
  lastCount: number;
  error?: { errno: number; message: string };
}

const kernel = Kernel.attach((workerData as { memory: WebAssembly.Memory }).memory);

function openMap(p: Process, t: { mapId?: number; pin?: string }): number {
  if (t.pin) return p.objGet(t.pin);
  const fd = p.bpf(BpfCmd.MapGetFdById, { id: t.mapId ?? 0 });
  if (fd < 0) throw new BpfError(-fd, `BPF_MAP_GET_FD_BY_ID ${t.mapId}`);
  return fd;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export default function run(t: LoadTask): LoadResult {
  const p = kernel.createProcess({ comm: t.kind });
  const res: LoadResult = { kind: t.kind, pid: p.pid, ops: 0, passes: 0, lastCount: 0 };
  try {
    const fd = openMap(p, t);
    const end = performance.now() + t.durationMs;
    const stopped = () => Atomics.load(kernel.arena.i32, t.stopOff >>> 2) !== 0 || performance.now() >= end;
    if (t.kind === "writer") {
      const key = new Uint8Array(4);
      const val = new Uint8Array(8);
      const dv = new DataView(val.buffer);
      for (let i = 0; !stopped(); i++) {
        dv.setBigUint64(0, BigInt(t.values[i % t.values.length]!), true);
        p.mapUpdate(fd, key, val);
        res.ops++;
        sleep(t.periodMs);
      }
    } else {
      while (!stopped()) {
        let key: Uint8Array | null = null;
        let n = 0;
        for (;;) {
          const next = p.mapGetNextKey(fd, key);
          if (!next) break;
          // A key deleted between the two calls is an answer, not an error.
          p.mapLookup(fd, next);
          res.ops += 2;
          n++;
          key = next;
        }
        res.passes++;
        res.lastCount = n;
        sleep(t.periodMs);
      }
    }
  } catch (e) {
    res.error = { errno: e instanceof BpfError ? e.errno : 5, message: e instanceof Error ? e.message : String(e) };
  } finally {
    p.exit();
  }
  return res;
}
