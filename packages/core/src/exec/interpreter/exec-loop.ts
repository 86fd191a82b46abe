/**
 * The interpreter's hot loop: one `switch` on the opcode byte with literal
 * case labels, so V8 compiles it to a jump table and keeps `pc`, the
 * instruction word and the register arrays in machine registers. That is
 * why this file is one long function rather than one file per class: a
 * call per instruction class costs more than the whole instruction.
 *
 * Registers are 32-bit halves in Int32Arrays (see state.ts); `| 0` keeps
 * V8 on int32 arithmetic and `>>> 0` reads a half as unsigned. 64-bit ALU operations are
 * done on the halves with carries; only multiplication, division, modulo,
 * byte swaps, atomics and calls leave the loop (alu-slow.ts, atomics.ts,
 * calls.ts). Every memory access is bounds-checked against
 * [ARENA_RESERVED, arena.size) before it happens.
 *
 * Program context on one CPU.
 */
import type { CpuContext } from "../engine.js";
import { ProgramFault } from "../engine.js";
import { ARENA_RESERVED } from "../../memory/arena-api.js";
import type { Predecoded } from "./predecode.js";
import { VM_EXITED, VM_PAUSED, VM_TAILCALL, type VmState } from "./state.js";
import { mul64, divmod64, divmod32, byteSwap } from "./alu-slow.js";
import { atomicOp } from "./atomics.js";
import { opInfo } from "../../insn/opcode-table.js";
import { callHelper, callx, enterFrame, memFault } from "./calls.js";

/**
 * Runs from `st.pc` until the frame at `entryDepth` exits (VM_EXITED), a tail
 * call is taken (VM_TAILCALL) or `limit` instructions ran (VM_PAUSED).
 */
export function execute(p: Predecoded, st: VmState, cpu: CpuContext, limit: number, entryDepth: number): number {
  const W = p.w0;
  const IMM = p.imm;
  const L = st.lo;
  const H = st.hi;
  const arena = cpu.arena;
  const dv = arena.dv;
  const size = arena.size;
  let pc = st.pc;
  // Instructions left before pausing; a negative limit never reaches 0.
  let left = limit;
  let n = 0;
  for (;;) {
    if (left-- === 0) {
      st.pc = pc;
      st.insns += n;
      return VM_PAUSED;
    }
    n++;
    const w = W[pc]!;
    const d = (w >> 8) & 15;
    const s = (w >> 12) & 15;
    switch (w & 0xff) {
      // ---- ALU64, immediate (imm sign-extended to 64 bits) ----
      case 0x07: {
        const imm = IMM[pc]!;
        const a = L[d]!;
        const lo = (a + imm) | 0;
        L[d] = lo;
        H[d] = (H[d]! + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        break;
      }
      case 0x17: {
        const imm = IMM[pc]!;
        const a = L[d]!;
        L[d] = (a - imm) | 0;
        H[d] = (H[d]! - (imm >> 31) - ((a >>> 0) < (imm >>> 0) ? 1 : 0)) | 0;
        break;
      }
      case 0x27: {
        const imm = IMM[pc]!;
        mul64(L, H, d, imm, imm >> 31);
        break;
      }
      case 0x37:
      case 0x97: {
        const imm = IMM[pc]!;
        divmod64(L, H, d, imm, imm >> 31, ((w & 0xf0) === 0x90 ? 1 : 0) + (w >> 16 === 1 ? 2 : 0));
        break;
      }
      case 0x47: {
        const imm = IMM[pc]!;
        L[d] = L[d]! | imm;
        H[d] = H[d]! | (imm >> 31);
        break;
      }
      case 0x57: {
        const imm = IMM[pc]!;
        L[d] = L[d]! & imm;
        H[d] = H[d]! & (imm >> 31);
        break;
      }
      case 0xa7: {
        const imm = IMM[pc]!;
        L[d] = L[d]! ^ imm;
        H[d] = H[d]! ^ (imm >> 31);
        break;
      }
      case 0xb7: {
        const imm = IMM[pc]!;
        L[d] = imm;
        H[d] = imm >> 31;
        break;
      }
      case 0x67:
        shl64(L, H, d, IMM[pc]! & 63);
        break;
      case 0x77:
        shr64(L, H, d, IMM[pc]! & 63);
        break;
      case 0xc7:
        sar64(L, H, d, IMM[pc]! & 63);
        break;
      case 0x87: {
        const lo = L[d]!;
        L[d] = -lo | 0;
        H[d] = (-H[d]! - (lo !== 0 ? 1 : 0)) | 0;
        break;
      }
      // ---- ALU64, register ----
      case 0x0f: {
        const a = L[d]!;
        const lo = (a + L[s]!) | 0;
        const hs = H[s]!;
        L[d] = lo;
        H[d] = (H[d]! + hs + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        break;
      }
      case 0x1f: {
        const a = L[d]!;
        const b = L[s]!;
        const hs = H[s]!;
        L[d] = (a - b) | 0;
        H[d] = (H[d]! - hs - ((a >>> 0) < (b >>> 0) ? 1 : 0)) | 0;
        break;
      }
      case 0x2f:
        mul64(L, H, d, L[s]!, H[s]!);
        break;
      case 0x3f:
      case 0x9f:
        divmod64(L, H, d, L[s]!, H[s]!, ((w & 0xf0) === 0x90 ? 1 : 0) + (w >> 16 === 1 ? 2 : 0));
        break;
      case 0x4f:
        L[d] = L[d]! | L[s]!;
        H[d] = H[d]! | H[s]!;
        break;
      case 0x5f:
        L[d] = L[d]! & L[s]!;
        H[d] = H[d]! & H[s]!;
        break;
      case 0xaf:
        L[d] = L[d]! ^ L[s]!;
        H[d] = H[d]! ^ H[s]!;
        break;
      case 0xbf: {
        const off = w >> 16;
        if (off === 0) {
          L[d] = L[s]!;
          H[d] = H[s]!;
        } else {
          // movsx: sign-extend the low 8/16/32 bits of src.
          const v = off === 8 ? (L[s]! << 24) >> 24 : off === 16 ? (L[s]! << 16) >> 16 : L[s]!;
          L[d] = v;
          H[d] = v >> 31;
        }
        break;
      }
      case 0x6f:
        shl64(L, H, d, L[s]! & 63);
        break;
      case 0x7f:
        shr64(L, H, d, L[s]! & 63);
        break;
      case 0xcf:
        sar64(L, H, d, L[s]! & 63);
        break;
      // ---- ALU32 (results zero-extended), immediate ----
      case 0x04:
        L[d] = (L[d]! + IMM[pc]!) | 0;
        H[d] = 0;
        break;
      case 0x14:
        L[d] = (L[d]! - IMM[pc]!) | 0;
        H[d] = 0;
        break;
      case 0x24:
        L[d] = Math.imul(L[d]!, IMM[pc]!);
        H[d] = 0;
        break;
      case 0x34:
      case 0x94:
        L[d] = divmod32(L[d]! >>> 0, IMM[pc]! >>> 0, ((w & 0xf0) === 0x90 ? 1 : 0) + (w >> 16 === 1 ? 2 : 0));
        H[d] = 0;
        break;
      case 0x44:
        L[d] = L[d]! | IMM[pc]!;
        H[d] = 0;
        break;
      case 0x54:
        L[d] = L[d]! & IMM[pc]!;
        H[d] = 0;
        break;
      case 0x64:
        L[d] = L[d]! << IMM[pc]!;
        H[d] = 0;
        break;
      case 0x74:
        L[d] = L[d]! >>> IMM[pc]!;
        H[d] = 0;
        break;
      case 0x84:
        L[d] = -L[d]! | 0;
        H[d] = 0;
        break;
      case 0xa4:
        L[d] = L[d]! ^ IMM[pc]!;
        H[d] = 0;
        break;
      case 0xb4:
        L[d] = IMM[pc]!;
        H[d] = 0;
        break;
      case 0xc4:
        L[d] = L[d]! >> IMM[pc]!;
        H[d] = 0;
        break;
      // ---- ALU32, register ----
      case 0x0c:
        L[d] = (L[d]! + L[s]!) | 0;
        H[d] = 0;
        break;
      case 0x1c:
        L[d] = (L[d]! - L[s]!) | 0;
        H[d] = 0;
        break;
      case 0x2c:
        L[d] = Math.imul(L[d]!, L[s]!);
        H[d] = 0;
        break;
      case 0x3c:
      case 0x9c:
        L[d] = divmod32(L[d]! >>> 0, L[s]! >>> 0, ((w & 0xf0) === 0x90 ? 1 : 0) + (w >> 16 === 1 ? 2 : 0));
        H[d] = 0;
        break;
      case 0x4c:
        L[d] = L[d]! | L[s]!;
        H[d] = 0;
        break;
      case 0x5c:
        L[d] = L[d]! & L[s]!;
        H[d] = 0;
        break;
      case 0x6c:
        L[d] = L[d]! << L[s]!; // JS masks the count to 5 bits, as Linux does
        H[d] = 0;
        break;
      case 0x7c:
        L[d] = L[d]! >>> L[s]!;
        H[d] = 0;
        break;
      case 0xac:
        L[d] = L[d]! ^ L[s]!;
        H[d] = 0;
        break;
      case 0xbc: {
        const off = w >> 16;
        L[d] = off === 0 ? L[s]! : off === 8 ? (L[s]! << 24) >> 24 : (L[s]! << 16) >> 16;
        H[d] = 0;
        break;
      }
      case 0xcc:
        L[d] = L[d]! >> L[s]!;
        H[d] = 0;
        break;
      // ---- byte swaps ----
      case 0xd4:
        byteSwap(L, H, d, IMM[pc]!, false);
        break;
      case 0xdc:
      case 0xd7:
        byteSwap(L, H, d, IMM[pc]!, true);
        break;
      // ---- 64-bit immediate ----
      case 0x18:
        L[d] = IMM[pc]!;
        H[d] = IMM[pc + 1]!;
        if (((w >> 12) & 15) === 4) {
          // lddw func: the subprogram's instruction index (what callx takes).
          L[d] = pc + 1 + IMM[pc]!;
          H[d] = 0;
        }
        pc++;
        break;
      // ---- loads ----
      case 0x61:
      case 0x69:
      case 0x71:
      case 0x79:
      case 0x81:
      case 0x89:
      case 0x91: {
        const op = w & 0xff;
        const nb = op === 0x79 ? 8 : op === 0x61 || op === 0x81 ? 4 : op === 0x69 || op === 0x89 ? 2 : 1;
        const a = (L[s]! >>> 0) + (w >> 16);
        if (H[s] !== 0 || a < ARENA_RESERVED || a + nb > size) throw memFault(pc, "read", nb, H[s]!, a);
        switch (op) {
          case 0x61:
            L[d] = dv.getUint32(a, true);
            H[d] = 0;
            break;
          case 0x79:
            L[d] = dv.getUint32(a, true);
            H[d] = dv.getUint32(a + 4, true);
            break;
          case 0x69:
            L[d] = dv.getUint16(a, true);
            H[d] = 0;
            break;
          case 0x71:
            L[d] = dv.getUint8(a);
            H[d] = 0;
            break;
          default: {
            const v = op === 0x81 ? dv.getInt32(a, true) : op === 0x89 ? dv.getInt16(a, true) : dv.getInt8(a);
            L[d] = v;
            H[d] = v >> 31;
          }
        }
        break;
      }
      // ---- stores: immediate (0x62..0x7a) and register (0x63..0x7b) ----
      case 0x62:
      case 0x6a:
      case 0x72:
      case 0x7a:
      case 0x63:
      case 0x6b:
      case 0x73:
      case 0x7b: {
        const op = w & 0xff;
        const sz = op & 0x18;
        const nb = sz === 0x18 ? 8 : sz === 0 ? 4 : sz === 8 ? 2 : 1;
        const a = (L[d]! >>> 0) + (w >> 16);
        if (H[d] !== 0 || a < ARENA_RESERVED || a + nb > size) throw memFault(pc, "write", nb, H[d]!, a);
        const reg = (op & 7) === 3;
        const vlo = reg ? L[s]! : IMM[pc]!;
        if (nb === 4) dv.setUint32(a, vlo, true);
        else if (nb === 8) {
          dv.setUint32(a, vlo, true);
          dv.setUint32(a + 4, reg ? H[s]! : IMM[pc]! >> 31, true);
        } else if (nb === 2) dv.setUint16(a, vlo, true);
        else dv.setUint8(a, vlo);
        break;
      }
      case 0xc3:
        atomicOp(arena, L, H, pc, 4, d, s, w >> 16, IMM[pc]!);
        break;
      case 0xdb:
        atomicOp(arena, L, H, pc, 8, d, s, w >> 16, IMM[pc]!);
        break;
      // ---- jumps ----
      case 0x05:
        pc += w >> 16;
        break;
      case 0x06:
        pc += IMM[pc]!;
        break;
      case 0x15:
        if (L[d] === IMM[pc]! && H[d] === IMM[pc]! >> 31) pc += w >> 16;
        break;
      case 0x1d:
        if (L[d] === L[s] && H[d] === H[s]) pc += w >> 16;
        break;
      case 0x55:
        if (L[d] !== IMM[pc]! || H[d] !== IMM[pc]! >> 31) pc += w >> 16;
        break;
      case 0x5d:
        if (L[d] !== L[s] || H[d] !== H[s]) pc += w >> 16;
        break;
      case 0x45:
        if ((L[d]! & IMM[pc]!) !== 0 || (H[d]! & (IMM[pc]! >> 31)) !== 0) pc += w >> 16;
        break;
      case 0x4d:
        if ((L[d]! & L[s]!) !== 0 || (H[d]! & H[s]!) !== 0) pc += w >> 16;
        break;
      case 0x25: case 0x35: case 0xa5: case 0xb5: case 0x65: case 0x75: case 0xc5: case 0xd5:
      case 0x2d: case 0x3d: case 0xad: case 0xbd: case 0x6d: case 0x7d: case 0xcd: case 0xdd: {
        // Ordered compares: c = sign of (dst - src) on 64 bits, signed or not.
        // The high halves compare signed or unsigned; the low halves always unsigned.
        const x = (w & 8) !== 0;
        const op = w & 0xf0;
        const signed = (op >= 0x60 && op < 0x80) || op >= 0xc0;
        const al = L[d]! >>> 0;
        const bl = (x ? L[s]! : IMM[pc]!) >>> 0;
        const hb = x ? H[s]! : IMM[pc]! >> 31;
        const ah = signed ? H[d]! : H[d]! >>> 0;
        const bh = signed ? hb : hb >>> 0;
        const c = ah !== bh ? (ah < bh ? -1 : 1) : al !== bl ? (al < bl ? -1 : 1) : 0;
        if (condHolds(op, c)) pc += w >> 16;
        break;
      }
      // ---- JMP32: compare the low halves ----
      case 0x16: case 0x1e: case 0x56: case 0x5e: case 0x46: case 0x4e:
      case 0x26: case 0x36: case 0xa6: case 0xb6: case 0x66: case 0x76: case 0xc6: case 0xd6:
      case 0x2e: case 0x3e: case 0xae: case 0xbe: case 0x6e: case 0x7e: case 0xce: case 0xde: {
        const b = (w & 8) !== 0 ? L[s]! : IMM[pc]!;
        const a = L[d]!;
        const op = w & 0xf0;
        let t: boolean;
        if (op === 0x10) t = a === b;
        else if (op === 0x50) t = a !== b;
        else if (op === 0x40) t = (a & b) !== 0;
        else {
          const signed = (op >= 0x60 && op < 0x80) || op >= 0xc0;
          const x = signed ? a : a >>> 0;
          const y = signed ? b : b >>> 0;
          t = condHolds(op, x === y ? 0 : x < y ? -1 : 1);
        }
        if (t) pc += w >> 16;
        break;
      }
      // ---- calls and exit ----
      case 0x85: {
        const kind = (w >> 12) & 15;
        if (kind === 1) {
          enterFrame(st, pc, cpu);
          pc += IMM[pc]!;
          break;
        }
        if (kind !== 0) throw new ProgramFault(pc, `kfunc calls are not supported (imm ${IMM[pc]})`);
        st.pc = pc;
        if (callHelper(st, cpu, pc, IMM[pc]!)) {
          st.insns += n;
          return VM_TAILCALL;
        }
        break;
      }
      case 0x8d: {
        const target = callx(st, p, cpu, pc, d);
        if (target === -2) {
          st.insns += n;
          return VM_TAILCALL;
        }
        if (target >= 0) pc = target - 1;
        break;
      }
      case 0x95: {
        if (st.depth === entryDepth) {
          st.pc = pc;
          st.insns += n;
          return VM_EXITED;
        }
        const k = st.depth;
        for (let j = 0; j < 4; j++) {
          L[6 + j] = st.savedLo[k * 4 + j]!;
          H[6 + j] = st.savedHi[k * 4 + j]!;
        }
        pc = st.retPc[k]! - 1;
        st.depth = k - 1;
        L[10] = st.framePointer(k - 1);
        H[10] = 0;
        break;
      }
      default:
        if (pc < 0 || pc >= p.len) throw new ProgramFault(pc, "jump out of the program");
        // Valid but not executed here: legacy packet loads (ld_abs/ld_ind need an skb).
        if (opInfo(w & 0xff)) throw new ProgramFault(pc, `${opInfo(w & 0xff)!.name} is not supported by the interpreter`);
        throw new ProgramFault(pc, `unknown opcode ${(w & 0xff).toString(16).padStart(2, "0")}`);
    }
    pc++;
  }
}

/** Whether an ordered compare holds, given c = sign(dst - src). */
function condHolds(op: number, c: number): boolean {
  switch (op) {
    case 0x20: // jgt
    case 0x60: // jsgt
      return c > 0;
    case 0x30: // jge
    case 0x70: // jsge
      return c >= 0;
    case 0xa0: // jlt
    case 0xc0: // jslt
      return c < 0;
    default: // jle, jsle
      return c <= 0;
  }
}

function shl64(L: Int32Array, H: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) {
    H[d] = (H[d]! << n) | (L[d]! >>> (32 - n));
    L[d] = L[d]! << n;
  } else {
    H[d] = L[d]! << (n - 32);
    L[d] = 0;
  }
}

function shr64(L: Int32Array, H: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) {
    L[d] = (L[d]! >>> n) | (H[d]! << (32 - n));
    H[d] = H[d]! >>> n;
  } else {
    L[d] = H[d]! >>> (n - 32);
    H[d] = 0;
  }
}

function sar64(L: Int32Array, H: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) {
    L[d] = (L[d]! >>> n) | (H[d]! << (32 - n));
    H[d] = H[d]! >> n;
  } else {
    L[d] = H[d]! >> (n - 32);
    H[d] = H[d]! >> 31;
  }
}
