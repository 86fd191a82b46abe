/**
 * Shared pieces of the machine tests: a machine that is always shut down,
 * small eBPF programs and assembly fragments, map readers, and the check
 * that the built worker entry exists (CPU workers load
 * packages/cpu-worker/dist; `pnpm test` builds first).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assemble } from "@bpfsim/loader";
import { MapType, ProgType, type Process } from "@bpfsim/core";
import { createMachine, type Machine, type MachineOptions } from "@bpfsim/harness";

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

/** What most machine tests run on: a 16 MiB arena and, per CPU, 64 event slots of 128 bytes. */
export const TEST_MACHINE = { arenaSize: 16 << 20, ringSlots: 64, slotBytes: 128 } as const;

/**
 * Run `body` on a fresh machine (TEST_MACHINE, with `opts` on top) and shut
 * it down afterwards, passed or failed, so a failing test leaves no CPU
 * worker running into the next one.
 */
export async function withMachine<T>(opts: MachineOptions, body: (m: Machine) => Promise<T>): Promise<T> {
  const m = await createMachine({ ...TEST_MACHINE, ...opts });
  try {
    return await body(m);
  } finally {
    await m.shutdown();
  }
}

/** Assembly: r0 = bpf_map_lookup_elem(map `fd`, key at r10 + keyOff). Clobbers r1-r5. */
export function asmLookup(fd: number, keyOff = -4): string {
  return `lddw %r1, map_fd ${fd}\nmov %r2, %r10\nadd %r2, ${keyOff}\ncall 1`;
}

/** Assembly: r0 = bpf_map_update_elem(map `fd`, key at r10 + keyOff, value at r10 + valueOff, flags). Clobbers r1-r5. */
export function asmUpdate(fd: number, keyOff: number, valueOff: number, flags: number): string {
  return `lddw %r1, map_fd ${fd}\nmov %r2, %r10\nadd %r2, ${keyOff}\nmov %r3, %r10\nadd %r3, ${valueOff}\nmov %r4, ${flags}\ncall 2`;
}

/** Program bumping a PERCPU_ARRAY counter and, atomically, an ARRAY counter; returns `ret`. */
export function counterProg(pcFd: number, shFd: number, ret = 2): Uint8Array {
  return assemble(`
stw [%r10-4], 0
${asmLookup(pcFd)}
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
add %r1, 1
stxdw [%r0+0], %r1
${asmLookup(shFd)}
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
