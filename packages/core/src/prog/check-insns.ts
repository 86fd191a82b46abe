/**
 * Structural checks of BPF_PROG_LOAD: what must hold before anything runs,
 * whether or not the full verifier is plugged in (see `verifier-hook.ts`).
 * They mirror the first passes of Linux's bpf_check: instruction encoding
 * (codec), subprogram and jump bounds (`check_subprogs`), the control-flow
 * walk (`check_cfg`: unreachable code, and back-edges while no verifier
 * proves loops bounded), helper ids against the prototype table and the
 * type's allow-list (`check_helper_call`), and GPL-only helpers. Messages
 * use the kernel's wording; every failure is EINVAL, as in Linux.
 *
 * Pure; syscall context on any thread.
 */
import { Errno } from "../errno.js";
import type { DecodedInsn } from "../insn/codec.js";
import { opInfo } from "../insn/opcode-table.js";
import * as O from "../insn/opcodes.js";
import { helperProto } from "../helpers/func-protos.js";
import { helperName } from "../helpers/func-names.js";
import { helperImplemented } from "../helpers/helper-table.js";
import type { ProgTypeDef } from "./prog-type-def.js";

/** A failed check: errno and the verifier-log line. */
export interface CheckFailure {
  errno: number;
  msg: string;
}

export interface CheckOptions {
  type: ProgTypeDef;
  gplCompatible: boolean;
  privileged: boolean;
  /** True when the real verifier runs after these checks and proves loops bounded. */
  verifierPresent: boolean;
}

const fail = (msg: string): CheckFailure => ({ errno: Errno.EINVAL, msg });

/** Runs the structural checks over `insns` (slot-indexed, from decodeProgram). Null when they pass. */
export function checkInsns(insns: readonly DecodedInsn[], nslots: number, opt: CheckOptions): CheckFailure | null {
  const bySlot = new Map<number, DecodedInsn>();
  for (const i of insns) bySlot.set(i.pc, i);
  const isStart = (pc: number) => bySlot.has(pc);

  // Pass 1: per-instruction checks and jump/call targets (check_subprogs).
  const subprogStarts = new Set<number>([0]);
  const helperCalls: number[] = [];
  for (const i of insns) {
    const info = opInfo(i.code)!;
    switch (info.kind) {
      case "ja":
      case "jcond": {
        const off = info.kind === "ja" && info.is32 ? i.imm : i.off;
        const to = i.pc + off + 1;
        if (to < 0 || to >= nslots) return fail(`jump out of range from insn ${i.pc} to ${to}`);
        if (!isStart(to)) return fail(`jump to the middle of ldimm64 insn ${to - 1}`);
        break;
      }
      case "call": {
        if (i.src === O.BPF_PSEUDO_CALL) {
          const to = i.pc + i.imm + 1;
          if (to < 0 || to >= nslots || !isStart(to)) return fail(`function call to invalid destination`);
          subprogStarts.add(to);
        } else if (i.src === O.BPF_PSEUDO_KFUNC_CALL) {
          return fail("calling kernel function is not supported without BTF");
        } else {
          helperCalls.push(i.imm);
        }
        break;
      }
      case "lddw":
        if (i.src === O.BPF_PSEUDO_FUNC) {
          const to = i.pc + i.imm + 1;
          if (to < 0 || to >= nslots || !isStart(to)) return fail(`function call to invalid destination`);
          subprogStarts.add(to);
        } else if (i.src === O.BPF_PSEUDO_BTF_ID) {
          return fail("kernel subsystem misconfigured verifier");
        }
        break;
      case "ldabs":
      case "ldind":
        if (!opt.type.testRun || opt.type.testRun !== "skb") {
          return fail("BPF_LD_[ABS|IND] instructions not allowed for this program type");
        }
        break;
      default:
        break;
    }
  }
  const last = insns[insns.length - 1]!;
  const lastKind = opInfo(last.code)!.kind;
  if (lastKind !== "exit" && lastKind !== "ja") return fail("last insn is not an exit or jmp");

  // Pass 2: depth-first walk from every subprogram entry (check_cfg).
  const cfg = walkCfg(insns, bySlot, subprogStarts, opt.verifierPresent);
  if (cfg) return cfg;
  // Pass 3: helper calls, in program order (check_helper_call, during do_check).
  for (const id of helperCalls) {
    const r = checkHelper(id, opt);
    if (r) return r;
  }
  return null;
}

function checkHelper(id: number, opt: CheckOptions): CheckFailure | null {
  const proto = helperProto(id);
  if (!proto) {
    return id > 0 && helperName(id).startsWith("bpf_")
      ? fail(`program of this type cannot use helper ${helperName(id)}#${id}`)
      : fail(`invalid func unknown#${id}`);
  }
  if (!opt.type.helperAllowed(id, opt.privileged)) {
    return fail(`program of this type cannot use helper ${helperName(id)}#${id}`);
  }
  if (proto.gplOnly && !opt.gplCompatible) {
    return fail("cannot call GPL-restricted function from non-GPL compatible program");
  }
  if (!helperImplemented(id)) return fail(`helper ${helperName(id)}#${id} is not implemented by bpfsim`);
  return null;
}

function walkCfg(
  insns: readonly DecodedInsn[],
  bySlot: Map<number, DecodedInsn>,
  starts: Set<number>,
  verifierPresent: boolean,
): CheckFailure | null {
  // 0 unseen, 1 on the DFS stack, 2 done.
  const state = new Map<number, number>();
  const succ = (i: DecodedInsn): number[] => {
    const info = opInfo(i.code)!;
    const next = i.pc + (info.kind === "lddw" ? 2 : 1);
    switch (info.kind) {
      case "exit":
        return [];
      case "ja":
        return [i.pc + (info.is32 ? i.imm : i.off) + 1];
      case "jcond":
        return [next, i.pc + i.off + 1];
      default:
        return [next];
    }
  };
  for (const start of [...starts].sort((a, b) => a - b)) {
    if (state.get(start) === 2) continue;
    const stack: { pc: number; succ: number[]; k: number }[] = [];
    state.set(start, 1);
    stack.push({ pc: start, succ: succ(bySlot.get(start)!), k: 0 });
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.k >= top.succ.length) {
        state.set(top.pc, 2);
        stack.pop();
        continue;
      }
      const to = top.succ[top.k++]!;
      const ins = bySlot.get(to);
      if (!ins) return fail(`jump out of range from insn ${top.pc} to ${to}`);
      if (starts.has(to) && to !== start) return fail(`jump out of range from insn ${top.pc} to ${to}`);
      const s = state.get(to) ?? 0;
      if (s === 1 && !verifierPresent) return fail(`back-edge from insn ${top.pc} to ${to}`);
      if (s === 0) {
        state.set(to, 1);
        stack.push({ pc: to, succ: succ(ins), k: 0 });
      }
    }
  }
  for (const i of insns) if (!state.has(i.pc)) return fail(`unreachable insn ${i.pc}`);
  return null;
}
