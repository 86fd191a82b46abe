import { BpfError } from "@bpfsim/core";
import { ByteReader, StringTable } from "./bytes.js";

/**
 * A read-only view of an ELF64 relocatable object as clang emits it for
 * `-target bpf`: the file header, section headers with their names, the
 * symbol table and the `.rel<section>` relocation tables.
 *
 * Layouts (all little-endian; big-endian objects are rejected):
 *
 *   Elf64_Ehdr (64 B)  e_ident[16] e_type:u16 e_machine:u16 e_version:u32
 *                      e_entry:u64 e_phoff:u64 e_shoff:u64 e_flags:u32
 *                      e_ehsize:u16 e_phentsize:u16 e_phnum:u16
 *                      e_shentsize:u16 e_shnum:u16 e_shstrndx:u16
 *   Elf64_Shdr (64 B)  sh_name:u32 sh_type:u32 sh_flags:u64 sh_addr:u64
 *                      sh_offset:u64 sh_size:u64 sh_link:u32 sh_info:u32
 *                      sh_addralign:u64 sh_entsize:u64
 *   Elf64_Sym  (24 B)  st_name:u32 st_info:u8 st_other:u8 st_shndx:u16
 *                      st_value:u64 st_size:u64
 *   Elf64_Rel  (16 B)  r_offset:u64 r_info:u64 (sym = info >> 32, type = info & 0xffffffff)
 *
 * Everything is parsed eagerly and bounds-checked, so a bad file fails in
 * `parseElf` with a BpfError (EINVAL) rather than later.
 *
 * Context: user space, any thread. Pure.
 */

export const EM_BPF = 247;

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

/** BPF relocation types (llvm's BPF ELF relocation documentation). */
export enum RelocType {
  None = 0,
  /** `lddw` of a map or global: 64-bit immediate split across two slots. */
  Bpf64_64 = 1,
  /** 64-bit absolute data (e.g. `.maps` initialisers, DWARF). */
  Bpf64Abs64 = 2,
  /** 32-bit absolute data (BTF / DWARF). */
  Bpf64Abs32 = 3,
  /** 32-bit data, not to be resolved by a dynamic linker (.BTF.ext). */
  Bpf64NoDyld32 = 4,
  /** 32-bit pc-relative call immediate (bpf-to-bpf calls). */
  Bpf64_32 = 10,
}

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  /** File offset of the contents; meaningless for SHT_NOBITS. */
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** Contents (a view into the file), empty for SHT_NOBITS. */
  data: Uint8Array;
}

export interface ElfSymbol {
  index: number;
  name: string;
  bind: number;
  type: number;
  /** st_other & 3: default, internal, hidden, protected. */
  visibility: number;
  shndx: number;
  value: number;
  size: number;
}

export interface ElfRelocation {
  offset: number;
  type: number;
  symbol: number;
}

export interface ElfFile {
  sections: ElfSection[];
  symbols: ElfSymbol[];
  /** Relocation tables keyed by the index of the section they apply to. */
  relocations: Map<number, ElfRelocation[]>;
  sectionByName(name: string): ElfSection | undefined;
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;

/** Parses an ELF64 little-endian EM_BPF relocatable object. */
export function parseElf(bytes: Uint8Array): ElfFile {
  const r = new ByteReader(bytes, "ELF");
  if (bytes.length < EHDR_SIZE) throw new BpfError("EINVAL", `ELF: file is ${bytes.length} bytes, shorter than the 64-byte ELF64 header`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new BpfError("EINVAL", "ELF: bad magic (not an ELF file)");
  }
  if (bytes[4] !== 2) throw new BpfError("EINVAL", `ELF: class ${bytes[4]} is not ELFCLASS64`);
  if (bytes[5] === 2) throw new BpfError("EINVAL", "ELF: big-endian objects are not supported (build with -target bpf or bpfel)");
  if (bytes[5] !== 1) throw new BpfError("EINVAL", `ELF: unknown data encoding ${bytes[5]}`);
  const machine = r.u16(18, "e_machine");
  if (machine !== EM_BPF) throw new BpfError("EINVAL", `ELF: e_machine ${machine} is not EM_BPF (247)`);

  const shoff = r.u64n(40, "e_shoff");
  const shentsize = r.u16(58, "e_shentsize");
  let shnum = r.u16(60, "e_shnum");
  let shstrndx = r.u16(62, "e_shstrndx");
  if (shoff === 0) throw new BpfError("EINVAL", "ELF: no section header table");
  if (shentsize !== SHDR_SIZE) throw new BpfError("EINVAL", `ELF: e_shentsize ${shentsize} is not 64`);
  // Extended numbering: the real counts live in section header 0.
  if (shnum === 0) shnum = r.u64n(shoff + 32, "section 0 sh_size (e_shnum escape)");
  if (shstrndx === SHN_XINDEX) shstrndx = r.u32(shoff + 40, "section 0 sh_link (e_shstrndx escape)");
  r.need(shoff, shnum * SHDR_SIZE, "section header table");

  const sections: ElfSection[] = [];
  const nameOffs: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * SHDR_SIZE;
    const type = r.u32(h + 4, "sh_type");
    const offset = r.u64n(h + 24, "sh_offset");
    const size = r.u64n(h + 32, "sh_size");
    nameOffs.push(r.u32(h, "sh_name"));
    const data = type === SHT_NOBITS || type === SHT_NULL ? new Uint8Array(0) : r.slice(offset, size, `section ${i} contents`);
    sections.push({
      index: i,
      name: "", // resolved below, once the name table is known
      type,
      flags: r.u64(h + 8, "sh_flags"),
      offset,
      size,
      link: r.u32(h + 40, "sh_link"),
      info: r.u32(h + 44, "sh_info"),
      // Informational only: not validated, so odd values do not reject a file.
      addralign: Number(r.u64(h + 48, "sh_addralign")),
      entsize: Number(r.u64(h + 56, "sh_entsize")),
      data,
    });
  }
  const shstr = sections[shstrndx];
  if (!shstr || shstr.type !== SHT_STRTAB) throw new BpfError("EINVAL", `ELF: e_shstrndx ${shstrndx} is not a string table`);
  const shstrR = new StringTable(shstr.data, "ELF section names");
  for (const s of sections) {
    s.name = s.index === 0 ? "" : shstrR.get(nameOffs[s.index]!, `name of section ${s.index}`);
  }

  const symbols = readSymbols(sections);
  const relocations = new Map<number, ElfRelocation[]>();
  for (const s of sections) {
    if (s.type === SHT_RELA) throw new BpfError("EINVAL", `ELF: RELA section '${s.name}' is not used by BPF objects`);
    if (s.type !== SHT_REL) continue;
    // Like libbpf, ignore relocations of DWARF and BTF sections: nothing here reads them.
    if (s.name.startsWith(".rel.debug_") || s.name === ".rel.BTF" || s.name === ".rel.BTF.ext") continue;
    if (s.info === 0 || s.info >= sections.length) throw new BpfError("EINVAL", `ELF: relocation section '${s.name}' targets bad section ${s.info}`);
    if (s.size % REL_SIZE !== 0) throw new BpfError("EINVAL", `ELF: relocation section '${s.name}' size ${s.size} is not a multiple of 16`);
    const rr = new ByteReader(s.data, `ELF ${s.name}`);
    const list: ElfRelocation[] = [];
    for (let off = 0; off < s.size; off += REL_SIZE) {
      const info = rr.u64(off + 8, "r_info");
      const symbol = Number(info >> 32n);
      if (symbol >= symbols.length) throw new BpfError("EINVAL", `ELF: ${s.name}: relocation #${off / REL_SIZE} references symbol ${symbol} of ${symbols.length}`);
      list.push({ offset: rr.u64n(off, "r_offset"), type: Number(info & 0xffffffffn), symbol });
    }
    relocations.set(s.info, (relocations.get(s.info) ?? []).concat(list));
  }

  const byName = new Map<string, ElfSection>();
  for (const s of sections) if (!byName.has(s.name)) byName.set(s.name, s);
  return { sections, symbols, relocations, sectionByName: (name) => byName.get(name) };
}

function readSymbols(sections: ElfSection[]): ElfSymbol[] {
  const symtabs = sections.filter((s) => s.type === SHT_SYMTAB);
  if (symtabs.length === 0) return [];
  if (symtabs.length > 1) throw new BpfError("EINVAL", "ELF: more than one symbol table");
  const symtab = symtabs[0]!;
  const strtab = sections[symtab.link];
  if (!strtab || strtab.type !== SHT_STRTAB) throw new BpfError("EINVAL", `ELF: symbol table links to section ${symtab.link}, not a string table`);
  if (symtab.size % SYM_SIZE !== 0) throw new BpfError("EINVAL", `ELF: symbol table size ${symtab.size} is not a multiple of 24`);
  const r = new ByteReader(symtab.data, "ELF symbol table");
  const names = new StringTable(strtab.data, "ELF symbol names");
  const out: ElfSymbol[] = [];
  for (let off = 0, i = 0; off < symtab.size; off += SYM_SIZE, i++) {
    const info = r.u8(off + 4, "st_info");
    const shndx = r.u16(off + 6, "st_shndx");
    if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= sections.length) {
      throw new BpfError("EINVAL", `ELF: symbol ${i} is in section ${shndx} of ${sections.length}`);
    }
    out.push({
      index: i,
      name: names.get(r.u32(off, "st_name"), `name of symbol ${i}`),
      bind: info >> 4,
      type: info & 0xf,
      visibility: r.u8(off + 5, "st_other") & 3,
      shndx,
      value: r.u64n(off + 8, "st_value"),
      size: r.u64n(off + 16, "st_size"),
    });
  }
  return out;
}
