import { describe, expect, it } from "vitest";
import { Kernel } from "../kernel/kernel.js";
import { BPF_F_NO_COMMON_LRU, MapType } from "../uapi.js";

// Linux's htab_map_alloc(): with BPF_F_NO_COMMON_LRU each CPU's LRU list gets
// max_entries / possible CPUs elements, so max_entries is rounded up to a
// multiple of the CPUs (down when that would overflow u32), and
// bpf_map_info reports the rounded value. A common LRU keeps the user's value.
describe("LRU max_entries with BPF_F_NO_COMMON_LRU", () => {
  const k = Kernel.create({ ncpus: 3, size: 32 << 20 });
  const p = k.createProcess();
  const info = (mapType: number, maxEntries: number, mapFlags: number) => {
    const fd = p.mapCreate({ mapType, keySize: 4, valueSize: 8, maxEntries, mapFlags });
    try {
      return p.mapInfo(fd).maxEntries;
    } finally {
      p.close(fd);
    }
  };
  it.each([MapType.LruHash, MapType.LruPercpuHash])("type %i rounds up to a multiple of the CPUs", (t) => {
    expect(info(t, 1025, BPF_F_NO_COMMON_LRU)).toBe(1026);
    expect(info(t, 1, BPF_F_NO_COMMON_LRU)).toBe(3);
    expect(info(t, 1026, BPF_F_NO_COMMON_LRU)).toBe(1026);
    expect(info(t, 1025, 0)).toBe(1025);
  });
});
