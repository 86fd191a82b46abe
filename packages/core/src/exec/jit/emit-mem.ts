/**
 * Loads, stores, atomics and `lddw` to wasm.
 *
 * Every access is checked inline against the arena, with the rule both
 * engines share (engine.ts): `n` bytes at `addr = reg + off` are valid iff
 * ARENA_RESERVED <= addr and addr + n <= size. In 64-bit unsigned arithmetic
 * that is one compare:
 *
 *   (reg - (ARENA_RESERVED - off)) >u (size - ARENA_RESERVED - n)  -> fault(pc)
 *
 * after which `addr` is known to be a small positive number, so the wasm
 * address is `i32.wrap(reg)` plus `off` (as the memarg offset when off >= 0).
 * The fault glue throws the ProgramFault, so a bad access never touches
 * memory. Two kinds of access need no check: in-frame stack accesses through
 * a read-only r10 (frame.ts), and accesses inside a range the same register
 * already passed earlier in the block (checked-ranges.ts). Atomics also require natural alignment, as eBPF does; wasm would
 * trap on a misaligned atomic, so that is checked after the bounds (the
 * interpreter's order) and reported as a fault the same way.
 *
 * Atomic operations map onto the threads proposal's read-modify-write ops:
 * the 32-bit forms use `i64.atomic.rmw32.*_u`, which take the low 32 bits of
 * the i64 operand and return the old value zero-extended, exactly eBPF's
 * BPF_W fetch semantics (and cmpxchg32 compares the low 32 bits of r0).
 *
 * Context: compile time, any thread.
 */
import { BpfError, Errno } from "../../errno.js";
import { ARENA_RESERVED } from "../../memory/arena-api.js";
import type { DecodedInsns } from "./decode.js";
import { FaultCode, FRAME_BYTES, REG_LOCAL, Slot, Ty, callSlot, type EmitEnv } from "./frame.js";
import { AtomicOp, ByteWriter, Op } from "./wasm-writer.js";

const get = (w: ByteWriter, r: number): ByteWriter => w.u8(Op.localGet).u32(REG_LOCAL[r]!);
const set = (w: ByteWriter, r: number): ByteWriter => w.u8(Op.localSet).u32(REG_LOCAL[r]!);

const SIZE_BYTES = [4, 2, 1, 8] as const; // by (op >> 3) & 3: W, H, B, DW
const LOAD_U = [Op.i64Load32u, Op.i64Load16u, Op.i64Load8u, Op.i64Load] as const;
const LOAD_S = [Op.i64Load32s, Op.i64Load16s, Op.i64Load8s, Op.i64Load] as const;
const STORE = [Op.i64Store32, Op.i64Store16, Op.i64Store8, Op.i64Store] as const;
const ALIGN_LOG2 = [2, 1, 0, 3] as const;

/** Pushes the i64 pair (lo, hi) as a constant. */
function i64Split(w: ByteWriter, v: number): ByteWriter {
  // v is a non-negative integer below 2^53.
  return w.u8(Op.i64Const).s64(v >>> 0, Math.floor(v / 2 ** 32));
}

/** Emits the bounds check for `n` bytes at reg + off; out of bounds calls the fault import. */
function boundsCheck(w: ByteWriter, env: EmitEnv, pc: number, reg: number, off: number, n: number, kind: number): void {
  // In-frame stack accesses cannot leave the stack area (see EmitEnv.r10ReadOnly).
  if (reg === 10 && env.r10ReadOnly && off >= -FRAME_BYTES && off + n <= 0) return;
  if (env.checked.covers(reg, off, n)) return;
  env.checked.add(reg, off, n);
  const arenaSize = env.arenaSize;
  get(w, reg);
  w.u8(Op.i64Const).s32(ARENA_RESERVED - off).u8(Op.i64Sub);
  i64Split(w, arenaSize - ARENA_RESERVED - n).u8(Op.i64GtU);
  w.u8(Op.if).u8(0x40);
  w.u8(Op.i32Const).s32(pc).u8(Op.i32Const).s32(kind | (n << 4));
  get(w, reg).u8(Op.i64Const).s32(off).u8(Op.i64Add);
  callSlot(w, Slot.fault, Ty.fault).u8(Op.unreachable).u8(Op.end);
}

/** Pushes the i32 address of a checked access; returns the memarg offset to use. */
function pushAddr(w: ByteWriter, reg: number, off: number): number {
  get(w, reg).u8(Op.i32WrapI64);
  if (off >= 0) return off;
  w.u8(Op.i32Const).s32(off).u8(Op.i32Add);
  return 0;
}

function address(w: ByteWriter, env: EmitEnv, pc: number, reg: number, off: number, n: number, kind: number): number {
  boundsCheck(w, env, pc, reg, off, n, kind);
  return pushAddr(w, reg, off);
}

/** `lddw dst, imm64`. Pseudo forms arrive resolved to plain constants (engine.ts). */
export function emitLddw(w: ByteWriter, ins: DecodedInsns, i: number, funcRef: (pc: number) => number): void {
  const dst = ins.dst[i]!;
  if (ins.src[i] === 4) {
    // BPF_PSEUDO_FUNC: the register holds the callback's instruction index.
    w.u8(Op.i64Const).s32(funcRef(i));
  } else {
    w.u8(Op.i64Const).s64(ins.imm[i]!, ins.imm[i + 1]!);
  }
  set(w, dst);
}

/** LDX (MEM, MEMSX), ST and STX (MEM, ATOMIC). */
export function emitMem(w: ByteWriter, ins: DecodedInsns, i: number, env: EmitEnv): void {
  const opc = ins.op[i]!;
  const cls = opc & 7;
  const mode = opc & 0xe0;
  const sz = (opc >> 3) & 3;
  const n = SIZE_BYTES[sz];
  const dst = ins.dst[i]!;
  const src = ins.src[i]!;
  const off = ins.off[i]!;
  const bad = (what: string): BpfError => new BpfError(Errno.EINVAL, `insn ${i}: ${what} (opcode 0x${opc.toString(16)})`);

  if (cls === 1) {
    if (mode !== 0x60 && mode !== 0x80) throw bad("unsupported load mode");
    if (mode === 0x80 && sz === 3) throw bad("sign-extending load of 8 bytes");
    const memOff = address(w, env, i, src, off, n, FaultCode.Read);
    w.u8((mode === 0x80 ? LOAD_S : LOAD_U)[sz]).u32(0).u32(memOff);
    set(w, dst);
    return;
  }
  if (cls === 2) {
    if (mode !== 0x60) throw bad("unsupported store mode");
    const memOff = address(w, env, i, dst, off, n, FaultCode.Write);
    w.u8(Op.i64Const).s32(ins.imm[i]!);
    w.u8(STORE[sz]).u32(0).u32(memOff);
    return;
  }
  if (mode === 0x60) {
    const memOff = address(w, env, i, dst, off, n, FaultCode.Write);
    get(w, src);
    w.u8(STORE[sz]).u32(0).u32(memOff);
    return;
  }
  if (mode !== 0xc0) throw bad("unsupported store mode");
  if (n !== 4 && n !== 8) throw bad("atomic operations take 4 or 8 bytes");
  emitAtomic(w, ins, i, env, n, bad);
}

function emitAtomic(w: ByteWriter, ins: DecodedInsns, i: number, env: EmitEnv, n: 4 | 8, bad: (s: string) => BpfError): void {
  const dst = ins.dst[i]!;
  const src = ins.src[i]!;
  const off = ins.off[i]!;
  const aop = ins.imm[i]!;
  const kind =
    (aop & ~1) === 0x00 ? AtomicOp.add
    : (aop & ~1) === 0x40 ? AtomicOp.or
    : (aop & ~1) === 0x50 ? AtomicOp.and
    : (aop & ~1) === 0xa0 ? AtomicOp.xor
    : aop === 0xe1 ? AtomicOp.xchg
    : aop === 0xf1 ? AtomicOp.cmpxchg
    : undefined;
  if (!kind) throw bad(`unknown atomic operation 0x${(aop >>> 0).toString(16)}`);
  const fetch = (aop & 1) === 1;
  const sub = n === 4 ? kind.w32 : kind.w64;
  const align = n === 4 ? 2 : 3;

  // Bounds, then alignment (the interpreter's order); only the low bits of
  // the (now known to be small) address matter for the latter.
  boundsCheck(w, env, i, dst, off, n, FaultCode.Atomic);
  get(w, dst).u8(Op.i32WrapI64).u8(Op.i32Const).s32(off).u8(Op.i32Add);
  w.u8(Op.i32Const).s32(n - 1).u8(Op.i32And);
  w.u8(Op.if).u8(0x40);
  w.u8(Op.i32Const).s32(i).u8(Op.i32Const).s32(FaultCode.Misaligned | (n << 4));
  get(w, dst).u8(Op.i64Const).s32(off).u8(Op.i64Add);
  callSlot(w, Slot.fault, Ty.fault).u8(Op.unreachable).u8(Op.end);
  const memOff = pushAddr(w, dst, off);
  if (kind === AtomicOp.cmpxchg) {
    get(w, 0);
    get(w, src);
    w.u8(Op.atomicPrefix).u32(sub).u32(align).u32(memOff);
    set(w, 0);
    return;
  }
  get(w, src);
  w.u8(Op.atomicPrefix).u32(sub).u32(align).u32(memOff);
  if (fetch) set(w, src);
  else w.u8(Op.drop);
}
