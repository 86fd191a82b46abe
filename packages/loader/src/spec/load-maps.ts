import { BPF_ANY, BPF_F_NUMA_NODE, BpfCmd, BpfError, MapType, type MapCreateAttr, type Process } from "@bpfsim/core";
import type { CollectionSpec, MapSpec } from "./spec-types.js";
import { mapTypeName } from "./type-names.js";

/**
 * The maps half of "spec -> live collection": create every map of a
 * CollectionSpec in a process, as libbpf's bpf_object__create_maps does.
 *
 *   1. each map in spec order: an inner-map template first for map-in-map
 *      (closed once the outer map exists); perf event arrays with
 *      max_entries 0 get one slot per CPU; `pinning: by name` reuses a
 *      compatible map pinned at `<pinRoot>/<name>` or pins the new one;
 *   2. initial contents: global data values, then `.rodata` is frozen;
 *   3. map-in-map slots once all maps exist.
 * Prog-array slots name programs, which exist only after program load: they
 * are returned as `pendingProgramSlots` for that step.
 *
 * A failure anywhere closes every fd made and unpins every pin made, so a
 * half-loaded collection leaves the machine as it was, and rethrows.
 *
 * Context: syscall (user space) on any thread, in the process `proc`.
 */

export interface LoadedMap {
  /** Key in the spec (`.data` for global data, the variable name otherwise). */
  key: string;
  fd: number;
  spec: MapSpec;
  /** True when an existing pinned map was reused instead of created. */
  reused: boolean;
}

export interface CollectionMaps {
  maps: Record<string, LoadedMap>;
  /** Prog-array slots to fill once programs are loaded: map key, index, program name. */
  pendingProgramSlots: { map: string; index: number; program: string }[];
  /** Closes every map fd (pins keep their maps alive). */
  close(): void;
  /** Undoes the load: unpins what it pinned, then closes every fd. */
  abort(): void;
}

export interface LoadMapsOptions {
  /** Folder for `pinning: LIBBPF_PIN_BY_NAME` maps. Default `/sys/fs/bpf`. */
  pinRoot?: string;
}

function createAttr(proc: Process, m: MapSpec, innerMapFd?: number): MapCreateAttr {
  const attr: MapCreateAttr = {
    mapType: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.type === MapType.PerfEventArray && m.maxEntries === 0 ? proc.kernel.ncpus : m.maxEntries,
    mapFlags: m.flags,
    // libbpf copies the name into the 16-byte map_name (libbpf_strlcpy): "outer.inner" templates get cut.
    mapName: m.name.slice(0, 15),
  };
  if (m.flags & BPF_F_NUMA_NODE) attr.numaNode = m.numaNode;
  if (m.mapExtra !== 0n) attr.mapExtra = m.mapExtra;
  if (m.spinLockOff >= 0) attr.spinLockOff = m.spinLockOff;
  if (innerMapFd !== undefined) attr.innerMapFd = innerMapFd;
  return attr;
}

/** BPF_MAP_CREATE, with the map named in the error. */
function create(proc: Process, m: MapSpec, attr: MapCreateAttr): number {
  const ret = proc.bpf(BpfCmd.MapCreate, attr);
  if (ret < 0) throw new BpfError(-ret, `map '${m.name}': BPF_MAP_CREATE (${mapTypeName(m.type)}, key ${m.keySize}, value ${m.valueSize}, max_entries ${attr.maxEntries})`);
  return ret;
}

/**
 * BPF_MAP_UPDATE_ELEM through the bpf() dispatch, so that maps holding fds
 * (prog arrays, map-in-map) get the fd resolved in this process.
 */
export function updateElem(proc: Process, fd: number, key: Uint8Array, value: Uint8Array, what: string): void {
  const ret = proc.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key, value, flags: BPF_ANY });
  if (ret < 0) throw new BpfError(-ret, `${what}: BPF_MAP_UPDATE_ELEM`);
}

const u32le = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

/** Creates and fills the maps of `spec` in `proc`; all or nothing. */
export function loadCollectionMaps(proc: Process, spec: CollectionSpec, opts: LoadMapsOptions = {}): CollectionMaps {
  const pinRoot = (opts.pinRoot ?? "/sys/fs/bpf").replace(/\/+$/, "");
  const fds: number[] = [];
  const pinned: string[] = [];
  const maps: Record<string, LoadedMap> = {};
  const pendingProgramSlots: CollectionMaps["pendingProgramSlots"] = [];
  const closeAll = () => {
    for (const fd of fds.splice(0)) {
      try {
        proc.close(fd);
      } catch {
        // Already closed by the caller; nothing left to release.
      }
    }
  };
  const abort = () => {
    for (const p of pinned.splice(0)) {
      try {
        proc.unlink(p);
      } catch {
        // Someone else removed it meanwhile.
      }
    }
    closeAll();
  };
  try {
    for (const [key, m] of Object.entries(spec.maps)) {
      const pinPath = m.pinning ? `${pinRoot}/${m.name}` : undefined;
      const existing = pinPath ? reusePinned(proc, pinPath, m) : undefined;
      if (existing !== undefined) {
        fds.push(existing);
        maps[key] = { key, fd: existing, spec: m, reused: true };
        continue;
      }
      let innerFd: number | undefined;
      if (m.innerMap) {
        innerFd = create(proc, m.innerMap, createAttr(proc, m.innerMap));
        fds.push(innerFd);
      }
      const fd = create(proc, m, createAttr(proc, m, innerFd));
      fds.push(fd);
      if (innerFd !== undefined) {
        // The template only shapes the outer map; libbpf drops it too.
        proc.close(innerFd);
        fds.splice(fds.indexOf(innerFd), 1);
      }
      maps[key] = { key, fd, spec: m, reused: false };
      for (const c of m.contents) {
        if (c.kind === "value") updateElem(proc, fd, c.key, c.value, `map '${m.name}'`);
        else if (c.kind === "program") pendingProgramSlots.push({ map: key, index: c.index, program: c.program });
      }
      if (m.freeze) proc.mapFreeze(fd);
      if (pinPath) {
        proc.objPin(fd, pinPath);
        pinned.push(pinPath);
      }
    }
    for (const [key, m] of Object.entries(spec.maps)) {
      const outer = maps[key]!;
      if (outer.reused) continue;
      for (const c of m.contents) {
        if (c.kind !== "map") continue;
        const inner = maps[c.map];
        if (!inner) throw new BpfError("EINVAL", `map '${m.name}': slot ${c.index} names unknown map '${c.map}'`);
        updateElem(proc, outer.fd, u32le(c.index), u32le(inner.fd), `map '${m.name}' slot ${c.index}`);
      }
    }
  } catch (e) {
    abort();
    throw e;
  }
  return { maps, pendingProgramSlots, close: closeAll, abort };
}

/** fd of a compatible map pinned at `path`, undefined if none; EINVAL if incompatible. */
function reusePinned(proc: Process, path: string, m: MapSpec): number | undefined {
  let fd: number;
  try {
    fd = proc.objGet(path);
  } catch (e) {
    if (e instanceof BpfError && e.code === "ENOENT") return undefined;
    throw e;
  }
  const info = proc.mapInfo(fd);
  const maxEntries = m.type === MapType.PerfEventArray && m.maxEntries === 0 ? proc.kernel.ncpus : m.maxEntries;
  if (info.type !== m.type || info.keySize !== m.keySize || info.valueSize !== m.valueSize || info.maxEntries !== maxEntries || info.mapFlags !== m.flags) {
    proc.close(fd);
    throw new BpfError("EINVAL", `map '${m.name}': the map pinned at ${path} does not match its definition`);
  }
  return fd;
}
