/**
 * Which registers need a precise value before each instruction (what Linux
 * finds by backtracking, mark_chain_precision, computed here ahead of time
 * over every path).
 *
 * When pruning, Linux compares a scalar register by value only when it is
 * marked precise: when its value decided something the verifier checked
 * (a branch, pointer arithmetic, a helper argument, a range-checked return
 * value). Other scalars match any scalar, so a loop counter that only feeds
 * the return value does not keep states apart. Linux learns the marks lazily
 * along the explored paths; bpfsim derives a superset statically, with a
 * backward dataflow: a register is precise before an instruction if its
 * value can flow, on some path, into such a use. A superset only makes
 * pruning rarer than Linux's, never unsound.
 *
 * Uses that make a register precise (conservatively):
 * - both operands of a conditional jump;
 * - both operands of 64-bit add/sub when either may hold a pointer (a small
 *   forward pass finds the registers that may hold one);
 * - r1..r5 at a helper or bpf-to-bpf call, the IND offset of legacy loads;
 * - a register stored into memory that may be the stack (spilled slots are
 *   always compared by value), and the operands of atomics;
 * - r0 at the exit of a subprogram or callback, and at the main program's
 *   exit when the program type range-checks its return value.
 *
 * Called from: the verifier's control-flow pass (syscall on any thread).
 */
import { type Insn, C, cls, op, mode, sizeBytes, LDDW } from "./insn.js";

const PTR = 1;
const STK = 2;
const NREGS = 11;

function successors(insns: Insn[], i: number): number[] {
  const ins = insns[i]!;
  const c = ins.code;
  const k = cls(c);
  if (k === C.JMP || k === C.JMP32) {
    const o = op(c);
    if (o === C.EXIT) return [];
    if (o === C.CALL) return [i + 1];
    const t = c === (C.JMP32 | C.JA) ? i + ins.imm + 1 : i + ins.off + 1;
    if (o === C.JA) return [t];
    return [i + 1, t];
  }
  return [c === LDDW ? i + 2 : i + 1];
}

/** Forward pass: for each instruction, which registers may hold a pointer (PTR) or a stack pointer (STK). */
function mayPointer(insns: Insn[], succs: number[][], entries: number[]): Uint8Array {
  const n = insns.length;
  const st = new Uint8Array(n * NREGS);
  const seen = new Uint8Array(n);
  const work: number[] = [];
  const cur = new Uint8Array(NREGS);
  for (const e of entries) {
    // Subprogram and callback arguments may be anything; the main program gets its context in r1.
    for (let r = 1; r <= 5; r++) st[e * NREGS + r] = e === 0 ? (r === 1 ? PTR : 0) : PTR | STK;
    st[e * NREGS + 10] = PTR | STK;
    seen[e] = 1;
    work.push(e);
  }
  while (work.length) {
    const i = work.pop()!;
    for (let r = 0; r < NREGS; r++) cur[r] = st[i * NREGS + r]!;
    const ins = insns[i]!;
    const c = ins.code;
    const k = cls(c);
    if (k === C.ALU64) {
      const o = op(c);
      if (o === C.MOV) cur[ins.dst] = c & C.X && ins.off === 0 ? cur[ins.src]! : 0;
      else if (o === C.ADD || o === C.SUB) cur[ins.dst] = cur[ins.dst]! | (c & C.X ? cur[ins.src]! : 0);
      else cur[ins.dst] = 0;
    } else if (k === C.ALU) cur[ins.dst] = 0;
    else if (k === C.LDX) cur[ins.dst] = sizeBytes(c) === 8 && mode(c) === C.MEM ? PTR | STK : 0;
    else if (k === C.STX && mode(c) === C.ATOMIC && ins.imm & C.FETCH) {
      const v = sizeBytes(c) === 8 ? PTR | STK : 0;
      if (ins.imm === C.CMPXCHG) cur[0] = v;
      else cur[ins.src] = v;
    } else if (k === C.LD) {
      if (c === LDDW) cur[ins.dst] = ins.src !== 0 ? PTR : 0;
      else for (let r = 0; r <= 5; r++) cur[r] = 0;
    } else if ((k === C.JMP || k === C.JMP32) && op(c) === C.CALL) {
      cur[0] = PTR | STK;
      for (let r = 1; r <= 5; r++) cur[r] = 0;
    }
    for (const s of succs[i]!) {
      if (s < 0 || s >= n) continue;
      let changed = !seen[s];
      seen[s] = 1;
      for (let r = 0; r < NREGS; r++) {
        const v = st[s * NREGS + r]! | cur[r]!;
        if (v !== st[s * NREGS + r]) {
          st[s * NREGS + r] = v;
          changed = true;
        }
      }
      if (changed) work.push(s);
    }
  }
  return st;
}

/**
 * Registers whose value must be compared when pruning, before each
 * instruction (bit i = Ri). `mainRetChecked`: the program type range-checks
 * the main program's return value.
 */
export function computePrecise(insns: Insn[], subprogs: number[], mainRetChecked: boolean): Uint16Array {
  const n = insns.length;
  const succs: number[][] = [];
  for (let i = 0; i < n; i++) succs.push(successors(insns, i).filter((s) => s >= 0 && s < n));
  const entries = new Set(subprogs);
  insns.forEach((ins, i) => {
    // Callbacks (ld_imm64 of a function) start like subprograms.
    if (ins.code === LDDW && ins.src === C.PSEUDO_FUNC && i + ins.imm + 1 < n) entries.add(i + ins.imm + 1);
  });
  const ptr = mayPointer(insns, succs, [...entries]);
  const mainEnd = subprogs[1] ?? n;
  const use = new Uint16Array(n);
  const def = new Uint16Array(n);
  /** Registers whose precision passes from after the instruction to before it, other than unchanged ones. */
  const flowFrom = new Int8Array(n).fill(-1);
  const R = (r: number): number => 1 << r;
  for (let i = 0; i < n; i++) {
    const ins = insns[i]!;
    const c = ins.code;
    const k = cls(c);
    let u = 0, d = 0;
    const p = (r: number): number => ptr[i * NREGS + r]!;
    if (k === C.ALU || k === C.ALU64) {
      const o = op(c);
      if (o === C.MOV) {
        d = R(ins.dst);
        if (c & C.X) flowFrom[i] = ins.src;
      } else if (c & C.X) {
        flowFrom[i] = ins.src;
        if (k === C.ALU64 && (o === C.ADD || o === C.SUB) && (p(ins.dst) | p(ins.src)) & PTR) u = R(ins.dst) | R(ins.src);
      }
    } else if (k === C.LDX) d = R(ins.dst);
    else if (k === C.STX) {
      if (mode(c) === C.ATOMIC) {
        u = R(ins.src) | R(ins.dst) | (ins.imm === C.CMPXCHG ? R(0) : 0);
        if (ins.imm & C.FETCH) d = ins.imm === C.CMPXCHG ? R(0) : R(ins.src);
      } else if (p(ins.dst) & STK) u = R(ins.src);
    } else if (k === C.LD) {
      if (c === LDDW) d = R(ins.dst);
      else {
        d = 0x3f;
        if (mode(c) === C.IND) u = R(ins.src);
      }
    } else if (k === C.JMP || k === C.JMP32) {
      const o = op(c);
      if (o === C.CALL) {
        d = 0x3f;
        u = 0x3e;
      } else if (o === C.EXIT) {
        if (i >= mainEnd || mainRetChecked) u = R(0);
      } else if (o !== C.JA) u = R(ins.dst) | (c & C.X ? R(ins.src) : 0);
    }
    use[i] = u;
    def[i] = d;
  }
  const prec = new Uint16Array(n);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let out = 0;
      for (const s of succs[i]!) out |= prec[s]!;
      let v = use[i]! | (out & ~def[i]!);
      // The result's precision needs the source's (dst op= src, dst = src).
      const f = flowFrom[i]!;
      if (f >= 0 && out & R(insns[i]!.dst)) v |= R(f);
      v &= 0x7ff;
      if (v !== prec[i]) {
        prec[i] = v;
        changed = true;
      }
    }
  }
  return prec;
}
