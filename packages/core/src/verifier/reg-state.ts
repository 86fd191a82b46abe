/**
 * Register and stack state (the kernel's `bpf_reg_state`, `bpf_func_state`,
 * `bpf_verifier_state`). States are plain objects copied on every branch;
 * a register is never shared between two states.
 *
 * Called from: the verifier only.
 */
import type { MapInfo } from "./env.js";
import { type Tnum, tnumUnknown, tnumConst, U64, U32 } from "./tnum.js";

/** enum bpf_reg_type, the subset bpfsim models. */
export const enum T {
  NotInit = 0,
  Scalar,
  Ctx,
  ConstMapPtr,
  MapValue,
  MapValueOrNull,
  MapKey,
  Stack,
  Packet,
  PacketMeta,
  PacketEnd,
  Mem,
  MemOrNull,
  Func,
  /** A lookup in a map of maps before its null check (Linux: CONST_PTR_TO_MAP | PTR_MAYBE_NULL). */
  ConstMapPtrOrNull,
}

export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
export const S32_MIN = -(1n << 31n);
export const S32_MAX = (1n << 31n) - 1n;

/**
 * One register. For scalars `varOff` and the eight bounds describe the value;
 * for pointers they describe the variable part of the offset, and `off` is
 * the fixed part.
 */
export interface Reg {
  type: T;
  off: number;
  varOff: Tnum;
  smin: bigint;
  smax: bigint;
  umin: bigint;
  umax: bigint;
  s32min: bigint;
  s32max: bigint;
  u32min: bigint;
  u32max: bigint;
  /** Shared by copies: null checks and bounds learned on one apply to all. */
  id: number;
  /** Reference (ringbuf record, socket) this pointer belongs to; 0 if none. */
  refObjId: number;
  /** Packet pointers: bytes known readable from this pointer. */
  range: number;
  map?: MapInfo;
  /** PTR_TO_MEM: size of the memory. */
  memSize: number;
  /** PTR_TO_STACK: frame the pointer points into. */
  frameno: number;
  /** PTR_TO_FUNC: target instruction. */
  subprog: number;
}

export function notInit(): Reg {
  return {
    type: T.NotInit, off: 0, varOff: tnumUnknown, smin: S64_MIN, smax: S64_MAX, umin: 0n, umax: U64,
    s32min: S32_MIN, s32max: S32_MAX, u32min: 0n, u32max: U32, id: 0, refObjId: 0, range: 0, map: undefined, memSize: 0, frameno: 0, subprog: 0,
  };
}

export function unknownScalar(): Reg {
  const r = notInit();
  r.type = T.Scalar;
  return r;
}

export function markUnbounded(r: Reg): void {
  r.varOff = tnumUnknown;
  r.smin = S64_MIN; r.smax = S64_MAX; r.umin = 0n; r.umax = U64;
  r.s32min = S32_MIN; r.s32max = S32_MAX; r.u32min = 0n; r.u32max = U32;
}

/** Sets every bound to the known value `v` (only the value part; type untouched). */
export function markKnown(r: Reg, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  r.varOff = tnumConst(u);
  r.umin = r.umax = u;
  r.smin = r.smax = BigInt.asIntN(64, u);
  r.u32min = r.u32max = BigInt.asUintN(32, u);
  r.s32min = r.s32max = BigInt.asIntN(32, u);
}

export function constScalar(v: bigint): Reg {
  const r = unknownScalar();
  markKnown(r, v);
  return r;
}

/** A pointer of type `t` with a zero variable offset. */
export function ptrReg(t: T, off = 0): Reg {
  const r = notInit();
  r.type = t;
  r.off = off;
  markKnown(r, 0n);
  return r;
}

/** A field-by-field copy: keeps one object shape for every register (fast property access). */
export const copyReg = (r: Reg): Reg => ({
  type: r.type, off: r.off, varOff: r.varOff, smin: r.smin, smax: r.smax, umin: r.umin, umax: r.umax,
  s32min: r.s32min, s32max: r.s32max, u32min: r.u32min, u32max: r.u32max, id: r.id, refObjId: r.refObjId,
  range: r.range, map: r.map, memSize: r.memSize, frameno: r.frameno, subprog: r.subprog,
});

export const isPointer = (r: Reg): boolean => r.type !== T.Scalar && r.type !== T.NotInit;
export const isPktPointer = (r: Reg): boolean => r.type === T.Packet || r.type === T.PacketMeta;
export const mayBeNull = (r: Reg): boolean => r.type === T.MapValueOrNull || r.type === T.MemOrNull || r.type === T.ConstMapPtrOrNull;
export const isConst = (r: Reg): boolean => r.varOff.mask === 0n;

/** Stack slot byte kinds (enum bpf_stack_slot_type). */
export const enum Slot {
  Invalid = 0,
  Spill,
  Misc,
  Zero,
}

export interface StackSlot {
  /** One kind per byte, byte 0 = lowest address of the 8-byte slot. */
  kinds: Slot[];
  /** The spilled register when all 8 bytes (or the low bytes of a scalar spill) hold it. */
  spilled?: Reg;
}

/** One call frame. */
export interface Frame {
  regs: Reg[];
  /** slots[i] covers fp-8*(i+1) .. fp-8*i-1. */
  stack: StackSlot[];
  /** Instruction to return to (after the call), -1 in the main program. */
  callsite: number;
  frameno: number;
  subprog: number;
  /** True for callback frames (bpf_loop): r0 must be a scalar 0/1 at exit. */
  inCallback: boolean;
}

export interface RefState {
  id: number;
  insn: number;
  kind: "ptr" | "lock";
}

export interface VState {
  frames: Frame[];
  refs: RefState[];
  /** Non-zero while a bpf_spin_lock is held: the id of the lock's map value pointer. */
  activeLock: number;
  /** Checkpoint this state descends from, and live paths below a checkpoint. */
  parent: VState | null;
  branches: number;
  /** Instruction index of the checkpoint (for states in the explored list). */
  insnIdx: number;
  /** Number of jmps on this path (loop heuristics). */
  jmpHistory: number;
  /** Evicted from its explored list (Linux's in_free_list): freed once no path hangs from it. */
  evicted?: boolean;
}

export function copyFrame(f: Frame): Frame {
  return {
    regs: f.regs.map(copyReg),
    stack: f.stack.map((s) => ({ kinds: s.kinds.slice(), spilled: s.spilled ? copyReg(s.spilled) : undefined })),
    callsite: f.callsite,
    frameno: f.frameno,
    subprog: f.subprog,
    inCallback: f.inCallback,
  };
}

export function copyState(s: VState): VState {
  return {
    frames: s.frames.map(copyFrame),
    refs: s.refs.map((r) => ({ ...r })),
    activeLock: s.activeLock,
    parent: s.parent,
    branches: 0,
    insnIdx: s.insnIdx,
    jmpHistory: s.jmpHistory,
  };
}

export function newFrame(frameno: number, callsite: number, subprog: number): Frame {
  const regs: Reg[] = [];
  for (let i = 0; i < 11; i++) regs.push(notInit());
  regs[10] = ptrReg(T.Stack);
  regs[10]!.frameno = frameno;
  return { regs, stack: [], callsite, frameno, subprog, inCallback: false };
}

export const curFrame = (s: VState): Frame => s.frames[s.frames.length - 1]!;
