import { describe, expect, it } from "vitest";
import { BPF_F_RDONLY_PROG, Kernel, mapOpsFor, MapType, ObjKind } from "@bpfsim/core";
import { copyCollectionSpec, loadCollectionMaps, PinType } from "@bpfsim/loader";
import { fixturesDir, openFile } from "./load-fixture.js";

const MiB = 1024 * 1024;

function boot() {
  const k = Kernel.create({ ncpus: 2, size: 32 * MiB });
  return { k, p: k.createProcess({ comm: "loader" }) };
}
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

describe("loadCollectionMaps", () => {
  it("creates global data maps with their contents and freezes .rodata", () => {
    const { p } = boot();
    const spec = openFile(`${fixturesDir}globals.bpf.o`);
    const col = loadCollectionMaps(p, spec);
    const data = col.maps[".data"]!;
    const info = p.mapInfo(data.fd);
    expect(info).toMatchObject({ type: MapType.Array, keySize: 4, valueSize: 24, maxEntries: 1, name: "globals.data" });
    const v = spec.maps[".data"]!.contents[0]!;
    if (v.kind === "value") expect(p.mapLookup(data.fd, u32(0))).toEqual(v.value);
    const ro = col.maps[".rodata"]!;
    expect(p.mapInfo(ro.fd).mapFlags & BPF_F_RDONLY_PROG).toBe(BPF_F_RDONLY_PROG);
    expect(() => p.mapUpdate(ro.fd, u32(0), new Uint8Array(33))).toThrow(/EPERM/); // frozen
    col.close();
    expect(p.openFds()).toEqual([0, 1, 2]);
  });

  const haveMapInMap = mapOpsFor(MapType.ArrayOfMaps) !== undefined && mapOpsFor(MapType.HashOfMaps) !== undefined;
  if (!haveMapInMap) console.log("skipped map-in-map loading: bpfsim has no ARRAY_OF_MAPS/HASH_OF_MAPS yet");
  it.skipIf(!haveMapInMap)("fills map-in-map slots", () => {
    const { p } = boot();
    const mim = openFile(`${fixturesDir}map_in_map.bpf.o`);
    const col = loadCollectionMaps(p, mim);
    const outer = col.maps.outer_array!;
    // Slot 0 holds inner_a: the kernel answers lookups of map-in-map slots with the map id.
    const id = p.mapLookup(outer.fd, u32(0));
    expect(id).toBeDefined();
    expect(new DataView(id!.buffer).getUint32(0, true)).toBe(p.mapInfo(col.maps.inner_a!.fd).id);
    col.close();
  });

  it("leaves prog-array slots for the program step", () => {
    const { p } = boot();
    const tc = openFile(`${fixturesDir}tail_calls.bpf.o`);
    const col2 = loadCollectionMaps(p, tc);
    expect(col2.pendingProgramSlots).toEqual([
      { map: "jmp_table", index: 1, program: "stage_one" },
      { map: "jmp_table", index: 3, program: "stage_two" },
    ]);
    col2.close();
  });

  it("a failure half way closes everything it made", () => {
    const { k, p } = boot();
    const spec = copyCollectionSpec(openFile(`${fixturesDir}globals.bpf.o`));
    spec.maps[".bss"]!.keySize = 0; // EINVAL from BPF_MAP_CREATE, after three maps exist
    expect(() => loadCollectionMaps(p, spec)).toThrow(/EINVAL: map 'globals.bss': BPF_MAP_CREATE/);
    expect(p.openFds()).toEqual([0, 1, 2]);
    expect(k.objects.count(ObjKind.Map)).toBe(0);
  });

  it("pins by name and reuses a compatible pinned map", () => {
    const { p } = boot();
    const spec = copyCollectionSpec(openFile(`${fixturesDir}spin_lock.bpf.o`));
    spec.maps.counters!.pinning = PinType.ByName;
    const a = loadCollectionMaps(p, spec, { pinRoot: "/sys/fs/bpf" });
    const id = p.mapInfo(a.maps.counters!.fd).id;
    a.close();
    const b = loadCollectionMaps(p, spec);
    expect(b.maps.counters!.reused).toBe(true);
    expect(p.mapInfo(b.maps.counters!.fd).id).toBe(id);
    b.close();
    const bad = copyCollectionSpec(spec);
    bad.maps.counters!.maxEntries = 65;
    expect(() => loadCollectionMaps(p, bad)).toThrow(/does not match/);
    expect(p.openFds()).toEqual([0, 1, 2]);
    p.unlink("/sys/fs/bpf/counters");
  });
});
