/**
 * BTF type records as plain data (include/uapi/linux/btf.h).
 *
 * A parsed BTF blob is a `Btf`: an array of types indexed by type id (id 0 is
 * `void`) plus the raw bytes for a later BPF_BTF_LOAD. Everything is plain
 * data, so a CollectionSpec holding it stays copyable with `structuredClone`.
 */

/** BTF_KIND_* numbers. */
export enum BtfKind {
  Unkn = 0,
  Int = 1,
  Ptr = 2,
  Array = 3,
  Struct = 4,
  Union = 5,
  Enum = 6,
  Fwd = 7,
  Typedef = 8,
  Volatile = 9,
  Const = 10,
  Restrict = 11,
  Func = 12,
  FuncProto = 13,
  Var = 14,
  Datasec = 15,
  Float = 16,
  DeclTag = 17,
  TypeTag = 18,
  Enum64 = 19,
}

/** BTF_INT_ENCODING bits. */
export const BTF_INT_SIGNED = 1 << 0;
export const BTF_INT_CHAR = 1 << 1;
export const BTF_INT_BOOL = 1 << 2;

/** btf_func_linkage and the VAR linkage values. */
export enum BtfLinkage {
  Static = 0,
  Global = 1,
  Extern = 2,
}

export interface BtfMember {
  name: string;
  type: number;
  /** Offset in bits from the start of the struct. */
  bitOffset: number;
  /** Bitfield width, 0 when the member is not a bitfield. */
  bitfieldSize: number;
}

export interface BtfEnumValue {
  name: string;
  /** Signed or unsigned per the type's `signed` flag; ENUM64 may need bigint. */
  value: bigint;
}

export interface BtfParam {
  name: string;
  type: number;
}

export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

interface Base {
  id: number;
  name: string;
}

export type BtfType =
  | (Base & { kind: BtfKind.Unkn })
  | (Base & { kind: BtfKind.Int; size: number; encoding: number; bitOffset: number; bits: number })
  | (Base & { kind: BtfKind.Ptr; type: number })
  | (Base & { kind: BtfKind.Array; type: number; indexType: number; nelems: number })
  | (Base & { kind: BtfKind.Struct | BtfKind.Union; size: number; members: BtfMember[] })
  | (Base & { kind: BtfKind.Enum | BtfKind.Enum64; size: number; signed: boolean; values: BtfEnumValue[] })
  | (Base & { kind: BtfKind.Fwd; union: boolean })
  | (Base & { kind: BtfKind.Typedef | BtfKind.Volatile | BtfKind.Const | BtfKind.Restrict | BtfKind.TypeTag; type: number })
  | (Base & { kind: BtfKind.Func; type: number; linkage: BtfLinkage })
  | (Base & { kind: BtfKind.FuncProto; returnType: number; params: BtfParam[] })
  | (Base & { kind: BtfKind.Var; type: number; linkage: BtfLinkage })
  | (Base & { kind: BtfKind.Datasec; size: number; vars: BtfVarSecinfo[] })
  | (Base & { kind: BtfKind.Float; size: number })
  | (Base & { kind: BtfKind.DeclTag; type: number; componentIdx: number });

/** A parsed `.BTF` section. `types[0]` is void. */
export interface Btf {
  types: BtfType[];
  /** The section bytes as found in the object (before any fixup). */
  raw: Uint8Array;
  /** The string section (offset 0 is the empty string); `.BTF.ext` names point here. */
  strings: Uint8Array;
}

/** The upper-case kind name the kernel and bpftool print (`STRUCT`, `PTR`...). */
export function btfKindName(kind: BtfKind): string {
  return kindNames[kind] ?? `KIND_${kind}`;
}

const kindNames: Record<number, string> = {
  0: "UNKN", 1: "INT", 2: "PTR", 3: "ARRAY", 4: "STRUCT", 5: "UNION", 6: "ENUM", 7: "FWD", 8: "TYPEDEF",
  9: "VOLATILE", 10: "CONST", 11: "RESTRICT", 12: "FUNC", 13: "FUNC_PROTO", 14: "VAR", 15: "DATASEC",
  16: "FLOAT", 17: "DECL_TAG", 18: "TYPE_TAG", 19: "ENUM64",
};
