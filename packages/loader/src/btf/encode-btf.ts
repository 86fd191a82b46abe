import { BpfError } from "@bpfsim/core";
import { BtfKind, type Btf, type BtfType } from "./btf-types.js";
import { BTF_MAGIC } from "./parse-btf.js";

/**
 * The inverse of parseBtf: a `Btf` (possibly edited, e.g. after the DATASEC
 * fix-ups libbpf also makes) back to the `.BTF` wire format, as BPF_BTF_LOAD
 * takes it. Strings are interned in order of first use, after the empty
 * string at offset 0; strings that only line info uses (file names, source
 * lines) can be added too, and `offsetOf` gives any string's offset.
 *
 * Context: user space, any thread. Pure.
 */

class Strings {
  private readonly offsets = new Map<string, number>([["", 0]]);
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;
  private readonly enc = new TextEncoder();

  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const b = this.enc.encode(s);
    if (b.includes(0)) throw new BpfError("EINVAL", `BTF: string ${JSON.stringify(s)} contains NUL`);
    const off = this.size;
    this.parts.push(b, new Uint8Array(1));
    this.size += b.length + 1;
    this.offsets.set(s, off);
    return off;
  }

  find(s: string): number | undefined {
    return this.offsets.get(s);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function words(t: BtfType, str: Strings): number[] {
  const info = (kind: number, vlen: number, kflag = false) => ((kflag ? 1 << 31 : 0) | (kind << 24) | vlen) >>> 0;
  const vlen = (n: number) => {
    if (n > 0xffff) throw new BpfError("E2BIG", `BTF: type [${t.id}] has ${n} entries`);
    return n;
  };
  const name = str.add(t.name);
  switch (t.kind) {
    case BtfKind.Int:
      return [name, info(t.kind, 0), t.size, ((t.encoding & 0xf) << 24) | ((t.bitOffset & 0xff) << 16) | (t.bits & 0xff)];
    case BtfKind.Ptr:
    case BtfKind.Typedef:
    case BtfKind.Volatile:
    case BtfKind.Const:
    case BtfKind.Restrict:
    case BtfKind.TypeTag:
      return [name, info(t.kind, 0), t.type];
    case BtfKind.Array:
      return [name, info(t.kind, 0), 0, t.type, t.indexType, t.nelems];
    case BtfKind.Struct:
    case BtfKind.Union: {
      const kflag = t.members.some((m) => m.bitfieldSize !== 0);
      const out = [name, info(t.kind, vlen(t.members.length), kflag), t.size];
      for (const m of t.members) out.push(str.add(m.name), m.type, kflag ? ((m.bitfieldSize << 24) | (m.bitOffset & 0xffffff)) >>> 0 : m.bitOffset);
      return out;
    }
    case BtfKind.Enum: {
      const out = [name, info(t.kind, vlen(t.values.length), t.signed), t.size];
      for (const v of t.values) out.push(str.add(v.name), Number(BigInt.asUintN(32, v.value)));
      return out;
    }
    case BtfKind.Enum64: {
      const out = [name, info(t.kind, vlen(t.values.length), t.signed), t.size];
      for (const v of t.values) {
        const u = BigInt.asUintN(64, v.value);
        out.push(str.add(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
      }
      return out;
    }
    case BtfKind.Fwd:
      return [name, info(t.kind, 0, t.union), 0];
    case BtfKind.Func:
      return [name, info(t.kind, t.linkage), t.type];
    case BtfKind.FuncProto: {
      const out = [name, info(t.kind, vlen(t.params.length)), t.returnType];
      for (const p of t.params) out.push(str.add(p.name), p.type);
      return out;
    }
    case BtfKind.Var:
      return [name, info(t.kind, 0), t.type, t.linkage];
    case BtfKind.Datasec: {
      const out = [name, info(t.kind, vlen(t.vars.length)), t.size];
      for (const v of t.vars) out.push(v.type, v.offset, v.size);
      return out;
    }
    case BtfKind.Float:
      return [name, info(t.kind, 0), t.size];
    case BtfKind.DeclTag:
      return [name, info(t.kind, 0), t.type, t.componentIdx >>> 0];
    default:
      throw new BpfError("EINVAL", `BTF: type [${t.id}] cannot be encoded`);
  }
}

/**
 * Encodes `btf`. `extraStrings` (file names, source lines...) are added to
 * the string section too; `offsetOf` then maps any encoded string to its offset.
 */
export function encodeBtf(btf: Btf, extraStrings: Iterable<string> = []): { bytes: Uint8Array; offsetOf(s: string): number } {
  const str = new Strings();
  const body: number[] = [];
  for (const t of btf.types.slice(1)) for (const w of words(t, str)) body.push(w >>> 0);
  for (const s of extraStrings) str.add(s);
  const strBytes = str.bytes();
  const hdrLen = 24;
  const out = new Uint8Array(hdrLen + body.length * 4 + strBytes.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, BTF_MAGIC, true);
  dv.setUint8(2, 1);
  dv.setUint8(3, 0);
  dv.setUint32(4, hdrLen, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, body.length * 4, true);
  dv.setUint32(16, body.length * 4, true);
  dv.setUint32(20, strBytes.length, true);
  body.forEach((w, i) => dv.setUint32(hdrLen + i * 4, w, true));
  out.set(strBytes, hdrLen + body.length * 4);
  return {
    bytes: out,
    offsetOf: (s) => {
      const off = str.find(s);
      if (off === undefined) throw new BpfError("ENOENT", `BTF: string ${JSON.stringify(s)} was not encoded`);
      return off;
    },
  };
}
