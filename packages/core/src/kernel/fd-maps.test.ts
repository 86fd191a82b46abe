import { afterEach, describe, expect, it } from "vitest";
import { Kernel } from "./kernel.js";
import { BpfCmd, MapType } from "../uapi.js";
import { Errno } from "../errno.js";
import { mapOpsByType } from "../maps/registry.js";
import { arrayMapOps } from "../maps/array.js";
import type { MapOps } from "../maps/map-ops.js";

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

describe("maps whose values are fds", () => {
  it("BPF_MAP_UPDATE_ELEM, raw and high level, resolves the fd in the caller", () => {
    const k = Kernel.create({ ncpus: 2, size: 8 * 1024 * 1024 });
    const p = k.createProcess();
    const inner = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
    const outer = p.mapCreate({ mapType: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
    p.mapUpdate(outer, u32(0), u32(inner));
    expect(p.mapLookup(outer, u32(0))).toEqual(u32(p.mapInfo(inner).id));
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: outer, key: u32(1), value: u32(77) })).toBe(-Errno.EBADF);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: outer, key: u32(1), value: u32(1) })).toBe(-Errno.EINVAL);
    // The outer map holds the inner one: closing its fd does not free it.
    const innerId = p.mapInfo(inner).id;
    p.close(inner);
    const again = p.mapGetFdById(innerId);
    expect(p.mapInfo(again).id).toBe(innerId);
  });
});

describe("releaseUref", () => {
  const slot = MapType.Arena; // a type number bpfsim leaves free, borrowed for this test
  const table = mapOpsByType as (MapOps | undefined)[];
  const saved = table[slot];
  afterEach(() => {
    table[slot] = saved;
  });

  it("runs when the last fd or pin goes, not before", () => {
    let calls = 0;
    table[slot] = { ...arrayMapOps, allocCheck: () => 0, releaseUref: () => void calls++ };
    const k = Kernel.create({ ncpus: 2, size: 8 * 1024 * 1024 });
    const p = k.createProcess();
    const fd = p.mapCreate({ mapType: slot, keySize: 4, valueSize: 8, maxEntries: 1 });
    const fd2 = p.mapGetFdById(p.mapInfo(fd).id);
    p.objPin(fd, "/sys/fs/bpf/u");
    p.close(fd);
    p.close(fd2);
    expect(calls).toBe(0);
    p.unlink("/sys/fs/bpf/u");
    expect(calls).toBe(1);
  });
});
