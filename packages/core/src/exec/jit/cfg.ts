/**
 * Control-flow analysis for the JIT: split a program into functions (the main
 * program and its bpf-to-bpf subprograms), each function into basic blocks,
 * then compute reverse postorder, dominators and loop headers, and decide
 * whether the graph is reducible.
 *
 * Function entries are instruction 0, the targets of `call` with
 * src = BPF_PSEUDO_CALL and the targets of `lddw` with src = BPF_PSEUDO_FUNC
 * (callbacks for bpf_loop and friends). A function runs up to the next entry,
 * as the kernel's verifier splits subprograms.
 *
 * Context: pure; callable from any thread.
 */
import { BpfError, Errno } from "../../errno.js";
import { Cls, OP_LDDW, type DecodedInsns } from "./decode.js";

/** How a basic block ends. */
export const Term = {
  /** Falls into the next block (the next insn is a jump target). */
  Fall: 0,
  /** `ja` / `gotol`: one successor. */
  Jump: 1,
  /** Conditional jump: succs[0] taken, succs[1] fallthrough. */
  Cond: 2,
  /** `exit`: returns r0. */
  Exit: 3,
} as const;
export type Term = (typeof Term)[keyof typeof Term];

export interface BasicBlock {
  readonly id: number;
  /** First insn index. */
  readonly start: number;
  /** One past the last insn slot (an lddw counts two). */
  end: number;
  /** Index of the terminating insn (for Jump/Cond/Exit), else -1. */
  termPc: number;
  term: Term;
  /** Successor block ids: [taken, fallthrough] for Cond. */
  succs: number[];
  preds: number[];
}

export interface FunctionCfg {
  /** Insn index of the entry. */
  readonly entry: number;
  /** One past the last slot of the function. */
  readonly limit: number;
  /** Blocks in program order; blocks[0] is the entry. */
  readonly blocks: BasicBlock[];
  /** Reachable blocks in reverse postorder (ids). */
  readonly rpo: number[];
  /** rpoIndex[id] = position in rpo, or -1 when unreachable. */
  readonly rpoIndex: Int32Array;
  /** Immediate dominator by block id (entry maps to itself; -1 unreachable). */
  readonly idom: Int32Array;
  /** Whether the block is the target of a back edge. */
  readonly loopHeader: Uint8Array;
  /** Whether every retreating edge goes to a dominator of its source. */
  readonly reducible: boolean;
}

const isJmp = (op: number): boolean => (op & 7) === Cls.JMP || (op & 7) === Cls.JMP32;
const isPseudoCall = (ins: DecodedInsns, i: number): boolean => ins.op[i] === 0x85 && ins.src[i] === 1;
const isFuncRef = (ins: DecodedInsns, i: number): boolean => ins.op[i] === OP_LDDW && ins.src[i] === 4;

/** Number of slots insn `i` occupies. */
export function insnSlots(ins: DecodedInsns, i: number): number {
  return ins.op[i] === OP_LDDW ? 2 : 1;
}

/** Sorted entries of every function: 0 first. Throws EINVAL on a target outside the program. */
export function functionEntries(ins: DecodedInsns): number[] {
  const entries = new Set<number>([0]);
  for (let i = 0; i < ins.count; i += insnSlots(ins, i)) {
    if (isPseudoCall(ins, i) || isFuncRef(ins, i)) {
      const t = i + ins.imm[i]! + 1;
      if (t < 0 || t >= ins.count) {
        throw new BpfError(Errno.EINVAL, `insn ${i}: call target ${t} outside the program`);
      }
      entries.add(t);
    }
  }
  return [...entries].sort((a, b) => a - b);
}

/** Jump target of a JMP-class insn at `i` (ja, gotol, conditionals). */
function jumpTarget(ins: DecodedInsns, i: number): number {
  const op = ins.op[i]!;
  // gotol (BPF_JMP32 | BPF_JA) carries its offset in imm.
  if (op === 0x06) return i + ins.imm[i]! + 1;
  return i + ins.off[i]! + 1;
}

/** Builds the CFG of the function spanning [entry, limit). */
export function buildCfg(ins: DecodedInsns, entry: number, limit: number): FunctionCfg {
  // Pass 1: leaders.
  const leader = new Uint8Array(limit - entry + 1);
  leader[0] = 1;
  const slotStart = new Uint8Array(limit - entry + 1);
  for (let i = entry; i < limit; i += insnSlots(ins, i)) {
    slotStart[i - entry] = 1;
    if (ins.op[i] === OP_LDDW && i + 1 >= limit) {
      throw new BpfError(Errno.EINVAL, `insn ${i}: lddw is missing its second slot`);
    }
  }
  for (let i = entry; i < limit; i += insnSlots(ins, i)) {
    const op = ins.op[i]!;
    if (!isJmp(op)) continue;
    const code = op & 0xf0;
    if (code === 0x80) continue; // calls do not end a block
    if (code !== 0x90) {
      const t = jumpTarget(ins, i);
      if (t < entry || t >= limit || !slotStart[t - entry]) {
        throw new BpfError(Errno.EINVAL, `insn ${i}: jump target ${t} is outside the function or inside lddw`);
      }
      leader[t - entry] = 1;
    }
    if (i + 1 < limit) leader[i + 1 - entry] = 1;
  }

  // Pass 2: blocks.
  const blocks: BasicBlock[] = [];
  const blockAt = new Int32Array(limit - entry).fill(-1);
  for (let i = entry; i < limit; i += insnSlots(ins, i)) {
    if (leader[i - entry]) {
      blockAt[i - entry] = blocks.length;
      blocks.push({ id: blocks.length, start: i, end: i, termPc: -1, term: Term.Fall, succs: [], preds: [] });
    }
    const b = blocks[blocks.length - 1]!;
    b.end = i + insnSlots(ins, i);
  }
  for (const b of blocks) {
    let last = b.start;
    for (let i = b.start; i < b.end; i += insnSlots(ins, i)) last = i;
    const op = ins.op[last]!;
    const code = op & 0xf0;
    if (isJmp(op) && code === 0x90) {
      b.term = Term.Exit;
      b.termPc = last;
    } else if (isJmp(op) && code === 0x00) {
      b.term = Term.Jump;
      b.termPc = last;
      b.succs = [blockAt[jumpTarget(ins, last) - entry]!];
    } else if (isJmp(op) && code !== 0x80) {
      b.term = Term.Cond;
      b.termPc = last;
      if (b.end >= limit) throw new BpfError(Errno.EINVAL, `insn ${last}: conditional jump falls off the function`);
      b.succs = [blockAt[jumpTarget(ins, last) - entry]!, blockAt[b.end - entry]!];
    } else {
      if (b.end >= limit) throw new BpfError(Errno.EINVAL, `insn ${last}: execution falls off the end of the function`);
      b.term = Term.Fall;
      b.succs = [blockAt[b.end - entry]!];
    }
  }
  for (const b of blocks) for (const s of b.succs) blocks[s]!.preds.push(b.id);

  return analyse(entry, limit, blocks);
}

/** RPO, dominators (Cooper, Harvey and Kennedy's iterative scheme), loop headers, reducibility. */
function analyse(entry: number, limit: number, blocks: BasicBlock[]): FunctionCfg {
  const n = blocks.length;
  const post: number[] = [];
  const seen = new Uint8Array(n);
  // Iterative DFS so deep programs do not overflow the JS stack.
  const stack: [number, number][] = [[0, 0]];
  seen[0] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const b = blocks[top[0]]!;
    if (top[1] < b.succs.length) {
      const s = b.succs[top[1]++]!;
      if (!seen[s]) {
        seen[s] = 1;
        stack.push([s, 0]);
      }
    } else {
      post.push(top[0]);
      stack.pop();
    }
  }
  const rpo = post.reverse();
  const rpoIndex = new Int32Array(n).fill(-1);
  rpo.forEach((id, k) => (rpoIndex[id] = k));

  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (rpoIndex[a]! > rpoIndex[b]!) a = idom[a]!;
      while (rpoIndex[b]! > rpoIndex[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = 1; k < rpo.length; k++) {
      const b = rpo[k]!;
      let d = -1;
      for (const p of blocks[b]!.preds) {
        if (idom[p] === -1) continue;
        d = d === -1 ? p : intersect(p, d);
      }
      if (d !== idom[b]) {
        idom[b] = d;
        changed = true;
      }
    }
  }

  const dominates = (a: number, b: number): boolean => {
    for (;;) {
      if (a === b) return true;
      if (b === 0) return false;
      b = idom[b]!;
    }
  };
  const loopHeader = new Uint8Array(n);
  let reducible = true;
  for (const u of rpo) {
    for (const v of blocks[u]!.succs) {
      if (rpoIndex[v]! <= rpoIndex[u]!) {
        loopHeader[v] = 1;
        if (!dominates(v, u)) reducible = false;
      }
    }
  }
  return { entry, limit, blocks, rpo, rpoIndex, idom, loopHeader, reducible };
}
