/**
 * Calls out of the hot loop: helper calls (with the tail call, helper 12,
 * done by the engine as the contract in engine.ts says), bpf-to-bpf frame
 * entry, `callx`, and the fault for a bad memory access.
 *
 * `callx` rule. Linux rejects opcode 0x8d; LLVM emits it with the target
 * register in dst, holding a function address that came from
 * `lddw rX, func` (BPF_PSEUDO_FUNC). Here `lddw func` yields the callee's
 * instruction index, so the rule is:
 *
 *   1. if the register holds the index of a subprogram entry (instruction 0,
 *      a `call local` target or a `lddw func` target), it is a local call;
 *   2. otherwise, if it holds the id of a helper the CPU provides, it is
 *      that helper call (the conformance corpus' callx.data does
 *      `mov %r2, 5; call %r2`, the uBPF convention);
 *   3. otherwise the program faults.
 *
 * Program context on one CPU.
 */
import { ProgramFault, type CompiledProgram, type CpuContext } from "../engine.js";
import { MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT } from "../../uapi.js";
import type { Predecoded } from "./predecode.js";
import type { VmState } from "./state.js";

/** Linux helper id of bpf_tail_call. */
export const BPF_FUNC_TAIL_CALL = 12;

export function memFault(pc: number, what: "read" | "write", nb: number, hi: number, addr: number): ProgramFault {
  const full = hi === 0 ? addr : (hi >>> 0) * 2 ** 32 + addr;
  const shown = full < 0 ? `-0x${(-full).toString(16)}` : `0x${full.toString(16)}`;
  return new ProgramFault(pc, `invalid ${what} of ${nb} bytes at ${shown}`);
}

/** Pushes a frame for a local call at `pc`: saves r6..r9 and the return slot, moves r10. */
export function enterFrame(st: VmState, pc: number, _cpu: CpuContext): void {
  const k = st.depth + 1;
  if (k >= MAX_CALL_FRAMES) throw new ProgramFault(pc, `the call stack of ${MAX_CALL_FRAMES} frames is too deep`);
  for (let j = 0; j < 4; j++) {
    st.savedLo[k * 4 + j] = st.lo[6 + j]!;
    st.savedHi[k * 4 + j] = st.hi[6 + j]!;
  }
  st.retPc[k] = pc + 1;
  st.depth = k;
  st.lo[10] = st.framePointer(k);
  st.hi[10] = 0;
}

/**
 * Calls helper `id` with r1..r5 and puts its result in r0. Returns true
 * when a tail call was taken (`st.tailTarget` is set).
 */
export function callHelper(st: VmState, cpu: CpuContext, pc: number, id: number): boolean {
  if (id === BPF_FUNC_TAIL_CALL) {
    // r2 = prog array (header offset), r3 = u32 index. A failed tail call
    // falls through to the next instruction with r0 untouched, as in Linux.
    if (st.hi[2] !== 0 || !cpu.tailCallTarget || cpu.tailCalls >= MAX_TAIL_CALL_CNT) return false;
    const target: CompiledProgram | undefined = cpu.tailCallTarget(st.lo[2]! >>> 0, st.lo[3]! >>> 0);
    if (!target) return false;
    cpu.tailCalls++;
    st.tailTarget = target;
    return true;
  }
  const fn = id >= 0 ? cpu.helpers[id] : undefined;
  if (!fn) throw new ProgramFault(pc, `unknown helper ${id}`);
  const r0 = fn(cpu, st.getReg(1), st.getReg(2), st.getReg(3), st.getReg(4), st.getReg(5));
  st.setReg(0, r0);
  return false;
}

/**
 * `callx` through register `reg` (see the rule at the top of the file).
 * Returns the callee's instruction index for a local call, -1 after a helper
 * call, -2 when a tail call was taken.
 */
export function callx(st: VmState, p: Predecoded, cpu: CpuContext, pc: number, reg: number): number {
  const hi = st.hi[reg]! >>> 0;
  const v = st.lo[reg]! >>> 0;
  if (hi === 0 && v < p.len && p.entries[v] === 1) {
    enterFrame(st, pc, cpu);
    return v;
  }
  if (hi === 0 && (cpu.helpers[v] !== undefined || v === BPF_FUNC_TAIL_CALL)) {
    st.pc = pc;
    return callHelper(st, cpu, pc, v) ? -2 : -1;
  }
  throw new ProgramFault(pc, `callx target 0x${(hi * 2 ** 32 + v).toString(16)} is neither a subprogram nor a helper`);
}
