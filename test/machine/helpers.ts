/**
 * Shared pieces of the machine tests: small eBPF programs in assembly, map
 * readers, and the check that the built worker entry exists (CPU workers
 * load packages/cpu-worker/dist; `pnpm test` builds first).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assemble } from "@bpfsim/loader";
import { MapType, ProgType, type Process } from "@bpfsim/core";
import type { Machine } from "@bpfsim/harness";

const workerJs = fileURLToPath(new URL("../../packages/cpu-worker/dist/worker.js", import.meta.url));
const loadJs = fileURLToPath(new URL("../../packages/harness/dist/load/load-task.js", import.meta.url));

/** Why threads-mode tests cannot run here, or undefined if they can. */
export function threadsUnavailable(): string | undefined {
  if (!existsSync(workerJs) || !existsSync(loadJs)) return "built worker entries missing (run `pnpm build` first)";
  return undefined;
}

export function skipNote(reason: string | undefined, what: string): boolean {
  if (reason) console.log(`skipped ${what}: ${reason}`);
  return reason !== undefined;
}

/** Program bumping a PERCPU_ARRAY counter and, atomically, an ARRAY counter; returns `ret`. */
export function counterProg(pcFd: number, shFd: number, ret = 2): Uint8Array {
  return assemble(`
stw [%r10-4], 0
lddw %r1, map_fd ${pcFd}
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
add %r1, 1
stxdw [%r0+0], %r1
lddw %r1, map_fd ${shFd}
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, out
mov %r1, 1
lock add [%r0+0], %r1
out:
mov %r0, ${ret}
exit
`);
}

/** Create a PERCPU_ARRAY and an ARRAY of one u64 each. */
export function counterMaps(p: Process): { pcFd: number; shFd: number } {
  return {
    pcFd: p.mapCreate({ mapType: MapType.PercpuArray, keySize: 4, valueSize: 8, maxEntries: 1 }),
    shFd: p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 }),
  };
}

/** u64 values of key `key` of a per-CPU map, one per CPU. */
export function percpuU64(p: Process, fd: number, ncpus: number, key = 0): bigint[] {
  const v = p.mapLookup(fd, new Uint8Array(new Uint32Array([key]).buffer))!;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return Array.from({ length: ncpus }, (_, c) => dv.getBigUint64(c * 8, true));
}

/** u64 value of key `key` of an array map. */
export function arrayU64(p: Process, fd: number, key = 0): bigint {
  const v = p.mapLookup(fd, new Uint8Array(new Uint32Array([key]).buffer))!;
  return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
}

export function loadXdp(m: Machine, insns: Uint8Array, name = "t"): number {
  return m.loadProgram({ progType: ProgType.Xdp, insns, name });
}

export const FRAME64 = new Uint8Array(64);
