import { describe, it } from "vitest";
import { lruPercpuHashMapOps } from "./lru-percpu-hash.js";
import { MapType, BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU } from "../uapi.js";
import { runHtabModel } from "../../../../test/maps/htab-model.js";

const base = { ops: lruPercpuHashMapOps, mapType: MapType.LruPercpuHash, percpu: true, lru: true, ncpus: 3, keySpace: 14 };

describe("lru-percpu-hash against a model", () => {
  it("u32 keys, prealloc", () => runHtabModel({ ...base, keySize: 4, valueSize: 12, maxEntries: 8, mapFlags: 0 }));
  it("odd key size (jhash byte path)", () => runHtabModel({ ...base, keySize: 6, valueSize: 5, maxEntries: 8, mapFlags: 0 }));
  it("variant flags", () =>
    runHtabModel({ ...base, keySize: 8, valueSize: 8, maxEntries: 7, mapFlags: BPF_F_NO_COMMON_LRU }));
});
