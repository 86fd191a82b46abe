/**
 * Control-flow checks before any state is explored (the kernel's
 * add_subprog, check_subprogs and check_cfg): subprogram boundaries, jumps
 * that stay inside their subprogram, `lddw` pairs, unreachable code, and
 * back-edges (allowed only to privileged programs, whose loops are then
 * proved bounded by the state exploration). Also computes which registers
 * are live before each instruction, used to compare states when pruning.
 */
import { type Insn, C, cls, op, mode, LDDW } from "./insn.js";
import { VerifierError } from "./errors.js";

export interface Cfg {
  /** Start instruction of every subprogram, ascending; [0] = 0. */
  subprogs: number[];
  /** Instructions that are jump targets or follow a call: where states are saved. */
  prunePoints: Uint8Array;
  /** Registers live before each instruction, bit i = Ri. */
  liveIn: Uint16Array;
  /** Calls of helpers that take a callback: a checkpoint is always added there (mark_force_checkpoint). */
  forceCheckpoint: Uint8Array;
}

/** Helpers that call a callback: timer_set_callback, for_each_map_elem, find_vma, loop, user_ringbuf_drain. */
const CALLBACK_HELPERS = new Set([170, 164, 180, 181, 209]);

const isJmp = (c: number): boolean => cls(c) === C.JMP || cls(c) === C.JMP32;
const isPseudoCall = (i: Insn): boolean => i.code === (C.JMP | C.CALL) && i.src === C.PSEUDO_CALL;
const isPseudoFunc = (i: Insn): boolean => i.code === LDDW && i.src === C.PSEUDO_FUNC;

/** Target of a jump instruction (JA uses imm in its JMP32 "gotol" form). */
export function jumpTarget(i: Insn, idx: number): number {
  return i.code === (C.JMP32 | C.JA) ? idx + i.imm + 1 : idx + i.off + 1;
}

export function checkCfg(insns: Insn[], privileged: boolean, beforeWalk?: () => void): Cfg {
  const n = insns.length;
  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const ins = insns[i]!;
    if (isPseudoCall(ins) || isPseudoFunc(ins)) {
      if (!privileged) {
        throw new VerifierError("EINVAL", "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN", i);
      }
      const t = i + ins.imm + 1;
      if (t < 0 || t >= n) throw new VerifierError("EINVAL", "call to invalid destination", i);
      starts.add(t);
    }
    if (ins.code === LDDW) i++;
  }
  const subprogs = [...starts].sort((a, b) => a - b);
  for (let s = 0; s < subprogs.length; s++) {
    const start = subprogs[s]!;
    const end = subprogs[s + 1] ?? n;
    for (let i = start; i < end; i++) {
      const ins = insns[i]!;
      const c = ins.code;
      if (isJmp(c) && op(c) !== C.EXIT && op(c) !== C.CALL) {
        const t = jumpTarget(ins, i);
        if (t < start || t >= end) throw new VerifierError("EINVAL", `jump out of range from insn ${i} to ${t}`, i);
      }
      if (i === end - 1 && c !== (C.JMP | C.EXIT) && c !== (C.JMP | C.JA) && c !== (C.JMP32 | C.JA)) {
        throw new VerifierError("EINVAL", "last insn is not an exit or jmp", i);
      }
    }
  }
  // lddw must be followed by an all-zero second slot.
  for (let i = 0; i < n; i++) {
    const ins = insns[i]!;
    if (ins.code === LDDW) {
      const nx = insns[i + 1];
      if (!nx || nx.code !== 0 || nx.dst !== 0 || nx.src !== 0 || nx.off !== 0) {
        throw new VerifierError("EINVAL", "invalid bpf_ld_imm64 insn", i);
      }
      i++;
    }
  }
  beforeWalk?.();
  // Depth-first walk from every subprogram entry reached by calls: finds
  // unreachable instructions and back-edges.
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const prune = new Uint8Array(n);
  const force = new Uint8Array(n);
  const succ = (i: number): number[] => {
    const ins = insns[i]!;
    const c = ins.code;
    if (isJmp(c)) {
      const o = op(c);
      if (o === C.EXIT) return [];
      if (o === C.CALL) {
        prune[i + 1] = 1;
        if (ins.src === 0 && CALLBACK_HELPERS.has(ins.imm)) prune[i] = force[i] = 1;
        if (!isPseudoCall(ins)) return [i + 1];
        // visit_func_call_insn: the call itself and the callee's entry are prune points too.
        prune[i] = 1;
        prune[i + ins.imm + 1] = 1;
        return [i + 1, i + ins.imm + 1];
      }
      const t = jumpTarget(ins, i);
      prune[t] = 1;
      if (o === C.JA) return [t];
      prune[i] = 1;
      return [i + 1, t];
    }
    if (isPseudoFunc(ins)) return [i + 2, i + ins.imm + 1];
    return [c === LDDW ? i + 2 : i + 1];
  };
  const stack: { i: number; s: number[]; k: number }[] = [{ i: 0, s: succ(0), k: 0 }];
  state[0] = 1;
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.k >= top.s.length) {
      state[top.i] = 2;
      stack.pop();
      continue;
    }
    const w = top.s[top.k++]!;
    if (w < 0 || w >= n) throw new VerifierError("EINVAL", `jump out of range from insn ${top.i} to ${w}`, top.i);
    if (state[w] === 1) {
      if (!privileged) throw new VerifierError("EINVAL", `back-edge from insn ${top.i} to ${w}`, top.i);
      prune[w] = 1;
      continue;
    }
    if (state[w] === 2) continue;
    state[w] = 1;
    stack.push({ i: w, s: succ(w), k: 0 });
  }
  for (let i = 0; i < n; i++) {
    if (insns[i]!.code === LDDW) {
      if (state[i + 1]) throw new VerifierError("EINVAL", `jump into the middle of ldimm64 insn ${i}`, i);
      if (!state[i]) throw new VerifierError("EINVAL", `unreachable insn ${i}`, i);
      i++;
      continue;
    }
    if (!state[i]) throw new VerifierError("EINVAL", `unreachable insn ${i}`, i);
  }
  return { subprogs, prunePoints: prune, liveIn: computeLiveness(insns, succ), forceCheckpoint: force };
}

/** Backward dataflow over the CFG: registers read before being written. */
function computeLiveness(insns: Insn[], succ: (i: number) => number[]): Uint16Array {
  const n = insns.length;
  const use = new Uint16Array(n);
  const def = new Uint16Array(n);
  const succs: number[][] = [];
  for (let i = 0; i < n; i++) {
    const ins = insns[i]!;
    const c = ins.code;
    const k = cls(c);
    let u = 0, d = 0;
    const R = (r: number): number => 1 << r;
    if (k === C.ALU || k === C.ALU64) {
      const o = op(c);
      if (o !== C.MOV) u |= R(ins.dst);
      if (c & C.X) u |= R(ins.src);
      d |= R(ins.dst);
    } else if (k === C.LDX) { u |= R(ins.src); d |= R(ins.dst); }
    else if (k === C.ST) u |= R(ins.dst);
    else if (k === C.STX) {
      u |= R(ins.dst) | R(ins.src);
      if (mode(c) === C.ATOMIC) { u |= R(0); d |= R(0) | R(ins.src); }
    } else if (k === C.LD) {
      if (c === LDDW) d |= R(ins.dst);
      else { u |= R(6) | (mode(c) === C.IND ? R(ins.src) : 0); d |= 0x3f; }
    } else if (k === C.JMP || k === C.JMP32) {
      const o = op(c);
      if (o === C.CALL) { u |= 0x3e; d |= 0x3f; }
      else if (o === C.EXIT) u |= R(0);
      else if (o !== C.JA) { u |= R(ins.dst); if (c & C.X) u |= R(ins.src); }
    }
    use[i] = u;
    def[i] = d;
    const s = i < n ? (insns[i]!.code === LDDW && i + 1 < n ? succ(i) : safeSucc(succ, i, n)) : [];
    // A pseudo call's callee is analysed on its own; the caller continues at i+1.
    succs.push(op(c) === C.CALL && isJmp(c) ? [i + 1] : s.filter((x) => x >= 0 && x < n));
  }
  const live = new Uint16Array(n);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let out = 0;
      for (const s of succs[i]!) out |= live[s]!;
      const v = (use[i]! | (out & ~def[i]!)) & 0x7ff;
      if (v !== live[i]) { live[i] = v; changed = true; }
    }
  }
  return live;
}

function safeSucc(succ: (i: number) => number[], i: number, n: number): number[] {
  try {
    return succ(i).filter((x) => x < n);
  } catch {
    return [];
  }
}
