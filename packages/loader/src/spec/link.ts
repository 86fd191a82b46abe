import { BpfError } from "@bpfsim/core";
import type { BtfExt } from "../btf/parse-btf-ext.js";
import { RelocType, SHN_UNDEF, type ElfFile, type ElfSymbol } from "../elf/elf-file.js";
import type { ExecSection } from "./programs.js";
import type { CoreRelo, ExternRelocation, FuncInfo, LineInfo, MapRelocation } from "./spec-types.js";

/**
 * Linking one program: its body, then every subprogram it reaches, each
 * appended once in the order first called (libbpf's bpf_object__reloc_code),
 * with call immediates rewritten for the new layout, map references turned
 * into MapRelocations and `.BTF.ext` records moved to the new positions.
 *
 * Instruction slot: opcode:u8, dst:4 | src:4 (dst in the low nibble), off:i16, imm:i32.
 *
 * How a target subprogram is found (libbpf's rules):
 *   - `call` with a relocation: symbol offset / 8 + imm + 1 (global functions
 *     have imm = -1; static ones are relocated against the section symbol);
 *   - `call` without one: a static function of the same section, imm relative;
 *   - `lddw` with src = BPF_PSEUDO_FUNC (callbacks for bpf_loop...): (symbol offset + imm) / 8.
 *
 * Context: user space, any thread. Pure.
 */

const OP_CALL = 0x85; // BPF_JMP | BPF_CALL
const OP_LDDW = 0x18; // BPF_LD | BPF_IMM | BPF_DW
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_FUNC = 4;

export interface FuncRange {
  name: string;
  secIndex: number;
  /** First instruction index within the section. */
  start: number;
  count: number;
  local: boolean;
}

/** What an `lddw` against `sym` (with addend `imm`) refers to, or undefined if not a map. */
export type MapRefResolver = (sym: ElfSymbol, imm: number) => Omit<MapRelocation, "insnIndex"> | undefined;

export interface LinkedProgram {
  instructions: Uint8Array;
  relocations: MapRelocation[];
  externs: ExternRelocation[];
  subprograms: { name: string; insnOff: number }[];
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
  coreRelos: CoreRelo[];
}

export function linkProgram(
  elf: ElfFile,
  exec: Map<number, ExecSection>,
  main: FuncRange,
  ext: BtfExt | undefined,
  resolveMap: MapRefResolver,
): LinkedProgram {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const placed = new Map<FuncRange, number>();
  const order: FuncRange[] = [];
  const relocations: MapRelocation[] = [];
  const externs: ExternRelocation[] = [];

  // Depth-first like libbpf, but with an explicit stack: a corrupted object
  // with a long call chain must not overflow the JS stack.
  interface Frame {
    fn: FuncRange;
    es: ExecSection;
    body: Uint8Array;
    view: DataView;
    at: number;
    i: number;
  }
  const stack: Frame[] = [];
  const place = (fn: FuncRange): number => {
    const es = exec.get(fn.secIndex)!;
    const at = total;
    placed.set(fn, at);
    order.push(fn);
    const body = es.sec.data.slice(fn.start * 8, (fn.start + fn.count) * 8);
    chunks.push(body);
    total += fn.count;
    stack.push({ fn, es, body, view: new DataView(body.buffer, body.byteOffset, body.byteLength), at, i: 0 });
    return at;
  };

  /** Processes the top frame until done or until it places a new function. */
  const step = (f: Frame): void => {
    const { fn, es, body, view, at } = f;
    const where = (i: number) => `prog '${main.name}': ${fn.name}+${i}`;
    while (f.i < fn.count) {
      const i = f.i;
      f.i++;
      const opcode = body[i * 8]!;
      const src = body[i * 8 + 1]! >> 4;
      const imm = view.getInt32(i * 8 + 4, true);
      const rel = es.relocs.get(fn.start + i);
      const sym = rel ? elf.symbols[rel.symbol]! : undefined;
      const isCall = opcode === OP_CALL && src === BPF_PSEUDO_CALL;
      const isLddw = opcode === OP_LDDW;
      if (isLddw) {
        if (i + 1 >= fn.count) throw new BpfError("EINVAL", `${where(i)}: lddw is missing its second slot`);
        f.i++;
      }
      const externRef = sym && sym.shndx === SHN_UNDEF && sym.name !== "" ? (isLddw ? resolveMap(sym, imm) : undefined) : null;
      if (externRef === undefined) {
        // An extern libbpf resolves against the kernel (ksyms, kfuncs): recorded, not resolved.
        externs.push({ insnIndex: at + i, symbol: sym!.name });
        continue;
      }
      let target: { sec: number; insn: number } | undefined;
      if (isCall) {
        if (sym) {
          if (!exec.has(sym.shndx)) throw new BpfError("EINVAL", `${where(i)}: call relocation against '${sym.name}' outside code`);
          if (sym.value % 8 !== 0) throw new BpfError("EINVAL", `${where(i)}: call target '${sym.name}' is misaligned`);
          target = { sec: sym.shndx, insn: sym.value / 8 + imm + 1 };
        } else {
          target = { sec: fn.secIndex, insn: fn.start + i + imm + 1 };
        }
      } else if (isLddw && sym && exec.has(sym.shndx)) {
        if ((sym.value + imm) % 8 !== 0) throw new BpfError("EINVAL", `${where(i)}: bad function address relocation against '${sym.name}'`);
        // clang leaves src_reg 0 here; like libbpf, mark it as a function address.
        body[i * 8 + 1] = (body[i * 8 + 1]! & 0x0f) | (BPF_PSEUDO_FUNC << 4);
        target = { sec: sym.shndx, insn: (sym.value + imm) / 8 };
      } else if (isLddw && sym) {
        if (rel!.type !== RelocType.Bpf64_64) throw new BpfError("EINVAL", `${where(i)}: relocation type ${rel!.type} on lddw`);
        const ref = resolveMap(sym, imm);
        if (!ref) {
          const secName = elf.sections[sym.shndx]?.name ?? String(sym.shndx);
          throw new BpfError("EINVAL", `${where(i)}: bad map relo against '${sym.name}' in section '${secName}'`);
        }
        relocations.push({ insnIndex: at + i, ...ref });
        // Set everything but the fd: src_reg, imm = 0, and the value offset in the second slot.
        body[i * 8 + 1] = (body[i * 8 + 1]! & 0x0f) | ((ref.kind === "fd" ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE) << 4);
        view.setInt32(i * 8 + 4, 0, true);
        view.setInt32(i * 8 + 12, ref.offset, true);
        continue;
      } else if (sym) {
        throw new BpfError("EINVAL", `${where(i)}: relocation against '${sym.name}' on an instruction that takes none (opcode 0x${opcode.toString(16)})`);
      }
      if (!target) continue;
      const tes = exec.get(target.sec);
      const callee = tes?.funcAt.get(target.insn);
      if (!callee) throw new BpfError("EINVAL", `${where(i)}: no function at instruction ${target.insn} of '${tes?.sec.name ?? target.sec}'`);
      const known = placed.get(callee);
      const calleeAt = known ?? place(callee);
      view.setInt32(i * 8 + 4, calleeAt - (at + i) - 1, true);
      if (known === undefined) return; // process the new function first, then resume here
    }
    stack.pop(); // `f` is the top frame
  };

  place(main);
  while (stack.length > 0) step(stack[stack.length - 1]!);
  const instructions = new Uint8Array(total * 8);
  let off = 0;
  for (const c of chunks) {
    instructions.set(c, off);
    off += c.length;
  }
  const subprograms = order.slice(1).map((f) => ({ name: f.name, insnOff: placed.get(f)! }));
  relocations.sort((a, b) => a.insnIndex - b.insnIndex);
  externs.sort((a, b) => a.insnIndex - b.insnIndex);
  return { instructions, relocations, externs, subprograms, ...moveExtInfo(elf, order, placed, ext) };
}

/** `.BTF.ext` records of every placed function, at their new instruction indexes. */
function moveExtInfo(
  elf: ElfFile,
  order: FuncRange[],
  placed: Map<FuncRange, number>,
  ext: BtfExt | undefined,
): Pick<LinkedProgram, "funcInfo" | "lineInfo" | "coreRelos"> {
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  const coreRelos: CoreRelo[] = [];
  if (!ext) return { funcInfo, lineInfo, coreRelos };
  for (const fn of order) {
    const secName = elf.sections[fn.secIndex]!.name;
    const at = placed.get(fn)!;
    const move = <T extends { insnOff: number }>(recs: T[] | undefined, into: T[]) => {
      if (!recs) return;
      const sorted = sortedByInsn(recs);
      // First record at or after the function's start, then every one inside it.
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid]!.insnOff < fn.start * 8) lo = mid + 1;
        else hi = mid;
      }
      for (let k = lo; k < sorted.length && sorted[k]!.insnOff < (fn.start + fn.count) * 8; k++) {
        const r = sorted[k]!;
        if (r.insnOff % 8 === 0) into.push({ ...r, insnOff: at + r.insnOff / 8 - fn.start });
      }
    };
    move(ext.funcInfo[secName], funcInfo);
    move(ext.lineInfo[secName], lineInfo);
    move(ext.coreRelos[secName], coreRelos);
  }
  return { funcInfo, lineInfo, coreRelos };
}

/** Records sorted by instruction (stable), computed once per record list. */
const sortedCache = new WeakMap<object, { insnOff: number }[]>();
function sortedByInsn<T extends { insnOff: number }>(recs: T[]): T[] {
  let sorted = sortedCache.get(recs);
  if (!sorted) {
    sorted = [...recs].sort((a, b) => a.insnOff - b.insnOff);
    sortedCache.set(recs, sorted);
  }
  return sorted as T[];
}
