import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { objectNameFromPath, openObject, type CollectionSpec } from "@bpfsim/loader";

/** Folder of the checked-in C fixtures and their objects. */
export const fixturesDir = fileURLToPath(new URL("../fixtures/", import.meta.url));
/** The shared benchmark programs, next to the repository. */
export const benchDir = fileURLToPath(new URL("../../../shared/bench/progs/", import.meta.url));
export const haveBench = existsSync(`${benchDir}empty.bpf.o`);

export function readObject(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Opens an object the way libbpf names it: by its file name. */
export function openFile(path: string): CollectionSpec {
  return openObject(readObject(path), { name: objectNameFromPath(path) });
}

export const fixtureObjects = [
  "btf_kinds.bpf.o",
  "core_externs.bpf.o",
  "globals.bpf.o",
  "legacy_maps.bpf.o",
  "map_in_map.bpf.o",
  "maps.bpf.o",
  "sections.bpf.o",
  "spin_lock.bpf.o",
  "subprogs.bpf.o",
  "tail_calls.bpf.o",
];

export const benchObjects = [
  "alu_loop.bpf.o",
  "empty.bpf.o",
  "hash_lookup.bpf.o",
  "lpm_route.bpf.o",
  "percpu_counter.bpf.o",
  "perf_output.bpf.o",
  "ringbuf_output.bpf.o",
  "xdp_parse.bpf.o",
];
