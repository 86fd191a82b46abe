import { BpfError } from "@bpfsim/core";
import { ByteReader } from "../elf/bytes.js";
import type { Btf } from "./btf-types.js";
import { btfStringTable } from "./parse-btf.js";

/**
 * Parser for `.BTF.ext`: per-section function info, line info and CO-RE
 * relocation records (Documentation/bpf/btf.rst, section 4.2).
 *
 *   struct btf_ext_header { u16 magic = 0xeB9F; u8 version; u8 flags; u32 hdr_len;
 *                           u32 func_info_off, func_info_len;
 *                           u32 line_info_off, line_info_len;
 *                           u32 core_relo_off, core_relo_len; }  // last pair if hdr_len >= 32
 *   each area:  u32 rec_size; then blocks { u32 sec_name_off; u32 num_info; rec[num_info] }
 *   func info:  { u32 insn_off; u32 type_id; }
 *   line info:  { u32 insn_off; u32 file_name_off; u32 line_off; u32 line_col; } // line = lc >> 10, col = lc & 0x3ff
 *   core relo:  { u32 insn_off; u32 type_id; u32 access_str_off; u32 kind; }
 *
 * In an object file `insn_off` is a byte offset into the named ELF section;
 * the program builder turns it into an instruction index within a program.
 * Records larger than the known size (a newer format) are accepted and their
 * tail ignored, as libbpf does.
 *
 * CO-RE records are recorded only: resolving them against bpfsim's own
 * context and kernel types is a later step of the load path.
 *
 * Context: user space, any thread. Pure.
 */

export interface BtfExtFuncInfo {
  /** Byte offset in the ELF section. */
  insnOff: number;
  typeId: number;
}

export interface BtfExtLineInfo {
  insnOff: number;
  fileName: string;
  /** The C source line text clang recorded. */
  lineText: string;
  line: number;
  col: number;
}

/** enum bpf_core_relo_kind. */
export enum CoreReloKind {
  FieldByteOffset = 0,
  FieldByteSize = 1,
  FieldExists = 2,
  FieldSigned = 3,
  FieldLshiftU64 = 4,
  FieldRshiftU64 = 5,
  TypeIdLocal = 6,
  TypeIdTarget = 7,
  TypeExists = 8,
  TypeSize = 9,
  EnumvalExists = 10,
  EnumvalValue = 11,
  TypeMatches = 12,
}

export interface BtfExtCoreRelo {
  insnOff: number;
  typeId: number;
  /** Access string such as "0:1:2". */
  accessStr: string;
  kind: CoreReloKind;
}

/** Records keyed by ELF section name. */
export interface BtfExt {
  funcInfo: Record<string, BtfExtFuncInfo[]>;
  lineInfo: Record<string, BtfExtLineInfo[]>;
  coreRelos: Record<string, BtfExtCoreRelo[]>;
}

/** Parses `.BTF.ext`; names are resolved in `btf`'s string section. */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  const r = new ByteReader(bytes, "BTF.ext");
  const magic = r.u16(0, "magic");
  if (magic !== 0xeb9f) throw new BpfError("EINVAL", `BTF.ext: bad magic 0x${magic.toString(16)}`);
  const version = r.u8(2, "version");
  if (version !== 1) throw new BpfError("EINVAL", `BTF.ext: unsupported version ${version}`);
  const hdrLen = r.u32(4, "hdr_len");
  if (hdrLen < 24) throw new BpfError("EINVAL", `BTF.ext: hdr_len ${hdrLen} is shorter than 24`);
  r.need(0, hdrLen, "header");
  const area = (offField: number, what: string): ByteReader | undefined => {
    const off = r.u32(offField, `${what}_off`);
    const len = r.u32(offField + 4, `${what}_len`);
    if (len === 0) return undefined;
    return new ByteReader(r.slice(hdrLen + off, len, what), `BTF.ext ${what}`);
  };

  const ext: BtfExt = { funcInfo: {}, lineInfo: {}, coreRelos: {} };
  const str = btfStringTable(btf);
  const fi = area(8, "func_info");
  if (fi) {
    eachRecord(fi, 8, str, (sec, rr, o) => {
      (ext.funcInfo[sec] ??= []).push({ insnOff: rr.u32(o, "insn_off"), typeId: rr.u32(o + 4, "type_id") });
    });
  }
  const li = area(16, "line_info");
  if (li) {
    eachRecord(li, 16, str, (sec, rr, o) => {
      const lc = rr.u32(o + 12, "line_col");
      (ext.lineInfo[sec] ??= []).push({
        insnOff: rr.u32(o, "insn_off"),
        fileName: str(rr.u32(o + 4, "file_name_off")),
        lineText: str(rr.u32(o + 8, "line_off")),
        line: lc >>> 10,
        col: lc & 0x3ff,
      });
    });
  }
  if (hdrLen >= 32) {
    const cr = area(24, "core_relo");
    if (cr) {
      eachRecord(cr, 16, str, (sec, rr, o) => {
        (ext.coreRelos[sec] ??= []).push({
          insnOff: rr.u32(o, "insn_off"),
          typeId: rr.u32(o + 4, "type_id"),
          accessStr: str(rr.u32(o + 8, "access_str_off")),
          kind: rr.u32(o + 12, "kind"),
        });
      });
    }
  }
  return ext;
}

function eachRecord(
  r: ByteReader,
  minSize: number,
  str: (off: number) => string,
  fn: (section: string, r: ByteReader, off: number) => void,
): void {
  const recSize = r.u32(0, "rec_size");
  if (recSize < minSize || recSize % 4 !== 0) throw new BpfError("EINVAL", `${r.what}: record size ${recSize} is invalid`);
  let off = 4;
  while (off < r.length) {
    const sec = str(r.u32(off, "sec_name_off"));
    const num = r.u32(off + 4, "num_info");
    if (num === 0) throw new BpfError("EINVAL", `${r.what}: section '${sec}' has no records`);
    off += 8;
    r.need(off, num * recSize, `records of '${sec}'`);
    for (let i = 0; i < num; i++, off += recSize) fn(sec, r, off);
  }
}
