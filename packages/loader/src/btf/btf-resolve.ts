import { BpfError } from "@bpfsim/core";
import { BtfKind, type Btf, type BtfType } from "./btf-types.js";

/**
 * Queries over a parsed `Btf`: look-ups, skipping modifiers, sizes, names.
 *
 * Chains of typedefs and modifiers are followed at most MAX_RESOLVE_DEPTH
 * steps (libbpf's limit), so a cyclic or absurdly deep chain in a corrupted
 * object is an EINVAL rather than a hang.
 *
 * Context: user space, any thread. Pure.
 */

export const MAX_RESOLVE_DEPTH = 32;

/** The type with id `id`; EINVAL if absent. */
export function btfTypeById(btf: Btf, id: number): BtfType {
  const t = btf.types[id];
  if (!t) throw new BpfError("EINVAL", `BTF: type [${id}] not found`);
  return t;
}

function isModifier(t: BtfType): t is Extract<BtfType, { type: number }> {
  return (
    t.kind === BtfKind.Typedef ||
    t.kind === BtfKind.Volatile ||
    t.kind === BtfKind.Const ||
    t.kind === BtfKind.Restrict ||
    t.kind === BtfKind.TypeTag
  );
}

/** Follows typedefs, const, volatile, restrict and type tags to the underlying type. */
export function skipModsAndTypedefs(btf: Btf, id: number): BtfType {
  let t = btfTypeById(btf, id);
  for (let depth = 0; isModifier(t); depth++) {
    if (depth >= MAX_RESOLVE_DEPTH) throw new BpfError("EINVAL", `BTF: type [${id}] modifier chain is too deep or cyclic`);
    t = btfTypeById(btf, t.type);
  }
  return t;
}

/** Size in bytes of a type, as libbpf's btf__resolve_size computes it. */
export function btfResolveSize(btf: Btf, id: number): number {
  let nelems = 1;
  let t = btfTypeById(btf, id);
  for (let depth = 0; ; depth++) {
    if (depth >= MAX_RESOLVE_DEPTH) throw new BpfError("EINVAL", `BTF: type [${id}] is too deeply nested to size`);
    switch (t.kind) {
      case BtfKind.Int:
      case BtfKind.Struct:
      case BtfKind.Union:
      case BtfKind.Enum:
      case BtfKind.Enum64:
      case BtfKind.Datasec:
      case BtfKind.Float: {
        const size = nelems * t.size;
        if (size > 0xffffffff) throw new BpfError("E2BIG", `BTF: type [${id}] is larger than 4 GiB`);
        return size;
      }
      case BtfKind.Ptr:
        return nelems * 8;
      case BtfKind.Typedef:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
      case BtfKind.TypeTag:
      case BtfKind.Var:
        t = btfTypeById(btf, t.type);
        break;
      case BtfKind.Array:
        nelems *= t.nelems;
        if (nelems > 0xffffffff) throw new BpfError("E2BIG", `BTF: array type [${id}] is larger than 4 GiB`);
        t = btfTypeById(btf, t.type);
        break;
      default:
        throw new BpfError("EINVAL", `BTF: type [${id}] (${BtfKind[t.kind]}) has no size`);
    }
  }
}

/** All types named `name` of kind `kind`. */
export function btfFindByName(btf: Btf, name: string, kind?: BtfKind): BtfType[] {
  return btf.types.filter((t) => t.name === name && (kind === undefined || t.kind === kind));
}

/** A short C-like spelling of a type for listings: `struct foo`, `__u32`, `int *`, `char[16]`. */
export function btfTypeString(btf: Btf, id: number, depth = 0): string {
  const t = btf.types[id];
  if (!t) return `<bad type ${id}>`;
  if (depth > MAX_RESOLVE_DEPTH) return "...";
  switch (t.kind) {
    case BtfKind.Unkn:
      return "void";
    case BtfKind.Struct:
      return `struct ${t.name || "(anon)"}`;
    case BtfKind.Union:
      return `union ${t.name || "(anon)"}`;
    case BtfKind.Enum:
    case BtfKind.Enum64:
      return `enum ${t.name || "(anon)"}`;
    case BtfKind.Fwd:
      return `${t.union ? "union" : "struct"} ${t.name}`;
    case BtfKind.Ptr:
      return `${btfTypeString(btf, t.type, depth + 1)} *`;
    case BtfKind.Const:
      return `const ${btfTypeString(btf, t.type, depth + 1)}`;
    case BtfKind.Volatile:
      return `volatile ${btfTypeString(btf, t.type, depth + 1)}`;
    case BtfKind.Restrict:
    case BtfKind.TypeTag:
      return btfTypeString(btf, t.type, depth + 1);
    case BtfKind.Array:
      return `${btfTypeString(btf, t.type, depth + 1)}[${t.nelems}]`;
    case BtfKind.FuncProto:
      return "func_proto";
    default:
      return t.name || BtfKind[t.kind];
  }
}

/**
 * Byte offset of the `struct bpf_spin_lock` in a map value type, or -1.
 * Like the kernel, only one lock is allowed; nested structs are searched.
 * EINVAL if there are two (the kernel's "only one bpf_spin_lock" rule).
 */
export function btfFindSpinLock(btf: Btf, valueTypeId: number): number {
  const found: number[] = [];
  // A corrupted object can nest wide structs deeply; bound the work done.
  let budget = 100_000;
  const walk = (id: number, base: number, depth: number) => {
    if (depth > MAX_RESOLVE_DEPTH) return;
    if (--budget < 0) throw new BpfError("EINVAL", `BTF: value type [${valueTypeId}] is too complex to search`);
    const t = skipModsAndTypedefs(btf, id);
    if (t.kind !== BtfKind.Struct && t.kind !== BtfKind.Union) return;
    if (t.name === "bpf_spin_lock") {
      found.push(base);
      return;
    }
    for (const m of t.members) {
      if (m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0) continue;
      walk(m.type, base + m.bitOffset / 8, depth + 1);
    }
  };
  walk(valueTypeId, 0, 0);
  if (found.length > 1) throw new BpfError("EINVAL", `BTF: value type [${valueTypeId}] has more than one bpf_spin_lock`);
  return found[0] ?? -1;
}
