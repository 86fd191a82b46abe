import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BpfError, MapType } from "@bpfsim/core";
import { BtfKind, type Btf } from "../btf/btf-types.js";
import { btfResolveSize, btfTypeById, MAX_RESOLVE_DEPTH } from "../btf/btf-resolve.js";
import { internalMapName } from "./data-maps.js";
import { PinType, type MapSpec } from "./spec-types.js";

/**
 * `extern ... __kconfig` values: libbpf lays them out in a `.kconfig` array
 * map (one element, read-only to programs, frozen) and turns each `lddw` of
 * such an extern into a BPF_PSEUDO_MAP_VALUE reference at the extern's
 * offset. The layout follows libbpf: externs sorted by alignment
 * (descending), then size (ascending), then name, each at the next offset
 * aligned for it.
 *
 * The values themselves (LINUX_KERNEL_VERSION, CONFIG_*) are the machine's
 * to supply: the spec holds zeros and `CollectionSpec.externs` says where
 * each one lives, so the load step or the user can fill them in.
 *
 * Context: user space, any thread. Pure.
 */

export interface KconfigLayout {
  map: MapSpec | undefined;
  /** Extern name -> byte offset in the `.kconfig` value. */
  offsets: Map<string, { offset: number; size: number }>;
}

/** Alignment as libbpf's btf__align_of computes it for the types kconfig externs use. */
function alignOf(btf: Btf, id: number): number {
  let t = btfTypeById(btf, id);
  for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
    switch (t.kind) {
      case BtfKind.Int:
      case BtfKind.Enum:
      case BtfKind.Enum64:
      case BtfKind.Float:
        return Math.max(1, Math.min(8, t.size));
      case BtfKind.Ptr:
        return 8;
      case BtfKind.Array:
      case BtfKind.Typedef:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
      case BtfKind.TypeTag:
      case BtfKind.Var:
        t = btfTypeById(btf, t.type);
        break;
      default:
        throw new BpfError("EOPNOTSUPP", `extern (kcfg) type [${id}] is unsupported`);
    }
  }
  throw new BpfError("EINVAL", `BTF: type [${id}] is too deeply nested`);
}

export function collectKconfig(btf: Btf | undefined, objName: string): KconfigLayout {
  const offsets: KconfigLayout["offsets"] = new Map();
  const sec = btf?.types.find((t) => t.kind === BtfKind.Datasec && t.name === ".kconfig");
  if (!btf || sec?.kind !== BtfKind.Datasec || sec.vars.length === 0) return { map: undefined, offsets };
  const externs = sec.vars.map((vi) => {
    const v = btfTypeById(btf, vi.type);
    if (v.kind !== BtfKind.Var) throw new BpfError("EINVAL", `BTF: .kconfig holds a ${BtfKind[v.kind]}, not a VAR`);
    const size = btfResolveSize(btf, v.type);
    if (size <= 0) throw new BpfError("EINVAL", `extern (kcfg) '${v.name}' has no size`);
    return { name: v.name, size, align: alignOf(btf, v.type) };
  });
  externs.sort((a, b) => b.align - a.align || a.size - b.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let off = 0;
  for (const e of externs) {
    const at = Math.ceil(off / e.align) * e.align;
    offsets.set(e.name, { offset: at, size: e.size });
    off = at + e.size;
  }
  // Like libbpf, write the layout back into the DATASEC so BTF describes the map value.
  for (const vi of sec.vars) {
    const o = offsets.get(btf.types[vi.type]!.name)!;
    vi.offset = o.offset;
    vi.size = o.size;
  }
  sec.size = off;
  const map: MapSpec = {
    name: internalMapName(objName, ".kconfig"),
    type: MapType.Array,
    keySize: 4,
    valueSize: off,
    maxEntries: 1,
    flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
    numaNode: 0,
    mapExtra: 0n,
    pinning: PinType.None,
    origin: "kconfig",
    sectionName: ".kconfig",
    btfKeyTypeId: 0,
    btfValueTypeId: sec.id,
    spinLockOff: -1,
    contents: [{ kind: "value", key: new Uint8Array(4), value: new Uint8Array(off) }],
    freeze: true,
  };
  return { map, offsets };
}
