/**
 * Disassembler with two output styles:
 *
 *   - "conformance" (default): the assembler's own syntax, so that
 *     text -> bytes -> text -> bytes is the identity on bytes;
 *   - "llvm": the C-like syntax of `llvm-objdump -d` (`r0 = 1`,
 *     `if r1 == 999 goto +1`, `r2 = *(u32 *)(r1 + 4)`, `w0 += w1`).
 *
 * Invalid slots are printed as `.invalid 0x<u64>  # <reason>` and the walk
 * goes on. Pure; callable from any thread.
 */
import {
  decodeAt,
  opInfo,
  variantName,
  lddwImm64,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  type Insn,
} from "@bpfsim/core";
import { llvmText } from "./llvm-syntax.js";

export type DisasmStyle = "conformance" | "llvm";

/** One disassembled instruction. */
export interface DisasmLine {
  readonly pc: number;
  readonly slots: 1 | 2;
  readonly text: string;
  readonly bytes: Uint8Array;
}

const sgn = (n: number): string => (n < 0 ? `-${-n}` : `+${n}`);
const mem = (reg: number, off: number): string => `[%r${reg}${off < 0 ? "-" : "+"}${Math.abs(off)}]`;

/** Conformance-syntax text of one valid instruction. */
export function formatInsn(i: Insn): string {
  const info = opInfo(i.code);
  if (!info) return `.invalid`;
  const name = variantName(info, i.off, i.imm) ?? info.name;
  const d = `%r${i.dst}`;
  const s = `%r${i.src}`;
  const srcOp = info.source === "X" ? s : String(i.imm);
  switch (info.kind) {
    case "alu":
      if (name.startsWith("movsx")) return `${name} ${d}, ${s}`;
      return `${name} ${d}, ${srcOp}`;
    case "neg":
    case "end":
      return `${name} ${d}`;
    case "ja":
      return info.is32 ? `ja32 ${sgn(i.imm)}` : `ja ${sgn(i.off)}`;
    case "jcond":
      return `${name} ${d}, ${srcOp}, ${sgn(i.off)}`;
    case "call":
      if (i.src === BPF_PSEUDO_CALL) return `call local ${sgn(i.imm)}`;
      if (i.src === BPF_PSEUDO_KFUNC_CALL) return `call kfunc ${i.imm}`;
      return `call ${i.imm}`;
    case "callx":
      return `call ${d}`;
    case "exit":
      return "exit";
    case "lddw":
      return `lddw ${d}, ${lddwOperand(i)}`;
    case "ldabs":
      return `${name} ${i.imm}`;
    case "ldind":
      return `${name} ${s}, ${i.imm}`;
    case "ldx":
    case "ldxsx":
      return `${name} ${d}, ${mem(i.src, i.off)}`;
    case "st":
      return `${name} ${mem(i.dst, i.off)}, ${i.imm}`;
    case "stx":
      return `${name} ${mem(i.dst, i.off)}, ${s}`;
    case "atomic":
      return `${name} ${mem(i.dst, i.off)}, ${s}`;
  }
}

function lddwOperand(i: Insn): string {
  switch (i.src) {
    case BPF_PSEUDO_MAP_FD:
      return `map_fd ${i.imm}`;
    case BPF_PSEUDO_MAP_VALUE:
      return `map_value ${i.imm}, ${i.nextImm ?? 0}`;
    case BPF_PSEUDO_BTF_ID:
      return i.nextImm ? `btf_id ${i.imm}, ${i.nextImm}` : `btf_id ${i.imm}`;
    case BPF_PSEUDO_FUNC:
      return `func ${sgn(i.imm)}`;
    case BPF_PSEUDO_MAP_IDX:
      return `map_idx ${i.imm}`;
    case BPF_PSEUDO_MAP_IDX_VALUE:
      return `map_idx_value ${i.imm}, ${i.nextImm ?? 0}`;
    default:
      return "0x" + lddwImm64(i).toString(16);
  }
}

/** Disassembles a whole program, one entry per instruction (lddw spans two slots). */
export function disassemble(bytes: Uint8Array, style: DisasmStyle = "conformance"): DisasmLine[] {
  const out: DisasmLine[] = [];
  const nslots = Math.floor(bytes.length / 8);
  for (let pc = 0; pc < nslots; ) {
    const r = decodeAt(bytes, pc);
    const slots = r.ok ? r.slots : 1;
    const b = bytes.subarray(pc * 8, (pc + slots) * 8);
    let text: string;
    if (r.ok) text = style === "llvm" ? llvmText(r.insn) : formatInsn(r.insn);
    else {
      const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
      text = `.invalid 0x${v.toString(16).padStart(16, "0")}  # ${r.error.message}`;
    }
    out.push({ pc, slots, text, bytes: b });
    pc += slots;
  }
  return out;
}

/** `llvm-objdump -d`-like listing: index, bytes, text. */
export function formatListing(lines: readonly DisasmLine[]): string {
  return lines
    .map((l) => {
      const bytes = Array.from(l.bytes, (x) => x.toString(16).padStart(2, "0")).join(" ");
      return `${String(l.pc).padStart(8)}:\t${bytes}\t${l.text}`;
    })
    .join("\n");
}

/** Conformance-syntax program text (no listing columns), re-assemblable. */
export function disassembleToSource(bytes: Uint8Array): string {
  return disassemble(bytes, "conformance")
    .map((l) => l.text)
    .join("\n");
}
