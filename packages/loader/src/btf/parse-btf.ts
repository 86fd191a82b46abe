import { BpfError } from "@bpfsim/core";
import { ByteReader, StringTable } from "../elf/bytes.js";
import { BtfKind, type Btf, type BtfType } from "./btf-types.js";

/**
 * Parser for the `.BTF` section (Documentation/bpf/btf.rst).
 *
 *   struct btf_header { u16 magic = 0xeB9F; u8 version = 1; u8 flags;
 *                       u32 hdr_len; u32 type_off; u32 type_len;
 *                       u32 str_off; u32 str_len; }     // offsets after hdr_len
 *   struct btf_type   { u32 name_off;
 *                       u32 info;   // vlen:16 (bits 0-15), kind:5 (24-28), kind_flag (31)
 *                       u32 size_or_type; }
 *   followed by kind-specific data (btf_array, btf_member[vlen], ...).
 *
 * Type ids start at 1 in the order the records appear. Every referenced id is
 * checked to exist, so helpers never meet a dangling id.
 *
 * Context: user space, any thread. Pure.
 */

export const BTF_MAGIC = 0xeb9f;
const BTF_HDR_MIN = 24;
const TYPE_HDR = 12;

/** Parses a `.BTF` section into plain data. */
export function parseBtf(bytes: Uint8Array): Btf {
  const r = new ByteReader(bytes, "BTF");
  const magic = r.u16(0, "magic");
  if (magic === 0x9feb) throw new BpfError("EINVAL", "BTF: big-endian BTF is not supported");
  if (magic !== BTF_MAGIC) throw new BpfError("EINVAL", `BTF: bad magic 0x${magic.toString(16)}`);
  const version = r.u8(2, "version");
  if (version !== 1) throw new BpfError("EINVAL", `BTF: unsupported version ${version}`);
  const hdrLen = r.u32(4, "hdr_len");
  if (hdrLen < BTF_HDR_MIN) throw new BpfError("EINVAL", `BTF: hdr_len ${hdrLen} is shorter than 24`);
  r.need(0, hdrLen, "header");
  const typeOff = r.u32(8, "type_off");
  const typeLen = r.u32(12, "type_len");
  const strOff = r.u32(16, "str_off");
  const strLen = r.u32(20, "str_len");
  const types = new ByteReader(r.slice(hdrLen + typeOff, typeLen, "type section"), "BTF types");
  const strs = new StringTable(r.slice(hdrLen + strOff, strLen, "string section"), "BTF strings");
  if (strLen > 0 && strs.bytes[0] !== 0) throw new BpfError("EINVAL", "BTF: string section does not start with an empty string");
  const name = (off: number, what: string) => (off === 0 ? "" : strs.get(off, what));

  const out: BtfType[] = [{ id: 0, name: "", kind: BtfKind.Unkn }];
  let off = 0;
  while (off < typeLen) {
    const id = out.length;
    const what = `type [${id}]`;
    const nameStr = name(types.u32(off, `${what} name_off`), `${what} name`);
    const info = types.u32(off + 4, `${what} info`);
    const su = types.u32(off + 8, `${what} size/type`);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const kflag = info >>> 31 === 1;
    let p = off + TYPE_HDR;
    const base = { id, name: nameStr };
    let t: BtfType;
    switch (kind) {
      case BtfKind.Int: {
        const v = types.u32(p, `${what} int encoding`);
        p += 4;
        t = { ...base, kind, size: su, encoding: (v >>> 24) & 0xf, bitOffset: (v >>> 16) & 0xff, bits: v & 0xff };
        break;
      }
      case BtfKind.Ptr:
      case BtfKind.Typedef:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
      case BtfKind.TypeTag:
        t = { ...base, kind, type: su };
        break;
      case BtfKind.Array:
        t = { ...base, kind, type: types.u32(p, what), indexType: types.u32(p + 4, what), nelems: types.u32(p + 8, what) };
        p += 12;
        break;
      case BtfKind.Struct:
      case BtfKind.Union: {
        types.need(p, vlen * 12, `${what} members`);
        const members = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          const o = types.u32(p + 8, what);
          members.push({
            name: name(types.u32(p, what), `${what} member ${i} name`),
            type: types.u32(p + 4, what),
            bitOffset: kflag ? o & 0xffffff : o,
            bitfieldSize: kflag ? o >>> 24 : 0,
          });
        }
        t = { ...base, kind, size: su, members };
        break;
      }
      case BtfKind.Enum:
      case BtfKind.Enum64: {
        const rec = kind === BtfKind.Enum ? 8 : 12;
        types.need(p, vlen * rec, `${what} values`);
        const values = [];
        for (let i = 0; i < vlen; i++, p += rec) {
          const n = name(types.u32(p, what), `${what} value ${i} name`);
          let value: bigint;
          if (kind === BtfKind.Enum) value = kflag ? BigInt(types.i32(p + 4, what)) : BigInt(types.u32(p + 4, what));
          else {
            const u = (BigInt(types.u32(p + 8, what)) << 32n) | BigInt(types.u32(p + 4, what));
            value = kflag ? BigInt.asIntN(64, u) : u;
          }
          values.push({ name: n, value });
        }
        t = { ...base, kind, size: su, signed: kflag, values };
        break;
      }
      case BtfKind.Fwd:
        t = { ...base, kind, union: kflag };
        break;
      case BtfKind.Func:
        t = { ...base, kind, type: su, linkage: vlen };
        break;
      case BtfKind.FuncProto: {
        types.need(p, vlen * 8, `${what} params`);
        const params = [];
        for (let i = 0; i < vlen; i++, p += 8) {
          params.push({ name: name(types.u32(p, what), `${what} param ${i} name`), type: types.u32(p + 4, what) });
        }
        t = { ...base, kind, returnType: su, params };
        break;
      }
      case BtfKind.Var:
        t = { ...base, kind, type: su, linkage: types.u32(p, `${what} linkage`) };
        p += 4;
        break;
      case BtfKind.Datasec: {
        types.need(p, vlen * 12, `${what} vars`);
        const vars = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          vars.push({ type: types.u32(p, what), offset: types.u32(p + 4, what), size: types.u32(p + 8, what) });
        }
        t = { ...base, kind, size: su, vars };
        break;
      }
      case BtfKind.Float:
        t = { ...base, kind, size: su };
        break;
      case BtfKind.DeclTag:
        t = { ...base, kind, type: su, componentIdx: types.i32(p, `${what} component_idx`) };
        p += 4;
        break;
      default:
        throw new BpfError("EINVAL", `BTF: ${what} has unknown kind ${kind}`);
    }
    out.push(t);
    off = p;
  }
  checkReferences(out);
  return { types: out, raw: bytes.slice(), strings: strs.bytes.slice() };
}

/** Every type id a record mentions must exist (void, 0, is allowed where C allows it). */
function checkReferences(types: BtfType[]): void {
  const n = types.length;
  const ok = (ref: number, t: BtfType, what: string) => {
    if (ref >= n) throw new BpfError("EINVAL", `BTF: type [${t.id}] ${what} references missing type [${ref}]`);
  };
  for (const t of types) {
    switch (t.kind) {
      case BtfKind.Ptr:
      case BtfKind.Typedef:
      case BtfKind.Volatile:
      case BtfKind.Const:
      case BtfKind.Restrict:
      case BtfKind.TypeTag:
      case BtfKind.Func:
      case BtfKind.Var:
      case BtfKind.DeclTag:
        ok(t.type, t, "type");
        break;
      case BtfKind.Array:
        ok(t.type, t, "element type");
        ok(t.indexType, t, "index type");
        break;
      case BtfKind.Struct:
      case BtfKind.Union:
        for (const m of t.members) ok(m.type, t, `member '${m.name}'`);
        break;
      case BtfKind.FuncProto:
        ok(t.returnType, t, "return type");
        for (const p of t.params) ok(p.type, t, `param '${p.name}'`);
        break;
      case BtfKind.Datasec:
        for (const v of t.vars) ok(v.type, t, "var");
        break;
      default:
        break;
    }
  }
}

/** The string at `off` in the BTF string section; EINVAL if out of range. */
export function btfString(btf: Btf, off: number): string {
  return off === 0 ? "" : new ByteReader(btf.strings, "BTF strings").cstr(off, `string at ${off}`);
}

/** A memoised reader of `btf`'s strings, for parsing many records. */
export function btfStringTable(btf: Btf): (off: number) => string {
  const t = new StringTable(btf.strings, "BTF strings");
  return (off) => (off === 0 ? "" : t.get(off, `string at ${off}`));
}
