import { BpfError } from "@bpfsim/core";
import { BtfKind, type Btf } from "./btf/btf-types.js";
import { parseBtf } from "./btf/parse-btf.js";
import { parseBtfExt, type BtfExt } from "./btf/parse-btf-ext.js";
import { decodeCString, ByteReader } from "./elf/bytes.js";
import { parseElf, SHN_UNDEF, STT_SECTION, type ElfFile, type ElfSymbol } from "./elf/elf-file.js";
import { collectBtfMaps } from "./spec/btf-maps.js";
import { collectDataMaps, collectLegacyMaps, dataSectionKind, fixupDatasecs } from "./spec/data-maps.js";
import { collectKconfig, type KconfigLayout } from "./spec/kconfig.js";
import type { MapRefResolver } from "./spec/link.js";
import { collectExecSections, collectPrograms, isExternSymbol } from "./spec/programs.js";
import type { CollectionSpec, MapSpec } from "./spec/spec-types.js";

/**
 * `openObject(bytes)`: an object file from `clang -O2 -g -target bpf -c` to
 * a CollectionSpec, as libbpf's bpf_object__open would see it. Nothing is
 * created in any machine; load the spec to get live maps and programs.
 *
 * Every failure is a BpfError (EINVAL for malformed input, EOPNOTSUPP for
 * constructs libbpf also refuses).
 *
 * Context: user space, any thread. Pure.
 */

export interface OpenObjectOptions {
  /**
   * Object name, used as the prefix of global data map names (libbpf takes
   * the file name up to its first '.': `prog.bpf.o` -> `prog`). Default "".
   */
  name?: string;
}

/** libbpf's object name for a file path: the base name up to its first '.'. */
export function objectNameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.indexOf(".");
  return dot < 0 ? base : base.slice(0, dot);
}

/** Parses an eBPF ELF object into an editable CollectionSpec. */
export function openObject(bytes: Uint8Array, opts: OpenObjectOptions = {}): CollectionSpec {
  const elf = parseElf(bytes);
  const objName = opts.name ?? "";

  const btfSec = elf.sectionByName(".BTF");
  const btf: Btf | undefined = btfSec ? parseBtf(btfSec.data) : undefined;
  const extSec = elf.sectionByName(".BTF.ext");
  const ext: BtfExt | undefined = extSec && btf ? parseBtfExt(extSec.data, btf) : undefined;
  if (btf) fixupDatasecs(elf, btf);

  const licenseSec = elf.sectionByName("license");
  const license = licenseSec ? decodeCString(licenseSec.data) : "";
  const versionSec = elf.sectionByName("version");
  let version = 0;
  if (versionSec) {
    if (versionSec.size !== 4) throw new BpfError("EINVAL", `ELF: 'version' section is ${versionSec.size} bytes, not 4`);
    version = new ByteReader(versionSec.data, "version").u32(0, "kern_version");
  }

  // Maps in libbpf's order: `.maps` (and legacy `maps`), then global data.
  const maps: Record<string, MapSpec> = {};
  const add = (more: Record<string, MapSpec>) => {
    for (const [k, v] of Object.entries(more)) {
      if (maps[k]) throw new BpfError("EINVAL", `map '${k}' is defined twice`);
      maps[k] = v;
    }
  };
  const mapsSec = elf.sectionByName(".maps");
  const btfMaps = mapsSec ? collectBtfMaps(elf, mapsSec, btf) : {};
  const legacySec = elf.sectionByName("maps");
  add(legacySec ? collectLegacyMaps(elf, legacySec) : {});
  add(btfMaps);
  add(collectDataMaps(elf, btf, objName));
  const kconfig = collectKconfig(btf, objName);
  if (kconfig.map) add({ ".kconfig": kconfig.map });

  const exec = collectExecSections(elf);
  const programs = collectPrograms(elf, exec, ext, mapResolver(elf, btf, maps, kconfig), license, version);
  for (const m of Object.values(maps)) {
    for (const c of m.contents) {
      if (c.kind === "program" && !programs[c.program]) {
        throw new BpfError("EINVAL", `map '${m.name}': slot ${c.index} points at '${c.program}', which is not a program`);
      }
    }
  }

  return { name: objName, maps, programs, license, version, btf, externs: collectExterns(elf, btf, kconfig) };
}

/**
 * How `lddw` relocations name maps: `.maps` by variable offset, `maps` by
 * symbol, global data by section, `__kconfig` externs by their `.kconfig` slot.
 */
function mapResolver(elf: ElfFile, btf: Btf | undefined, maps: Record<string, MapSpec>, kconfig: KconfigLayout): MapRefResolver {
  const mapsDatasec = btf?.types.find((t) => t.kind === BtfKind.Datasec && t.name === ".maps");
  const btfMapAt = new Map<number, string>();
  if (mapsDatasec?.kind === BtfKind.Datasec) {
    for (const vi of mapsDatasec.vars) {
      const name = btf!.types[vi.type]?.name;
      if (name && maps[name]?.origin === "btf") btfMapAt.set(vi.offset, name);
    }
  }
  return (sym: ElfSymbol, imm: number) => {
    if (sym.shndx === SHN_UNDEF) {
      const k = kconfig.offsets.get(sym.name);
      return k && maps[".kconfig"] ? { map: ".kconfig", kind: "value", offset: k.offset } : undefined;
    }
    const sec = elf.sections[sym.shndx];
    if (!sec) return undefined;
    if (sec.name === ".maps") {
      const name = btfMapAt.get(sym.value);
      if (!name) throw new BpfError("EINVAL", `map relo failed to find map for section '.maps', off ${sym.value}`);
      return { map: name, kind: "fd", offset: 0 };
    }
    if (sec.name === "maps" && sym.type !== STT_SECTION && maps[sym.name]?.origin === "legacy") {
      return { map: sym.name, kind: "fd", offset: 0 };
    }
    if (dataSectionKind(sec) && maps[sec.name]) {
      const offset = imm + sym.value;
      if (offset < 0 || offset >= maps[sec.name]!.valueSize) {
        throw new BpfError("EINVAL", `relocation against '${sym.name || sec.name}' is outside '${sec.name}' (offset ${offset})`);
      }
      return { map: sec.name, kind: "value", offset };
    }
    return undefined;
  };
}

/** Extern symbols and the DATASEC (`.kconfig`, `.ksyms`) BTF puts them in. */
function collectExterns(elf: ElfFile, btf: Btf | undefined, kconfig: KconfigLayout): CollectionSpec["externs"] {
  const where = new Map<string, string>();
  for (const t of btf?.types ?? []) {
    if (t.kind !== BtfKind.Datasec) continue;
    for (const vi of t.vars) {
      const v = btf!.types[vi.type];
      if (v) where.set(v.name, t.name);
    }
  }
  return elf.symbols
    .filter((s) => isExternSymbol(elf, s.index))
    .map((s) => {
      const k = kconfig.offsets.get(s.name);
      return { name: s.name, section: where.get(s.name) ?? "", offset: k?.offset ?? -1, size: k?.size ?? 0 };
    });
}
