/**
 * JMP and JMP32 classes: branch conditions (the stackifier places the
 * branches themselves), helper calls, tail calls, bpf-to-bpf calls and exit.
 *
 * Calls:
 * - helper `id`: the `helper` glue slot (id, pc, depth, r1..r5) -> r0, which
 *   calls `cpu.helpers[id]`; r1..r5 keep their values (the verifier makes
 *   them unreadable after a call anyway). Array and hash lookups may be
 *   inlined (inline-helpers.ts, inline-hash.ts).
 * - helper 12, bpf_tail_call(ctx, prog_array, index): `tail_prep(map, index)`
 *   asks the engine for the target (and counts the call); when it answers 1,
 *   `tail_run(depth, ctx)` runs the target in place of this program and the
 *   function returns its r0, so the caller never resumes, as in Linux. On 0
 *   execution continues with the next insn.
 * - bpf-to-bpf: a direct wasm call of the callee's function with depth + 1;
 *   at depth MAX_CALL_FRAMES - 1 the call faults instead.
 *
 * Context: compile time, any thread.
 */
import { BpfError, Errno } from "../../errno.js";
import type { DecodedInsns } from "./decode.js";
import { FaultCode, L_DEPTH, L_F0, L_H_A, MAX_CALL_FRAMES, REG_LOCAL, Slot, Ty, callSlot, type EmitEnv } from "./frame.js";
import { HELPER_MAP_LOOKUP_ELEM, emitArrayLookup } from "./inline-helpers.js";
import { emitHashLookup } from "./inline-hash.js";
import { emitLpmLookup } from "./inline-lpm.js";
import { HELPER_MAP_DELETE_ELEM, HELPER_MAP_UPDATE_ELEM } from "./glue.js";
import { ByteWriter, Op } from "./wasm-writer.js";
import { HELPER32_CALL, helperImpl32, helperImplNum, type Helper32Entry } from "../../helpers/helper-table.js";

const get = (w: ByteWriter, r: number): ByteWriter => w.u8(Op.localGet).u32(REG_LOCAL[r]!);
const set = (w: ByteWriter, r: number): ByteWriter => w.u8(Op.localSet).u32(REG_LOCAL[r]!);

/** Helper id of bpf_tail_call. */
export const HELPER_TAIL_CALL = 12;

/** Comparison by jump op (high nibble): [i64 opcode, i32 opcode]; JSET handled apart. */
const CMP: Record<number, [number, number]> = {
  0x10: [Op.i64Eq, Op.i32Eq],
  0x20: [Op.i64GtU, Op.i32GtU],
  0x30: [Op.i64GeU, Op.i32GeU],
  0x50: [Op.i64Ne, Op.i32Ne],
  0x60: [Op.i64GtS, Op.i32GtS],
  0x70: [Op.i64GeS, Op.i32GeS],
  0xa0: [Op.i64LtU, Op.i32LtU],
  0xb0: [Op.i64LeU, Op.i32LeU],
  0xc0: [Op.i64LtS, Op.i32LtS],
  0xd0: [Op.i64LeS, Op.i32LeS],
};

/** Pushes the i32 condition of the conditional jump at `i`. */
export function emitCond(w: ByteWriter, ins: DecodedInsns, i: number): void {
  const opc = ins.op[i]!;
  const is64 = (opc & 7) === 5;
  const code = opc & 0xf0;
  const useReg = (opc & 0x08) !== 0;
  get(w, ins.dst[i]!);
  if (!is64) w.u8(Op.i32WrapI64);
  if (useReg) {
    get(w, ins.src[i]!);
    if (!is64) w.u8(Op.i32WrapI64);
  } else if (is64) {
    w.u8(Op.i64Const).s32(ins.imm[i]!); // sign-extended, as Linux compares
  } else {
    w.u8(Op.i32Const).s32(ins.imm[i]!);
  }
  if (code === 0x40) {
    // JSET: (dst & src) != 0
    if (is64) w.u8(Op.i64And).u8(Op.i64Eqz).u8(Op.i32Eqz);
    else w.u8(Op.i32And);
    return;
  }
  const cmp = CMP[code];
  if (!cmp) throw new BpfError(Errno.EINVAL, `insn ${i}: unknown jump opcode 0x${opc.toString(16)}`);
  w.u8(is64 ? cmp[0] : cmp[1]);
}

/** `exit`: return r0. */
export function emitExit(w: ByteWriter): void {
  get(w, 0).u8(Op.return);
}

/**
 * A call insn inside a block. `funcIndex(pc)` gives the wasm function index
 * of the subprogram starting at insn `pc`.
 */
export function emitCall(w: ByteWriter, ins: DecodedInsns, i: number, funcIndex: (pc: number) => number, env: EmitEnv): void {
  const opc = ins.op[i]!;
  if (opc === 0x8d) {
    // callx (LLVM's BPF_CALL | BPF_X, target in dst): resolved at run time by
    // the `callx` import, by the interpreter's rule (subprogram entry, else helper).
    w.u8(Op.i32Const).s32(i).u8(Op.localGet).u32(L_DEPTH);
    get(w, ins.dst[i]!);
    for (let r = 1; r <= 5; r++) get(w, r);
    callSlot(w, Slot.callx, Ty.callx);
    set(w, 0);
    return;
  }
  if (opc !== 0x85) throw new BpfError(Errno.EINVAL, `insn ${i}: unsupported call form 0x${opc.toString(16)}`);
  const kind = ins.src[i]!;
  if (kind === 1) {
    w.u8(Op.localGet).u32(L_DEPTH).u8(Op.i32Const).s32(MAX_CALL_FRAMES - 1).u8(Op.i32GeU);
    w.u8(Op.if).u8(0x40);
    w.u8(Op.i32Const).s32(i).u8(Op.i32Const).s32(FaultCode.CallDepth).u8(Op.i64Const).s32(0);
    callSlot(w, Slot.fault, Ty.fault).u8(Op.unreachable).u8(Op.end);
    for (let r = 1; r <= 5; r++) get(w, r);
    w.u8(Op.localGet).u32(L_DEPTH).u8(Op.i32Const).s32(1).u8(Op.i32Add);
    w.u8(Op.call).u32(funcIndex(i + ins.imm[i]! + 1));
    set(w, 0);
    return;
  }
  if (kind !== 0) throw new BpfError(Errno.EINVAL, `insn ${i}: kfunc calls are not supported`);
  const id = ins.imm[i]!;
  if (id === HELPER_TAIL_CALL) {
    get(w, 2);
    get(w, 3);
    callSlot(w, Slot.tailPrep, Ty.tailPrep).u8(Op.if).u8(0x40);
    w.u8(Op.localGet).u32(L_DEPTH);
    get(w, 1);
    callSlot(w, Slot.tailRun, Ty.tailRun).u8(Op.return).u8(Op.end);
    return;
  }
  const call = (): void => {
    w.u8(Op.i32Const).s32(id).u8(Op.i32Const).s32(i).u8(Op.localGet).u32(L_DEPTH);
    for (let r = 1; r <= 5; r++) get(w, r);
    callSlot(w, Slot.helper, Ty.helper);
    set(w, 0);
  };
  const site = env.inline.get(i);
  if (site?.kind === "hash") emitHashLookup(w, site, env.arenaSize, call);
  else if (site?.kind === "lpm") emitLpmLookup(w, site, env.arenaSize, call);
  else if (site) emitArrayLookup(w, site, env.arenaSize, call);
  else if (id === HELPER_MAP_LOOKUP_ELEM) emitLookup32(w, i, call);
  else if (id === HELPER_MAP_UPDATE_ELEM || id === HELPER_MAP_DELETE_ELEM) emitUpdate32(w, id, i, call);
  else {
    const h32 = helperImpl32(id);
    if (h32) emitHelper32(w, id, h32, i, call);
    else if (helperImplNum(id)) emitHelperNum(w, id, i, call);
    else call();
  }
}

/**
 * A helper with a registered numeric form (no arguments: clock reads): the
 * glue's helperNum answers a double; anything but a non-negative one (-1)
 * means "make the regular helper call", else r0 is that integer (glue.ts).
 */
function emitHelperNum(w: ByteWriter, id: number, i: number, call: () => void): void {
  w.u8(Op.i32Const).s32(id).u8(Op.i32Const).s32(i).u8(Op.localGet).u32(L_DEPTH);
  callSlot(w, Slot.helperNum, Ty.helperNum).u8(Op.localTee).u32(L_F0);
  w.u8(Op.f64Const).bytes([0, 0, 0, 0, 0, 0, 0, 0]).u8(Op.f64Ge).u8(Op.i32Eqz);
  w.u8(Op.if).u8(0x40);
  call();
  w.u8(Op.else);
  w.u8(Op.localGet).u32(L_F0).u8(Op.i64TruncF64U);
  set(w, 0);
  w.u8(Op.end);
}

/**
 * A helper with a registered 32-bit form (ring buffer helpers): when the
 * registers it reads fit in 32 bits, the glue's helper32 takes them as i32;
 * HELPER32_CALL means "make the regular helper call", anything else is r0,
 * zero-extended for a pointer result, else sign-extended (glue.ts).
 */
function emitHelper32(w: ByteWriter, id: number, h: Helper32Entry, i: number, call: () => void): void {
  if (h.args > 0) {
    get(w, 1);
    for (let r = 2; r <= h.args; r++) get(w, r).u8(Op.i64Or);
    w.u8(Op.i64Const).s32(32).u8(Op.i64ShrU).u8(Op.i64Eqz);
  } else {
    w.u8(Op.i32Const).s32(1);
  }
  w.u8(Op.if).u8(0x40);
  w.u8(Op.i32Const).s32(id).u8(Op.i32Const).s32(i).u8(Op.localGet).u32(L_DEPTH);
  for (let r = 1; r <= 5; r++) {
    if (r <= h.args) get(w, r).u8(Op.i32WrapI64);
    else w.u8(Op.i32Const).s32(0);
  }
  callSlot(w, Slot.helper32, Ty.helper32).u8(Op.localTee).u32(L_H_A);
  w.u8(Op.i32Const).s32(HELPER32_CALL).u8(Op.i32Eq);
  w.u8(Op.if).u8(0x40);
  call();
  w.u8(Op.else);
  w.u8(Op.localGet).u32(L_H_A).u8(h.ptr ? Op.i64ExtendI32U : Op.i64ExtendI32S);
  set(w, 0);
  w.u8(Op.end);
  w.u8(Op.else);
  call();
  w.u8(Op.end);
}

/**
 * bpf_map_update_elem / bpf_map_delete_elem: when r1..r4 fit in 32 bits the
 * glue's update32 takes them as i32; an odd answer means "make the regular
 * helper call", an even one is the result times two (glue.ts).
 */
function emitUpdate32(w: ByteWriter, id: number, i: number, call: () => void): void {
  const nargs = id === HELPER_MAP_UPDATE_ELEM ? 4 : 2;
  get(w, 1);
  for (let r = 2; r <= nargs; r++) get(w, r).u8(Op.i64Or);
  w.u8(Op.i64Const).s32(32).u8(Op.i64ShrU).u8(Op.i64Eqz);
  w.u8(Op.if).u8(0x40);
  w.u8(Op.i32Const).s32(id).u8(Op.i32Const).s32(i).u8(Op.localGet).u32(L_DEPTH);
  for (let r = 1; r <= 4; r++) {
    if (r <= nargs) get(w, r).u8(Op.i32WrapI64);
    else w.u8(Op.i32Const).s32(0);
  }
  callSlot(w, Slot.update32, Ty.update32).u8(Op.localTee).u32(L_H_A);
  w.u8(Op.i32Const).s32(1).u8(Op.i32And);
  w.u8(Op.if).u8(0x40);
  call();
  w.u8(Op.else);
  w.u8(Op.localGet).u32(L_H_A).u8(Op.i32Const).s32(1).u8(Op.i32ShrS).u8(Op.i64ExtendI32S);
  set(w, 0);
  w.u8(Op.end);
  w.u8(Op.else);
  call();
  w.u8(Op.end);
}

/**
 * A map lookup that is not inlined (LPM trie, LRU hash, maps of maps, a map
 * pointer that is not a constant): when r1 and r2 fit in 32 bits, the glue's
 * lookup32 takes them as i32 (no BigInt per argument); its -1 means "make
 * the regular helper call" (glue.ts).
 */
function emitLookup32(w: ByteWriter, i: number, call: () => void): void {
  get(w, 1);
  get(w, 2);
  w.u8(Op.i64Or).u8(Op.i64Const).s32(32).u8(Op.i64ShrU).u8(Op.i64Eqz);
  w.u8(Op.if).u8(0x40);
  w.u8(Op.i32Const).s32(i).u8(Op.localGet).u32(L_DEPTH);
  get(w, 1).u8(Op.i32WrapI64);
  get(w, 2).u8(Op.i32WrapI64);
  callSlot(w, Slot.lookup32, Ty.lookup32).u8(Op.localTee).u32(L_H_A);
  w.u8(Op.i32Const).s32(-1).u8(Op.i32Eq);
  w.u8(Op.if).u8(0x40);
  call();
  w.u8(Op.else);
  w.u8(Op.localGet).u32(L_H_A).u8(Op.i64ExtendI32U);
  set(w, 0);
  w.u8(Op.end);
  w.u8(Op.else);
  call();
  w.u8(Op.end);
}
