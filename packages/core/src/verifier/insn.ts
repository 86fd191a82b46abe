/**
 * The verifier's view of instructions: 8-byte slots decoded into fields,
 * little-endian as the kernel stores them. Kept local and tiny so the
 * verifier depends on nothing but the byte format.
 */
import { BpfError, Errno } from "../errno.js";

export interface Insn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
  /** For `lddw` (first slot): the 64-bit immediate from both slots. */
  readonly imm64?: bigint;
}

/** Opcode fields used throughout the verifier (linux/bpf.h values). */
export const C = {
  LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07,
  K: 0x00, X: 0x08,
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70,
  NEG: 0x80, MOD: 0x90, XOR: 0xa0, MOV: 0xb0, ARSH: 0xc0, END: 0xd0,
  JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40, JNE: 0x50, JSGT: 0x60, JSGE: 0x70,
  CALL: 0x80, EXIT: 0x90, JLT: 0xa0, JLE: 0xb0, JSLT: 0xc0, JSLE: 0xd0,
  W: 0x00, H: 0x08, B: 0x10, DW: 0x18,
  IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0,
  FETCH: 0x01, XCHG: 0xe1, CMPXCHG: 0xf1,
  PSEUDO_MAP_FD: 1, PSEUDO_MAP_VALUE: 2, PSEUDO_CALL: 1, PSEUDO_FUNC: 4, PSEUDO_KFUNC_CALL: 2,
} as const;

export const cls = (code: number): number => code & 0x07;
export const op = (code: number): number => code & 0xf0;
export const srcBit = (code: number): number => code & 0x08;
export const mode = (code: number): number => code & 0xe0;
export const sizeField = (code: number): number => code & 0x18;
export const sizeBytes = (code: number): number => [4, 2, 1, 8][sizeField(code) >> 3]!;

export const LDDW = 0x18;

/** Decodes `bytes` (a multiple of 8) into one Insn per slot. */
export function decodeInsns(bytes: Uint8Array): Insn[] {
  if (bytes.length % 8 !== 0) throw new BpfError(Errno.EINVAL, "program length is not a multiple of 8");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  const n = bytes.length / 8;
  for (let i = 0; i < n; i++) {
    const b = i * 8;
    const code = dv.getUint8(b);
    const regs = dv.getUint8(b + 1);
    const imm = dv.getInt32(b + 4, true);
    let imm64: bigint | undefined;
    if (code === LDDW && i + 1 < n) {
      imm64 = (BigInt(dv.getUint32(b + 12, true)) << 32n) | BigInt(dv.getUint32(b + 4, true));
    }
    out.push({ code, dst: regs & 0xf, src: regs >> 4, off: dv.getInt16(b + 2, true), imm, imm64 });
  }
  return out;
}
