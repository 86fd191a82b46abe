import { BpfError, MapType } from "@bpfsim/core";
import { BtfKind, BtfLinkage, type Btf, type BtfMember, type BtfType } from "../btf/btf-types.js";
import { btfFindSpinLock, btfResolveSize, btfTypeById, skipModsAndTypedefs } from "../btf/btf-resolve.js";
import { RelocType, STT_FUNC, STT_SECTION, type ElfFile, type ElfSection } from "../elf/elf-file.js";
import { PinType, type MapSpec } from "./spec-types.js";

/**
 * BTF-defined maps: the libbpf convention where each map in `.maps` is a
 * global variable whose *type* carries the definition:
 *
 *   struct {
 *     __uint(type, BPF_MAP_TYPE_HASH);    // int (*type)[1]     -> PTR to ARRAY, nelems = value
 *     __type(key, __u32);                 // __u32 *key         -> PTR to the key type
 *     __type(value, struct val);
 *     __uint(max_entries, 1024);
 *     __array(values, struct inner);      // struct inner *values[] (map-in-map template)
 *   } name SEC(".maps");
 *
 * Static initialisers of `values` (prog arrays, map-in-map) are relocations
 * in `.rel.maps` against the slot's address; each becomes a MapContent.
 * Unknown members are rejected (EOPNOTSUPP, libbpf's -ENOTSUP) like libbpf's strict mode.
 *
 * Context: user space, any thread. Pure.
 */

const PAGE_SIZE = 4096;

interface MapDef {
  spec: MapSpec;
  /** Byte offset of the `values` member inside the definition, -1 if none. */
  valuesOff: number;
  /** Where the variable lives in `.maps`. */
  secOffset: number;
  secSize: number;
}

function blankSpec(name: string, sectionName: string): MapSpec {
  return {
    name,
    type: MapType.Unspec,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    numaNode: 0,
    mapExtra: 0n,
    pinning: PinType.None,
    origin: "btf",
    sectionName,
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    spinLockOff: -1,
    contents: [],
    freeze: false,
  };
}

function fail(map: string, msg: string, errno: "EINVAL" | "EOPNOTSUPP" = "EINVAL"): never {
  throw new BpfError(errno, `map '${map}': ${msg}`);
}

/** `__uint(name, N)`: a pointer to an array of N elements. */
function fieldInt(btf: Btf, map: string, m: BtfMember): number {
  const p = skipModsAndTypedefs(btf, m.type);
  if (p.kind !== BtfKind.Ptr) return fail(map, `attr '${m.name}': expected PTR, got ${BtfKind[p.kind]}`);
  const arr = btfTypeById(btf, p.type);
  if (arr.kind !== BtfKind.Array) return fail(map, `attr '${m.name}': expected ARRAY, got ${BtfKind[arr.kind]}`);
  return arr.nelems;
}

/** `__ulong(name, N)`: a one-value enum (or ENUM64), or the `__uint` form. */
function fieldLong(btf: Btf, map: string, m: BtfMember): bigint {
  const t = skipModsAndTypedefs(btf, m.type);
  if (t.kind === BtfKind.Ptr) return BigInt(fieldInt(btf, map, m));
  if ((t.kind !== BtfKind.Enum && t.kind !== BtfKind.Enum64) || t.values.length !== 1) {
    return fail(map, `attr '${m.name}': expected a one-value ENUM or ENUM64`);
  }
  return BigInt.asUintN(64, t.values[0]!.value);
}

/** `__type(name, T)`: a pointer to T; returns T's id and size. */
function fieldType(btf: Btf, map: string, m: BtfMember): { id: number; size: number } {
  const p = btfTypeById(btf, m.type);
  if (p.kind !== BtfKind.Ptr) return fail(map, `${m.name} spec is not PTR: ${BtfKind[p.kind]}`);
  return { id: p.type, size: btfResolveSize(btf, p.type) };
}

/** Parses one definition struct (libbpf's parse_btf_map_def). */
function parseMapDef(btf: Btf, name: string, def: Extract<BtfType, { members: BtfMember[] }>, spec: MapSpec, isInner: boolean): number {
  let valuesOff = -1;
  const setSize = (field: "keySize" | "valueSize", sz: number) => {
    if (spec[field] !== 0 && spec[field] !== sz) fail(name, `conflicting ${field === "keySize" ? "key" : "value"} size ${spec[field]} != ${sz}`);
    spec[field] = sz;
  };
  def.members.forEach((m, i) => {
    switch (m.name) {
      case "type":
        spec.type = fieldInt(btf, name, m);
        break;
      case "max_entries":
        spec.maxEntries = fieldInt(btf, name, m);
        break;
      case "map_flags":
        spec.flags = fieldInt(btf, name, m);
        break;
      case "numa_node":
        spec.numaNode = fieldInt(btf, name, m);
        break;
      case "key_size":
        setSize("keySize", fieldInt(btf, name, m));
        break;
      case "value_size":
        setSize("valueSize", fieldInt(btf, name, m));
        break;
      case "key": {
        const k = fieldType(btf, name, m);
        setSize("keySize", k.size);
        spec.btfKeyTypeId = k.id;
        break;
      }
      case "value": {
        const v = fieldType(btf, name, m);
        setSize("valueSize", v.size);
        spec.btfValueTypeId = v.id;
        break;
      }
      case "values": {
        const isMapInMap = spec.type === MapType.ArrayOfMaps || spec.type === MapType.HashOfMaps;
        if (isInner) fail(name, "multi-level inner maps not supported", "EOPNOTSUPP");
        if (i !== def.members.length - 1) fail(name, "'values' member should be last");
        if (!isMapInMap && spec.type !== MapType.ProgArray) fail(name, "should be map-in-map or prog-array", "EOPNOTSUPP");
        if (spec.valueSize !== 0 && spec.valueSize !== 4) fail(name, `conflicting value size ${spec.valueSize} != 4`);
        spec.valueSize = 4;
        const arr = btfTypeById(btf, m.type);
        if (arr.kind !== BtfKind.Array || arr.nelems !== 0) fail(name, "values spec is not a zero-sized array");
        const ptr = skipModsAndTypedefs(btf, arr.type);
        if (ptr.kind !== BtfKind.Ptr) fail(name, `values def is of unexpected kind ${BtfKind[ptr.kind]}`);
        const target = skipModsAndTypedefs(btf, ptr.type);
        if (m.bitOffset % 8 !== 0) fail(name, "values member is not byte-aligned");
        valuesOff = m.bitOffset / 8;
        if (spec.type === MapType.ProgArray) {
          if (target.kind !== BtfKind.FuncProto) fail(name, `prog-array value def is of unexpected kind ${BtfKind[target.kind]}`);
          break;
        }
        if (target.kind !== BtfKind.Struct) fail(name, `map-in-map inner def is of unexpected kind ${BtfKind[target.kind]}`);
        const inner = blankSpec(`${name}.inner`, spec.sectionName);
        parseMapDef(btf, inner.name, target, inner, true);
        finishSpec(btf, inner);
        spec.innerMap = inner;
        break;
      }
      case "pinning": {
        if (isInner) fail(name, "inner def can't be pinned");
        const v = fieldInt(btf, name, m);
        if (v !== PinType.None && v !== PinType.ByName) fail(name, `invalid pinning value ${v}`);
        spec.pinning = v;
        break;
      }
      case "map_extra":
        spec.mapExtra = fieldLong(btf, name, m);
        break;
      default:
        fail(name, `unknown field '${m.name}'`, "EOPNOTSUPP");
    }
  });
  if (spec.type === MapType.Unspec) fail(name, "map type isn't specified");
  return valuesOff;
}

/** Adjustments libbpf makes right after parsing a definition. */
function finishSpec(btf: Btf, spec: MapSpec): void {
  if (spec.type === MapType.Ringbuf || spec.type === MapType.UserRingbuf) spec.maxEntries = adjustRingbufSize(spec.maxEntries);
  if (spec.btfValueTypeId !== 0) spec.spinLockOff = btfFindSpinLock(btf, spec.btfValueTypeId);
}

/** Ring buffer sizes must be a power-of-2 number of pages; libbpf rounds up. */
export function adjustRingbufSize(sz: number): number {
  if (sz === 0) return 0;
  if (sz % PAGE_SIZE === 0 && isPow2(sz / PAGE_SIZE)) return sz;
  for (let mul = 1; mul <= Math.floor(0xffffffff / PAGE_SIZE); mul *= 2) if (mul * PAGE_SIZE > sz) return mul * PAGE_SIZE;
  return sz;
}

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** Reads every map in `.maps`. Returns specs keyed by variable name, in the DATASEC's order. */
export function collectBtfMaps(elf: ElfFile, sec: ElfSection, btf: Btf | undefined): Record<string, MapSpec> {
  if (!btf) throw new BpfError("EINVAL", "ELF: a '.maps' section needs BTF (build with -g)");
  const datasec = btf.types.find((t) => t.kind === BtfKind.Datasec && t.name === ".maps");
  if (!datasec || datasec.kind !== BtfKind.Datasec) throw new BpfError("EINVAL", "BTF: DATASEC '.maps' not found");
  const defs = new Map<string, MapDef>();
  datasec.vars.forEach((vi, idx) => {
    const v = btfTypeById(btf, vi.type);
    const name = v.name;
    if (!name) fail(`#${idx}`, "empty name");
    if (vi.offset + vi.size > sec.size) fail(name, "BTF data is corrupted");
    if (v.kind !== BtfKind.Var) return fail(name, `unexpected var kind ${BtfKind[v.kind]}`);
    if (v.linkage !== BtfLinkage.Global) fail(name, `unsupported map linkage ${BtfLinkage[v.linkage] ?? v.linkage}`, "EOPNOTSUPP");
    const def = skipModsAndTypedefs(btf, v.type);
    if (def.kind !== BtfKind.Struct) return fail(name, `unexpected def kind ${BtfKind[def.kind]}`);
    if (def.size > vi.size) fail(name, "invalid def size");
    if (defs.has(name)) fail(name, "defined twice");
    const spec = blankSpec(name, sec.name);
    const valuesOff = parseMapDef(btf, name, def, spec, false);
    finishSpec(btf, spec);
    defs.set(name, { spec, valuesOff, secOffset: vi.offset, secSize: vi.size });
  });
  collectInitialSlots(elf, sec, defs);
  const out: Record<string, MapSpec> = {};
  for (const [name, d] of defs) out[name] = d.spec;
  return out;
}

/** `.rel.maps`: `values = { [2] = &prog_or_map }` initialisers. */
function collectInitialSlots(elf: ElfFile, sec: ElfSection, defs: Map<string, MapDef>): void {
  const rels = elf.relocations.get(sec.index) ?? [];
  const byOffset = [...defs.values()].sort((a, b) => a.secOffset - b.secOffset);
  const ownerOf = (off: number): MapDef | undefined => {
    let lo = 0;
    let hi = byOffset.length - 1;
    let best: MapDef | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (byOffset[mid]!.secOffset <= off) {
        best = byOffset[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best && off < best.secOffset + best.secSize ? best : undefined;
  };
  for (const rel of rels) {
    const sym = elf.symbols[rel.symbol]!;
    if (rel.type !== RelocType.Bpf64Abs64 && rel.type !== RelocType.Bpf64_64) {
      throw new BpfError("EINVAL", `.maps: relocation type ${rel.type} at offset ${rel.offset} is not a pointer initialiser`);
    }
    const owner = ownerOf(rel.offset);
    if (!owner) throw new BpfError("EINVAL", `.maps: relocation at offset ${rel.offset} is outside every map`);
    const map = owner.spec.name;
    if (owner.valuesOff < 0) fail(map, `relocation against '${sym.name}' but the map has no 'values' member`);
    const rel0 = rel.offset - owner.secOffset - owner.valuesOff;
    if (rel0 < 0 || rel0 % 8 !== 0) fail(map, `relocation against '${sym.name}' is not at a 'values' slot`);
    const index = rel0 / 8;
    if (owner.spec.type === MapType.ProgArray) {
      const target = sym.type === STT_FUNC ? sym : undefined;
      if (!target) fail(map, `prog-array slot ${index} must point at a program, not '${sym.name}'`);
      owner.spec.contents.push({ kind: "program", index, program: sym.name });
    } else {
      if (sym.shndx !== sec.index || sym.type === STT_SECTION || !defs.has(sym.name)) {
        fail(map, `map-in-map slot ${index} must point at a map in '.maps', not '${sym.name}'`);
      }
      owner.spec.contents.push({ kind: "map", index, map: sym.name });
    }
  }
}
