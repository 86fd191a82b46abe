/**
 * Instruction slots as the JIT reads them: struct-of-arrays, so translation
 * touches no per-instruction objects.
 *
 * Slot layout (RFC 9669, little-endian): opcode u8 | dst:4 src:4 | off s16 | imm s32.
 * `lddw` takes two slots; the second holds the high 32 bits of the constant
 * in its imm field.
 *
 * Context: pure; callable from any thread.
 */
import { BpfError, Errno } from "../../errno.js";

export interface DecodedInsns {
  readonly count: number;
  readonly op: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly off: Int16Array;
  readonly imm: Int32Array;
}

/** Opcode of `lddw` (BPF_LD | BPF_IMM | BPF_DW). */
export const OP_LDDW = 0x18;

/** Splits raw instruction bytes into fields. Throws EINVAL on a ragged image. */
export function decodeInsns(bytes: Uint8Array): DecodedInsns {
  if (bytes.length === 0 || bytes.length % 8 !== 0) {
    throw new BpfError(Errno.EINVAL, `program size ${bytes.length} is not a non-zero multiple of 8`);
  }
  const count = bytes.length / 8;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const op = new Uint8Array(count);
  const dst = new Uint8Array(count);
  const src = new Uint8Array(count);
  const off = new Int16Array(count);
  const imm = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const b = i * 8;
    op[i] = bytes[b]!;
    const regs = bytes[b + 1]!;
    dst[i] = regs & 0x0f;
    src[i] = regs >> 4;
    off[i] = dv.getInt16(b + 2, true);
    imm[i] = dv.getInt32(b + 4, true);
  }
  return { count, op, dst, src, off, imm };
}

/** Instruction classes (low 3 bits of the opcode). */
export const Cls = { LD: 0, LDX: 1, ST: 2, STX: 3, ALU: 4, JMP: 5, JMP32: 6, ALU64: 7 } as const;
