/**
 * Map types by Linux map type number (include/linux/bpf_types.h in spirit):
 * one line per type. The syscall layer indexes this table and never
 * switches on the map type itself.
 */
import type { MapOps } from "./map-ops.js";
import { hashMapOps } from "./hash.js";
import { percpuHashMapOps } from "./percpu-hash.js";
import { lruHashMapOps } from "./lru-hash.js";
import { lruPercpuHashMapOps } from "./lru-percpu-hash.js";
import { perfEventArrayMapOps } from "./perf-event-array.js";
import { progArrayMapOps } from "./prog-array.js";
import { arrayMapOps } from "./array.js";
import { percpuArrayMapOps } from "./percpu-array.js";
import { lpmTrieMapOps } from "./lpm-trie.js";
import { ringbufMapOps } from "./ringbuf.js";
import { queueMapOps, stackMapOps } from "./queue-stack.js";
import { arrayOfMapsMapOps } from "./array-of-maps.js";
import { hashOfMapsMapOps } from "./hash-of-maps.js";
import { bloomFilterMapOps } from "./bloom-filter.js";
import "../ringbuf/ringbuf-helpers.js"; // registers the ring buffer helpers with the map type

export const mapOpsByType: ReadonlyArray<MapOps | undefined> = (() => {
  const t: (MapOps | undefined)[] = [];
  // t[MapType.Hash] = hashMapOps;  (one line per type, added with each map file)
  t[1 /* MapType.Hash */] = hashMapOps;
  t[5 /* MapType.PercpuHash */] = percpuHashMapOps;
  t[9 /* MapType.LruHash */] = lruHashMapOps;
  t[10 /* MapType.LruPercpuHash */] = lruPercpuHashMapOps;
  t[4 /* MapType.PerfEventArray */] = perfEventArrayMapOps;
  t[3 /* MapType.ProgArray */] = progArrayMapOps;
  t[2 /* MapType.Array */] = arrayMapOps;
  t[6 /* MapType.PercpuArray */] = percpuArrayMapOps;
  t[11 /* MapType.LpmTrie */] = lpmTrieMapOps;
  t[27 /* MapType.Ringbuf */] = ringbufMapOps;
  t[22 /* MapType.Queue */] = queueMapOps;
  t[23 /* MapType.Stack */] = stackMapOps;
  t[12 /* MapType.ArrayOfMaps */] = arrayOfMapsMapOps;
  t[13 /* MapType.HashOfMaps */] = hashOfMapsMapOps;
  t[30 /* MapType.BloomFilter */] = bloomFilterMapOps;
  return t;
})();

/** The ops of a map type, or undefined if bpfsim does not implement it (EINVAL at create). */
export function mapOpsFor(type: number): MapOps | undefined {
  return mapOpsByType[type];
}
