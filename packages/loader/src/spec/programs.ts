import { BpfError } from "@bpfsim/core";
import type { BtfExt } from "../btf/parse-btf-ext.js";
import {
  SHF_EXECINSTR,
  SHN_UNDEF,
  SHT_PROGBITS,
  STB_LOCAL,
  STT_FUNC,
  type ElfFile,
  type ElfRelocation,
  type ElfSection,
  type ElfSymbol,
} from "../elf/elf-file.js";
import { linkProgram, type FuncRange, type MapRefResolver } from "./link.js";
import { matchSection } from "./section-names.js";
import type { ProgramSpec } from "./spec-types.js";

/**
 * Programs: every global function in an executable section other than
 * `.text` is a program; functions in `.text` are subprograms that programs
 * call (bpf-to-bpf calls, callbacks). Each program gets its own copy of the
 * subprograms it uses, appended after its body (see link.ts).
 *
 * Context: user space, any thread. Pure.
 */

export const BPF_INSN_SZ = 8;

/** Functions of one executable section, with that section's relocations by instruction. */
export interface ExecSection {
  sec: ElfSection;
  funcs: FuncRange[];
  /** Functions by first instruction. */
  funcAt: Map<number, FuncRange>;
  relocs: Map<number, ElfRelocation>;
}

/** Finds executable sections, their functions and relocations. */
export function collectExecSections(elf: ElfFile): Map<number, ExecSection> {
  const out = new Map<number, ExecSection>();
  const symsBySection = new Map<number, ElfSymbol[]>();
  for (const sym of elf.symbols) {
    if (sym.type !== STT_FUNC) continue;
    const list = symsBySection.get(sym.shndx);
    if (list) list.push(sym);
    else symsBySection.set(sym.shndx, [sym]);
  }
  for (const sec of elf.sections) {
    if (sec.type !== SHT_PROGBITS || (sec.flags & BigInt(SHF_EXECINSTR)) === 0n || sec.size === 0) continue;
    if (sec.size % BPF_INSN_SZ !== 0) throw new BpfError("EINVAL", `ELF: section '${sec.name}' size ${sec.size} is not a multiple of 8`);
    const funcs: FuncRange[] = [];
    for (const sym of symsBySection.get(sec.index) ?? []) {
      if (sym.value % BPF_INSN_SZ !== 0 || sym.size % BPF_INSN_SZ !== 0 || sym.value + sym.size > sec.size) {
        throw new BpfError("EINVAL", `ELF: function '${sym.name}' in '${sec.name}' has a bad range (${sym.value}+${sym.size})`);
      }
      if (sym.size === 0) continue;
      funcs.push({
        name: sym.name,
        secIndex: sec.index,
        start: sym.value / BPF_INSN_SZ,
        count: sym.size / BPF_INSN_SZ,
        local: sym.bind === STB_LOCAL,
      });
    }
    funcs.sort((a, b) => a.start - b.start);
    for (let i = 1; i < funcs.length; i++) {
      const prev = funcs[i - 1]!;
      if (funcs[i]!.start < prev.start + prev.count) {
        throw new BpfError("EINVAL", `ELF: functions '${prev.name}' and '${funcs[i]!.name}' overlap in '${sec.name}'`);
      }
    }
    const relocs = new Map<number, ElfRelocation>();
    for (const rel of elf.relocations.get(sec.index) ?? []) {
      if (rel.offset % BPF_INSN_SZ !== 0 || rel.offset >= sec.size) {
        throw new BpfError("EINVAL", `ELF: relocation at ${rel.offset} in '${sec.name}' is not at an instruction`);
      }
      relocs.set(rel.offset / BPF_INSN_SZ, rel);
    }
    out.set(sec.index, { sec, funcs, funcAt: new Map(funcs.map((f) => [f.start, f])), relocs });
  }
  return out;
}

/** Builds a ProgramSpec for every program, keyed by function name. */
export function collectPrograms(
  elf: ElfFile,
  exec: Map<number, ExecSection>,
  ext: BtfExt | undefined,
  resolveMap: MapRefResolver,
  license: string,
  kernVersion: number,
): Record<string, ProgramSpec> {
  const text = elf.sectionByName(".text");
  const out: Record<string, ProgramSpec> = {};
  for (const [index, es] of exec) {
    if (text && index === text.index) continue;
    for (const fn of es.funcs) {
      if (fn.local) throw new BpfError("EOPNOTSUPP", `sec '${es.sec.name}': program '${fn.name}' is static and not supported`);
      if (out[fn.name]) throw new BpfError("EINVAL", `program '${fn.name}' is defined twice`);
      const { def, attachTo } = matchSection(es.sec.name);
      const linked = linkProgram(elf, exec, fn, ext, resolveMap);
      out[fn.name] = {
        name: fn.name,
        sectionName: es.sec.name,
        type: def?.type ?? 0,
        expectedAttachType: def?.expectedAttachType ?? 0,
        attachTo,
        flags: def?.progFlags ?? 0,
        license,
        kernVersion,
        ...linked,
      };
    }
  }
  return out;
}

/** Extern symbols (`extern` in C: kconfig values, ksyms, kfuncs). */
export function isExternSymbol(elf: ElfFile, symIndex: number): boolean {
  const s = elf.symbols[symIndex];
  return !!s && s.shndx === SHN_UNDEF && s.name !== "";
}
