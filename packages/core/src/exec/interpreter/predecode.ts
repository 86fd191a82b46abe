/**
 * Pre-decoded program: the instruction slots copied into two Int32Arrays so
 * the hot loop reads fields with shifts, never through a DataView.
 *
 *   w0[pc] = opcode | dst << 8 | src << 12 | off << 16   (off sign-extended by `>> 16`)
 *   imm[pc] = imm (for lddw, the second slot's imm holds the high half)
 *
 * `entries[pc]` is 1 where a subprogram starts (pc 0, every `call local`
 * target, every `lddw func` target); `callx` uses it to tell an instruction
 * index from a helper id.
 *
 * Built once per compile; read-only afterwards, shareable by any run.
 */
import { BpfError, Errno } from "../../errno.js";
import { decodeProgram } from "../../insn/codec.js";
import { BPF_CALL, BPF_JMP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, LDDW } from "../../insn/opcodes.js";

export interface Predecoded {
  readonly w0: Int32Array;
  readonly imm: Int32Array;
  readonly entries: Uint8Array;
  readonly len: number;
}

/** Validates the encoding and pre-decodes. Throws BpfError(EINVAL) naming the slot. */
export function predecode(bytes: Uint8Array): Predecoded {
  const r = decodeProgram(bytes);
  if (!r.ok) throw new BpfError(Errno.EINVAL, `insn ${r.error.pc}: ${r.error.message}`);
  const len = bytes.length / 8;
  const w0 = new Int32Array(len);
  const imm = new Int32Array(len);
  const entries = new Uint8Array(len);
  entries[0] = 1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pc = 0; pc < len; pc++) {
    w0[pc] = dv.getUint8(pc * 8) | (dv.getUint8(pc * 8 + 1) << 8) | (dv.getInt16(pc * 8 + 2, true) << 16);
    imm[pc] = dv.getInt32(pc * 8 + 4, true);
  }
  for (const i of r.insns) {
    const isLocalCall = i.code === (BPF_JMP | BPF_CALL) && i.src === BPF_PSEUDO_CALL;
    const isFuncRef = i.code === LDDW && i.src === BPF_PSEUDO_FUNC;
    if (isLocalCall || isFuncRef) {
      const t = i.pc + 1 + i.imm;
      if (t < 0 || t >= len) throw new BpfError(Errno.EINVAL, `insn ${i.pc}: call target ${t} out of range`);
      entries[t] = 1;
    }
  }
  return { w0, imm, entries, len };
}
