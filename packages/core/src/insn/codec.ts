/**
 * Instruction codec: 8-byte slots <-> `Insn` records (RFC 9669 section 3).
 *
 *   byte 0     byte 1            bytes 2-3        bytes 4-7
 *   +--------+--------+--------+----------------+--------------------------+
 *   | opcode | src:4  | dst:4  | off (s16, LE)  | imm (s32, LE)            |
 *   +--------+--------+--------+----------------+--------------------------+
 *
 * `lddw` takes two slots; the second has opcode 0 and carries the high 32
 * bits of the immediate in its imm. Bad encodings are *results*
 * (`InvalidInsn`), not exceptions, so a loader can report every problem with
 * its instruction index. The checks are the ones Linux makes before or while
 * verifying (unknown opcode, register numbers, "uses reserved fields").
 *
 * Pure functions; callable from any thread.
 */
import { BpfError, Errno } from "../errno.js";
import * as O from "./opcodes.js";
import { opInfo, variantName, type OpInfo } from "./opcode-table.js";

/** One decoded instruction. `nextImm` is present only for `lddw` (its second slot's imm). */
export interface Insn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
  readonly nextImm?: number;
}

export type InvalidKind = "InvalidOpcode" | "InvalidRegister" | "ReservedField" | "IncompleteLddw" | "Truncated";

/** Why a slot does not hold a valid instruction. `pc` is the slot index. */
export interface InvalidInsn {
  readonly kind: InvalidKind;
  readonly pc: number;
  readonly message: string;
}

export type DecodeResult =
  | { readonly ok: true; readonly insn: Insn; readonly slots: 1 | 2 }
  | { readonly ok: false; readonly error: InvalidInsn };

/** An instruction with its slot index, as produced by `decodeProgram`. */
export interface DecodedInsn extends Insn {
  readonly pc: number;
}

export type ProgramDecode =
  | { readonly ok: true; readonly insns: DecodedInsn[] }
  | { readonly ok: false; readonly error: InvalidInsn };

/** Builds an Insn with the field ranges the encoding allows (ints wrapped like C). */
export function insn(code: number, dst: number, src: number, off: number, imm: number, nextImm?: number): Insn {
  const i: Insn = { code: code & 0xff, dst: dst & 0xf, src: src & 0xf, off: (off << 16) >> 16, imm: imm | 0 };
  return nextImm === undefined ? i : { ...i, nextImm: nextImm | 0 };
}

/** The 64-bit immediate of an `lddw`, as an unsigned bigint. */
export function lddwImm64(i: Insn): bigint {
  return (BigInt((i.nextImm ?? 0) >>> 0) << 32n) | BigInt(i.imm >>> 0);
}

/** Splits a 64-bit value into the (imm, nextImm) pair of an `lddw`. */
export function splitImm64(v: bigint): { imm: number; nextImm: number } {
  const u = BigInt.asUintN(64, v);
  return { imm: Number(u & 0xffffffffn) | 0, nextImm: Number(u >> 32n) | 0 };
}

/** Number of slots an instruction occupies. */
export function insnSlots(i: Insn): 1 | 2 {
  return i.code === O.LDDW ? 2 : 1;
}

/** Writes one instruction (one or two slots) at byte offset `at`. */
export function encodeInto(i: Insn, out: Uint8Array, at: number): number {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint8(at, i.code & 0xff);
  dv.setUint8(at + 1, ((i.src & 0xf) << 4) | (i.dst & 0xf));
  dv.setInt16(at + 2, (i.off << 16) >> 16, true);
  dv.setInt32(at + 4, i.imm | 0, true);
  if (i.code !== O.LDDW) return 8;
  dv.setUint32(at + 8, 0, true);
  dv.setInt32(at + 12, (i.nextImm ?? 0) | 0, true);
  return 16;
}

/** Encodes a list of instructions into bytes. */
export function encodeProgram(insns: readonly Insn[]): Uint8Array {
  let slots = 0;
  for (const i of insns) slots += insnSlots(i);
  const out = new Uint8Array(slots * 8);
  let at = 0;
  for (const i of insns) at += encodeInto(i, out, at);
  return out;
}

const bad = (kind: InvalidKind, pc: number, message: string): DecodeResult => ({ ok: false, error: { kind, pc, message } });

/**
 * Decodes the instruction at slot `pc` of `bytes` and checks it the way
 * Linux does before verification. Never throws.
 */
export function decodeAt(bytes: Uint8Array, pc: number): DecodeResult {
  const at = pc * 8;
  if (!Number.isInteger(pc) || pc < 0 || at + 8 > bytes.length) return bad("Truncated", pc, `no instruction at slot ${pc}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = dv.getUint8(at);
  const regs = dv.getUint8(at + 1);
  const i: Insn = { code, dst: regs & 0xf, src: regs >> 4, off: dv.getInt16(at + 2, true), imm: dv.getInt32(at + 4, true) };
  const info = opInfo(code);
  if (!info) return bad("InvalidOpcode", pc, `unknown opcode ${code.toString(16).padStart(2, "0")}`);
  if (i.dst >= O.MAX_BPF_REG) return bad("InvalidRegister", pc, `R${i.dst} is invalid`);
  if (i.src >= O.MAX_BPF_REG) return bad("InvalidRegister", pc, `R${i.src} is invalid`);
  if (code === O.LDDW) {
    if (at + 16 > bytes.length) return bad("IncompleteLddw", pc, "invalid bpf_ld_imm64 insn");
    const c2 = dv.getUint8(at + 8);
    const r2 = dv.getUint8(at + 9);
    const o2 = dv.getInt16(at + 10, true);
    if (c2 !== 0 || r2 !== 0 || o2 !== 0) return bad("IncompleteLddw", pc, "invalid bpf_ld_imm64 insn");
    if (i.off !== 0 || i.src > O.BPF_PSEUDO_MAP_IDX_VALUE) return bad("ReservedField", pc, "invalid bpf_ld_imm64 insn");
    const nextImm = dv.getInt32(at + 12, true);
    // Map references and function addresses carry nothing in the second imm.
    const single = i.src === O.BPF_PSEUDO_MAP_FD || i.src === O.BPF_PSEUDO_MAP_IDX || i.src === O.BPF_PSEUDO_FUNC;
    if (single && nextImm !== 0) return bad("ReservedField", pc, "unrecognized bpf_ld_imm64 insn");
    return { ok: true, insn: { ...i, nextImm }, slots: 2 };
  }
  const reason = reservedFieldError(info, i);
  if (reason) return bad("ReservedField", pc, reason);
  return { ok: true, insn: i, slots: 1 };
}

/** Linux's "uses reserved fields" checks, per kind. Returns a message or undefined. */
function reservedFieldError(info: OpInfo, i: Insn): string | undefined {
  const name = info.name.toUpperCase();
  switch (info.kind) {
    case "alu":
      if (variantName(info, i.off, i.imm) === undefined) return `BPF_ALU uses reserved fields (off ${i.off})`;
      if (info.source === "K" && i.src !== 0) return "BPF_ALU uses reserved fields (src_reg)";
      if (info.source === "X" && i.imm !== 0) return "BPF_ALU uses reserved fields (imm)";
      return undefined;
    case "neg":
      return i.src !== 0 || i.off !== 0 || i.imm !== 0 ? "BPF_NEG uses reserved fields" : undefined;
    case "end":
      if (i.src !== 0 || i.off !== 0) return "BPF_END uses reserved fields";
      return variantName(info, i.off, i.imm) === undefined ? `BPF_END uses reserved fields (imm ${i.imm})` : undefined;
    case "ja":
      if (i.src !== 0 || i.dst !== 0) return "BPF_JA uses reserved fields";
      if (info.is32 ? i.off !== 0 : i.imm !== 0) return "BPF_JA uses reserved fields";
      return undefined;
    case "jcond":
      if (info.source === "K" && i.src !== 0) return `BPF_${name} uses reserved fields (src_reg)`;
      if (info.source === "X" && i.imm !== 0) return `BPF_${name} uses reserved fields (imm)`;
      return undefined;
    case "call":
      if (i.dst !== 0) return "BPF_CALL uses reserved fields";
      if (i.src > O.BPF_PSEUDO_KFUNC_CALL) return "BPF_CALL uses reserved fields (src_reg)";
      if (i.off !== 0 && i.src !== O.BPF_PSEUDO_KFUNC_CALL) return "BPF_CALL uses reserved fields (off)";
      return undefined;
    case "callx":
      // Linux rejects 0x8d ("unknown opcode 8d"); LLVM emits it and the
      // conformance corpus tests it, so it decodes here with its register in dst.
      return i.src !== 0 || i.off !== 0 || i.imm !== 0 ? "BPF_CALLX uses reserved fields" : undefined;
    case "exit":
      return i.src !== 0 || i.dst !== 0 || i.off !== 0 || i.imm !== 0 ? "BPF_EXIT uses reserved fields" : undefined;
    case "ldx":
    case "ldxsx":
      return i.imm !== 0 ? "BPF_LDX uses reserved fields" : undefined;
    case "st":
      return i.src !== 0 ? "BPF_ST uses reserved fields" : undefined;
    case "stx":
      return i.imm !== 0 ? "BPF_STX uses reserved fields" : undefined;
    case "atomic":
      return variantName(info, i.off, i.imm) === undefined ? `BPF_ATOMIC uses invalid atomic opcode ${(i.imm >>> 0).toString(16)}` : undefined;
    case "ldabs":
      return i.src !== 0 || i.dst !== 0 || i.off !== 0 ? "BPF_LD_ABS uses reserved fields" : undefined;
    case "ldind":
      return i.dst !== 0 || i.off !== 0 ? "BPF_LD_IND uses reserved fields" : undefined;
    case "lddw":
      return undefined;
  }
}

/**
 * Decodes a whole program. Fails on the first invalid slot (with its index),
 * on a length that is not a multiple of 8, and on an empty program.
 */
export function decodeProgram(bytes: Uint8Array): ProgramDecode {
  if (bytes.length === 0 || bytes.length % 8 !== 0) {
    return { ok: false, error: { kind: "Truncated", pc: Math.floor(bytes.length / 8), message: `program length ${bytes.length} is not a positive multiple of 8` } };
  }
  const insns: DecodedInsn[] = [];
  for (let pc = 0; pc < bytes.length / 8; ) {
    const r = decodeAt(bytes, pc);
    if (!r.ok) return r;
    insns.push({ ...r.insn, pc });
    pc += r.slots;
  }
  return { ok: true, insns };
}

/** `decodeProgram`, throwing EINVAL with the slot index and reason on a bad encoding. */
export function decodeProgramOrThrow(bytes: Uint8Array): DecodedInsn[] {
  const r = decodeProgram(bytes);
  if (!r.ok) throw new BpfError(Errno.EINVAL, `insn ${r.error.pc}: ${r.error.message}`);
  return r.insns;
}
