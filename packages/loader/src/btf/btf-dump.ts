import { BtfKind, btfKindName, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, type Btf, type BtfType } from "./btf-types.js";

/**
 * A text dump of BTF in the format of `bpftool btf dump file <obj> format raw`,
 * one type per line (members, values, params and vars indented by a tab),
 * so the two can be compared line by line.
 *
 * Context: user space, any thread. Pure.
 */

const q = (name: string) => `'${name || "(anon)"}'`;

function intEncoding(enc: number): string {
  switch (enc) {
    case 0:
      return "(none)";
    case BTF_INT_SIGNED:
      return "SIGNED";
    case BTF_INT_CHAR:
      return "CHAR";
    case BTF_INT_BOOL:
      return "BOOL";
    default:
      return "UNKN";
  }
}

const funcLinkage = ["static", "global", "extern"];

const kindName = btfKindName;

/** Lines for one type. */
export function btfDumpType(btf: Btf, t: BtfType): string[] {
  const head = `[${t.id}] ${kindName(t.kind)} ${q(t.name)}`;
  switch (t.kind) {
    case BtfKind.Int:
      return [`${head} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${intEncoding(t.encoding)}`];
    case BtfKind.Ptr:
    case BtfKind.Const:
    case BtfKind.Volatile:
    case BtfKind.Restrict:
    case BtfKind.Typedef:
    case BtfKind.TypeTag:
      return [`${head} type_id=${t.type}`];
    case BtfKind.Array:
      return [`${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`];
    case BtfKind.Struct:
    case BtfKind.Union:
      return [
        `${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map(
          (m) => `\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ""}`,
        ),
      ];
    case BtfKind.Enum:
    case BtfKind.Enum64: {
      const bits = t.kind === BtfKind.Enum ? 32 : 64;
      return [
        `${head} encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t${q(v.name)} val=${t.signed ? BigInt.asIntN(bits, v.value) : BigInt.asUintN(bits, v.value)}`),
      ];
    }
    case BtfKind.Fwd:
      return [`${head} fwd_kind=${t.union ? "union" : "struct"}`];
    case BtfKind.Func:
      return [`${head} type_id=${t.type} linkage=${funcLinkage[t.linkage] ?? "(unknown)"}`];
    case BtfKind.FuncProto:
      return [`${head} ret_type_id=${t.returnType} vlen=${t.params.length}`, ...t.params.map((p) => `\t${q(p.name)} type_id=${p.type}`)];
    case BtfKind.Var:
      return [`${head} type_id=${t.type}, linkage=${funcLinkage[t.linkage] ?? "(unknown)"}`];
    case BtfKind.Datasec:
      return [
        `${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => {
          const vt = btf.types[v.type];
          return `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${vt ? kindName(vt.kind) : "UNKNOWN"} ${q(vt?.name ?? "")})`;
        }),
      ];
    case BtfKind.Float:
      return [`${head} size=${t.size}`];
    case BtfKind.DeclTag:
      return [`${head} type_id=${t.type} component_idx=${t.componentIdx}`];
    default:
      return [head];
  }
}

/** Every type but void, as `bpftool btf dump ... format raw` prints them. */
export function btfDumpRaw(btf: Btf): string[] {
  return btf.types.slice(1).flatMap((t) => btfDumpType(btf, t));
}
