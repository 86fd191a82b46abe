import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_OBJ_NAME_LEN, BpfError, MapType } from "@bpfsim/core";
import { BtfKind, BtfLinkage, type Btf, type BtfType } from "../btf/btf-types.js";
import { ByteReader } from "../elf/bytes.js";
import { SHT_NOBITS, SHT_PROGBITS, STT_SECTION, type ElfFile, type ElfSection, type ElfSymbol } from "../elf/elf-file.js";
import { PinType, type MapOrigin, type MapSpec } from "./spec-types.js";

/**
 * Maps that are not declared in `.maps`:
 *   - global data: `.data`, `.rodata`, `.bss` and their `.<sec>.<suffix>`
 *     variants become single-element ARRAY maps (key 0) whose value is the
 *     section, as libbpf does; `.rodata` is BPF_F_RDONLY_PROG and frozen
 *     after its contents are written;
 *   - legacy `maps` sections holding `struct bpf_map_def` records.
 *
 * Context: user space, any thread. Pure.
 */

/** The global-data kind of a section, if it is one. */
export function dataSectionKind(sec: ElfSection): MapOrigin | undefined {
  const is = (base: string) => sec.name === base || sec.name.startsWith(`${base}.`);
  if (sec.type === SHT_PROGBITS && is(".data")) return "data";
  if (sec.type === SHT_PROGBITS && is(".rodata")) return "rodata";
  if (sec.type === SHT_NOBITS && is(".bss")) return "bss";
  return undefined;
}

/**
 * libbpf's kernel-visible name for a global data map: as much of the object
 * name as fits before the section name (which always gets at least 7
 * characters), or the section name alone for `.data.custom`-style sections;
 * at most 15 characters, anything but `[A-Za-z0-9_.]` replaced by `_`.
 */
export function internalMapName(objName: string, realName: string): string {
  const max = BPF_OBJ_NAME_LEN - 1;
  const sfxLen = Math.min(Math.max(7, realName.length), max);
  const pfxLen = realName.indexOf(".", 1) >= 0 ? 0 : Math.min(BPF_OBJ_NAME_LEN - sfxLen - 1, objName.length);
  const name = (objName.slice(0, pfxLen) + realName.slice(0, sfxLen)).slice(0, max);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

/** Global data maps, keyed by section name, in section order. */
export function collectDataMaps(elf: ElfFile, btf: Btf | undefined, objName: string): Record<string, MapSpec> {
  const out: Record<string, MapSpec> = {};
  const datasecs = new Map<string, BtfType>();
  for (const t of btf?.types ?? []) if (t.kind === BtfKind.Datasec && !datasecs.has(t.name)) datasecs.set(t.name, t);
  for (const sec of elf.sections) {
    const origin = dataSectionKind(sec);
    if (!origin || sec.size === 0) continue;
    const datasec = datasecs.get(sec.name);
    let flags = origin === "rodata" ? BPF_F_RDONLY_PROG : 0;
    // Mmapable when a global (non-static) variable is exposed, as libbpf decides.
    if (datasec?.kind === BtfKind.Datasec) {
      const exposed = datasec.vars.some((vi) => {
        const v = btf!.types[vi.type];
        return v?.kind === BtfKind.Var && v.linkage !== BtfLinkage.Static;
      });
      if (exposed) flags |= BPF_F_MMAPABLE;
    }
    if (sec.size > 0xffffffff) throw new BpfError("E2BIG", `ELF: data section '${sec.name}' is too large`);
    const value = origin === "bss" ? new Uint8Array(sec.size) : sec.data.slice();
    out[sec.name] = {
      name: internalMapName(objName, sec.name),
      type: MapType.Array,
      keySize: 4,
      valueSize: sec.size,
      maxEntries: 1,
      flags,
      numaNode: 0,
      mapExtra: 0n,
      pinning: PinType.None,
      origin,
      sectionName: sec.name,
      btfKeyTypeId: 0,
      btfValueTypeId: datasec?.id ?? 0,
      spinLockOff: -1,
      contents: [{ kind: "value", key: new Uint8Array(4), value }],
      freeze: origin === "rodata",
    };
  }
  return out;
}

const BPF_MAP_DEF_SIZE = 20;
const STV_INTERNAL = 1;
const STV_HIDDEN = 2;

/** Legacy `SEC("maps") struct bpf_map_def name = {...}` definitions. */
export function collectLegacyMaps(elf: ElfFile, sec: ElfSection): Record<string, MapSpec> {
  const syms = elf.symbols.filter((s) => s.shndx === sec.index && s.type !== STT_SECTION && s.name !== "");
  const out: Record<string, MapSpec> = {};
  if (syms.length === 0) return out;
  const defSize = Math.floor(sec.size / syms.length);
  if (defSize < 4 || sec.size % syms.length !== 0) {
    throw new BpfError("EINVAL", `ELF: 'maps' section size ${sec.size} does not divide into ${syms.length} definitions`);
  }
  const r = new ByteReader(sec.data, "maps section");
  for (const sym of syms) {
    const off = sym.value;
    r.need(off, defSize, `map '${sym.name}' definition`);
    const field = (i: number) => (i * 4 + 4 <= defSize ? r.u32(off + i * 4, `map '${sym.name}'`) : 0);
    for (let b = BPF_MAP_DEF_SIZE; b < defSize; b++) {
      if (sec.data[off + b] !== 0) throw new BpfError("EINVAL", `map '${sym.name}': unknown non-zero fields in its bpf_map_def`);
    }
    if (out[sym.name]) throw new BpfError("EINVAL", `map '${sym.name}': defined twice`);
    out[sym.name] = {
      name: sym.name.slice(0, BPF_OBJ_NAME_LEN - 1),
      type: field(0),
      keySize: field(1),
      valueSize: field(2),
      maxEntries: field(3),
      flags: field(4),
      numaNode: 0,
      mapExtra: 0n,
      pinning: PinType.None,
      origin: "legacy",
      sectionName: sec.name,
      btfKeyTypeId: 0,
      btfValueTypeId: 0,
      spinLockOff: -1,
      contents: [],
      freeze: false,
    };
  }
  return out;
}

/**
 * clang leaves DATASEC sizes (and sometimes variable offsets) for libbpf to
 * fill in from the ELF section and symbol table. Done in place on `btf`.
 */
export function fixupDatasecs(elf: ElfFile, btf: Btf): void {
  const symbols = new Map<string, ElfSymbol>();
  for (const s of elf.symbols) {
    const k = `${s.shndx}\0${s.name}`;
    if (!symbols.has(k)) symbols.set(k, s);
  }
  for (const t of btf.types) {
    if (t.kind !== BtfKind.Datasec) continue;
    const sec = elf.sectionByName(t.name);
    if (!sec) continue; // .kconfig, .ksyms: externs, no ELF section
    t.size = sec.size;
    for (const vi of t.vars) {
      const v = btf.types[vi.type];
      if (v?.kind !== BtfKind.Var || v.linkage === BtfLinkage.Static || v.linkage === BtfLinkage.Extern) continue;
      const sym = symbols.get(`${sec.index}\0${v.name}`);
      if (!sym) continue;
      vi.offset = sym.value;
      // A global with hidden or internal visibility is static as far as
      // user space is concerned (libbpf then does not mmap the map for it).
      if (sym.visibility === STV_INTERNAL || sym.visibility === STV_HIDDEN) v.linkage = BtfLinkage.Static;
    }
  }
}
