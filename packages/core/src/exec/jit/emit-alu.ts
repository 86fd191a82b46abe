/**
 * ALU and ALU64 classes to wasm, with Linux's semantics:
 *
 * - 32-bit results are zero-extended into the 64-bit register;
 * - immediates are sign-extended to 64 bits for ALU64 (`add r1, -1`);
 * - shift counts are masked (wasm masks by the width, as Linux's JITs do);
 * - division by zero gives 0, modulo by zero leaves dst unchanged (its low
 *   32 bits, zero-extended, for ALU32); INT_MIN / -1 gives INT_MIN and
 *   INT_MIN % -1 gives 0. wasm traps on the first three, so they are guarded;
 * - MOVSX (off 8/16/32) sign-extends, BPF_END swaps or truncates.
 *
 * Context: compile time, any thread.
 */
import { BpfError, Errno } from "../../errno.js";
import type { DecodedInsns } from "./decode.js";
import { L_T0, REG_LOCAL } from "./frame.js";
import { ByteWriter, I64, Op } from "./wasm-writer.js";

const get = (w: ByteWriter, r: number): ByteWriter => w.u8(Op.localGet).u32(REG_LOCAL[r]!);
const set = (w: ByteWriter, r: number): ByteWriter => w.u8(Op.localSet).u32(REG_LOCAL[r]!);
const i64c = (w: ByteWriter, lo: number, hi: number): ByteWriter => w.u8(Op.i64Const).s64(lo, hi);

/** Simple binary operators: [alu64 opcode, alu32 opcode]. */
const SIMPLE: Record<number, [number, number]> = {
  0x00: [Op.i64Add, Op.i32Add],
  0x10: [Op.i64Sub, Op.i32Sub],
  0x20: [Op.i64Mul, Op.i32Mul],
  0x40: [Op.i64Or, Op.i32Or],
  0x50: [Op.i64And, Op.i32And],
  0x60: [Op.i64Shl, Op.i32Shl],
  0x70: [Op.i64ShrU, Op.i32ShrU],
  0xa0: [Op.i64Xor, Op.i32Xor],
  0xc0: [Op.i64ShrS, Op.i32ShrS],
};

/** Emits insn `i` of class ALU (4) or ALU64 (7). */
export function emitAlu(w: ByteWriter, ins: DecodedInsns, i: number): void {
  const opc = ins.op[i]!;
  const is64 = (opc & 7) === 7;
  const code = opc & 0xf0;
  const useReg = (opc & 0x08) !== 0;
  const dst = ins.dst[i]!;
  const src = ins.src[i]!;
  const imm = ins.imm[i]!;
  const off = ins.off[i]!;

  // Pushes the second operand, as i64 (sign-extended imm) or i32.
  const operand = (): void => {
    if (is64) {
      if (useReg) get(w, src);
      else w.u8(Op.i64Const).s32(imm);
    } else if (useReg) get(w, src).u8(Op.i32WrapI64);
    else w.u8(Op.i32Const).s32(imm);
  };
  const dst32 = (): void => void get(w, dst).u8(Op.i32WrapI64);
  const finish32 = (): void => void set(w.u8(Op.i64ExtendI32U), dst);

  const simple = SIMPLE[code];
  if (simple) {
    if (is64) {
      get(w, dst);
      operand();
      set(w.u8(simple[0]), dst);
    } else {
      dst32();
      operand();
      w.u8(simple[1]);
      finish32();
    }
    return;
  }
  switch (code) {
    case 0xb0: // MOV / MOVSX
      return emitMov(w, is64, useReg, dst, src, imm, off, i);
    case 0x80: // NEG
      if (useReg) throw bad(i, "neg takes no source register");
      if (is64) {
        w.u8(Op.i64Const).s32(0);
        set(get(w, dst).u8(Op.i64Sub), dst);
      } else {
        w.u8(Op.i32Const).s32(0);
        dst32();
        w.u8(Op.i32Sub);
        finish32();
      }
      return;
    case 0x30: // DIV
    case 0x90: // MOD
      if (off !== 0 && off !== 1) throw bad(i, "div/mod offset must be 0 or 1");
      return emitDivMod(w, is64, code === 0x90, off === 1, useReg, dst, src, imm);
    case 0xd0: // END
      return emitEnd(w, opc, dst, imm, i);
    default:
      throw bad(i, `unknown ALU opcode 0x${opc.toString(16)}`);
  }
}

function bad(i: number, what: string): BpfError {
  return new BpfError(Errno.EINVAL, `insn ${i}: ${what}`);
}

function emitMov(w: ByteWriter, is64: boolean, useReg: boolean, dst: number, src: number, imm: number, off: number, i: number): void {
  if (!useReg) {
    if (off !== 0) throw bad(i, "movsx takes a register source");
    if (is64) w.u8(Op.i64Const).s32(imm);
    else i64c(w, imm, 0); // zero-extended 32-bit immediate
    set(w, dst);
    return;
  }
  get(w, src);
  if (is64) {
    if (off === 8) w.u8(Op.i64Extend8S);
    else if (off === 16) w.u8(Op.i64Extend16S);
    else if (off === 32) w.u8(Op.i64Extend32S);
    else if (off !== 0) throw bad(i, `bad movsx offset ${off}`);
  } else {
    w.u8(Op.i32WrapI64);
    if (off === 8) w.u8(Op.i32Extend8S);
    else if (off === 16) w.u8(Op.i32Extend16S);
    else if (off !== 0) throw bad(i, `bad movsx32 offset ${off}`);
    w.u8(Op.i64ExtendI32U);
  }
  set(w, dst);
}

/**
 * Division and modulo. With a register divisor the zero (and, signed, -1)
 * cases are tested at run time; an immediate divisor is resolved here.
 */
function emitDivMod(w: ByteWriter, is64: boolean, isMod: boolean, signed: boolean, useReg: boolean, dst: number, src: number, imm: number): void {
  const T = is64 ? I64 : 0x7f;
  const wrap = is64 ? [] : [Op.i32WrapI64];
  const pushDst = (): void => void get(w, dst).bytes(wrap);
  const pushSrc = (): void => {
    if (useReg) get(w, src).bytes(wrap);
    else if (is64) w.u8(Op.i64Const).s32(imm);
    else w.u8(Op.i32Const).s32(imm);
  };
  const zero = (): void => void (is64 ? w.u8(Op.i64Const).s32(0) : w.u8(Op.i32Const).s32(0));
  const isZero = (): void => {
    pushSrc();
    w.u8(is64 ? Op.i64Eqz : Op.i32Eqz);
  };
  const op = isMod
    ? signed ? (is64 ? Op.i64RemS : Op.i32RemS) : is64 ? Op.i64RemU : Op.i32RemU
    : signed ? (is64 ? Op.i64DivS : Op.i32DivS) : is64 ? Op.i64DivU : Op.i32DivU;
  // The general case once the divisor is known to be neither 0 nor (signed div) -1.
  const plain = (): void => {
    pushDst();
    pushSrc();
    w.u8(op);
  };
  // Signed division by -1 is negation (INT_MIN stays INT_MIN); wasm would trap.
  const divGuardMinus1 = (): void => {
    pushSrc();
    if (is64) w.u8(Op.i64Const).s32(-1).u8(Op.i64Eq);
    else w.u8(Op.i32Const).s32(-1).u8(Op.i32Eq);
    w.u8(Op.if).u8(T);
    zero();
    pushDst();
    w.u8(is64 ? Op.i64Sub : Op.i32Sub).u8(Op.else);
    plain();
    w.u8(Op.end);
  };
  const body = (): void => (signed && !isMod ? divGuardMinus1() : plain());

  if (!useReg) {
    if (imm === 0) {
      if (isMod) pushDst(); // dst unchanged (ALU32: zero-extended below)
      else zero();
    } else body();
  } else {
    isZero();
    w.u8(Op.if).u8(T);
    if (isMod) pushDst();
    else zero();
    w.u8(Op.else);
    body();
    w.u8(Op.end);
  }
  if (!is64) w.u8(Op.i64ExtendI32U);
  set(w, dst);
}

const M8 = [0x00ff00ff, 0x00ff00ff] as const;
const M16 = [0x0000ffff, 0x0000ffff] as const;

/** Pushes bswap64(dst) (three mask-and-shift rounds ending in a rotate). */
function bswap64(w: ByteWriter, dst: number): void {
  get(w, dst).u8(Op.localTee).u32(L_T0);
  w.u8(Op.i64Const).s32(8).u8(Op.i64ShrU);
  i64c(w, M8[0], M8[1]).u8(Op.i64And);
  w.u8(Op.localGet).u32(L_T0);
  i64c(w, M8[0], M8[1]).u8(Op.i64And);
  w.u8(Op.i64Const).s32(8).u8(Op.i64Shl).u8(Op.i64Or).u8(Op.localTee).u32(L_T0);
  w.u8(Op.i64Const).s32(16).u8(Op.i64ShrU);
  i64c(w, M16[0], M16[1]).u8(Op.i64And);
  w.u8(Op.localGet).u32(L_T0);
  i64c(w, M16[0], M16[1]).u8(Op.i64And);
  w.u8(Op.i64Const).s32(16).u8(Op.i64Shl).u8(Op.i64Or);
  w.u8(Op.i64Const).s32(32).u8(Op.i64Rotl);
}

/**
 * BPF_END. Class ALU: to-le (source bit 0) truncates on this little-endian
 * machine, to-be (bit 3) swaps; class ALU64 (`bswap`) always swaps.
 */
function emitEnd(w: ByteWriter, opc: number, dst: number, imm: number, i: number): void {
  if (imm !== 16 && imm !== 32 && imm !== 64) throw bad(i, `bad byte swap width ${imm}`);
  const swap = (opc & 7) === 7 || (opc & 0x08) !== 0;
  if (!swap) {
    if (imm === 64) return;
    get(w, dst);
    i64c(w, imm === 16 ? 0xffff : -1, 0).u8(Op.i64And);
    set(w, dst);
    return;
  }
  bswap64(w, dst);
  if (imm !== 64) w.u8(Op.i64Const).s32(64 - imm).u8(Op.i64ShrU);
  set(w, dst);
}
