/**
 * `bpfsim disasm <in.bin|in.o[:section]> [--section name] [--style llvm|conformance]`:
 * disassembles raw instruction bytes or the executable sections of an ELF
 * object (all of them, or the one named after `:`). The llvm style
 * (default) matches `llvm-objdump -d`; the conformance style re-assembles
 * with `bpfsim asm`.
 */
import { readFileSync } from "node:fs";
import { disassemble, formatListing, type DisasmStyle } from "@bpfsim/loader";
import { parseArgs, UsageError, type Command } from "../cli.js";

interface Section {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Executable sections of a little-endian ELF64 object (just enough ELF for this command). */
function execSections(file: Uint8Array): Section[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 64 || dv.getUint32(0) !== 0x7f454c46 || file[4] !== 2 || file[5] !== 1) {
    throw new Error("not a little-endian ELF64 object");
  }
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  if (shoff + shnum * shentsize > file.length || shstrndx >= shnum) throw new Error("ELF section table out of bounds");
  const hdr = (k: number) => {
    const at = shoff + k * shentsize;
    return {
      name: dv.getUint32(at, true),
      type: dv.getUint32(at + 4, true),
      flags: Number(dv.getBigUint64(at + 8, true)),
      offset: Number(dv.getBigUint64(at + 0x18, true)),
      size: Number(dv.getBigUint64(at + 0x20, true)),
    };
  };
  const strtab = hdr(shstrndx);
  const nameAt = (off: number): string => {
    let end = strtab.offset + off;
    while (end < file.length && file[end] !== 0) end++;
    return new TextDecoder().decode(file.subarray(strtab.offset + off, end));
  };
  const out: Section[] = [];
  for (let k = 0; k < shnum; k++) {
    const h = hdr(k);
    // SHT_PROGBITS with SHF_EXECINSTR.
    if (h.type !== 1 || (h.flags & 0x4) === 0 || h.size === 0) continue;
    if (h.offset + h.size > file.length) throw new Error(`section ${nameAt(h.name)} out of bounds`);
    out.push({ name: nameAt(h.name), bytes: file.subarray(h.offset, h.offset + h.size) });
  }
  return out;
}

export const disasmCommand: Command = {
  name: "disasm",
  summary: "disassemble instruction bytes or an ELF object's program sections",
  usage: "disasm <in.bin|in.o[:section]> [--section name] [--style llvm|conformance]",
  async run(ctx) {
    const args = parseArgs(ctx.argv, ["--style", "--section", "-j"]);
    if (args.positionals.length !== 1) throw new UsageError("give exactly one input file");
    const style = ((args.options.get("--style") as string | undefined) ?? "llvm") as DisasmStyle;
    if (style !== "llvm" && style !== "conformance") throw new UsageError(`unknown style '${style}'`);
    const spec = args.positionals[0]!;
    const m = /^(.*\.o):(.+)$/.exec(spec);
    const path = m ? m[1]! : spec;
    // `file.o:xdp`, `--section xdp` or `-j xdp` (as llvm-objdump spells it).
    const wanted = m?.[2] ?? ((args.options.get("--section") ?? args.options.get("-j")) as string | undefined);
    let file: Uint8Array;
    try {
      file = new Uint8Array(readFileSync(path));
    } catch (e) {
      throw new Error(`cannot read '${path}': ${(e as Error).message}`);
    }
    const isElf = file.length >= 4 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46;
    let sections: Section[] = isElf ? execSections(file) : [{ name: "", bytes: file }];
    if (wanted !== undefined) {
      if (!isElf) throw new UsageError("--section needs an ELF object");
      sections = sections.filter((s) => s.name === wanted);
      if (sections.length === 0) throw new Error(`no executable section '${wanted}' in ${path}`);
    }
    for (const s of sections) {
      if (s.bytes.length % 8 !== 0) ctx.err(`bpfsim: ${s.name || path}: ${s.bytes.length % 8} trailing bytes ignored`);
      if (s.name) ctx.out(`\nDisassembly of section ${s.name}:\n`);
      const lines = disassemble(s.bytes, style);
      ctx.out(style === "llvm" ? formatListing(lines) : lines.map((l) => l.text).join("\n"));
    }
    return 0;
  },
};
